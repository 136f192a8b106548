"""Survey tokens, API keys, staff sessions and two-factor secrets: guessing tells nothing, and a
dump holds no secret.

Issue 8: 10,000 random tokens give the same status and body as one another, and a database dump
holds no token in clear. The secrets are made for real (an invitation dispatched to a real SMTP
server on localhost, an API key, a staff login over HTTP), then the whole database is dumped the
way an attacker who stole a backup would have it: ``pg_dump`` on PostgreSQL, ``iterdump`` on
SQLite. Each secret's hash must be in the dump (so the dump did cover its table), the secret not.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
import shutil
import sqlite3
import subprocess
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import make_url

from app.extensions import db
from tests.support.factories import make_user
from tests.support.server import serve
from tests.support.two_factor import Enrolled, enrol
from tests.support.web import csrf_token_from, login

LINK_RE = re.compile(r"/s/([A-Za-z0-9_-]{43})(?=[\s\"<])")
RANDOM_TOKENS = 10_000


def _random_tokens(count: int) -> list[str]:
    """Well-formed tokens (43 base64url characters) and malformed ones, like a guesser's."""
    shapes = [lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode(),
              lambda: secrets.token_urlsafe(8),
              lambda: secrets.token_hex(40),
              lambda: secrets.token_urlsafe(31)[:42] + "!"]
    return [shapes[i % len(shapes)]() for i in range(count)]


# One backend: the lookup is one indexed query either way, and 10,000 requests take a while.
@pytest.mark.parametrize("backend", ["sqlite"])
def test_random_tokens_all_get_the_same_answer(app: Flask, client: Any) -> None:
    from tests.support.seed import seed_invitations, seed_reference

    with app.app_context():  # real invitations exist, so a lucky guess would have something
        seed_invitations(seed_reference(), 20, due_at=dt.datetime.now(dt.UTC))
    answers: set[tuple[int, bytes]] = set()
    for token in _random_tokens(RANDOM_TOKENS):
        response = client.get(f"/s/{token}")
        answers.add((response.status_code, response.get_data()))
        assert not any(c.startswith("memnun_survey")
                       for c in response.headers.getlist("Set-Cookie")), token
    assert len(answers) == 1, "two random tokens were answered differently"
    status, body = answers.pop()
    assert status == 404
    assert b"<form" not in body


def _dispatch_one_survey(app: Flask, smtp_server: Any, api_key: str) -> str:
    """A complaint pushed through the API, resolved, and its survey e-mailed: the link's token."""
    from app.design.services import install_all_templates
    from app.distribution.dispatcher import dispatch_due
    from app.distribution.rules import ensure_default_rule

    app.config.update(MEMNUN_MAIL_BACKEND="smtp", MEMNUN_SMTP_HOST=smtp_server.host,
                      MEMNUN_SMTP_PORT=smtp_server.port)
    with app.app_context():
        install_all_templates()
        rule = ensure_default_rule()
        rule.delay_minutes = 0
        rule.send_window_start, rule.send_window_end = "00:00", "23:59"
        db.session.commit()
    client = app.test_client()
    auth = {"Authorization": f"Bearer {api_key}"}
    assert client.put("/api/v1/units/fen", json={"name": "Fen", "parent": None},
                      headers=auth).status_code == 201
    category = {"name": "Yol", "parent": None, "committed_response_days": 10}
    assert client.put("/api/v1/categories/yol", json=category, headers=auth).status_code == 201
    received = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    created = client.post("/api/v1/complaints", headers=auth, json={
        "external_id": "CMP-SECRET-1", "received_at": received.isoformat(), "channel": "web",
        "unit": "fen", "category": "yol",
        "complainant": {"email": "ayse@example.com", "language": "tr", "survey_consent": True}})
    assert created.status_code == 201, created.get_data(as_text=True)
    resolved = client.post(f"/api/v1/complaints/{created.get_json()['id']}/events", headers=auth,
                           json={"type": "resolved",
                                 "at": (received + dt.timedelta(days=1)).isoformat()})
    assert resolved.status_code in (200, 201), resolved.get_data(as_text=True)
    with app.app_context():
        assert dispatch_due().sent == 1
    body = smtp_server.messages[0].get_body(preferencelist=("plain",)).get_content()
    return LINK_RE.search(body).group(1)


def _staff_session_cookie(app: Flask) -> str:
    password = make_user(app, "viewer@example.org", "viewer")
    with serve(app) as live, requests.Session() as browser:
        page = browser.get(f"{live.url}/auth/login")
        response = browser.post(f"{live.url}/auth/login", data={
            "csrf_token": csrf_token_from(page.text), "email": "viewer@example.org",
            "password": password}, allow_redirects=False)
        assert response.status_code in (302, 303), response.text
        return browser.cookies.get(app.config.get("SESSION_COOKIE_NAME", "session"))


def _dump(app: Flask, backend: str) -> str:
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    with app.app_context():
        db.session.remove()
    if backend == "sqlite":
        connection = sqlite3.connect(url.database)
        try:
            return "\n".join(connection.iterdump())
        finally:
            connection.close()
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        pytest.fail("pg_dump is not installed (Debian: postgresql-client)")
    command = [pg_dump, "--no-owner", "--data-only", "-h", url.host or "127.0.0.1",
               "-p", str(url.port or 5432), "-U", url.username or "postgres", url.database]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def test_a_database_dump_holds_no_secret_in_clear(app: Flask, backend: str, smtp_server: Any,
                                                  api_key: str) -> None:
    from app.auth.services import hash_secret
    from app.distribution.tokens import hash_token

    token = _dispatch_one_survey(app, smtp_server, api_key)
    assert app.test_client().get(f"/s/{token}").status_code in (200, 302)  # a working link
    session_cookie = _staff_session_cookie(app)
    assert session_cookie
    enrolled, stored_secret = _two_factor_enrolled(app)

    dump = _dump(app, backend)
    assert hash_token(token) in dump, "the dump does not cover the invitations"
    assert hash_secret(api_key) in dump, "the dump does not cover the API keys"
    # The key's first characters are kept in clear on purpose, to tell keys apart in a list.
    for secret in (token, api_key, api_key[10:]):
        assert secret not in dump
    # The staff session's server-side id is kept only as a hash as well.
    session_ids = _session_ids(app, session_cookie)
    assert session_ids, "no session id in the signed session cookie"
    for session_id in session_ids:
        assert hash_secret(session_id) in dump
        assert session_id not in dump
    # Two-factor login: the TOTP secret only encrypted, the recovery codes only hashed.
    assert stored_secret in dump, "the dump does not cover the two-factor secrets"
    for secret in (enrolled.secret, *enrolled.recovery_codes,
                   *(code.replace("-", "") for code in enrolled.recovery_codes)):
        assert secret not in dump


def _two_factor_enrolled(app: Flask) -> tuple[Enrolled, str]:
    """A designer who switched two-factor login on through the pages, and the secret's column
    as stored."""
    from app.models import User

    password = make_user(app, "designer@example.org", "designer")
    client = app.test_client()
    login(client, "designer@example.org", password)
    enrolled = enrol(client)
    with app.app_context():
        stored = db.session.scalar(
            select(User.totp_secret).where(User.email == "designer@example.org"))
    return enrolled, stored


def _session_ids(app: Flask, cookie: str) -> list[str]:
    """The server-side session token in Flask's signed session cookie."""
    from app.auth.sessions import SESSION_KEY

    data = app.session_interface.get_signing_serializer(app).loads(cookie)
    return [data[SESSION_KEY]] if data.get(SESSION_KEY) else []
