"""The staff accounts migration on an install with data: existing users and their logins stay,
the organisation keeps its configured name until someone saves the page, and it goes back down."""

from __future__ import annotations

from pathlib import Path

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from app import create_app
from app.extensions import db
from app.organisation.settings import organisation_settings
from tests.support.database import base_config

BEFORE = "b3d5f1a8c6e2"
MINE = "c4e7a9d1f3b5"


def test_up_and_down_on_an_install_with_users(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'install.sqlite'}"
    app = create_app({**base_config(url, tmp_path), "MEMNUN_ORGANISATION_NAME": "Eski Ad"})
    with app.app_context():
        upgrade(revision=BEFORE)
        db.session.execute(
            text(
                "INSERT INTO user_account (email, password_hash, role, active, created_at) "
                "VALUES ('old@example.org', 'x', 'admin', 1, '2026-01-01 00:00:00')"
            )
        )
        db.session.commit()
        upgrade(revision=MINE)
        tables = set(inspect(db.engine).get_table_names())
        assert {"organisation_settings", "password_link"} <= tables
        assert db.session.execute(text("SELECT email FROM user_account")).scalar() == (
            "old@example.org"
        )
        assert organisation_settings().name == "Eski Ad"  # from the configuration
        db.session.remove()
        downgrade(revision=BEFORE)
        tables = set(inspect(db.engine).get_table_names())
        assert not {"organisation_settings", "password_link"} & tables
        assert "user_account" in tables
        db.engine.dispose()
