"""Logging in with two-factor login on: the password, then a code of the app or a recovery
code. Between the two the visitor is still anonymous everywhere; the wait expires; a code is
never taken twice; wrong codes lock the account like wrong passwords, per account and per
client; every failure is audited."""

from __future__ import annotations

import time

from sqlalchemy import select

from app.auth.views import SECOND_STEP_KEY, SECOND_STEP_MINUTES
from app.extensions import db
from app.models import AuditLog
from tests.support.factories import make_user
from tests.support.routes import protected_routes, refused_as_anonymous
from tests.support.two_factor import TwoFactorUser, app_code, code_step, enrol, password_step
from tests.support.web import csrf_token_from, login


def _signed_in(client) -> bool:  # type: ignore[no-untyped-def]
    response = client.get("/")
    return response.status_code == 200


def _halfway(app, enrolled: TwoFactorUser, address: str = "127.0.0.1"):  # type: ignore[no-untyped-def]
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    response = password_step(client, enrolled.email, enrolled.password)
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login/code"
    return client


def _enrolled_designer(app) -> TwoFactorUser:  # type: ignore[no-untyped-def]
    password = make_user(app, "designer@example.org", "designer")
    setup = app.test_client()
    setup.environ_base["REMOTE_ADDR"] = "10.1.0.1"
    login(setup, "designer@example.org", password)
    return TwoFactorUser("designer@example.org", password, enrol(setup), setup)


def test_the_password_alone_is_not_a_login(app, enrolled: TwoFactorUser) -> None:
    client = _halfway(app, enrolled)
    assert not _signed_in(client)
    page = client.get("/auth/login/code")
    assert page.status_code == 200 and "Code from your app" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    response = code_step(client, app_code(enrolled.enrolled.secret))
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert _signed_in(client)
    # The step is over: its page sends a signed-in user on.
    assert client.get("/auth/login/code").status_code == 302


def test_the_login_goes_on_to_the_page_asked_for(app, enrolled: TwoFactorUser) -> None:
    client = app.test_client()
    page = client.get("/auth/login?next=/reports/")
    client.post(
        "/auth/login?next=/reports/",
        data={
            "email": enrolled.email,
            "password": enrolled.password,
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
        },
    )
    response = code_step(client, app_code(enrolled.enrolled.secret))
    assert response.headers["Location"] == "/reports/"


def test_halfway_through_a_login_every_page_api_and_dashboard_stays_closed(  # type: ignore[no-untyped-def]
    make_app,
) -> None:
    with_csrf = make_app()
    password = make_user(with_csrf, "admin@example.org", "admin")
    setup = with_csrf.test_client()
    login(setup, "admin@example.org", password)
    enrol(setup)
    # The same database, CSRF off: the check reached is the login one, not the CSRF one.
    app = make_app(WTF_CSRF_ENABLED=False)
    client = app.test_client()
    response = client.post("/auth/login", data={"email": "admin@example.org", "password": password})
    assert response.headers["Location"] == "/auth/login/code"
    # The second step itself is the one route that answers differently.
    routes = protected_routes(app) + [("dashboard page", "GET", "/dashboards/complaints")]
    assert len(routes) > 50
    open_routes = []
    for endpoint, method, path in routes:
        if endpoint == "auth.login_code":
            continue
        answer = client.open(path, method=method)
        if not refused_as_anonymous(answer):
            open_routes.append((endpoint, method, path, answer.status_code))
        with client.session_transaction() as session:
            assert SECOND_STEP_KEY in session, f"{endpoint} dropped the waiting login"
    assert not open_routes, open_routes
    # The API wants its key, whatever the cookie says.
    assert client.get("/api/v1/complaints").status_code == 401


def test_the_second_step_expires(app, enrolled: TwoFactorUser) -> None:
    client = _halfway(app, enrolled)
    token = csrf_token_from(client.get("/auth/login/code").get_data(as_text=True))
    with client.session_transaction() as session:
        waiting = dict(session[SECOND_STEP_KEY])
        waiting["since"] -= SECOND_STEP_MINUTES * 60 + 1
        session[SECOND_STEP_KEY] = waiting
    response = client.post(
        "/auth/login/code", data={"code": app_code(enrolled.enrolled.secret), "csrf_token": token}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    assert not _signed_in(client)
    assert "Log in again" in client.get("/auth/login").get_data(as_text=True)


def test_a_forged_waiting_login_is_refused(app, enrolled: TwoFactorUser) -> None:
    client = app.test_client()
    with client.session_transaction() as session:
        session[SECOND_STEP_KEY] = {"user": "1", "since": "now"}
    assert client.get("/auth/login/code").headers["Location"] == "/auth/login"


def test_a_code_cannot_be_replayed(app, enrolled: TwoFactorUser) -> None:
    code = app_code(enrolled.enrolled.secret)
    first = _halfway(app, enrolled)
    assert code_step(first, code).status_code == 302
    second = _halfway(app, enrolled)
    refused = code_step(second, code)
    assert refused.status_code == 400
    assert "was used already" in refused.get_data(as_text=True)
    assert not _signed_in(second)
    # The enrolment's own code (the step before) is older still: refused too.
    assert code_step(second, app_code(enrolled.enrolled.secret, -1)).status_code == 400
    assert code_step(second, app_code(enrolled.enrolled.secret, 1)).status_code == 302


def test_a_recovery_code_logs_in_once_and_ends_the_other_sessions(  # type: ignore[no-untyped-def]
    app, enrolled: TwoFactorUser
) -> None:
    assert _signed_in(enrolled.client)
    recovery = enrolled.enrolled.recovery_codes[3]
    client = _halfway(app, enrolled)
    response = code_step(client, recovery)
    assert response.status_code == 302
    assert "9 are left" in client.get("/").get_data(as_text=True)
    assert _signed_in(client)
    assert not _signed_in(enrolled.client)  # the phone may be lost: its session ends
    again = _halfway(app, enrolled)
    assert code_step(again, recovery).status_code == 400


def test_wrong_codes_are_audited_without_the_code(app, enrolled: TwoFactorUser) -> None:
    client = _halfway(app, enrolled)
    assert code_step(client, "123456").status_code in (302, 400)
    assert code_step(client, "NOT-A-REAL-CODE").status_code == 400
    assert code_step(client, "").status_code == 400  # empty: refused before any check
    with app.app_context():
        entries = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "user.2fa.failed").order_by(AuditLog.id)
        ).all()
        kinds = [entry.detail["kind"] for entry in entries]
        text = repr([(e.actor, e.target, e.detail) for e in entries])
    assert kinds[-1] == "recovery" and set(kinds) <= {"app", "recovery"}
    assert "123456" not in text and "NOT-A-REAL" not in text
    assert all(entry.target == f"user:{enrolled.email}" for entry in entries)


def test_wrong_codes_lock_the_account_from_any_address(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(RATELIMIT_ENABLED=True)
    user = _enrolled_designer(app)
    client = _halfway(app, user, "10.3.0.1")
    # A right password between the guesses of the code does not reset their count.
    statuses = [
        code_step(_halfway(app, user, f"10.2.0.{n}"), "000000" if n % 2 else "999999").status_code
        for n in range(5)
    ]
    assert statuses == [400] * 5
    locked = code_step(client, app_code(user.enrolled.secret))
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.get_data(as_text=True)
    assert not _signed_in(client)
    # The password step is locked for this account too.
    assert password_step(app.test_client(), user.email, user.password).status_code == 429


def test_one_client_is_limited_across_both_steps(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(RATELIMIT_ENABLED=True, MEMNUN_LOGIN_MAX_FAILURES=100)
    user = _enrolled_designer(app)
    client = _halfway(app, user, "10.9.9.9")  # one POST
    statuses = [code_step(client, "000000").status_code for _ in range(10)]
    assert statuses == [400] * 9 + [429]


def test_the_wait_between_the_steps_is_not_extended_by_use(app, enrolled: TwoFactorUser) -> None:
    client = _halfway(app, enrolled)
    with client.session_transaction() as session:
        since = session[SECOND_STEP_KEY]["since"]
    client.get("/auth/login/code")
    code_step(client, "000000")
    with client.session_transaction() as session:
        assert session[SECOND_STEP_KEY]["since"] == since <= time.time()


def test_the_language_picked_on_the_login_page_is_kept(app, enrolled: TwoFactorUser) -> None:
    client = app.test_client()
    with client.session_transaction() as session:
        session["language"] = "nl"
    password_step(client, enrolled.email, enrolled.password)
    assert '<html lang="nl">' in client.get("/auth/login/code").get_data(as_text=True)
    code_step(client, app_code(enrolled.enrolled.secret))
    assert '<html lang="nl">' in client.get("/").get_data(as_text=True)
