"""Fixtures shared by every area. Every test that takes ``app`` runs on SQLite, and on PostgreSQL
as well when ``MEMNUN_TEST_DATABASE_URL`` names one (tests/support/database.py).

Helpers (factories, datasets, HTTP and browser helpers) are plain functions in tests/support/;
this file holds fixtures only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.extensions import db
from tests.support.api import Api, admin_api
from tests.support.catalogues import compile_catalogues
from tests.support.database import (
    BACKENDS,
    PG_URL,
    base_config,
    check_postgres,
    reset_postgres,
    reset_sqlite,
    scratch_database,
)
from tests.support.factories import make_user
from tests.support.server import LiveServer, free_port, serve
from tests.support.smtp import SmtpSink
from tests.support.templates import TEMPLATE_CODE
from tests.support.web import login


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        check_postgres()
    return request.param


@pytest.fixture
def make_app(backend: str, tmp_path: Path) -> Iterator[Any]:
    """Build an app on this test's database; extra config may be passed."""
    apps: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        url = PG_URL if backend == "postgresql" else f"sqlite:///{tmp_path / 'test.sqlite'}"
        app = create_app({**base_config(url, tmp_path), **overrides})
        app.jinja_env.bytecode_cache = TEMPLATE_CODE
        if not apps:
            if backend == "postgresql":
                reset_postgres(app)
            else:
                reset_sqlite(app)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def empty_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it (for the migrations), made for this test and dropped
    after it."""
    with scratch_database(backend, tmp_path) as url:
        yield url


@pytest.fixture
def app(make_app: Any) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def admin_client(app: Flask, client: FlaskClient) -> FlaskClient:
    password = make_user(app)
    login(client, "admin@example.org", password)
    return client


@pytest.fixture
def api_key(app: Flask) -> str:
    from app.auth.services import create_api_key
    from app.models import ApiScope

    with app.app_context():
        _, plain = create_api_key("test-integrator", [ApiScope.ADMIN])
    return plain


@pytest.fixture
def api(app: Flask) -> Api:
    """The REST API with an admin key (``api.post("/complaints", json=...)``); nothing seeded:
    tests/api/conftest.py adds the reference data (``reference``)."""
    return admin_api(app)


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    from aiosmtpd.controller import Controller

    sink = SmtpSink("127.0.0.1", free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    yield sink
    controller.stop()


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    with serve(app) as live:
        yield live


@pytest.fixture(scope="session")
def compiled_catalogues() -> None:
    compile_catalogues()
