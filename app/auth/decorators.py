"""Guards for staff pages and API endpoints."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, g, request
from flask_login import current_user, login_required

from app.api_errors import ApiError
from app.auth.scope import WHOLE_ORGANISATION, works_inside_units
from app.auth.services import find_api_key
from app.extensions import db
from app.models import ApiScope, Role

F = TypeVar("F", bound=Callable[..., Any])


def role_required(*roles: Role) -> Callable[[F], F]:
    """Logged in, and one of ``roles`` (admins pass every check)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def inside_own_units() -> None:
    """Before every request: a user given units is refused the pages that show or change the
    whole organisation (``app.auth.scope.WHOLE_ORGANISATION``), whatever their role. Anonymous
    requests go on to the view, whose login check sends them to the login page."""
    endpoint = request.endpoint or ""
    if (endpoint.startswith(WHOLE_ORGANISATION) and current_user.is_authenticated
            and works_inside_units(current_user)):
        abort(403)


def api_key_required(scope: ApiScope) -> Callable[[F], F]:
    """A valid, unrevoked ``Authorization: Bearer`` key with ``scope``; sets ``g.api_key``."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            kind, _, token = header.partition(" ")
            if kind.lower() != "bearer" or not token.strip():
                raise ApiError(
                    401, "unauthorized", "an API key is needed: Authorization: Bearer <key>"
                )
            key = find_api_key(token.strip())
            if key is None:
                raise ApiError(401, "unauthorized", "the API key is not valid or was revoked")
            if not key.has_scope(scope):
                raise ApiError(403, "forbidden", f"this API key lacks the '{scope.value}' scope")
            if db.session.is_modified(key):
                db.session.commit()  # keep last_used_at even if the view fails later
            g.api_key = key
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator
