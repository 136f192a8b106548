"""What the benchmarks under tests/bench/ share: a database of their own, made afresh.

Each benchmark drops and creates its own PostgreSQL database (``memnun_bench_<name>``) on the
server of ``MEMNUN_BENCH_DATABASE_URL`` (default ``postgresql://postgres@127.0.0.1:5432``), so it
never touches the test databases of anyone else.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def server_url() -> str:
    return os.environ.get("MEMNUN_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432")


def fresh_database(name: str) -> str:
    """Drop and create ``memnun_bench_<name>`` with the whole schema; its URL."""
    from sqlalchemy import create_engine, text

    from app.config import normalise_database_url

    database = f"memnun_bench_{name}"
    admin = create_engine(normalise_database_url(f"{server_url().rstrip('/')}/postgres"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    url = f"{server_url().rstrip('/')}/{database}"
    with app_for(url).app_context():
        from app.extensions import db

        db.create_all()
        db.session.remove()
        db.engine.dispose()
    return url


def app_for(url: str, **config: Any) -> Any:
    """An app on ``url`` for seeding and counting (the processes under test build their own)."""
    from app import create_app
    from app.config import normalise_database_url
    from tests.support.processes import SECRET_KEY

    return create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(url),
                       "SECRET_KEY": SECRET_KEY, **config})
