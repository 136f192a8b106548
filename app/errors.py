"""What a service raises when a request cannot be carried out, whoever made the request.

Services (intake, distribution rules, the API's listings and figures) know nothing of HTTP: they
raise these, and each caller turns them into its own answer: the REST API into 422, 409 or 404
(``app.api.views``), the CSV import into a line of its report, the admin pages into messages
next to the fields. ``details`` says where, in the API's shape: a list of
``{"field", "message", "type"}``.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from app.extensions import db


class ServiceError(Exception):
    """Something sent cannot be taken in; ``message`` says why, ``details`` says where."""

    def __init__(self, message: str, details: Any | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidFields(ServiceError):
    """Fields whose values cannot be used (an unknown code, a time before receipt)."""

    def __init__(self, details: list[dict[str, str]]) -> None:
        super().__init__(_("Some fields are not valid."), details)


class Conflict(ServiceError):
    """The request contradicts what is stored (another content, an impossible transition)."""


class NotFound(ServiceError):
    """No such complaint."""


def invalid(field: str, message: str, kind: str) -> InvalidFields:
    """One field's problem, as ``InvalidFields``."""
    return InvalidFields([{"field": field, "message": message, "type": kind}])


def commit_or_conflict() -> None:
    """Commit; a unique constraint broken by a concurrent request becomes ``Conflict``."""
    try:
        db.session.commit()
    except IntegrityError:
        # Two requests created the same code at the same moment; the other one won.
        db.session.rollback()
        raise Conflict(_("This was changed by another request at the same moment; "
                         "send it again.")) from None
