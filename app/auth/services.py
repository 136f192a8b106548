"""Creating users and API keys, and checking them. Only hashes of secrets are stored."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models import ApiKey, ApiScope, AuditLog, Role, Unit, User

API_KEY_PREFIX = "mk_"
API_KEY_USE_PRECISION = dt.timedelta(minutes=1)


class UserError(ValueError):
    """A user cannot be created as asked; the message says why."""


MIN_PASSWORD_LENGTH = 10


def staff_email(email: str) -> str:
    """A member of staff's e-mail address as stored and looked up: trimmed, lower case, and
    one that email-validator accepts. The one rule for the login form, the admin pages and the
    CLI, so that no account is made that could never log in. Raises ``UserError``.

    The local part must be ASCII and a non-ASCII domain is kept in its ASCII (IDNA) form: the
    password e-mail has to reach any mail server, and not every one speaks SMTPUTF8."""
    email = (email or "").strip().lower()
    try:
        checked = validate_email(email, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise UserError(f"not an e-mail address the login form accepts: {exc}") from None
    return (checked.ascii_email or email).lower()


def check_new_password(password: str) -> None:
    """The rule for a new password, wherever it is set; raises ``UserError``."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


def create_user(
    email: str, password: str, role: Role, unit_codes: list[str] | None = None
) -> User:
    email = staff_email(email)
    check_new_password(password)
    if db.session.scalar(select(User).where(User.email == email)):
        raise UserError(f"a user with the e-mail {email} already exists")
    user = User(email=email, role=role)
    user.set_password(password)
    for code in unit_codes or []:
        unit = db.session.scalar(select(Unit).where(Unit.code == code))
        if unit is None:
            raise UserError(f"no unit with the code {code!r}")
        user.units.append(unit)
    db.session.add(user)
    db.session.add(AuditLog(actor="cli", action="user.create", target=f"user:{email}"))
    db.session.commit()
    return user


_dummy_hash: str | None = None


def authenticate(email: str, password: str) -> User | None:
    """The active user with this e-mail address and password, or None.

    An unknown address costs a password check too (against a throwaway hash), so the time an
    answer takes does not tell whether an account exists.
    """
    global _dummy_hash
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        if _dummy_hash is None:
            _dummy_hash = generate_password_hash(secrets.token_urlsafe(16))
        check_password_hash(_dummy_hash, password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    return user


def hash_secret(secret: str) -> str:
    """SHA-256 is right here: API keys and survey tokens are long random strings, not passwords."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(name: str, scopes: list[ApiScope], actor: str = "cli") -> tuple[ApiKey, str]:
    """Create a key; returns the row and the key itself, which is shown once and never stored."""
    if not name.strip():
        raise UserError("an API key needs a name")
    plain = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name.strip(),
        prefix=plain[:10],
        key_hash=hash_secret(plain),
        scopes=[scope.value for scope in scopes],
    )
    db.session.add(key)
    db.session.add(AuditLog(actor=actor, action="api_key.create", target=f"api_key:{name}"))
    db.session.commit()
    return key, plain


def find_api_key(plain: str) -> ApiKey | None:
    """The active key matching ``plain``, or None. Marks it used, at most once a minute (the
    admin page shows minutes): a write on every request would cost each API call a commit."""
    key = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_secret(plain)))
    if key is None or key.revoked_at is not None:
        return None
    now = dt.datetime.now(dt.UTC)
    if key.last_used_at is None or now - key.last_used_at >= API_KEY_USE_PRECISION:
        key.last_used_at = now
    return key
