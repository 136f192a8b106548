"""Staff users, API keys and the audit log."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from flask_login import UserMixin
from sqlalchemy import JSON, BigInteger, Column, ForeignKey, String, Table, false
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models.organisation import Unit
from app.models.types import UTCDateTime, str_enum, utcnow


class Role(enum.StrEnum):
    ADMIN = "admin"
    DESIGNER = "designer"
    VIEWER = "viewer"


user_unit = Table(
    "user_unit",
    db.metadata,
    Column("user_id", ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True),
)


class User(UserMixin, db.Model):
    """A member of staff. A user with units in ``units`` sees only those units' figures."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"), default=Role.VIEWER)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Two-factor login (app.auth.two_factor). The TOTP secret is kept encrypted (Fernet), never
    # in clear; it is set at the start of enrolment and counts only once ``totp_enabled_at`` is.
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_enabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The last 30-second time step whose code was accepted: a code is never taken twice.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    # The language the user chose with the switch (tr, en, nl, et); None: the browser's.
    language: Mapped[str | None] = mapped_column(String(8))
    # A phone interviewer sees, on the call list and the call screen only, the name and number
    # of the people to call in their units (``app.auth.scope.may_call_people``); set by an
    # admin on the user's page. Everywhere else their role decides, as for anyone.
    phone_interviewer: Mapped[bool] = mapped_column(default=False, server_default=false())

    units: Mapped[list[Unit]] = relationship(secondary=user_unit)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # flask-login refuses inactive users
        return self.active

    def has_role(self, *roles: Role) -> bool:
        return self.role == Role.ADMIN or self.role in roles

    @property
    def two_factor_on(self) -> bool:
        """Whether logging in asks for a code after the password."""
        return self.totp_enabled_at is not None and self.totp_secret is not None


class StaffSession(db.Model):
    """One login of a member of staff, so that the server can end it (``app.auth.sessions``).

    The signed session cookie carries a random token; only its SHA-256 is kept here. A cookie
    is worth something only while its row is open (not ended by logout) and within the idle and
    absolute time limits, so a copied cookie dies with the session it belonged to.
    """

    __tablename__ = "staff_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


class RecoveryCode(db.Model):
    """One single-use recovery code of a user with two-factor login, for a lost phone.

    Only a SHA-256 of the code (salted with the user's id) is kept; a used code keeps its row
    with ``used_at`` set, so the page can say how many are left.
    """

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class PasswordLinkPurpose(enum.StrEnum):
    WELCOME = "welcome"  # a new account: the person chooses a first password
    RESET = "reset"  # an admin asked for a new password


class PasswordLink(db.Model):
    """A single-use, expiring link that lets a member of staff set a password
    (``app.auth.accounts``). Only the SHA-256 of its token is stored; a used, expired or
    superseded link sets nothing."""

    __tablename__ = "password_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[PasswordLinkPurpose] = mapped_column(
        str_enum(PasswordLinkPurpose, "password_link_purpose")
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


class ApiScope(enum.StrEnum):
    INTAKE = "intake"
    READ = "read"
    ADMIN = "admin"


class ApiKey(db.Model):
    """An integrator's key. Only the SHA-256 of the key is stored; ``prefix`` identifies it."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    def has_scope(self, scope: ApiScope) -> bool:
        return ApiScope.ADMIN.value in self.scopes or scope.value in self.scopes


class AuditLog(db.Model):
    """Who changed what. Never holds personal data, only ids and codes."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
