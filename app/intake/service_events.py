"""Intake of service events: a service delivered to a person, reported by the organisation's
systems (``POST /service-events``, its batch, the CSV import).

The rules are those of complaints (``app.intake.services``): a retry under a stored external_id
with the same content changes nothing, other content is a ``Conflict`` naming what differs (the
personal data compared only for a sender allowed to read it); the person is a ``complainant`` row
chosen by ``complainant_for``, so the e-mail normalisation, the reuse of a person's rows and
their opt-out are one implementation. A service event has no history and no life cycle.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.distribution.planner import plan_for_service_event, plan_for_service_events
from app.distribution.rules import active_rules
from app.errors import Conflict, InvalidFields, NotFound
from app.extensions import db
from app.intake import batch, services
from app.models import RuleTrigger, Service, ServiceEvent, Unit
from app.models.bulk import insert_rows
from app.schemas.complaints import ServiceEventIn


def receive_service_event(data: ServiceEventIn, actor: str, *,
                          with_personal: bool = True) -> tuple[ServiceEvent, bool]:
    """Store a new service event; returns it and whether it was created (``receive_complaint``'s
    rules for a stored external_id)."""
    existing = find_by_external_id(data.external_id)
    if existing is not None:
        return same_service_event(existing, data, with_personal=with_personal), False
    unit = db.session.scalar(select(Unit).where(Unit.code == data.unit))
    service = db.session.scalar(select(Service).where(Service.code == data.service))
    values = service_event_values(data, {"unit": unit, "service": service})
    event = ServiceEvent(**values, unit=unit, service=service,
                         person=services.complainant_for(data.person))
    db.session.add(event)
    try:
        plan_for_service_event(event)  # in the same transaction: an event and its survey
        services.commit_keeping_loaded()
    except IntegrityError:
        db.session.rollback()  # the same external_id arrived twice at once
        existing = find_by_external_id(data.external_id)
        if existing is None:
            raise
        return same_service_event(existing, data, with_personal=with_personal), False
    return event, True


def service_event_values(data: ServiceEventIn, rows: dict[str, Any]) -> dict[str, Any]:
    """The columns of the new event but its person and time of writing; ``rows``: the unit and
    service of its codes (None: no such code, which raises ``InvalidFields``)."""
    problems = [
        {"field": name, "type": "unknown_code",
         "message": _("no %(kind)s with the code %(code)s", kind=name,
                      code=getattr(data, name))}
        for name in ("unit", "service") if rows[name] is None
    ]
    if problems:
        raise InvalidFields(problems)
    return {
        "source": services.DEFAULT_SOURCE,
        "external_id": data.external_id,
        "occurred_at": data.occurred_at,
        "unit_id": rows["unit"].id,
        "service_id": rows["service"].id,
        "channel": data.channel,
    }


def find_by_external_id(external_id: str) -> ServiceEvent | None:
    return db.session.scalar(
        select(ServiceEvent)
        .where(ServiceEvent.source == services.DEFAULT_SOURCE,
               ServiceEvent.external_id == external_id)
        .options(joinedload(ServiceEvent.unit), joinedload(ServiceEvent.service),
                 joinedload(ServiceEvent.person))
    )


def find_service_event(ref: str) -> ServiceEvent:
    """The service event named by ``ref``: its id, or ``ext:<external_id>`` (as a complaint is
    named); ``NotFound`` if none."""
    condition = services.ref_condition(ServiceEvent, ref)
    event = None
    if condition is not None:
        event = db.session.scalar(
            select(ServiceEvent).where(condition)
            .options(joinedload(ServiceEvent.unit), joinedload(ServiceEvent.service),
                     joinedload(ServiceEvent.person)))
    if event is None:
        raise NotFound(_("There is no service event %(ref)s.", ref=ref))
    return event


def same_service_event(stored: ServiceEvent, data: ServiceEventIn, *,
                       with_personal: bool = True) -> ServiceEvent:
    """``stored`` when ``data`` says the same; otherwise a ``Conflict`` naming what differs
    (the person only ``with_personal``, as ``same_complaint`` does)."""
    differing = [
        name
        for name, same in (
            ("occurred_at", stored.occurred_at == data.occurred_at),
            ("unit", stored.unit.code == data.unit),
            ("service", stored.service.code == data.service),
            ("channel", stored.channel == data.channel),
        )
        if not same
    ]
    person = stored.person
    if with_personal and person is not None and person.erased_at is None:
        for name, value in services.complainant_values(data.person).items():
            if getattr(person, name) != value:
                differing.append(f"person.{name}")
    if differing:
        raise Conflict(
            _("A service event with the external_id %(id)s is already stored with other "
              "content.", id=data.external_id),
            {"service_event_id": stored.id, "differing_fields": differing},
        )
    return stored


COLUMNS = ("source", "external_id", "occurred_at", "unit_id", "service_id", "channel",
           "complainant_id", "created_at")


def _write(created: list[batch.NewRow], actor: str, now: Any,
           ids: list[int] | None) -> list[int]:
    """The batch's new service events in one statement."""
    return insert_rows(ServiceEvent.__table__, COLUMNS, [
        (*(new.values[name] for name in COLUMNS[:-2]),
         new.person.id if new.person else None, now)
        for new in created], ids=ids)


def plan_surveys(ids: list[int]) -> None:
    """Plan the surveys of the service events ``ids`` a batch just stored (rules on service
    events); one commit for them all. Nothing is read when no such rule is active."""
    if not active_rules(RuleTrigger.SERVICE_EVENT):
        return
    events = db.session.scalars(
        select(ServiceEvent).where(ServiceEvent.id.in_(ids))
        .options(joinedload(ServiceEvent.person)).order_by(ServiceEvent.id)).all()
    if plan_for_service_events(events):
        db.session.commit()


SERVICE_EVENTS = batch.Kind(
    schema=ServiceEventIn,
    stored=lambda ids: batch.stored_rows(ServiceEvent, ids, "unit", "service", "person"),
    codes={"unit": Unit, "service": Service},
    values=service_event_values,
    same=same_service_event,
    single=receive_service_event,
    person=lambda data: data.person,
    table=ServiceEvent.__table__,
    write=_write,
    after=plan_surveys,
)


def receive_service_events(items: list[Any], actor: str, *,
                           with_personal: bool = True) -> list[batch.Outcome]:
    """A batch of service events (raw JSON objects), as ``batch.receive`` judges complaints;
    the surveys of the events it stored are planned after it (``plan_surveys``)."""
    return batch.receive(SERVICE_EVENTS, items, actor, with_personal=with_personal)
