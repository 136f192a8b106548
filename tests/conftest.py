"""Shared fixtures. Every test that takes ``app`` runs on SQLite, and on PostgreSQL as well when
``MEMNUN_TEST_DATABASE_URL`` names one (CI sets it; with CI=true a missing one is an error)."""

from __future__ import annotations

import os
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from app import create_app
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


# pytest imports this file twice (as ``conftest`` and as ``tests.conftest``, which the tests
# import from): both must name the same database, so the environment is left as it was.
if PG_URL and os.environ.get("PYTEST_XDIST_WORKER"):
    PG_URL = _database_of_this_worker(PG_URL, os.environ["PYTEST_XDIST_WORKER"])

BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
_pg_schema_ready = False


def _check_postgres() -> None:
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


def _reset_postgres(app: Flask) -> None:
    global _pg_schema_ready
    with app.app_context():
        if not _pg_schema_ready:
            db.drop_all()
            db.create_all()
            _pg_schema_ready = True
        else:
            names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            db.session.commit()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        _check_postgres()
    return request.param


@pytest.fixture
def make_app(backend: str, tmp_path: Path) -> Iterator[Any]:
    """Build an app on this test's database; extra config may be passed."""
    apps: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        url = PG_URL if backend == "postgresql" else f"sqlite:///{tmp_path / 'test.sqlite'}"
        app = create_app({**base_config(url, tmp_path), **overrides})
        if not apps:
            if backend == "postgresql":
                _reset_postgres(app)
            else:
                with app.app_context():
                    db.create_all()
        apps.append(app)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app: Any) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def make_user(app: Flask, email: str = "admin@example.org", role: str = "admin",
              password: str = "correct horse battery", units: list[str] | None = None) -> str:
    from app.auth.services import create_user
    from app.models import Role

    with app.app_context():
        create_user(email, password, Role(role), units or [])
    return password


def login(client: FlaskClient, email: str, password: str) -> None:
    page = client.get("/auth/login")
    token = csrf_token_from(page.get_data(as_text=True))
    response = client.post(
        "/auth/login", data={"email": email, "password": password, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SmtpSink:
    """A real SMTP server on localhost that keeps what it receives."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    reply: str | None = None  # set to e.g. "451 try later" to refuse messages

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.reply:
            return self.reply
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    from aiosmtpd.controller import Controller

    sink = SmtpSink("127.0.0.1", free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    yield sink
    controller.stop()


@dataclass
class LiveServer:
    url: str
    app: Flask


@contextmanager
def serve(app: Flask) -> Iterator[LiveServer]:
    """Serve ``app`` over real HTTP on a free localhost port, in a thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app)
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    with serve(app) as live:
        yield live
