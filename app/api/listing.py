"""Reading complaints and responses page by page, for integrators that follow the changes.

Pages are cut by keyset, never by offset: each page continues after the last (time, id) of the
one before, so rows inserted or changed meanwhile neither shift a page nor appear twice in one
pass, and a deep page costs no more than the first. Complaints are ordered by ``updated_at``
(a complaint changed after it was listed comes again, later: what a client that syncs wants),
responses by ``submitted_at``; the id breaks ties between rows of the same microsecond.

The cursor is opaque to clients: the position, signed with the app's secret key so that a
hand-made or damaged cursor is refused with a clear 422 instead of reading an odd position.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload, selectinload

from app.documents import ResponseContext, invitations_by_complaint, responses_with_codes
from app.errors import invalid
from app.extensions import db
from app.models import (
    Complaint,
    Invitation,
    Response,
)
from app.references import questionnaire_id
from app.schemas.queries import ComplaintQuery, ResponseQuery

COMPLAINTS = "complaints"
RESPONSES = "responses"
_SIGNATURE_BYTES = 12


# --- cursors ------------------------------------------------------------------------------------


def _signature(body: bytes) -> bytes:
    key = hashlib.sha256(b"cursor:" + str(current_app.config["SECRET_KEY"]).encode()).digest()
    return hmac.new(key, body, hashlib.sha256).digest()[:_SIGNATURE_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_cursor(kind: str, at: dt.datetime, row_id: int) -> str:
    """The cursor that continues ``kind`` after the row (``at``, ``row_id``)."""
    body = json.dumps([kind, at.astimezone(dt.UTC).isoformat(), row_id]).encode()
    return f"{_b64(body)}.{_b64(_signature(body))}"


def decode_cursor(kind: str, cursor: str) -> tuple[dt.datetime, int]:
    """The position in ``cursor``; ``InvalidFields`` (field ``cursor``) when it is not one of
    ours, was made for another list, or was damaged."""
    problem = invalid("cursor", _("is not a cursor given by this list; start again without it"),
                      "invalid_cursor")
    try:
        encoded_body, encoded_signature = cursor.split(".")
        body = _unb64(encoded_body)
        if not hmac.compare_digest(_unb64(encoded_signature), _signature(body)):
            raise problem
        found_kind, at, row_id = json.loads(body)
        position = dt.datetime.fromisoformat(at), int(row_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise problem from None
    if found_kind != kind or position[0].tzinfo is None:
        raise problem
    return position


def _after(time_column: Any, id_column: Any, position: tuple[dt.datetime, int]) -> Any:
    at, row_id = position
    return or_(time_column > at, and_(time_column == at, id_column > row_id))


# --- complaints ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComplaintPage:
    complaints: list[Complaint]
    invitations: dict[int, list[Invitation]]
    next_cursor: str | None


def list_complaints(query: ComplaintQuery) -> ComplaintPage:
    """One page of complaints, least recently changed first."""
    stmt = select(Complaint).options(
        joinedload(Complaint.category),
        joinedload(Complaint.unit),
        joinedload(Complaint.complainant),
        selectinload(Complaint.events),
    )
    if query.status is not None:
        stmt = stmt.where(Complaint.status == query.status)
    if query.updated_since is not None:
        stmt = stmt.where(Complaint.updated_at >= query.updated_since)
    if query.cursor is not None:
        position = decode_cursor(COMPLAINTS, query.cursor)
        stmt = stmt.where(_after(Complaint.updated_at, Complaint.id, position))
    stmt = stmt.order_by(Complaint.updated_at, Complaint.id).limit(query.limit + 1)
    rows = list(db.session.scalars(stmt).unique())
    page, more = rows[: query.limit], len(rows) > query.limit
    last = page[-1] if page else None
    return ComplaintPage(
        complaints=page,
        invitations=invitations_by_complaint([complaint.id for complaint in page]),
        next_cursor=encode_cursor(COMPLAINTS, last.updated_at, last.id) if more and last else None,
    )


# --- responses ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResponsePage:
    responses: list[tuple[Response, ResponseContext]]
    next_cursor: str | None


def list_responses(query: ResponseQuery) -> ResponsePage:
    """One page of responses, oldest first, with the codes their documents name."""
    stmt = responses_with_codes()
    if query.questionnaire is not None:
        stmt = stmt.where(Response.questionnaire_id == questionnaire_id(query.questionnaire))
    if query.since is not None:
        stmt = stmt.where(Response.submitted_at >= query.since)
    if query.cursor is not None:
        position = decode_cursor(RESPONSES, query.cursor)
        stmt = stmt.where(_after(Response.submitted_at, Response.id, position))
    stmt = stmt.order_by(Response.submitted_at, Response.id).limit(query.limit + 1)
    rows = db.session.execute(stmt).all()
    page = [
        (response, ResponseContext(unit=unit, category=category, questionnaire=key,
                                   version=number))
        for response, unit, category, key, number in rows[: query.limit]
    ]
    last = page[-1][0] if page else None
    more = len(rows) > query.limit
    return ResponsePage(
        responses=page,
        next_cursor=encode_cursor(RESPONSES, last.submitted_at, last.id) if more and last else None,
    )
