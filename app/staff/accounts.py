"""Staff accounts: who may work in Memnun, with which role and units, and how they get a password.

One set of services for the admin pages and the ``memnun user`` commands:

- **Invite**: a new account has no usable password; the person gets an e-mail with a single-use
  link (``PasswordLink``, SHA-256 of the token only) valid for ``LINK_HOURS``, and chooses one.
- **Reset**: the same e-mail link; the old password stops working at once and the person's
  sessions end (an admin resets because a password may be known to someone else).
- **Disable**: the person can no longer log in and every session of theirs ends. API keys belong
  to the integration, not to a person (``api_key`` has no owner), so they are untouched:
  revoke them on the Integration page.
- **Guard rails**: the last active admin of the whole organisation (an admin without units) is
  never disabled, demoted or given units; nobody changes their own role or units or disables
  themselves (ask another admin); an admin given units manages only accounts inside those units
  (every unit of the account in scope) and can give only those units.

Every change writes an ``AuditLog`` entry naming the account by id (no e-mail address).
``actor`` None is the command line, which has the database and so every right.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from app.auth.scope import units_in_scope
from app.auth.services import UserError, check_new_password, hash_secret, staff_email
from app.auth.sessions import absolute_limit, idle_limit
from app.extensions import db
from app.models import (
    AuditLog,
    PasswordLink,
    PasswordLinkPurpose,
    Role,
    StaffSession,
    Unit,
    User,
)
from app.models.types import utcnow

LINK_HOURS = 48


class NotAllowed(UserError):
    """The change is refused by a guard rail; the message says which."""


@dataclass(frozen=True)
class Account:
    """One line of the accounts list."""

    user: User
    open_sessions: int


def _actor_name(actor: User | None) -> str:
    return "cli" if actor is None else f"user:{actor.id}"


def _audit(actor: User | None, action: str, user: User, **detail: object) -> None:
    db.session.add(
        AuditLog(
            actor=_actor_name(actor), action=action, target=f"user:{user.id}", detail=detail or None
        )
    )


def may_manage(actor: User | None, user: User) -> bool:
    """Whether ``actor`` may change ``user`` (see the module's guard rails on units)."""
    if actor is None:
        return True
    allowed = units_in_scope(actor)
    if allowed is None:
        return True
    return bool(user.units) and all(unit.id in allowed for unit in user.units)


def list_accounts(actor: User | None) -> list[Account]:
    """The accounts ``actor`` may manage, by e-mail address, with their open sessions."""
    now = utcnow()
    open_counts = dict(
        db.session.execute(
            select(StaffSession.user_id, func.count())
            .where(
                StaffSession.ended_at.is_(None),
                StaffSession.last_seen_at > now - idle_limit(),
                StaffSession.created_at > now - absolute_limit(),
            )
            .group_by(StaffSession.user_id)
        ).all()
    )
    users = db.session.scalars(
        select(User).options(selectinload(User.units)).order_by(User.email)
    ).all()
    return [Account(user, open_counts.get(user.id, 0)) for user in users if may_manage(actor, user)]


def find_account(
    actor: User | None, *, user_id: int | None = None, email: str | None = None
) -> User:
    """The account named by id or e-mail address, if ``actor`` may manage it."""
    if user_id is not None:
        user = db.session.get(User, user_id)
    else:
        user = db.session.scalar(select(User).where(User.email == staff_email(email or "")))
    if user is None or not may_manage(actor, user):
        raise UserError(_("There is no such account that you may manage."))
    return user


def _units(actor: User | None, unit_ids: list[int]) -> list[Unit]:
    units = list(db.session.scalars(select(Unit).where(Unit.id.in_(unit_ids)))) if unit_ids else []
    if len(units) != len(set(unit_ids)):
        raise UserError(_("One of the units does not exist."))
    allowed = units_in_scope(actor) if actor is not None else None
    if allowed is not None and (not units or any(unit.id not in allowed for unit in units)):
        raise NotAllowed(_("You may give only units inside your own, and at least one."))
    return units


def units_by_code(codes: list[str]) -> list[int]:
    """Unit ids for unit codes (the CLI's way of naming units)."""
    ids = []
    for code in codes:
        unit_id = db.session.scalar(select(Unit.id).where(Unit.code == code.strip()))
        if unit_id is None:
            raise UserError(_("No unit has the code %(code)s.", code=code))
        ids.append(unit_id)
    return ids


def _whole_organisation_admins(excluding: User) -> int:
    """Active admins without units, other than ``excluding``."""
    return sum(
        1
        for user in db.session.scalars(
            select(User)
            .options(selectinload(User.units))
            .where(User.role == Role.ADMIN, User.active.is_(True), User.id != excluding.id)
        )
        if not user.units
    )


def _keeps_an_admin(user: User, *, role: Role, has_units: bool, active: bool) -> None:
    was = user.active and user.role == Role.ADMIN and not user.units
    stays = active and role == Role.ADMIN and not has_units
    if was and not stays and _whole_organisation_admins(user) == 0:
        raise NotAllowed(
            _(
                "This is the last active admin of the whole organisation: make "
                "another one first, or nobody could run Memnun."
            )
        )


def _not_self(actor: User | None, user: User) -> None:
    if actor is not None and actor.id == user.id:
        raise NotAllowed(
            _("You cannot change your own role or units, or disable yourself: ask another admin.")
        )


# --- password links --------------------------------------------------------------------------


def issue_password_link(
    user: User, purpose: PasswordLinkPurpose, now: dt.datetime | None = None
) -> str:
    """A new link for ``user`` (earlier unused ones stop working); returns the plain token,
    which goes into the e-mail and is never stored. The caller commits."""
    now = now or utcnow()
    db.session.execute(
        update(PasswordLink)
        .where(PasswordLink.user_id == user.id, PasswordLink.used_at.is_(None))
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    db.session.add(
        PasswordLink(
            user_id=user.id,
            token_hash=hash_secret(token),
            purpose=purpose,
            created_at=now,
            expires_at=now + dt.timedelta(hours=LINK_HOURS),
        )
    )
    return token


def password_link_url(token: str) -> str:
    return f"{current_app.config['MEMNUN_BASE_URL'].rstrip('/')}/auth/password/{token}"


def valid_link(token: str, now: dt.datetime | None = None) -> PasswordLink | None:
    """The unused, unexpired link of an active account that ``token`` opens, or None."""
    if not token or len(token) > 100:
        return None
    link = db.session.scalar(
        select(PasswordLink).where(PasswordLink.token_hash == hash_secret(token))
    )
    now = now or utcnow()
    if link is None or link.used_at is not None or link.expires_at <= now:
        return None
    if not link.user.active:
        return None
    return link


def set_password_with_link(token: str, password: str) -> User:
    """Set the password of the account ``token`` opens and use the link up; every session of
    the account ends (whoever had it before is out). Raises ``UserError``."""
    link = valid_link(token)
    if link is None:
        raise UserError(_("This link has expired or was used already. Ask an admin for a new one."))
    check_new_password(password)
    now = utcnow()
    link.used_at = now
    link.user.set_password(password)
    _end_sessions(link.user, now)
    db.session.add(
        AuditLog(
            actor=f"user:{link.user_id}",
            action="user.set_password",
            target=f"user:{link.user_id}",
            detail={"link": link.purpose.value},
        )
    )
    db.session.commit()
    return link.user


def _end_sessions(user: User, now: dt.datetime) -> int:
    result = db.session.execute(
        update(StaffSession)
        .where(StaffSession.user_id == user.id, StaffSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _unusable_password(user: User) -> None:
    user.set_password(secrets.token_urlsafe(32))  # nobody knows it: only a link sets one


# --- changes -------------------------------------------------------------------------------


def invite_user(
    actor: User | None, email: str, role: Role, unit_ids: list[int], *,
    phone_interviewer: bool = False,
) -> tuple[User, str]:
    """Make an account without a usable password; returns it and the token of its welcome link
    (mail it with ``app.staff.mail.send_password_link``)."""
    email = staff_email(email)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise UserError(_("An account with this e-mail address exists already."))
    user = User(email=email, role=role, units=_units(actor, unit_ids),
                phone_interviewer=phone_interviewer)
    _unusable_password(user)
    db.session.add(user)
    db.session.flush()
    token = issue_password_link(user, PasswordLinkPurpose.WELCOME)
    _audit(actor, "user.create", user, role=role.value, units=sorted(unit_ids),
           phone_interviewer=phone_interviewer)
    db.session.commit()
    return user, token


def _access(user: User) -> dict[str, object]:
    """What ``user`` may do, as the audit log records it before and after a change."""
    return {"role": user.role.value, "units": sorted(u.id for u in user.units),
            "phone_interviewer": user.phone_interviewer}


def change_access(
    actor: User | None, user: User, role: Role, unit_ids: list[int], *,
    phone_interviewer: bool | None = None,
) -> User:
    """Give ``user`` this role and these units (none: the whole organisation), and make them a
    phone interviewer or not (None: as they are)."""
    if not may_manage(actor, user):
        raise NotAllowed(_("There is no such account that you may manage."))
    units = _units(actor, unit_ids)
    if phone_interviewer is None:
        phone_interviewer = user.phone_interviewer
    if (role == user.role and {u.id for u in units} == {u.id for u in user.units}
            and phone_interviewer == user.phone_interviewer):
        return user
    _not_self(actor, user)
    _keeps_an_admin(user, role=role, has_units=bool(units), active=user.active)
    before = _access(user)
    user.role = role
    user.units = units
    user.phone_interviewer = phone_interviewer
    _audit(actor, "user.change", user, before=before, after=_access(user))
    db.session.commit()
    return user


def disable_user(actor: User | None, user: User) -> int:
    """The account can no longer log in and its sessions end; returns how many ended."""
    if not may_manage(actor, user):
        raise NotAllowed(_("There is no such account that you may manage."))
    _not_self(actor, user)
    _keeps_an_admin(user, role=user.role, has_units=bool(user.units), active=False)
    user.active = False
    ended = _end_sessions(user, utcnow())
    _audit(actor, "user.disable", user, sessions_ended=ended)
    db.session.commit()
    return ended


def enable_user(actor: User | None, user: User) -> None:
    if not may_manage(actor, user):
        raise NotAllowed(_("There is no such account that you may manage."))
    if not user.active:
        user.active = True
        _audit(actor, "user.enable", user)
        db.session.commit()


def reset_password(actor: User | None, user: User) -> str:
    """The old password stops working, the sessions end, and a reset link is made; returns its
    token (mail it, or give it to the person another way)."""
    if not may_manage(actor, user):
        raise NotAllowed(_("There is no such account that you may manage."))
    if not user.active:
        raise UserError(_("This account is disabled: enable it first."))
    now = utcnow()
    _unusable_password(user)
    ended = _end_sessions(user, now)
    token = issue_password_link(user, PasswordLinkPurpose.RESET, now)
    _audit(actor, "user.reset_password", user, sessions_ended=ended)
    db.session.commit()
    return token


def end_sessions(actor: User | None, user: User) -> int:
    """End every session of ``user`` (a lost laptop); returns how many were open."""
    if not may_manage(actor, user):
        raise NotAllowed(_("There is no such account that you may manage."))
    ended = _end_sessions(user, utcnow())
    _audit(actor, "user.end_sessions", user, sessions_ended=ended)
    db.session.commit()
    return ended
