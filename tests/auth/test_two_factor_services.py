"""The two-factor services against codes computed by pyotp, as an authenticator app does:
drift of one step either side, no replay, single-use recovery codes, the secret encrypted at
rest, and the audit trail (without any secret or code in it)."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from sqlalchemy import select, text

from app.auth import two_factor
from app.auth.sessions import session_user, start_session
from app.extensions import db
from app.models import AuditLog, RecoveryCode, User
from tests.support.factories import make_user

EMAIL = "admin@example.org"
T0 = dt.datetime(2026, 12, 7, 9, 0, 10, tzinfo=dt.UTC)  # 10 s into a 30-second step


def _user() -> User:
    return db.session.scalar(select(User).where(User.email == EMAIL))


def _code(secret: str, at: dt.datetime, steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(at + dt.timedelta(seconds=30 * steps))


@pytest.fixture
def ctx(app):  # type: ignore[no-untyped-def]
    make_user(app, EMAIL)
    with app.app_context():
        yield app


def _enrolled(at: dt.datetime = T0) -> tuple[User, str, list[str]]:
    user = _user()
    secret = two_factor.start_enrolment(user)
    codes = two_factor.enable(user, _code(secret, at), "user:" + EMAIL, at=at)
    assert codes is not None
    return user, secret, codes


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)))


def test_enrolment_needs_a_right_first_code_and_keeps_the_secret_until_then(ctx) -> None:  # type: ignore[no-untyped-def]
    user = _user()
    secret = two_factor.start_enrolment(user)
    assert not user.two_factor_on
    # Reloading the page keeps the secret a phone may have scanned already.
    assert two_factor.start_enrolment(user) == secret
    wrong = str((int(_code(secret, T0)) + 1) % 1_000_000).zfill(6)
    assert two_factor.enable(user, wrong, "user:x", at=T0) is None
    assert not user.two_factor_on
    codes = two_factor.enable(user, _code(secret, T0), "user:x", at=T0)
    assert codes is not None and len(codes) == 10 and len(set(codes)) == 10
    assert user.two_factor_on
    assert _actions() == ["user.create", "user.2fa.enrol_failed", "user.2fa.enable"]
    with pytest.raises(two_factor.TwoFactorError):
        two_factor.start_enrolment(user)


@pytest.mark.parametrize("steps", [-1, 0, 1])
def test_one_step_of_clock_drift_either_side_passes(ctx, steps: int) -> None:  # type: ignore[no-untyped-def]
    user, secret, _ = _enrolled(T0 - dt.timedelta(minutes=5))
    assert two_factor.accept_app_code(user, _code(secret, T0, steps), at=T0)


@pytest.mark.parametrize("steps", [-3, -2, 2, 3])
def test_codes_further_off_are_refused(ctx, steps: int) -> None:  # type: ignore[no-untyped-def]
    user, secret, _ = _enrolled(T0 - dt.timedelta(minutes=5))
    assert not two_factor.accept_app_code(user, _code(secret, T0, steps), at=T0)


def test_a_code_is_never_taken_twice_nor_an_older_one_after_it(ctx) -> None:  # type: ignore[no-untyped-def]
    user, secret, _ = _enrolled(T0 - dt.timedelta(minutes=5))
    code = _code(secret, T0)
    assert two_factor.accept_app_code(user, code, at=T0)
    assert not two_factor.accept_app_code(user, code, at=T0)
    # Still valid by the clock ten seconds later, but used: refused.
    assert not two_factor.accept_app_code(user, code, at=T0 + dt.timedelta(seconds=10))
    # The previous step's code is within the drift, but older than the one taken: refused.
    assert not two_factor.accept_app_code(user, _code(secret, T0, -1), at=T0)
    # The next step's code passes.
    assert two_factor.accept_app_code(user, _code(secret, T0, 1), at=T0 + dt.timedelta(seconds=30))
    # The enrolment code itself cannot be used to log in.
    user2_secret = secret
    assert not two_factor.accept_app_code(
        user, _code(user2_secret, T0, 1), at=T0 + dt.timedelta(seconds=30)
    )


def test_the_enrolment_code_does_not_log_in(ctx) -> None:  # type: ignore[no-untyped-def]
    user, secret, _ = _enrolled(T0)
    assert not two_factor.accept_app_code(user, _code(secret, T0), at=T0)
    assert two_factor.accept_app_code(user, _code(secret, T0, 1), at=T0)


def test_recovery_codes_work_once_each_in_any_spelling(ctx) -> None:  # type: ignore[no-untyped-def]
    user, _, codes = _enrolled()
    assert two_factor.recovery_codes_left(user) == 10
    assert two_factor.check_second_factor(user, codes[0].lower().replace("-", " ")) == "recovery"
    assert two_factor.check_second_factor(user, codes[0]) is None
    assert two_factor.recovery_codes_left(user) == 9
    assert two_factor.check_second_factor(user, codes[1]) == "recovery"
    assert two_factor.recovery_codes_left(user) == 8
    used = db.session.scalars(
        select(AuditLog)
        .where(AuditLog.action == "user.2fa.recovery_code_used")
        .order_by(AuditLog.id)
    ).all()
    assert [entry.detail for entry in used] == [{"left": 9}, {"left": 8}]
    failed = db.session.scalars(select(AuditLog).where(AuditLog.action == "user.2fa.failed")).all()
    assert [entry.detail for entry in failed] == [{"kind": "recovery"}]


def test_another_users_recovery_code_is_refused(ctx, app) -> None:  # type: ignore[no-untyped-def]
    user, _, codes = _enrolled()
    other_email = "designer@example.org"
    make_user(app, other_email, "designer")
    other = db.session.scalar(select(User).where(User.email == other_email))
    secret = two_factor.start_enrolment(other)
    assert two_factor.enable(other, _code(secret, T0), "user:x", at=T0) is not None
    assert two_factor.check_second_factor(other, codes[0]) is None
    assert two_factor.recovery_codes_left(user) == 10


def test_new_recovery_codes_kill_the_old_ones(ctx) -> None:  # type: ignore[no-untyped-def]
    user, _, old = _enrolled()
    new = two_factor.regenerate_recovery_codes(user, "user:" + EMAIL)
    assert not set(new) & set(old)
    assert two_factor.check_second_factor(user, old[2]) is None
    assert two_factor.check_second_factor(user, new[2]) == "recovery"
    assert "user.2fa.recovery_codes_regenerated" in _actions()


def test_switching_off_asks_for_the_password_or_a_current_code(ctx) -> None:  # type: ignore[no-untyped-def]
    user, secret, _ = _enrolled(T0 - dt.timedelta(minutes=5))
    assert not two_factor.confirms_identity(user, "not the password", at=T0)
    assert not two_factor.confirms_identity(user, _code(secret, T0, 5), at=T0)
    assert two_factor.confirms_identity(user, "correct horse battery", at=T0)
    assert two_factor.confirms_identity(user, _code(secret, T0), at=T0)
    two_factor.disable(user, "user:" + EMAIL)
    assert not user.two_factor_on and user.totp_secret is None
    assert db.session.scalar(select(db.func.count(RecoveryCode.id))) == 0
    assert two_factor.check_second_factor(user, _code(secret, T0, 1), at=T0) is None


def test_the_secret_is_encrypted_at_rest(ctx) -> None:  # type: ignore[no-untyped-def]
    user, secret, codes = _enrolled()
    raw = db.session.execute(
        text("SELECT totp_secret FROM user_account WHERE id = :id"), {"id": user.id}
    ).scalar_one()
    assert raw and secret not in raw and secret.lower() not in raw.lower()
    assert two_factor.decrypt_secret(raw) == secret
    stored = " ".join(db.session.scalars(text("SELECT code_hash FROM recovery_code")))
    for code in codes:
        assert code not in stored and code.replace("-", "") not in stored


def test_a_changed_secret_key_refuses_app_codes_but_not_recovery_codes(ctx) -> None:  # type: ignore[no-untyped-def]
    user, secret, codes = _enrolled(T0 - dt.timedelta(minutes=5))
    ctx.config["SECRET_KEY"] = "another-secret-key"
    assert not two_factor.accept_app_code(user, _code(secret, T0), at=T0)
    assert two_factor.check_second_factor(user, codes[0]) == "recovery"


def test_nothing_secret_reaches_the_audit_log(ctx) -> None:  # type: ignore[no-untyped-def]
    user, secret, codes = _enrolled(T0 - dt.timedelta(minutes=5))
    two_factor.check_second_factor(user, "000000", at=T0)
    two_factor.check_second_factor(user, "WRONG-CODE-HERE", at=T0)
    two_factor.check_second_factor(user, codes[0], at=T0)
    new = two_factor.regenerate_recovery_codes(user, "user:" + EMAIL)
    two_factor.disable(user, "user:" + EMAIL)
    dump = " ".join(
        str((e.actor, e.action, e.target, e.detail)) for e in db.session.scalars(select(AuditLog))
    )
    for value in [secret, "000000", "WRONG", *codes, *new]:
        assert value not in dump
    assert [a for a in _actions() if a.startswith("user.2fa")] == [
        "user.2fa.enable",
        "user.2fa.failed",
        "user.2fa.failed",
        "user.2fa.recovery_code_used",
        "user.2fa.recovery_codes_regenerated",
        "user.2fa.disable",
    ]


def test_reset_switches_it_off_and_ends_every_session(ctx) -> None:  # type: ignore[no-untyped-def]
    user, _, _ = _enrolled()
    token = start_session(user)
    reset_user = two_factor.reset(" Admin@Example.org ")
    assert reset_user.id == user.id and not user.two_factor_on
    assert session_user(token, user.id) is None
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "user.2fa.reset")).one()
    assert entry.actor == "cli" and entry.target == f"user:{EMAIL}"
    with pytest.raises(two_factor.TwoFactorError):
        two_factor.reset("nobody@example.org")


@pytest.mark.parametrize(
    ("mode", "admin", "designer"),
    [("off", False, False), ("admin", True, False), ("all", True, True)],
)
def test_who_must_enrol(make_app, mode: str, admin: bool, designer: bool) -> None:  # type: ignore[no-untyped-def]
    app = make_app(MEMNUN_REQUIRE_2FA=mode)
    make_user(app, EMAIL, "admin")
    make_user(app, "designer@example.org", "designer")
    with app.app_context():
        users = {u.role.value: u for u in db.session.scalars(select(User))}
        assert two_factor.must_enrol(users["admin"]) is admin
        assert two_factor.must_enrol(users["designer"]) is designer
        secret = two_factor.start_enrolment(users["admin"])
        two_factor.enable(users["admin"], _code(secret, T0), "user:x", at=T0)
        assert not two_factor.must_enrol(users["admin"])
