"""Staff sessions: a new session at login, logout that ends it for every copy of the cookie, idle
and absolute timeouts checked on the server, and login throttling per address and per account
that never tells whether an account exists."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import StaffSession
from tests.support.factories import make_user
from tests.support.web import csrf_token_from, login

EMAIL = "viewer@example.org"


def _signed_in(client) -> bool:  # type: ignore[no-untyped-def]
    response = client.get("/")
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/auth/login")
        return False
    assert response.status_code == 200
    return True


def _cookie(client) -> str:  # type: ignore[no-untyped-def]
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _with_cookie(app, value: str):  # type: ignore[no-untyped-def]
    """A new client (another browser, an attacker) holding a copy of a session cookie."""
    other = app.test_client()
    other.set_cookie("session", value)
    return other


@pytest.fixture
def viewer(app) -> str:  # type: ignore[no-untyped-def]
    return make_user(app, EMAIL, "viewer")


def _logout(client, token: str):  # type: ignore[no-untyped-def]
    return client.post("/auth/logout", data={"csrf_token": token})


def _page_token(client) -> str:  # type: ignore[no-untyped-def]
    return csrf_token_from(client.get("/reports/").get_data(as_text=True))


def test_login_starts_a_new_session(app, client, viewer) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/auth/login")
    before_token = csrf_token_from(page.get_data(as_text=True))
    before = _cookie(client)
    login(client, EMAIL, viewer)
    assert _cookie(client) != before
    # The cookie from before the login is worth nothing after it, and so is its CSRF token.
    assert not _signed_in(_with_cookie(app, before))
    assert _logout(client, before_token).status_code == 400
    assert _signed_in(client)
    # A second login (another device) is a second session; both work.
    second = app.test_client()
    login(second, EMAIL, viewer)
    assert _signed_in(second) and _signed_in(client)
    with app.app_context():
        assert db.session.scalar(select(db.func.count(StaffSession.id))) == 2


def test_logout_ends_the_session_for_every_copy_of_the_cookie(  # type: ignore[no-untyped-def]
        app, client, viewer) -> None:
    login(client, EMAIL, viewer)
    other_device = app.test_client()
    login(other_device, EMAIL, viewer)
    stolen = _cookie(client)
    assert _signed_in(_with_cookie(app, stolen))
    assert client.get("/auth/logout").status_code == 405  # a link cannot log anybody out
    assert _logout(client, "not-a-token").status_code == 400  # nor another site's form
    assert _signed_in(client)
    response = _logout(client, _page_token(client))
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    assert not _signed_in(client)
    assert not _signed_in(_with_cookie(app, stolen))
    assert _signed_in(other_device)  # logging out ends this session only


def _age_sessions(app, **ago: dt.timedelta) -> None:  # type: ignore[no-untyped-def]
    now = dt.datetime.now(dt.UTC)
    with app.app_context():
        db.session.execute(update(StaffSession).values(
            **{column: now - delta for column, delta in ago.items()}))
        db.session.commit()


def test_idle_timeout(app, client, viewer) -> None:  # type: ignore[no-untyped-def]
    assert app.config["MEMNUN_SESSION_IDLE_MINUTES"] == 30
    login(client, EMAIL, viewer)
    _age_sessions(app, last_seen_at=dt.timedelta(minutes=29))
    assert _signed_in(client)  # and the request counts as activity
    with app.app_context():
        seen = db.session.scalar(select(StaffSession.last_seen_at))
        assert dt.datetime.now(dt.UTC) - seen < dt.timedelta(minutes=1)
    _age_sessions(app, last_seen_at=dt.timedelta(minutes=31))
    cookie = _cookie(client)
    assert not _signed_in(client)
    # Dash's callbacks are told with a 401, not a redirect, and the cookie stays dead.
    assert client.post("/dashboards/_dash-update-component", json={}).status_code == 401
    _age_sessions(app, last_seen_at=dt.timedelta(0))
    assert not _signed_in(_with_cookie(app, cookie))  # ended on the server: no coming back
    login(client, EMAIL, viewer)
    assert _signed_in(client)


def test_absolute_timeout_ends_even_a_busy_session(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(MEMNUN_SESSION_MAX_HOURS=2, MEMNUN_SESSION_IDLE_MINUTES=5)
    client = app.test_client()
    login(client, EMAIL, make_user(app, EMAIL, "viewer"))
    _age_sessions(app, created_at=dt.timedelta(hours=1, minutes=59),
                  last_seen_at=dt.timedelta(minutes=4))
    assert _signed_in(client)
    _age_sessions(app, created_at=dt.timedelta(hours=2, minutes=1),
                  last_seen_at=dt.timedelta(seconds=1))
    assert not _signed_in(client)


# --- login throttling --------------------------------------------------------------------------
# The counts live in flask-limiter's storage, not in the database: SQLite alone is enough.
limiter_only = pytest.mark.parametrize("backend", ["sqlite"])


def _attempt(client, email: str, password: str, address: str):  # type: ignore[no-untyped-def]
    token = csrf_token_from(client.get("/auth/login").get_data(as_text=True))
    return client.post("/auth/login", data={"email": email, "password": password,
                                            "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


def _without_echo(html: str) -> str:
    """The page without what differs by request: the typed address and the CSRF token."""
    return re.sub(r'(name="(?:email|csrf_token)"[^>]*value=)"[^"]*"', r'\1""', html)


@limiter_only
def test_an_account_is_throttled_from_any_address_and_unknown_ones_alike(  # type: ignore[no-untyped-def]
        make_app) -> None:
    app = make_app(RATELIMIT_ENABLED=True)
    password = make_user(app, EMAIL, "viewer")
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    answers = {}
    for email in (EMAIL, "nobody@example.org"):
        statuses = [_attempt(client, email, "wrong password!", f"10.0.0.{n}").status_code
                    for n in range(5)]
        # The sixth try comes from yet another address, with the right password for EMAIL.
        sixth = _attempt(client, email, password, "10.0.1.1")
        answers[email] = (statuses, sixth.status_code, _without_echo(sixth.get_data(as_text=True)))
    known, unknown = answers[EMAIL], answers["nobody@example.org"]
    assert known[0] == [200] * 5 and known[1] == 429
    assert "Too many failed logins" in known[2]
    assert known == unknown  # the same answers: nothing tells whether an account exists
    assert not _signed_in(client)
    # Other accounts are not locked out with this one.
    other = make_user(app, "designer@example.org", "designer")
    assert _attempt(client, "designer@example.org", other, "10.0.1.2").status_code == 302


@limiter_only
def test_a_successful_login_clears_the_count(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(RATELIMIT_ENABLED=True)
    password = make_user(app, EMAIL, "viewer")
    for round_number in range(2):
        client = app.test_client()
        for n in range(4):
            address = f"10.{round_number}.0.{n}"
            assert _attempt(client, EMAIL, "wrong password!", address).status_code == 200
        assert _attempt(client, EMAIL, password, f"10.{round_number}.1.1").status_code == 302


@limiter_only
def test_one_address_is_limited_across_accounts(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(RATELIMIT_ENABLED=True)
    client = app.test_client()
    statuses = [_attempt(client, f"user{n}@example.org", "wrong password!", "10.9.9.9")
                .status_code for n in range(11)]
    assert statuses == [200] * 10 + [429]
