"""What the staff pages share: who is acting, as the audit log names them, and answers that
must not be kept in any cache (a secret shown once, a complainant's contact data)."""

from __future__ import annotations

from flask import Response, make_response
from flask_login import current_user


def acting_user() -> str:
    """The signed-in member of staff as the integration pages record them (``user:<e-mail>``)."""
    return f"user:{current_user.email}"


def no_store(html: str) -> Response:
    """``html`` as an answer that no browser or proxy keeps."""
    response = make_response(html)
    response.headers["Cache-Control"] = "no-store"
    return response
