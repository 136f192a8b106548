"""``memnun user ...``: the accounts services from the command line, with the same rules."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy import select

from app.auth.services import authenticate
from app.auth.sessions import session_user, start_session
from app.extensions import db
from app.models import User
from tests.support.distribution import smtp_config
from tests.support.factories import make_user
from tests.support.staff import link_in


def _run(app: Flask, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=["user", *args])


def _user(app: Flask, email: str) -> User:
    with app.app_context():
        found = db.session.scalar(select(User).where(User.email == email))
        assert found is not None
        db.session.expunge(found)
        return found


def test_list_set_role_disable_enable(units: Flask) -> None:
    make_user(units)
    make_user(units, "person@example.org", "viewer")
    listed = _run(units, "list")
    assert listed.exit_code == 0
    assert "person@example.org\tviewer\tunits=*\tlast_login=never\tsessions=0\tactive" in (
        listed.output
    )
    moved = _run(
        units, "set-role", "--email", "PERSON@example.org ", "--role", "designer", "--unit", "fen"
    )
    assert moved.exit_code == 0, moved.output
    assert "person@example.org\tdesigner\tunits=fen" in _run(units, "list").output
    assert not _user(units, "person@example.org").phone_interviewer
    made = _run(units, "set-role", "--email", "person@example.org", "--role", "designer",
                "--unit", "fen", "--phone-interviewer")
    assert made.exit_code == 0 and _user(units, "person@example.org").phone_interviewer
    kept = _run(units, "set-role", "--email", "person@example.org", "--role", "viewer",
                "--unit", "fen")  # unset: as it was
    assert kept.exit_code == 0 and _user(units, "person@example.org").phone_interviewer
    with units.app_context():
        user = db.session.scalar(select(User).where(User.email == "person@example.org"))
        token, person = start_session(user), user.id
    assert _run(units, "disable", "--email", "person@example.org").exit_code == 0
    with units.app_context():
        assert session_user(token, person) is None
    assert "disabled" in _run(units, "list").output
    assert _run(units, "enable", "--email", "person@example.org").exit_code == 0
    assert _user(units, "person@example.org").active


def test_the_cli_keeps_the_last_admin_and_refuses_unknowns(units: Flask) -> None:
    make_user(units)
    refused = _run(units, "disable", "--email", "admin@example.org")
    assert refused.exit_code != 0 and "last active admin" in refused.output
    demoted = _run(units, "set-role", "--email", "admin@example.org", "--role", "viewer")
    assert demoted.exit_code != 0
    assert _user(units, "admin@example.org").role.value == "admin"
    missing = _run(units, "end-sessions", "--email", "nobody@example.org")
    assert missing.exit_code != 0 and "no such account" in missing.output
    bad = _run(units, "disable", "--email", "not an address")
    assert bad.exit_code != 0 and "e-mail address" in bad.output
    unknown_unit = _run(
        units, "set-role", "--email", "admin@example.org", "--role", "admin", "--unit", "nowhere"
    )
    assert unknown_unit.exit_code != 0 and "nowhere" in unknown_unit.output


def test_reset_password_prints_or_mails_the_link(make_app, smtp_server) -> None:  # type: ignore[no-untyped-def]
    app = make_app(**smtp_config(smtp_server))
    old = make_user(app, "person@example.org", "viewer")
    printed = _run(app, "reset-password", "--email", "person@example.org", "--print-link")
    assert printed.exit_code == 0
    url = printed.output.strip().splitlines()[-1]
    assert "/auth/password/" in url
    with app.app_context():
        assert authenticate("person@example.org", old) is None
    mailed = _run(app, "reset-password", "--email", "person@example.org")
    assert mailed.exit_code == 0, mailed.output
    _, token = link_in(smtp_server.messages[-1])
    client = app.test_client()
    assert client.get(urlsplit(url).path).status_code == 410  # superseded by the mailed one
    assert client.get(f"/auth/password/{token}").status_code == 200


def test_end_sessions(units: Flask) -> None:
    make_user(units, "laptop@example.org", "viewer")
    with units.app_context():
        user = db.session.scalar(select(User).where(User.email == "laptop@example.org"))
        start_session(user)
    ended = _run(units, "end-sessions", "--email", "laptop@example.org")
    assert ended.exit_code == 0 and "Ended 1 session(s)" in ended.output
