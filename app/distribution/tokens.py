"""Survey link tokens.

``token = base64url(HMAC-SHA256(secret key, "invitation:<id>"))``: 256 bits, re-derivable by the
dispatcher for a reminder, never stored. The database keeps ``SHA-256(token)`` and finds the
invitation by it, so a database dump gives nobody a working link.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from typing import Any

from flask import current_app
from sqlalchemy import Select, bindparam, select

from app.extensions import db
from app.models import Invitation

TOKEN_LENGTH = 43  # 32 bytes in unpadded base64url


def token_for(invitation_id: int, secret_key: str | None = None) -> str:
    key = (secret_key or current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(key, f"invitation:{invitation_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def unsubscribe_code(invitation_id: int, secret_key: str | None = None) -> str:
    """``<id>-<HMAC>`` naming an invitation in an unsubscribe e-mail's subject: checkable
    (``invitation_of_code``), not guessable for another id, and no link to the survey."""
    key = (secret_key or current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(key, f"unsubscribe:{int(invitation_id)}".encode(), hashlib.sha256)
    return f"{int(invitation_id)}-{digest.hexdigest()[:20]}"


def invitation_of_code(code: str) -> int | None:
    """The invitation id an unsubscribe code names, or None when the code is not genuine."""
    number, _, _mac = code.strip().partition("-")
    if not number.isdigit() or len(number) > 18:
        return None
    return int(number) if hmac.compare_digest(unsubscribe_code(int(number)), code.strip()) else None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def assign_token(invitation: Invitation) -> str:
    """Give ``invitation`` its token hash (needs its id) and return the token for the link."""
    token = token_for(invitation.id)
    invitation.token_hash = hash_token(token)
    return token


def well_formed(token: str) -> bool:
    """Whether ``token`` could be a link token at all (length and alphabet)."""
    return len(token) == TOKEN_LENGTH and token.replace("-", "").replace("_", "").isalnum()


# The id alone, as a Core statement: a page that only needs to know that the link exists (the
# e-mail link's redirect) builds no ORM object for it.
_ID_OF_TOKEN = select(Invitation.__table__.c.id).where(
    Invitation.__table__.c.token_hash == bindparam("token_hash"))


def invitation_id_of(token: str) -> int | None:
    """The id of the invitation a link token belongs to, or None (``find_invitation``'s test)."""
    if not well_formed(token):
        return None
    return db.session.connection().execute(  # type: ignore[no-any-return]
        _ID_OF_TOKEN, {"token_hash": hash_token(token)}).scalar()


def find_invitation(token: str, *loads: Any) -> Invitation | None:
    """The invitation a link token belongs to, or None for anything malformed or unknown.

    ``loads`` are loader options (``joinedload(Invitation.complaint)``...) for what the caller
    will read, so that it comes in the same statement.
    """
    if not well_formed(token):
        return None
    return db.session.scalar(_lookup(loads), {"token_hash": hash_token(token)})


@functools.lru_cache(maxsize=16)
def _lookup(loads: tuple[Any, ...]) -> Select[tuple[Invitation]]:
    # Built once per set of loader options: a survey visit looks a token up on every request.
    return select(Invitation).options(*loads).where(
        Invitation.token_hash == bindparam("token_hash"))
