"""The staff accounts services: invitations by link, guard rails, disabling, resets, sessions."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from sqlalchemy import select

from app.auth.services import UserError, authenticate, hash_secret, staff_email
from app.auth.sessions import session_user, start_session
from app.extensions import db
from app.models import AuditLog, PasswordLink, Role, StaffSession, Unit, User
from app.staff.accounts import (
    NotAllowed,
    change_access,
    disable_user,
    enable_user,
    end_sessions,
    find_account,
    invite_user,
    list_accounts,
    reset_password,
    set_password_with_link,
    valid_link,
)
from tests.support.factories import make_user

PASSWORD = "a new long password"


def _user(email: str) -> User:
    found = db.session.scalar(select(User).where(User.email == email))
    assert found is not None
    return found


def _unit(code: str) -> int:
    return int(db.session.scalar(select(Unit.id).where(Unit.code == code)))


def test_an_invited_user_sets_a_password_once_and_logs_in(units: Flask) -> None:
    make_user(units)
    with units.app_context():
        admin = _user("admin@example.org")
        user, token = invite_user(admin, "  New.Person@Example.org ", Role.VIEWER, [])
        assert user.email == "new.person@example.org"  # the login form's rule
        assert authenticate(user.email, PASSWORD) is None  # no usable password yet
        stored = db.session.scalar(select(PasswordLink).where(PasswordLink.user_id == user.id))
        assert stored.token_hash == hash_secret(token) and token not in stored.token_hash
        set_password_with_link(token, PASSWORD)
        assert authenticate("new.person@example.org", PASSWORD) is not None
        with pytest.raises(UserError):  # single use
            set_password_with_link(token, "another long password")
        actions = db.session.scalars(select(AuditLog.action)).all()
        assert "user.create" in actions and "user.set_password" in actions
        # ids only: no e-mail address in the audit trail
        assert not [
            entry
            for entry in db.session.scalars(select(AuditLog))
            if "new.person" in f"{entry.actor}{entry.target}{entry.detail}"
        ]


def test_a_link_expires_and_a_newer_one_replaces_it(units: Flask) -> None:
    with units.app_context():
        user, first = invite_user(None, "late@example.org", Role.VIEWER, [])
        second = reset_password(None, user)
        assert valid_link(first) is None and valid_link(second) is not None
        later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=49)
        assert valid_link(second, now=later) is None
        with pytest.raises(UserError):
            set_password_with_link("not-a-token", PASSWORD)


def test_short_passwords_and_bad_addresses_are_refused(units: Flask) -> None:
    with units.app_context():
        with pytest.raises(UserError):
            staff_email("not an address")
        with pytest.raises(UserError):
            invite_user(None, "two@@example.org", Role.VIEWER, [])
        _, token = invite_user(None, "short@example.org", Role.VIEWER, [])
        with pytest.raises(UserError):
            set_password_with_link(token, "short")
        assert valid_link(token) is not None  # still usable after a refused password


def test_the_last_admin_of_the_organisation_stays(units: Flask) -> None:
    make_user(units)
    make_user(units, "other@example.org", "admin")
    with units.app_context():
        admin, other = _user("admin@example.org"), _user("other@example.org")
        with pytest.raises(NotAllowed):
            disable_user(admin, admin)  # never oneself
        with pytest.raises(NotAllowed):
            change_access(admin, admin, Role.VIEWER, [])
        disable_user(admin, other)
        with pytest.raises(NotAllowed):  # the CLI too: admin is the last one now
            change_access(None, admin, Role.VIEWER, [])
        with pytest.raises(NotAllowed):
            change_access(None, admin, Role.ADMIN, [_unit("fen")])  # units limit an admin
        with pytest.raises(NotAllowed):
            disable_user(None, admin)
        enable_user(None, other)
        change_access(None, admin, Role.VIEWER, [])  # another admin exists again
        assert _user("admin@example.org").role == Role.VIEWER


def test_a_unit_admin_manages_only_accounts_inside_their_units(units: Flask) -> None:
    make_user(units, "fen-admin@example.org", "admin", units=["fen"])
    make_user(units, "fen-viewer@example.org", "viewer", units=["fen"])
    make_user(units, "zabita-viewer@example.org", "viewer", units=["zabita"])
    make_user(units, "everything@example.org", "viewer")
    with units.app_context():
        unit_admin = _user("fen-admin@example.org")
        listed = {account.user.email for account in list_accounts(unit_admin)}
        assert listed == {"fen-admin@example.org", "fen-viewer@example.org"}
        for outside in ("zabita-viewer@example.org", "everything@example.org"):
            with pytest.raises(UserError):
                find_account(unit_admin, email=outside)
            with pytest.raises(NotAllowed):
                disable_user(unit_admin, _user(outside))
        with pytest.raises(NotAllowed):  # no whole-organisation accounts from a unit admin
            invite_user(unit_admin, "wide@example.org", Role.VIEWER, [])
        with pytest.raises(NotAllowed):
            invite_user(unit_admin, "other@example.org", Role.VIEWER, [_unit("zabita")])
        fen_viewer = _user("fen-viewer@example.org")
        with pytest.raises(NotAllowed):
            change_access(unit_admin, fen_viewer, Role.VIEWER, [_unit("zabita")])
        user, _ = invite_user(unit_admin, "new-fen@example.org", Role.DESIGNER, [_unit("fen")])
        assert [unit.code for unit in user.units] == ["fen"]
        assert db.session.scalar(select(User).where(User.email == "wide@example.org")) is None


def test_disabling_ends_sessions_and_login_and_api_keys_stay(units: Flask, api_key: str) -> None:
    password = make_user(units, "leaver@example.org", "viewer")
    with units.app_context():
        leaver = _user("leaver@example.org")
        token = start_session(leaver)
        assert session_user(token, leaver.id) is not None
        ended = disable_user(None, leaver)
        assert ended == 1
        assert session_user(token, leaver.id) is None
        assert authenticate("leaver@example.org", password) is None
        from app.auth.services import find_api_key

        assert find_api_key(api_key) is not None  # keys belong to the integration
        enable_user(None, leaver)
        assert authenticate("leaver@example.org", password) is not None


def test_a_reset_stops_the_old_password_and_ends_sessions(units: Flask) -> None:
    password = make_user(units, "forgetful@example.org", "designer")
    with units.app_context():
        user = _user("forgetful@example.org")
        session_token = start_session(user)
        token = reset_password(None, user)
        assert authenticate("forgetful@example.org", password) is None
        assert session_user(session_token, user.id) is None
        set_password_with_link(token, PASSWORD)
        assert authenticate("forgetful@example.org", PASSWORD) is not None


def test_ending_sessions_is_counted_and_audited(units: Flask) -> None:
    make_user(units, "laptop@example.org", "viewer")
    with units.app_context():
        user = _user("laptop@example.org")
        start_session(user)
        start_session(user)
        assert end_sessions(None, user) == 2
        assert (
            db.session.scalar(
                select(StaffSession.id).where(
                    StaffSession.user_id == user.id, StaffSession.ended_at.is_(None)
                )
            )
            is None
        )
        entry = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "user.end_sessions")
        ).one()
        assert entry.target == f"user:{user.id}" and entry.detail == {"sessions_ended": 2}
