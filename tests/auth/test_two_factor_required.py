"""``MEMNUN_REQUIRE_2FA``: off (nobody is made to), admin (admins), all (every member of staff).
Whoever must enrol reaches nothing but enrolment (and logging out) until they have; a wrong
value stops the app at start-up; ``memnun user reset-2fa`` is the way back in, audited."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from app import create_app
from app.config import ConfigError
from app.extensions import db
from app.models import AuditLog, User
from tests.support.database import base_config
from tests.support.factories import make_user
from tests.support.routes import protected_routes
from tests.support.two_factor import app_code, code_step, enrol, password_step
from tests.support.web import login

# What someone who must enrol first may still reach.
WHILE_ENROLLING = {
    "auth.two_factor_page",
    "auth.two_factor_enable",
    "auth.logout",
    "auth.login_code",
}


def _lands_on(client, email: str, password: str) -> str:  # type: ignore[no-untyped-def]
    response = password_step(client, email, password)
    assert response.status_code == 302
    return response.headers["Location"]


@pytest.mark.parametrize(
    ("mode", "forced"),
    [("off", set()), ("admin", {"admin"}), ("all", {"admin", "designer", "viewer"})],
)
def test_who_is_sent_to_enrolment_after_the_password(make_app, mode: str, forced: set[str]) -> None:  # type: ignore[no-untyped-def]
    app = make_app(MEMNUN_REQUIRE_2FA=mode)
    for role in ("admin", "designer", "viewer"):
        password = make_user(app, f"{role}@example.org", role)
        client = app.test_client()
        landed = _lands_on(client, f"{role}@example.org", password)
        assert landed == ("/auth/two-factor" if role in forced else "/"), role
        home = client.get("/")
        assert (home.status_code == 302) is (role in forced)


def test_an_admin_who_must_enrol_reaches_nothing_else(make_app) -> None:  # type: ignore[no-untyped-def]
    with_csrf = make_app(MEMNUN_REQUIRE_2FA="admin")
    password = make_user(with_csrf, "admin@example.org", "admin")
    app = make_app(MEMNUN_REQUIRE_2FA="admin", WTF_CSRF_ENABLED=False)
    client = app.test_client()
    client.post("/auth/login", data={"email": "admin@example.org", "password": password})
    routes = protected_routes(app) + [("dashboard page", "GET", "/dashboards/complaints")]
    reached = []
    for endpoint, method, path in routes:
        if endpoint in WHILE_ENROLLING or path.startswith("/api/"):
            continue
        response = client.open(path, method=method)
        sent_to_enrol = (
            response.status_code == 302 and response.headers["Location"] == "/auth/two-factor"
        )
        if not (sent_to_enrol or response.status_code == 403):
            reached.append((endpoint, method, path, response.status_code))
    assert not reached, reached
    callback = client.post("/dashboards/_dash-update-component", json={})
    assert callback.status_code == 403 and callback.is_json
    # Still signed in (not thrown out), and the API answers to its keys as before.
    assert client.get("/auth/two-factor").status_code == 200


def test_once_enrolled_the_admin_works_as_before(make_app, api_key) -> None:  # type: ignore[no-untyped-def]
    app = make_app(MEMNUN_REQUIRE_2FA="admin")
    password = make_user(app, "admin@example.org", "admin")
    client = app.test_client()
    login(client, "admin@example.org", password)
    assert client.get("/reports/").headers["Location"] == "/auth/two-factor"
    enrolled = enrol(client)
    assert client.get("/reports/").status_code == 200
    second = app.test_client()
    assert _lands_on(second, "admin@example.org", password) == "/auth/login/code"
    assert code_step(second, app_code(enrolled.secret)).headers["Location"] == "/"
    assert second.get("/admin/integration").status_code == 200
    api = app.test_client().get(
        "/api/v1/complaints", headers={"Authorization": f"Bearer {api_key}"}
    )
    assert api.status_code == 200


def test_a_wrong_setting_stops_the_app_with_a_clear_message(tmp_path: Path) -> None:
    config = base_config(f"sqlite:///{tmp_path / 'x.sqlite'}", tmp_path)
    with pytest.raises(ConfigError, match="MEMNUN_REQUIRE_2FA must be one of off, admin, all"):
        create_app({**config, "MEMNUN_REQUIRE_2FA": "admins"})
    assert (
        create_app({**config, "MEMNUN_REQUIRE_2FA": " ALL "}).config["MEMNUN_REQUIRE_2FA"] == "all"
    )
    env = {
        **os.environ,
        "MEMNUN_DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
        "MEMNUN_SECRET_KEY": "x" * 32,
        "MEMNUN_REQUIRE_2FA": "yes",
    }
    memnun = Path(sys.executable).with_name("memnun")
    result = subprocess.run(
        [str(memnun), "db", "current"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "MEMNUN_REQUIRE_2FA must be one of off, admin, all (got 'yes')" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_cli_resets_a_locked_out_user(app, enrolled) -> None:  # type: ignore[no-untyped-def]
    runner = app.test_cli_runner()
    result = runner.invoke(args=["user", "reset-2fa", "--email", enrolled.email])
    assert result.exit_code == 0, result.output
    assert "is off" in result.output
    assert client_signed_out(enrolled.client)
    assert _lands_on(app.test_client(), enrolled.email, enrolled.password) == "/"
    with app.app_context():
        entry = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "user.2fa.reset")
        ).one()
        assert (entry.actor, entry.target) == ("cli", f"user:{enrolled.email}")
        assert not db.session.scalar(select(User).where(User.email == enrolled.email)).totp_secret
    unknown = runner.invoke(args=["user", "reset-2fa", "--email", "nobody@example.org"])
    assert unknown.exit_code != 0 and "no user with the e-mail" in unknown.output


def client_signed_out(client) -> bool:  # type: ignore[no-untyped-def]
    return client.get("/").status_code == 302
