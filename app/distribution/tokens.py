"""Survey link tokens.

``token = base64url(HMAC-SHA256(secret key, "invitation:<id>"))``: 256 bits, re-derivable by the
dispatcher for a reminder, never stored. The database keeps ``SHA-256(token)`` and finds the
invitation by it, so a database dump gives nobody a working link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import Invitation

TOKEN_LENGTH = 43  # 32 bytes in unpadded base64url


def token_for(invitation_id: int, secret_key: str | None = None) -> str:
    key = (secret_key or current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(key, f"invitation:{invitation_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def assign_token(invitation: Invitation) -> str:
    """Give ``invitation`` its token hash (needs its id) and return the token for the link."""
    token = token_for(invitation.id)
    invitation.token_hash = hash_token(token)
    return token


def find_invitation(token: str) -> Invitation | None:
    """The invitation a link token belongs to, or None for anything malformed or unknown."""
    if len(token) != TOKEN_LENGTH or not token.replace("-", "").replace("_", "").isalnum():
        return None
    return db.session.scalar(select(Invitation).where(Invitation.token_hash == hash_token(token)))
