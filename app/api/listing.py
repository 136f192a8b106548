"""Reading complaints, service events and responses page by page, for integrators that follow
the changes.

Pages are cut by keyset, never by offset: each page continues after the last (time, id) of the
one before, so rows inserted or changed meanwhile neither shift a page nor appear twice in one
pass, and a deep page costs no more than the first. Complaints are ordered by ``updated_at``
(a complaint changed after it was listed comes again, later: what a client that syncs wants),
service events by ``created_at`` (they never change once stored), responses by
``submitted_at``; the id breaks ties between rows of the same microsecond. ``keyset_page`` is the
one implementation of this for every list.

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
from typing import Any, TypeVar

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import joinedload, selectinload

from app.analytics.filters import expand
from app.documents import (
    ResponseContext,
    invitations_by_complaint,
    invitations_by_service_event,
    responses_with_codes,
)
from app.errors import invalid
from app.extensions import db
from app.models import (
    Category,
    Complaint,
    Invitation,
    Response,
    Service,
    ServiceEvent,
    Unit,
)
from app.references import questionnaire_id
from app.schemas.queries import ComplaintQuery, PageQuery, ResponseQuery, ServiceEventQuery

COMPLAINTS = "complaints"
SERVICE_EVENTS = "service_events"
RESPONSES = "responses"
Row = TypeVar("Row")
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


def keyset_page(stmt: Select[Any], kind: str, time_column: Any, id_column: Any,
                query: PageQuery) -> Select[Any]:
    """``stmt`` continued after ``query.cursor`` (a cursor of list ``kind``), in (time, id)
    order, one row more than a page: ``cut_page`` tells from it whether another page follows."""
    if query.cursor is not None:
        stmt = stmt.where(_after(time_column, id_column, decode_cursor(kind, query.cursor)))
    return stmt.order_by(time_column, id_column).limit(query.limit + 1)


def cut_page(rows: list[Row], kind: str, query: PageQuery,
             position: Any) -> tuple[list[Row], str | None]:
    """The page of the rows ``keyset_page`` read, and the cursor of the next page (None on the
    last one); ``position``: a row's (time, id)."""
    page = rows[: query.limit]
    if len(rows) <= query.limit or not page:
        return page, None
    return page, encode_cursor(kind, *position(page[-1]))


def tree_ids(model: type[Unit] | type[Category] | type[Service], field: str,
             code: str | None) -> frozenset[int] | None:
    """The ids of the unit, category or service ``code`` and of every one below it; None
    without a code ("all"); ``InvalidFields`` naming ``field`` for an unknown code."""
    if code is None:
        return None
    found = db.session.scalar(select(model.id).where(model.code == code))
    if found is None:
        raise invalid(field, _("no %(kind)s with the code %(code)s", kind=field, code=code),
                      "unknown_code")
    return expand(model, [found])


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
    stmt = keyset_page(stmt, COMPLAINTS, Complaint.updated_at, Complaint.id, query)
    page, next_cursor = cut_page(list(db.session.scalars(stmt).unique()), COMPLAINTS, query,
                                 lambda row: (row.updated_at, row.id))
    return ComplaintPage(
        complaints=page,
        invitations=invitations_by_complaint([complaint.id for complaint in page]),
        next_cursor=next_cursor,
    )


# --- service events -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceEventPage:
    service_events: list[ServiceEvent]
    invitations: dict[int, list[Invitation]]
    next_cursor: str | None


def list_service_events(query: ServiceEventQuery) -> ServiceEventPage:
    """One page of service events, first recorded first."""
    stmt = select(ServiceEvent).options(
        joinedload(ServiceEvent.unit),
        joinedload(ServiceEvent.service),
        joinedload(ServiceEvent.person),
    )
    units = tree_ids(Unit, "unit", query.unit)
    if units is not None:
        stmt = stmt.where(ServiceEvent.unit_id.in_(sorted(units)))
    services = tree_ids(Service, "service", query.service)
    if services is not None:
        stmt = stmt.where(ServiceEvent.service_id.in_(sorted(services)))
    if query.external_id is not None:
        stmt = stmt.where(ServiceEvent.external_id == query.external_id)
    if query.occurred_since is not None:
        stmt = stmt.where(ServiceEvent.occurred_at >= query.occurred_since)
    if query.recorded_since is not None:
        stmt = stmt.where(ServiceEvent.created_at >= query.recorded_since)
    stmt = keyset_page(stmt, SERVICE_EVENTS, ServiceEvent.created_at, ServiceEvent.id, query)
    page, next_cursor = cut_page(list(db.session.scalars(stmt).unique()), SERVICE_EVENTS, query,
                                 lambda row: (row.created_at, row.id))
    return ServiceEventPage(
        service_events=page,
        invitations=invitations_by_service_event([event.id for event in page]),
        next_cursor=next_cursor,
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
    stmt = keyset_page(stmt, RESPONSES, Response.submitted_at, Response.id, query)
    rows, next_cursor = cut_page(db.session.execute(stmt).all(), RESPONSES, query,
                                 lambda row: (row[0].submitted_at, row[0].id))
    page = [
        (response, ResponseContext(unit=unit, category=category, questionnaire=key,
                                   version=number))
        for response, unit, category, key, number in rows
    ]
    return ResponsePage(responses=page, next_cursor=next_cursor)
