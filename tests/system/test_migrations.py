"""The Alembic migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect

from app import create_app
from app.extensions import db
from tests.support.database import base_config


def test_migrations_match_the_models(empty_database: str, tmp_path: Path) -> None:
    app = create_app(base_config(empty_database, tmp_path))
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
        assert differences == [], f"models and migrations disagree: {differences}"
        tables = set(inspect(db.engine).get_table_names())
        assert {"complaint", "invitation", "response", "answer"} <= tables
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()


def test_memnun_db_upgrade_builds_an_empty_database(tmp_path: Path) -> None:
    """The console script, as a deployer runs it, on the default SQLite location."""
    env = {**os.environ, "MEMNUN_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}",
           "MEMNUN_SECRET_KEY": "x" * 32}
    memnun = Path(sys.executable).with_name("memnun")
    result = subprocess.run([str(memnun), "db", "upgrade"], env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    engine = create_engine(env["MEMNUN_DATABASE_URL"])
    assert "complaint" in inspect(engine).get_table_names()
    engine.dispose()
