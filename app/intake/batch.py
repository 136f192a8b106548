"""Many complaints (``POST /api/v1/complaints/batch``) or service events (``POST
/api/v1/service-events/batch``) in one request, judged one by one. Complaints are described
below; service events go the same way (a ``Kind`` says what differs), without a history.

Each item gets exactly the answer a single ``POST /complaints`` would give it, as if the items
had been sent one after the other in their order: 201 stored, 200 already stored with the same
content, 409 stored with other content, 422 invalid (schema, unknown code). An item that fails
never stops the others. What makes it fast: every item is validated first; the stored
complaints, the categories, the units and the complainants of the whole batch are read with one
query each; the new complainants, complaints and "received" events are then written in one
transaction with one statement per table (``app.models.bulk``: COPY on PostgreSQL, multi-row
INSERTs on SQLite), whatever the batch's size. No ORM object is made for a new row. The hourly
rollup stays exact by itself: PostgreSQL's insert triggers add up a whole statement's rows with
one upsert per figure (``app.analytics.rollup``). A new complaint is only ever "received", so
nothing is planned and no webhook fires; events (``record_event``) plan surveys one by one.

Races: when two batches (or a batch and a single POST) carry the same new external_id at the
same moment, the one that commits second hits the unique constraint on (source, external_id).
Its transaction is rolled back whole and the batch judged again from the start: the other's rows
are now stored, so those items answer 200 or 409 like any retry. Should that keep happening (a
storm of overlapping retries), the items go one by one through the single-complaint path, which
settles the race item by item. Nothing is stored twice and nothing answers 500.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import Table
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import joinedload

from app.api_errors import field_errors
from app.collector import collector_paused
from app.errors import InvalidFields, ServiceError
from app.extensions import db
from app.intake import services
from app.models import Category, Complainant, Complaint, ComplaintEvent, EventType, Unit, bulk
from app.models.types import utcnow
from app.schemas.complaints import ComplainantIn, ComplaintIn
from app.schemas.fields import ApiModel

ROUNDS = 3  # whole-batch attempts before falling back to one transaction per item
RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock detected, serialization failure
IN_CHUNK = 500  # values per IN (...) list: SQLite allows a few thousand bound parameters
T = TypeVar("T")


@dataclass
class Outcome:
    """What became of one item: ``status`` as a single POST would answer it."""

    index: int
    status: int
    external_id: str | None = None
    id: int | None = None  # the stored row's
    error: dict[str, Any] | None = None

    def document(self) -> dict[str, Any]:
        return {"index": self.index, "status": self.status, "external_id": self.external_id,
                "id": self.id, "error": self.error}


@dataclass
class NewPerson:
    """A complainant row this batch writes; several of its items may share it."""

    name: str | None
    email: str | None
    phone: str | None
    language: str
    survey_consent: bool
    opted_out_at: dt.datetime | None = None
    id: int | None = None


@dataclass
class NewRow:
    """A complaint or service event this batch writes: its columns as the kind's ``values``
    gives them, and its person."""

    index: int
    values: dict[str, Any]
    person: Complainant | NewPerson | None


@dataclass(frozen=True)
class Kind:
    """What a batch of complaints and one of service events do differently; the rest (judging
    item by item, the people, writing in bulk, races) is the same code."""

    schema: type[ApiModel]
    # The stored rows of these external ids, with what ``same`` compares, by external id.
    stored: Callable[[list[str]], dict[str, Any]]
    # The rows the items' codes name: {field: {code: row}}.
    codes: dict[str, type[Any]]
    # The new row's columns (``InvalidFields`` for an unknown code), given the item and the
    # rows of its codes by field.
    values: Callable[[Any, dict[str, Any]], dict[str, Any]]
    same: Callable[..., Any]  # (stored, item, with_personal=) -> stored, or Conflict
    single: Callable[..., tuple[Any, bool]]  # (item, actor, with_personal=) -> (row, created)
    person: Callable[[Any], ComplainantIn]  # the item's person
    table: Table  # the new rows' table, whose ids are drawn with the people's in one statement
    # Write the new rows (their people's ids set, ``ids`` as ``bulk.reserve_ids`` drew them);
    # their ids in order.
    write: Callable[[list[NewRow], str, dt.datetime, list[int] | None], list[int]]
    # What follows the rows' commit for the ids of those created (a service event's survey).
    after: Callable[[list[int]], None] | None = None


def receive(kind: Kind, items: Sequence[Any], actor: str, *,
            with_personal: bool = True) -> list[Outcome]:
    """Take in ``items`` (the raw JSON objects of the batch); one ``Outcome`` per item, in order.

    The items are validated here, one by one, so that an invalid one answers for itself.
    ``with_personal``: as for ``services.same_complaint``.
    """
    with collector_paused():
        outcomes = _receive(kind, items, actor, with_personal)
    if kind.after is not None:
        created = [o.id for o in outcomes if o.status == 201 and o.id is not None]
        if created:
            kind.after(created)
    return outcomes


def receive_complaints(items: Sequence[Any], actor: str, *,
                       with_personal: bool = True) -> list[Outcome]:
    """``receive`` for complaints."""
    return receive(COMPLAINTS, items, actor, with_personal=with_personal)


def _receive(kind: Kind, items: Sequence[Any], actor: str,
             with_personal: bool) -> list[Outcome]:
    outcomes: dict[int, Outcome] = {}
    valid: list[tuple[int, Any]] = []
    for index, item in enumerate(items):
        try:
            valid.append((index, kind.schema.model_validate(item)))
        except ValidationError as exc:
            outcomes[index] = Outcome(index, 422, _raw_external_id(item), error=_error(
                "invalid", InvalidFields(field_errors(exc))))
    first, again = _first_occurrences(valid)
    outcomes |= _receive_distinct(kind, first, actor, with_personal)
    # A repeated external_id is judged against what its first occurrence left stored, as if it
    # had been sent after it: the same content 200, other content 409.
    outcomes |= _one_by_one(kind, again, actor, with_personal)
    return [outcomes[index] for index in range(len(items))]


def _raw_external_id(item: Any) -> str | None:
    """The external_id of an invalid item, to help the sender find it, when it is one."""
    value = item.get("external_id") if isinstance(item, dict) else None
    return value if isinstance(value, str) and 0 < len(value) <= 128 else None


def _error(code: str, exc: ServiceError) -> dict[str, Any]:
    return {"code": code, "message": exc.message, "details": exc.details}


def _failure(index: int, data: Any, exc: ServiceError) -> Outcome:
    if isinstance(exc, InvalidFields):
        return Outcome(index, 422, data.external_id, error=_error("invalid", exc))
    return Outcome(index, 409, data.external_id, error=_error("conflict", exc))


def _first_occurrences(
    valid: list[tuple[int, Any]],
) -> tuple[list[tuple[int, Any]], list[tuple[int, Any]]]:
    """The items whose external_id comes for the first time in the batch, and the others."""
    seen: set[str] = set()
    first, again = [], []
    for index, data in valid:
        (again if data.external_id in seen else first).append((index, data))
        seen.add(data.external_id)
    return first, again


def _receive_distinct(kind: Kind, items: list[tuple[int, Any]], actor: str,
                      with_personal: bool) -> dict[int, Outcome]:
    """Items with distinct external_ids, in one transaction; retried whole after a race."""
    if not items:
        return {}
    for _ in range(ROUNDS):
        outcomes, created = _judge(kind, items, with_personal)
        try:
            for index, row_id in _write(kind, created, actor).items():
                outcomes[index].id = row_id
            db.session.commit()
            return outcomes
        except (IntegrityError, OperationalError) as exc:
            db.session.rollback()
            if isinstance(exc, OperationalError) and not _retryable(exc):
                raise
            # Another request stored one of these external_ids first: judge everything again.
    return _one_by_one(kind, items, actor, with_personal)


def _judge(
    kind: Kind, items: list[tuple[int, Any]], with_personal: bool
) -> tuple[dict[int, Outcome], list[NewRow]]:
    """Each item's outcome against what is stored now, and the rows to write."""
    stored = kind.stored([data.external_id for _, data in items])
    codes = {name: _by_code(model, {getattr(data, name) for _, data in items})
             for name, model in kind.codes.items()}
    people: dict[str, list[Any]] = {}
    for chunk in _chunks(sorted({kind.person(data).email for _, data in items
                                 if kind.person(data).email})):
        people |= services.people_by_email(chunk)
    outcomes: dict[int, Outcome] = {}
    created: list[NewRow] = []
    for index, data in items:
        try:
            existing = stored.get(data.external_id)
            if existing is not None:
                kind.same(existing, data, with_personal=with_personal)
                outcomes[index] = Outcome(index, 200, data.external_id, existing.id)
                continue
            values = kind.values(data, {name: found.get(getattr(data, name))
                                        for name, found in codes.items()})
        except ServiceError as exc:
            outcomes[index] = _failure(index, data, exc)
            continue
        outcomes[index] = Outcome(index, 201, data.external_id)
        created.append(NewRow(index, values, _person(kind.person(data), people)))
    return outcomes, created


def _person(data: ComplainantIn, people: dict[str, list[Any]]) -> Complainant | NewPerson:
    """The complainant row of ``data`` as ``services.complainant_for`` chooses it, among the
    stored rows of the address and the rows this batch writes already."""
    values = services.complainant_values(data)
    email = data.email
    if email is None:
        return NewPerson(**values)
    rows = people[email]
    found = services.same_person_row(values, rows)
    if found is not None:
        return found  # type: ignore[no-any-return]
    person = NewPerson(**values, opted_out_at=services.carried_opt_out(rows))
    rows.append(person)  # the next item of theirs reuses it
    return person


PERSON_COLUMNS = ("name", "email", "phone", "language", "survey_consent", "opted_out_at",
                  "created_at")
COMPLAINT_COLUMNS = ("source", "external_id", "kind", "received_at", "channel", "category_id",
                     "unit_id", "subject", "description", "due_at", "status", "reopen_count",
                     "complainant_id", "created_at", "updated_at")
EVENT_COLUMNS = ("complaint_id", "type", "at", "note", "actor", "recorded_at")
# The columns ``services.complaint_values`` gives, in COMPLAINT_COLUMNS' order.
_complaint_values = itemgetter(*COMPLAINT_COLUMNS[:-3])


def _write(kind: Kind, created: list[NewRow], actor: str) -> dict[int, int]:
    """Write the new people, then the new rows with one statement per table; the id of each
    row by its item's index."""
    if not created:
        return {}
    # Inserted in external_id order, so that two batches sharing ids wait for each other on
    # the unique index in the same order: in the batch's order, each could hold an id the
    # other waits for, and PostgreSQL would end one of them with a deadlock error.
    created = sorted(created, key=lambda new: new.values["external_id"])
    people = list({id(new.person): new.person for new in created
                   if isinstance(new.person, NewPerson)}.values())
    now = utcnow()
    reserved = bulk.reserve_ids({Complainant.__table__: len(people), kind.table: len(created)})
    person_ids = bulk.insert_rows(Complainant.__table__, PERSON_COLUMNS, [
        (p.name, p.email, p.phone, p.language, p.survey_consent, p.opted_out_at, now)
        for p in people], ids=reserved.get("complainant"))
    for person, person_id in zip(people, person_ids, strict=True):
        person.id = person_id
    row_ids = kind.write(created, actor, now, reserved.get(kind.table.name))
    return {new.index: row_id for new, row_id in zip(created, row_ids, strict=True)}


def _write_complaints(created: list[NewRow], actor: str, now: dt.datetime,
                      ids: list[int] | None) -> list[int]:
    """The complaints and their "received" events, one statement per table."""
    complaint_ids = bulk.insert_rows(Complaint.__table__, COMPLAINT_COLUMNS, [
        (*_complaint_values(new.values), new.person.id if new.person else None, now, now)
        for new in created], ids=ids)
    received = EventType.RECEIVED.value
    bulk.insert_rows(ComplaintEvent.__table__, EVENT_COLUMNS, [
        (complaint_id, received, new.values["received_at"], None, actor, now)
        for new, complaint_id in zip(created, complaint_ids, strict=True)])
    return complaint_ids


def _retryable(exc: OperationalError) -> bool:
    """A deadlock or serialisation failure: PostgreSQL undid the transaction; try it again."""
    return getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


def _one_by_one(kind: Kind, items: list[tuple[int, Any]], actor: str,
                with_personal: bool) -> dict[int, Outcome]:
    """Each item through the single-item path, in its own transaction."""
    outcomes = {}
    for index, data in items:
        try:
            row, created = kind.single(data, actor, with_personal=with_personal)
        except ServiceError as exc:
            db.session.rollback()
            outcomes[index] = _failure(index, data, exc)
            continue
        outcomes[index] = Outcome(index, 201 if created else 200, data.external_id, row.id)
    return outcomes


def _chunks(values: Sequence[T]) -> Iterator[list[T]]:
    for start in range(0, len(values), IN_CHUNK):
        yield list(values[start:start + IN_CHUNK])


def stored_rows(model: type[T], external_ids: list[str], *related: str) -> dict[str, T]:
    """The stored rows of ``model`` with these external ids (default source), with their
    ``related`` rows loaded (what the kind's ``same`` compares), by external id."""
    stmt, stored = bulk.matching(model, "external_id", source=services.DEFAULT_SOURCE)
    stmt = stmt.options(*(joinedload(getattr(stored, name)) for name in related))
    found: dict[str, Any] = {}
    for chunk in _chunks(external_ids):
        found.update((row.external_id, row) for row in db.session.scalars(stmt, {"values": chunk}))
    return found


def _stored_complaints(external_ids: list[str]) -> dict[str, Complaint]:
    return stored_rows(Complaint, external_ids, "category", "unit", "complainant")


def _by_code(model: type[services.Node], codes: set[str]) -> dict[str, services.Node]:
    by_code = bulk.matching(model, "code")[0]
    found: dict[str, services.Node] = {}
    for chunk in _chunks(sorted(codes)):
        found.update((row.code, row) for row in db.session.scalars(by_code, {"values": chunk}))
    return found


COMPLAINTS = Kind(
    schema=ComplaintIn,
    stored=_stored_complaints,
    codes={"category": Category, "unit": Unit},
    values=lambda data, rows: services.complaint_values(data, rows["category"], rows["unit"]),
    same=services.same_complaint,
    single=services.receive_complaint,
    person=lambda data: data.complainant,
    table=Complaint.__table__,
    write=_write_complaints,
)
