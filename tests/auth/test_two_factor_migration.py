"""The two-factor migration goes up and down on SQLite and PostgreSQL, keeping the users."""

from __future__ import annotations

from pathlib import Path

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from app import create_app
from app.extensions import db
from tests.support.database import base_config

REVISION = "c4e2a7d9f1b3"
BEFORE = "b3d5f1a8c6e2"
COLUMNS = {"totp_secret", "totp_enabled_at", "totp_last_step"}


def _user_columns() -> set[str]:
    return {column["name"] for column in inspect(db.engine).get_columns("user_account")}


def test_the_migration_goes_up_and_down(empty_database: str, tmp_path: Path) -> None:
    app = create_app(base_config(empty_database, tmp_path))
    with app.app_context():
        upgrade(revision=BEFORE)
        assert not COLUMNS & _user_columns()
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO user_account (email, password_hash, role, active, created_at) "
                    "VALUES ('a@example.org', 'x', 'admin', true, CURRENT_TIMESTAMP)"
                )
            )
        upgrade(revision=REVISION)
        assert _user_columns() >= COLUMNS
        assert "recovery_code" in inspect(db.engine).get_table_names()
        with db.engine.begin() as connection:
            connection.execute(
                text("UPDATE user_account SET totp_secret = 'gAAAA', totp_last_step = 59000000000")
            )
            user_id = connection.execute(text("SELECT id FROM user_account")).scalar_one()
            connection.execute(
                text(
                    "INSERT INTO recovery_code (user_id, code_hash, created_at) "
                    "VALUES (:id, :hash, CURRENT_TIMESTAMP)"
                ),
                {"id": user_id, "hash": "a" * 64},
            )
        downgrade(revision=BEFORE)
        assert not COLUMNS & _user_columns()
        assert "recovery_code" not in inspect(db.engine).get_table_names()
        with db.engine.connect() as connection:
            emails = connection.execute(text("SELECT email FROM user_account")).scalars().all()
        assert emails == ["a@example.org"]
        upgrade()
        assert _user_columns() >= COLUMNS
        db.engine.dispose()
