"""Two-factor login for staff: a code from an authenticator app (TOTP, RFC 6238, with pyotp)
after the password, and single-use recovery codes for a lost phone.

- The TOTP secret is kept encrypted (Fernet, from ``cryptography``) with a key derived from
  ``SECRET_KEY`` by HKDF: a copy of the database alone does not give anyone the codes. Changing
  the secret key makes the stored secrets unreadable: the codes of the app are then refused, and
  the user logs in with a recovery code (or is reset with ``memnun user reset-2fa``) and enrols
  again.
- A code is accepted for its own 30-second step and one step either side (clocks drift), and
  never twice: the step of the last accepted code is kept and only a later one passes. That
  check and the write are one UPDATE, so two requests racing with one code cannot both win.
- Recovery codes are 12 characters from 32 letters and digits (60 bits), shown once, kept only as
  SHA-256 hashes salted with the user's id, each used at most once (again one UPDATE).
- ``MEMNUN_REQUIRE_2FA`` (``off``, ``admin``, ``all``) says who must enrol before they can use
  anything else (``must_enrol``).

Every change and every refused code is in the audit log, without any secret or code.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import logging
import re
import secrets
from functools import lru_cache
from typing import Literal

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import delete, func, or_, select, update

from app.auth.services import hash_secret
from app.auth.sessions import end_other_sessions
from app.extensions import db
from app.models import AuditLog, RecoveryCode, Role, User
from app.models.types import utcnow

DRIFT_STEPS = 1  # codes of the step before and after the current one pass too
RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I, O, 0 or 1 to misread
RECOVERY_CODE_LENGTH = 12
APP_CODE_RE = re.compile(r"\d{6}")
SecondFactor = Literal["app", "recovery"]
log = logging.getLogger(__name__)


class TwoFactorError(ValueError):
    """Two-factor login cannot be changed as asked; the message says why."""


# -- the secret, encrypted at rest -------------------------------------------------------------


@lru_cache(maxsize=4)
def _fernet_for(secret_key: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"memnun two-factor secret"
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _fernet() -> Fernet:
    return _fernet_for(str(current_app.config["SECRET_KEY"]))


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(stored: str | None) -> str | None:
    """The TOTP secret, or None when there is none or it cannot be read (secret key changed)."""
    if not stored:
        return None
    try:
        return _fernet().decrypt(stored.encode()).decode()
    except InvalidToken:
        return None


# -- who must have it --------------------------------------------------------------------------


def required_for(user: User) -> bool:
    """Whether ``MEMNUN_REQUIRE_2FA`` makes two-factor login compulsory for ``user``."""
    mode = current_app.config["MEMNUN_REQUIRE_2FA"]
    return mode == "all" or (mode == "admin" and user.role == Role.ADMIN)


def must_enrol(user: User) -> bool:
    """Whether ``user`` may do nothing but enrol (and log out) until they have two-factor on."""
    return required_for(user) and not user.two_factor_on


# -- enrolment ---------------------------------------------------------------------------------


def start_enrolment(user: User) -> str:
    """The secret to enrol with: the one already waiting for its first code (so that reloading
    the page does not make a scanned QR code worthless), or a new one."""
    if user.two_factor_on:
        raise TwoFactorError("two-factor login is already on")
    secret = decrypt_secret(user.totp_secret)
    if secret is None:
        secret = pyotp.random_base32()
        user.totp_secret = encrypt_secret(secret)
        user.totp_last_step = None
        db.session.commit()
    return secret


def provisioning_uri(user: User, secret: str) -> str:
    """The ``otpauth://`` address an authenticator app reads from the QR code."""
    issuer = current_app.config.get("MEMNUN_ORGANISATION_NAME") or "Memnun"
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def qr_code(uri: str) -> str:
    """The QR code of ``uri`` as an SVG data: URL, made here (no request leaves the page)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=4, dark="#000", light="#fff")


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def enable(user: User, code: str, actor: str, at: dt.datetime | None = None) -> list[str] | None:
    """Switch two-factor login on when ``code`` is right for the waiting secret; returns the new
    recovery codes (to be shown once), or None for a wrong code."""
    if user.two_factor_on:
        raise TwoFactorError("two-factor login is already on")
    secret = decrypt_secret(user.totp_secret)
    step = _matching_step(secret, code, at) if secret else None
    if step is None:
        _audit(actor, "user.2fa.enrol_failed", user)
        db.session.commit()
        return None
    user.totp_enabled_at = at or utcnow()
    user.totp_last_step = step
    codes = _replace_recovery_codes(user)
    _audit(actor, "user.2fa.enable", user)
    db.session.commit()
    return codes


# -- the second step of a login ----------------------------------------------------------------


def _matching_step(secret: str, code: str, at: dt.datetime | None) -> int | None:
    """The time step (within the drift allowed) whose code is ``code``, or None."""
    code = "".join(code.split())
    if not APP_CODE_RE.fullmatch(code):
        return None
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(at or utcnow())
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def accept_app_code(user: User, code: str, at: dt.datetime | None = None) -> bool:
    """Whether ``code`` is a valid code of ``user``'s app not used before; takes it if so."""
    if not user.two_factor_on:
        return False
    secret = decrypt_secret(user.totp_secret)
    if secret is None:
        log.warning(
            "two-factor secret of user %s cannot be decrypted (secret key changed?)", user.id
        )
        return False
    step = _matching_step(secret, code, at)
    if step is None:
        return False
    # Only a later step than the last one taken passes: a code seen over a shoulder, or sent
    # twice at once, is refused. One UPDATE checks and takes it.
    taken = db.session.execute(
        update(User)
        .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    db.session.expire(user, ["totp_last_step"])
    return taken == 1


def _recovery_hash(user: User, code: str) -> str:
    return hash_secret(f"recovery:{user.id}:{code}")


def _normal_recovery_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def use_recovery_code(user: User, code: str, at: dt.datetime | None = None) -> bool:
    """Whether ``code`` is one of ``user``'s unused recovery codes; uses it up if so."""
    normal = _normal_recovery_code(code)
    if not user.two_factor_on or len(normal) != RECOVERY_CODE_LENGTH:
        return False
    used = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _recovery_hash(user, normal),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=at or utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if used != 1:
        db.session.rollback()
        return False
    _audit(
        f"user:{user.email}",
        "user.2fa.recovery_code_used",
        user,
        {"left": recovery_codes_left(user)},
    )
    db.session.commit()
    return True


def check_second_factor(
    user: User, code: str, at: dt.datetime | None = None
) -> SecondFactor | None:
    """Which kind of code ``code`` was, when it was right: a code of the app or a recovery code.
    A wrong one is audited (its kind only, never the code)."""
    if APP_CODE_RE.fullmatch("".join(code.split())):
        if accept_app_code(user, code, at):
            return "app"
        kind = "app"
    else:
        if use_recovery_code(user, code, at):
            return "recovery"
        kind = "recovery"
    _audit(f"user:{user.email}", "user.2fa.failed", user, {"kind": kind})
    db.session.commit()
    return None


# -- recovery codes ----------------------------------------------------------------------------


def _new_recovery_code() -> str:
    return "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))


def shown(code: str) -> str:
    """A recovery code as shown and printed: ``ABCD-EFGH-JKLM``."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def _replace_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    db.session.add_all(
        RecoveryCode(user_id=user.id, code_hash=_recovery_hash(user, code)) for code in codes
    )
    return [shown(code) for code in codes]


def regenerate_recovery_codes(user: User, actor: str) -> list[str]:
    """New recovery codes for ``user``; the old ones, used or not, stop working."""
    if not user.two_factor_on:
        raise TwoFactorError("two-factor login is off")
    codes = _replace_recovery_codes(user)
    _audit(actor, "user.2fa.recovery_codes_regenerated", user)
    db.session.commit()
    return codes


def recovery_codes_left(user: User) -> int:
    return (
        db.session.scalar(
            select(func.count(RecoveryCode.id)).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        )
        or 0
    )


# -- switching it off --------------------------------------------------------------------------


def confirms_identity(user: User, answer: str, at: dt.datetime | None = None) -> bool:
    """Whether ``answer`` is ``user``'s password or a current code of their app (asked before
    two-factor login is switched off or new recovery codes are made)."""
    if APP_CODE_RE.fullmatch("".join(answer.split())) and accept_app_code(user, answer, at):
        return True
    return bool(answer) and user.check_password(answer)


def disable(user: User, actor: str, action: str = "user.2fa.disable") -> None:
    """Switch two-factor login off: secret and recovery codes are forgotten."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    _audit(actor, action, user)
    db.session.commit()


def reset(email: str, actor: str = "cli") -> User:
    """The way back in for someone who lost both phone and recovery codes (``memnun user
    reset-2fa``): two-factor login off, every session of theirs ended."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise TwoFactorError(f"no user with the e-mail {email.strip().lower()}")
    disable(user, actor, "user.2fa.reset")
    end_other_sessions(user, keep_token=None)
    return user


def _audit(actor: str, action: str, user: User, detail: dict[str, object] | None = None) -> None:
    db.session.add(
        AuditLog(actor=actor[:200], action=action, target=f"user:{user.email}", detail=detail)
    )
