"""The test databases: SQLite always, and PostgreSQL as well when ``MEMNUN_TEST_DATABASE_URL``
names one (CI sets it; with CI=true a missing one is an error).

The fixtures that use this (``backend``, ``make_app``) are in tests/conftest.py.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from app.config import normalise_database_url
from app.extensions import db

PG_URL = os.environ.get("MEMNUN_TEST_DATABASE_URL", "")
IN_CI = os.environ.get("CI", "").lower() == "true"

if IN_CI and not PG_URL:
    raise pytest.UsageError(
        "CI=true but MEMNUN_TEST_DATABASE_URL is unset: PostgreSQL tests must run"
    )


def _database_of_this_worker(url: str, worker: str) -> str:
    """Under pytest-xdist each worker truncates tables between tests, so each gets a database
    of its own beside the one named (``<name>_gw0``, ...), created when missing."""
    server = make_url(normalise_database_url(url))
    name = f"{server.database}_{worker}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}).first()
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


# This module is imported once per process (tests/ is a package); the environment is left as it
# was, so that processes started by the tests name the database they were given.
if PG_URL and os.environ.get("PYTEST_XDIST_WORKER"):
    PG_URL = _database_of_this_worker(PG_URL, os.environ["PYTEST_XDIST_WORKER"])

BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])

#: For a module whose tests check what a person sees and does in the browser: its queries run on
#: both databases in the page and service tests, and a second browser pass over PostgreSQL
#: costs minutes of CI and finds nothing the first did not.
BROWSER_ON_SQLITE = pytest.mark.parametrize("backend", ["sqlite"])

#: For the longest sweeps: on PostgreSQL, the production database and the stricter one (NUL in
#: text, numeric ranges), when there is one; on SQLite otherwise.
ON_PRODUCTION_DATABASE = pytest.mark.parametrize("backend", [BACKENDS[-1]])
_pg_schema_ready = False


_sqlite_template: Path | None = None


def reset_sqlite(app: Flask) -> None:
    """Give ``app``'s new SQLite file the whole schema. ``create_all`` with the rollups'
    triggers costs about a second of CPU, more than most tests, so it runs once per process
    into a template that each test's file is copied from (SQLite's backup API)."""
    global _sqlite_template
    if _sqlite_template is None:
        folder = Path(tempfile.mkdtemp(prefix="memnun-schema-"))
        template_app = _app_on(f"sqlite:///{folder / 'schema.sqlite'}", folder)
        with template_app.app_context():
            db.create_all()
            db.session.remove()
            db.engine.dispose()
        _sqlite_template = folder / "schema.sqlite"
    target = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    with sqlite3.connect(_sqlite_template) as source, sqlite3.connect(target) as copy:
        source.backup(copy)


def _app_on(url: str, folder: Path) -> Flask:
    from app import create_app

    return create_app(base_config(url, folder))


def check_postgres() -> None:
    engine = create_engine(normalise_database_url(PG_URL))
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001
        pytest.exit(f"PostgreSQL at {PG_URL} is not reachable: {exc}", returncode=3)
    finally:
        engine.dispose()


def base_config(database_url: str, instance: Path) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "MEMNUN_BASE_URL": "http://memnun.test",
        "MEMNUN_MAIL_BACKEND": "file",
        "MEMNUN_OUTBOX_DIR": str(instance / "outbox"),
        "RATELIMIT_ENABLED": False,
        # Staff pages default to Turkish in the product; tests that check Turkish ask for it.
        "BABEL_DEFAULT_LOCALE": "en",
    }


def reset_postgres(app: Flask) -> None:
    """Empty the PostgreSQL database: the schema is made once per process, then emptied."""
    global _pg_schema_ready
    with app.app_context():
        if not _pg_schema_ready:
            db.drop_all()
            db.create_all()
            _pg_schema_ready = True
        elif not _delete_everything():
            names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            db.session.commit()


def _delete_everything() -> bool:
    """DELETE every row, with triggers and foreign-key checks off for the transaction, and
    start every sequence again: what TRUNCATE ... RESTART IDENTITY does, at a tenth of its cost
    on tables this small (TRUNCATE makes new files for every table and index, ~0.5 s a test).
    False where the role may not switch triggers off (not a superuser)."""
    try:
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
    except DBAPIError:
        db.session.rollback()
        return False
    for table in db.metadata.sorted_tables:
        db.session.execute(text(f'DELETE FROM "{table.name}"'))
    sequences = db.session.scalars(text(
        "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) "
        "FROM pg_sequences")).all()
    if sequences:
        db.session.execute(text("SELECT " + ", ".join(
            f"setval('{name}', 1, false)" for name in sequences)))
    db.session.commit()
    return True


def count_rows(app: Flask, model: Any) -> int:
    """How many rows ``model``'s table holds now."""
    from sqlalchemy import func, select

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


@contextmanager
def scratch_database(backend: str, folder: Path) -> Iterator[str]:
    """The URL of a database with nothing in it, dropped afterwards: a SQLite file in
    ``folder``, or a new database on the PostgreSQL server of ``MEMNUN_TEST_DATABASE_URL``."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'migrated.sqlite'}"
        return
    server = make_url(normalise_database_url(PG_URL))
    name = f"memnun_migrations_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
