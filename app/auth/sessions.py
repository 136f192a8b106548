"""Staff sessions the server can end: logout, idle timeout and absolute timeout.

Flask's session is a signed cookie, so on its own the server cannot take one back: a cookie copied
before logout would keep working. Each login therefore opens a ``StaffSession`` row and puts a
random token in the signed session; ``session_user`` (the login manager's user loader) accepts the
cookie only while that row is open and within both time limits:

- idle: ``MEMNUN_SESSION_IDLE_MINUTES`` (default 30) since the last request. A dashboard left open
  with live refresh counts as in use; the absolute limit still ends it.
- absolute: ``MEMNUN_SESSION_MAX_HOURS`` (default 12) since the login, however busy.

Only the SHA-256 of the token is stored, as for API keys. ``last_seen_at`` is written at most once
a minute per session, so an open dashboard does not write on every callback.
"""

from __future__ import annotations

import datetime as dt
import secrets

from flask import current_app
from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.orm import joinedload

from app.auth.services import hash_secret
from app.extensions import db
from app.models import StaffSession, User
from app.models.types import utcnow

SESSION_KEY = "staff_session"  # the token's key in Flask's signed session
TOUCH_EVERY = dt.timedelta(minutes=1)


def idle_limit() -> dt.timedelta:
    return dt.timedelta(minutes=int(current_app.config["MEMNUN_SESSION_IDLE_MINUTES"]))


def absolute_limit() -> dt.timedelta:
    return dt.timedelta(hours=int(current_app.config["MEMNUN_SESSION_MAX_HOURS"]))


def start_session(user: User, now: dt.datetime | None = None) -> str:
    """Open a session for ``user`` and return its token (for the signed cookie only).

    Also removes the user's sessions that ended or ran out, so the table holds about one row per
    device in use.
    """
    now = now or utcnow()
    db.session.execute(
        delete(StaffSession).where(StaffSession.user_id == user.id, _finished(now))
    )
    token = secrets.token_urlsafe(32)
    db.session.add(StaffSession(user_id=user.id, token_hash=hash_secret(token), created_at=now,
                                last_seen_at=now))
    db.session.commit()
    return token


def _finished(now: dt.datetime) -> ColumnElement[bool]:
    return or_(
        StaffSession.ended_at.is_not(None),
        StaffSession.last_seen_at <= now - idle_limit(),
        StaffSession.created_at <= now - absolute_limit(),
    )


def session_user(token: object, user_id: int, now: dt.datetime | None = None) -> User | None:
    """The active user whose open, unexpired session ``token`` names, or None (anonymous).

    ``user_id`` is what flask-login kept in the same signed session; both must agree.
    """
    if not isinstance(token, str) or not token:
        return None
    now = now or utcnow()
    found = db.session.scalar(
        select(StaffSession)
        .options(joinedload(StaffSession.user))
        .where(StaffSession.token_hash == hash_secret(token))
    )
    if found is None or found.user_id != user_id or found.ended_at is not None:
        return None
    if now - found.last_seen_at >= idle_limit() or now - found.created_at >= absolute_limit():
        found.ended_at = now
        db.session.commit()
        return None
    if not found.user.active:
        return None
    if now - found.last_seen_at >= TOUCH_EVERY:
        found.last_seen_at = now
        db.session.commit()
    return found.user


def end_session(token: object, now: dt.datetime | None = None) -> None:
    """End the session ``token`` names (logout): its cookie authenticates no more."""
    if not isinstance(token, str) or not token:
        return
    db.session.execute(
        update(StaffSession)
        .where(StaffSession.token_hash == hash_secret(token), StaffSession.ended_at.is_(None))
        .values(ended_at=now or utcnow())
    )
    db.session.commit()



def end_other_sessions(user: User, keep_token: object, now: dt.datetime | None = None) -> int:
    """End every open session of ``user`` but the one ``keep_token`` names (None: all of them),
    after a change to how they log in: a cookie stolen before it is worthless after it."""
    stmt = update(StaffSession).where(
        StaffSession.user_id == user.id, StaffSession.ended_at.is_(None)
    )
    if isinstance(keep_token, str) and keep_token:
        stmt = stmt.where(StaffSession.token_hash != hash_secret(keep_token))
    ended = db.session.execute(stmt.values(ended_at=now or utcnow())).rowcount
    db.session.commit()
    return ended
