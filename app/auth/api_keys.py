"""Listing and revoking integrators' API keys (creating them is ``app.auth.services``).

A revoked key is refused at once (``api_key_required`` checks ``revoked_at``) and stays listed,
so the audit trail keeps saying which key did what. Revocation is never undone: make a new key.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import ApiKey, AuditLog
from app.models.types import utcnow


class ApiKeyError(LookupError):
    """No key, or more than one, matches what was asked; the message says which."""


def list_api_keys() -> list[ApiKey]:
    """Every key, active ones first, newest first within each."""
    return list(db.session.scalars(
        select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc(),
                                ApiKey.id.desc())
    ))


def find_keys(*, name: str | None = None, prefix: str | None = None) -> list[ApiKey]:
    """The unrevoked keys with this name and/or this prefix (the key's first ten characters, as
    the list shows them; a whole key also works)."""
    if not name and not prefix:
        raise ApiKeyError(_("Say which key: give its name or its prefix."))
    stmt = select(ApiKey).where(ApiKey.revoked_at.is_(None))
    if name:
        stmt = stmt.where(ApiKey.name == name.strip())
    if prefix:
        stmt = stmt.where(ApiKey.prefix == prefix.strip()[:10])
    return list(db.session.scalars(stmt.order_by(ApiKey.id)))


def revoke_api_key(actor: str, *, name: str | None = None, prefix: str | None = None,
                   key_id: int | None = None) -> ApiKey:
    """Revoke exactly one active key, named by id, name or prefix; returns it.

    A name that several active keys share is refused (``ApiKeyError``) rather than revoking
    them all: say the prefix as well.
    """
    if key_id is not None:
        key = db.session.get(ApiKey, key_id)
        if key is None or key.revoked_at is not None:
            raise ApiKeyError(_("There is no active API key with this id."))
        matches = [key]
    else:
        matches = find_keys(name=name, prefix=prefix)
    if not matches:
        raise ApiKeyError(_("No active API key matches."))
    if len(matches) > 1:
        prefixes = ", ".join(key.prefix for key in matches)
        raise ApiKeyError(_("%(count)s active keys match (prefixes %(prefixes)s); give the "
                            "prefix of the one to revoke.", count=len(matches),
                            prefixes=prefixes))
    key = matches[0]
    key.revoked_at = utcnow()
    db.session.add(AuditLog(actor=actor[:200], action="api_key.revoke",
                            target=f"api_key:{key.name}", detail={"prefix": key.prefix}))
    db.session.commit()
    return key
