"""Intake: units, categories, services, complaints and their status changes.

The REST views and the CSV import both call these functions, so both apply the same rules. They
know nothing of HTTP: they raise ``ServiceError`` subclasses, which the callers turn into answers
(422, 409, 404) or into a line of an import report. Each call commits once, so a complaint change
and what it sets off (a survey planned, a survey cancelled) are stored together or not at all.

Complaint states (``ComplaintStatus``) and the events that move them:

    received --acknowledged--> acknowledged
    received | acknowledged | reopened --resolved--> resolved
    resolved | closed --reopened--> reopened
    any state but closed --closed--> closed   (a complaint may be closed unresolved: withdrawn)

An acknowledgement that arrives late (after the complaint moved on, but dated before its first
resolution or closure) is recorded without changing the status. Every event must be dated no
earlier than the complaint's receipt, and a status change no earlier than the previous one.
The same event (type and time) delivered again changes nothing and is not an error.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any, TypeVar

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict, InvalidFields, NotFound, commit_or_conflict, invalid
from app.extensions import db
from app.models import (
    AuditLog,
    Category,
    Complainant,
    Complaint,
    ComplaintEvent,
    ComplaintKind,
    ComplaintStatus,
    EventType,
    Service,
    ServiceEvent,
    Unit,
)
from app.models.bulk import matching
from app.schemas.complaints import (
    CategoryIn,
    ComplainantIn,
    ComplaintIn,
    EventIn,
    ServiceIn,
    UnitIn,
)
from app.schemas.fields import CONTROL_RE

DEFAULT_SOURCE = "default"
EXTERNAL_REF_PREFIX = "ext:"
NUMERIC_ID_RE = re.compile(r"[0-9]{1,15}")  # ASCII digits only: "²".isdigit() is True
OPEN_FOR_RESOLUTION = {
    ComplaintStatus.RECEIVED,
    ComplaintStatus.ACKNOWLEDGED,
    ComplaintStatus.REOPENED,
}
REOPENABLE = {ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED}

Node = TypeVar("Node", Unit, Category, Service)


# --- units, categories and services ------------------------------------------------------------


def put_unit(code: str, data: UnitIn, actor: str) -> tuple[Unit, bool]:
    """Create or replace the unit ``code``; returns it and whether it was created."""
    unit, created = _put_node(Unit, code, data.name, data.parent, actor)
    commit_or_conflict()
    return unit, created


def put_category(code: str, data: CategoryIn, actor: str) -> tuple[Category, bool]:
    """Create or replace the category ``code``; returns it and whether it was created."""
    category, created = _put_node(
        Category, code, data.name, data.parent, actor,
        committed_response_days=data.committed_response_days,
    )
    commit_or_conflict()
    return category, created


def put_service(code: str, data: ServiceIn, actor: str) -> tuple[Service, bool]:
    """Create or replace the service ``code`` of the catalogue; returns it and whether it was
    created."""
    service, created = _put_node(Service, code, data.name, data.parent, actor)
    commit_or_conflict()
    return service, created


def list_services() -> list[Service]:
    return list(db.session.scalars(select(Service).order_by(Service.code)))


def list_units() -> list[Unit]:
    return list(db.session.scalars(select(Unit).order_by(Unit.code)))


def list_categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.code)))


def _put_node(
    model: type[Node], code: str, name: str, parent_code: str | None, actor: str, **fields: Any
) -> tuple[Node, bool]:
    """Create or replace a node of the unit, category or service tree, with an audit entry when it
    changes. ``fields`` are the model's further columns."""
    node = db.session.scalar(select(model).where(model.code == code))
    parent = None
    if parent_code is not None:
        parent = db.session.scalar(select(model).where(model.code == parent_code))
        if parent is None:
            raise invalid("parent", _("no %(kind)s with the code %(code)s",
                                      kind=model.__tablename__, code=parent_code), "unknown_code")
        if node is not None and _is_ancestor(node, parent):
            raise invalid("parent", _("%(parent)s is %(code)s itself or lies below it, so it "
                                      "cannot be its parent: the tree would have a cycle",
                                      parent=parent_code, code=code), "cycle")
    created = node is None
    if node is None:
        node = model(code=code)
        db.session.add(node)
    values = {"name": name, "parent": parent, **fields}
    if not created and all(getattr(node, key) == value for key, value in values.items()):
        return node, False  # the same again: nothing to store, nothing to audit
    for key, value in values.items():
        setattr(node, key, value)
    kind = model.__tablename__
    db.session.add(AuditLog(actor=actor, action=f"{kind}.{'create' if created else 'update'}",
                            target=f"{kind}:{code}",
                            detail={"name": name, "parent": parent_code, **fields}))
    return node, created


def _is_ancestor(node: Node, candidate: Node | None) -> bool:
    """Whether ``node`` is ``candidate`` or one of its ancestors."""
    seen: set[int] = set()
    while candidate is not None and candidate.id not in seen:
        if candidate.id == node.id:
            return True
        seen.add(candidate.id)
        candidate = candidate.parent
    return False


# --- complaints -----------------------------------------------------------------------------


def receive_complaint(data: ComplaintIn, actor: str, *,
                      with_personal: bool = True) -> tuple[Complaint, bool]:
    """Store a new complaint; returns it and whether it was created.

    A complaint already stored under the same ``external_id`` is returned as it is when the
    content is the same (a safe retry), and refused with ``Conflict`` when it differs;
    ``with_personal``: as for ``same_complaint``.
    """
    existing = find_by_external_id(data.external_id)
    if existing is not None:
        return same_complaint(existing, data, with_personal=with_personal), False
    category = db.session.scalar(select(Category).where(Category.code == data.category))
    unit = db.session.scalar(select(Unit).where(Unit.code == data.unit))
    complaint = new_complaint(data, category, unit, actor)
    db.session.add(complaint)
    try:
        commit_keeping_loaded()
    except IntegrityError:
        # The same external_id arrived twice at once: judge this one against the winner.
        db.session.rollback()
        existing = find_by_external_id(data.external_id)
        if existing is None:
            raise
        return same_complaint(existing, data, with_personal=with_personal), False
    return complaint, True


def new_complaint(
    data: ComplaintIn,
    category: Category | None,
    unit: Unit | None,
    actor: str,
    people: list[Complainant] | None = None,
) -> Complaint:
    """The unsaved complaint ``data`` describes, with its "received" event.

    ``category`` and ``unit`` are the rows of its codes as the caller found them (None: no such
    code, which raises ``InvalidFields``); ``people`` is passed on to ``complainant_for``.
    """
    values = complaint_values(data, category, unit)
    complaint = Complaint(**values, category=category, unit=unit,
                          complainant=complainant_for(data.complainant, people))
    complaint.events.append(ComplaintEvent(type=EventType.RECEIVED, at=data.received_at,
                                           actor=actor))
    return complaint


def complaint_values(
    data: ComplaintIn, category: Category | None, unit: Unit | None
) -> dict[str, Any]:
    """The columns of the new complaint ``data`` describes, but its complainant and the times
    of writing; ``InvalidFields`` when ``category`` or ``unit`` is None (no such code).
    The single POST builds its row from them, a batch writes them in bulk."""
    category, unit = _check_codes(data, category, unit)
    # Only a complaint is owed an answer within the committed time (ISO 10002).
    due_at = None
    if data.kind == ComplaintKind.COMPLAINT:
        due_at = data.due_at or default_due_at(category, data.received_at)
    return {
        "source": DEFAULT_SOURCE,
        "external_id": data.external_id,
        "kind": data.kind,
        "received_at": data.received_at,
        "channel": data.channel,
        "category_id": category.id,
        "unit_id": unit.id,
        "subject": data.subject,
        "description": data.description,
        "due_at": due_at,
        "status": ComplaintStatus.RECEIVED,
        "reopen_count": 0,
    }


def commit_keeping_loaded() -> None:
    """Commit without expiring what the session holds.

    The answer to a new complaint is built from the rows just written, whose every value is
    known here (ids come back from the INSERT, defaults are set in Python): reading them back
    after the commit would cost a query per row and relationship, for nothing.
    """
    session = db.session()
    previous = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = previous


def default_due_at(category: Category, received_at: dt.datetime) -> dt.datetime | None:
    """``received_at`` plus the committed response days of the category or its nearest ancestor
    that has them (calendar days); None when no category up the tree commits to a time."""
    seen: set[int] = set()
    node: Category | None = category
    while node is not None and node.id not in seen:
        if node.committed_response_days is not None:
            return received_at + dt.timedelta(days=node.committed_response_days)
        seen.add(node.id)
        node = node.parent
    return None


def find_by_external_id(external_id: str) -> Complaint | None:
    return db.session.scalar(
        select(Complaint).where(
            Complaint.source == DEFAULT_SOURCE, Complaint.external_id == external_id
        )
    )


def find_complaint(ref: str, *, for_update: bool = False) -> Complaint:
    """The complaint named by ``ref``: its id, or ``ext:<external_id>``; ``NotFound`` if none.

    ``for_update`` takes the complaint's write lock for the rest of the transaction, so that two
    status changes of one complaint (or one delivered twice at once) are judged one after the
    other. A no-op UPDATE does it on both databases: PostgreSQL locks the row, SQLite takes its
    write lock (it ignores ``FOR UPDATE``).
    """
    condition = ref_condition(Complaint, ref)
    complaint = None
    if condition is not None:
        if for_update:
            db.session.execute(
                update(Complaint)
                .where(condition)
                .values(updated_at=Complaint.updated_at)
                .execution_options(synchronize_session=False)
            )
        complaint = db.session.scalar(select(Complaint).where(condition))
    if complaint is None:
        raise NotFound(_("There is no complaint %(ref)s.", ref=ref))
    return complaint


def ref_condition(model: type[Complaint] | type[ServiceEvent],
                  ref: str) -> ColumnElement[bool] | None:
    """The WHERE clause for ``ref`` (an id, or ``ext:<external_id>``) over ``model``'s rows, or
    None when ``ref`` cannot name one (so that the database is never handed what it cannot
    compare: NUL, numbers beyond its integers)."""
    if ref.startswith(EXTERNAL_REF_PREFIX):
        external_id = ref[len(EXTERNAL_REF_PREFIX):]
        if not 0 < len(external_id) <= 128 or CONTROL_RE.search(external_id):
            return None
        return and_(model.source == DEFAULT_SOURCE, model.external_id == external_id)
    if NUMERIC_ID_RE.fullmatch(ref):
        return model.id == int(ref)
    return None


def _check_codes(
    data: ComplaintIn, category: Category | None, unit: Unit | None
) -> tuple[Category, Unit]:
    problems = []
    if category is None:
        problems.append({"field": "category", "type": "unknown_code",
                         "message": _("no category with the code %(code)s", code=data.category)})
    if unit is None:
        problems.append({"field": "unit", "type": "unknown_code",
                         "message": _("no unit with the code %(code)s", code=data.unit)})
    if problems:
        raise InvalidFields(problems)
    assert category is not None and unit is not None  # for the type checker
    return category, unit


def complainant_values(data: ComplainantIn) -> dict[str, Any]:
    """The columns of a complainant row holding what ``data`` says (opt-out aside)."""
    language = data.language or current_app.config.get("BABEL_DEFAULT_LOCALE", "tr")
    return {
        "name": data.name,
        "email": data.email,
        "phone": data.phone,
        "language": language,
        "survey_consent": data.survey_consent,
    }


def complainant_for(data: ComplainantIn, people: list[Complainant] | None = None) -> Complainant:
    """The complainant row holding exactly what this complaint said about its complainant.

    A person is recognised by their normalised e-mail address. A row of theirs is reused only
    when it holds the same data, so that every complaint keeps the name, language and consent it
    came with; a new row for a known person carries over their opt-out, which is never undone.
    ``people``: the unerased rows of this e-mail address, oldest first, when the caller looked
    them up already (a batch does so for all its addresses at once); otherwise read here.
    """
    values = complainant_values(data)
    if data.email is None:
        return Complainant(**values)
    rows = people if people is not None else people_by_email([data.email])[data.email]
    same = same_person_row(values, rows)
    if same is not None:
        return same
    return Complainant(**values, opted_out_at=carried_opt_out(rows))


def same_person_row(values: dict[str, Any], rows: Sequence[Any]) -> Any | None:
    """The first of ``rows`` (complainants of one e-mail address) holding exactly ``values``."""
    for row in rows:
        if all(getattr(row, name) == value for name, value in values.items()):
            return row
    return None


def carried_opt_out(rows: Sequence[Any]) -> dt.datetime | None:
    """The opt-out a new row of this person carries over: their first, never undone."""
    opted_out = [row.opted_out_at for row in rows if row.opted_out_at is not None]
    return min(opted_out) if opted_out else None


def people_by_email(emails: list[str]) -> dict[str, list[Complainant]]:
    """The unerased complainant rows of each address, oldest first (an empty list: none)."""
    found: dict[str, list[Complainant]] = {email: [] for email in emails}
    if emails:
        stmt, person = matching(Complainant, "email", erased_at=None)
        rows = db.session.scalars(stmt.order_by(person.id), {"values": list(found)})
        for row in rows:
            found[row.email].append(row)  # type: ignore[index]
    return found


def same_complaint(stored: Complaint, data: ComplaintIn, *,
                   with_personal: bool = True) -> Complaint:
    """``stored`` when ``data`` says the same; otherwise a ``Conflict`` naming what differs.

    Without ``with_personal`` (a sender that may not read personal data: an intake key) the
    personal fields (subject, description, the complainant) are not compared at all: whether a
    guessed phone number or name matches what is stored would otherwise show in the answer, one
    guess per request (or 500 per batch). Such a sender's retry is judged on the rest.
    """
    differing = [
        name
        for name, same in (
            ("kind", stored.kind == data.kind),
            ("received_at", stored.received_at == data.received_at),
            ("channel", stored.channel == data.channel),
            ("category", stored.category.code == data.category),
            ("unit", stored.unit.code == data.unit),
            ("subject", not with_personal or stored.subject == data.subject),
            ("description", not with_personal or stored.description == data.description),
            # Without due_at the sender left it to us; a retry must not fail because a
            # category's committed days changed since the first delivery.
            ("due_at", data.due_at is None or stored.due_at == data.due_at),
        )
        if not same
    ]
    person = stored.complainant
    if with_personal and person is not None and person.erased_at is None:
        for name, value in complainant_values(data.complainant).items():
            if getattr(person, name) != value:
                differing.append(f"complainant.{name}")
    if differing:
        raise Conflict(
            _("A complaint with the external_id %(id)s is already stored with other content.",
              id=data.external_id),
            {"complaint_id": stored.id, "differing_fields": differing},
        )
    return stored


# --- status changes -------------------------------------------------------------------------


def record_event(complaint: Complaint, data: EventIn, actor: str) -> tuple[Complaint, bool]:
    """Apply a status change reported by the sending system; returns the complaint and whether
    the event was new. An impossible change raises and leaves everything as it was."""
    kind = EventType(data.type.value)
    if any(event.type == kind and event.at == data.at for event in complaint.events):
        db.session.rollback()  # delivered again: already applied; let go of the lock
        return complaint, False
    _check_transition(complaint, kind, data.at)
    _apply(complaint, kind, data.at)
    complaint.events.append(ComplaintEvent(type=kind, at=data.at, note=data.note, actor=actor))
    if kind == EventType.RESOLVED and complaint.kind == ComplaintKind.COMPLAINT:
        # A request, suggestion or compliment is handled, but not surveyed as a complaint is.
        from app.distribution.planner import plan_for_resolution

        plan_for_resolution(complaint)
    elif kind == EventType.REOPENED:
        from app.distribution.planner import cancel_open_invitations

        cancel_open_invitations(complaint)
    db.session.commit()
    return complaint, True


def _check_transition(complaint: Complaint, kind: EventType, at: dt.datetime) -> None:
    if at < complaint.received_at:
        raise invalid("at", _("is before the complaint was received (%(received)s)",
                              received=complaint.received_at.isoformat()), "before_received")
    status = complaint.status
    if kind == EventType.ACKNOWLEDGED:
        _check_acknowledgement(complaint, at)
        return
    last_type, last_at = _last_status_change(complaint)
    if at < last_at:
        raise Conflict(
            _("The event is dated before the complaint's last change (%(type)s at %(at)s).",
              type=last_type.value, at=last_at.isoformat()),
            {"status": status.value},
        )
    if kind == EventType.RESOLVED and status not in OPEN_FOR_RESOLUTION:
        message = (_("The complaint is closed; reopen it before resolving it again.")
                   if status == ComplaintStatus.CLOSED
                   else _("The complaint is already resolved."))
        raise Conflict(message, {"status": status.value})
    if kind == EventType.REOPENED and status not in REOPENABLE:
        raise Conflict(_("Only a resolved or closed complaint can be reopened; this one is "
                         "%(status)s.", status=status.value), {"status": status.value})
    if kind == EventType.CLOSED and status == ComplaintStatus.CLOSED:
        raise Conflict(_("The complaint is already closed."), {"status": status.value})


def _check_acknowledgement(complaint: Complaint, at: dt.datetime) -> None:
    if complaint.acknowledged_at is not None:
        raise Conflict(
            _("The complaint was already acknowledged at %(at)s.",
              at=complaint.acknowledged_at.isoformat()),
            {"status": complaint.status.value},
        )
    ends = [e.at for e in complaint.events
            if e.type in (EventType.RESOLVED, EventType.CLOSED)]
    if ends and at > min(ends):
        raise Conflict(
            _("An acknowledgement must be dated before the complaint was first resolved or "
              "closed (%(at)s).", at=min(ends).isoformat()),
            {"status": complaint.status.value},
        )


def _last_status_change(complaint: Complaint) -> tuple[EventType, dt.datetime]:
    """The latest change of status; receipt counts even when no event records it (complaints
    loaded by other means than intake)."""
    changes = [(e.at, e.type) for e in complaint.events if e.type != EventType.ACKNOWLEDGED]
    at, kind = max(changes, default=(complaint.received_at, EventType.RECEIVED),
                   key=lambda change: change[0])
    return kind, at


def _apply(complaint: Complaint, kind: EventType, at: dt.datetime) -> None:
    if kind == EventType.ACKNOWLEDGED:
        complaint.acknowledged_at = at
        if complaint.status == ComplaintStatus.RECEIVED:
            complaint.status = ComplaintStatus.ACKNOWLEDGED
    elif kind == EventType.RESOLVED:
        complaint.resolved_at = at
        complaint.status = ComplaintStatus.RESOLVED
    elif kind == EventType.REOPENED:
        # The complaint is open again: its resolution no longer counts (history keeps it).
        complaint.resolved_at = None
        complaint.closed_at = None
        complaint.reopen_count += 1
        complaint.status = ComplaintStatus.REOPENED
    elif kind == EventType.CLOSED:
        complaint.closed_at = at
        complaint.status = ComplaintStatus.CLOSED
