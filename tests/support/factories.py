"""Rows made directly in the database (no API, no pages): users and complaints.

``make_complaint`` is the one way tests build a complaint row; the datasets
(tests/support/datasets/) and the area helpers call it with their own values.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from flask import Flask
from sqlalchemy import select

from app.emails import email_key
from app.extensions import db
from app.models import (
    Category,
    Channel,
    Complainant,
    Complaint,
    ComplaintStatus,
    Service,
    ServiceEvent,
    Unit,
)

UTC = dt.UTC
_numbers = itertools.count(1)
_UNSET: Any = object()


def make_user(app: Flask, email: str = "admin@example.org", role: str = "admin",
              password: str = "correct horse battery", units: list[str] | None = None) -> str:
    from app.auth.services import create_user
    from app.models import Role

    with app.app_context():
        create_user(email, password, Role(role), units or [])
    return password


def node(model: type[Unit] | type[Category], code: str | None, parent: str | None = None) -> Any:
    """The unit or category with this code, made (with its parent) when missing."""
    if code is None:
        return None
    found = db.session.scalar(select(model).where(model.code == code))
    if found is None:
        found = model(code=code, name=code.title(), parent=node(model, parent))
        db.session.add(found)
        db.session.flush()
    return found


def next_number() -> int:
    """A number not used before in this process (for complaint references)."""
    return next(_numbers)


def make_complaint(
    *,
    email: str | None = "ayse@example.org",
    phone: str | None = None,
    language: str = "tr",
    consent: bool = True,
    opted_out: bool = False,
    with_complainant: bool = True,
    complainant: Any = _UNSET,
    category: str | Category | None = "water",
    category_parent: str | None = None,
    unit: str | Unit | None = "parks",
    unit_parent: str | None = None,
    channel: str | Channel = "web",
    received_at: dt.datetime | None = None,
    resolved_at: dt.datetime | None = _UNSET,
    status: ComplaintStatus = _UNSET,
    external_id: str | None = None,
    add: bool = True,
    flush: bool = True,
    **fields: Any,
) -> Complaint:
    """A complaint, in the session (``add``) and flushed (``flush``) unless told otherwise.

    By default a resolved complaint (14 May 2024, received three days before) of Ayşe Yılmaz,
    who agreed to surveys, in unit ``parks`` and category ``water`` (made when missing).

    - ``unit``/``category``: a code (made when missing, under ``*_parent``), a model, or None to
      give ``unit_id``/``category_id`` in ``fields`` instead;
    - ``complainant``: a Complainant (or None) instead of the one made from ``email``, ``phone``,
      ``language``, ``consent``, ``opted_out``; ``with_complainant=False``: none;
    - ``resolved_at=None``: not resolved; ``status``: RESOLVED unless given;
    - ``fields``: any other column of Complaint (``due_at``, ``subject``, ``id``...).
    """
    if resolved_at is _UNSET:
        resolved_at = dt.datetime(2024, 5, 14, 10, 0, tzinfo=UTC)
    if received_at is None:
        assert resolved_at is not None, "give received_at for a complaint not resolved"
        received_at = resolved_at - dt.timedelta(days=3)
    if complainant is _UNSET:
        complainant = None
        if with_complainant:
            complainant = Complainant(
                name="Ayşe Yılmaz",
                email=email_key(email) if email else email,  # as every way in stores it
                phone=phone,
                language=language,
                survey_consent=consent,
                opted_out_at=resolved_at if opted_out else None,
            )
            db.session.add(complainant)
    if complainant is not None:
        fields["complainant"] = complainant
    if isinstance(category, str):
        category = node(Category, category, category_parent)
    if category is not None:
        fields["category"] = category
    if isinstance(unit, str):
        unit = node(Unit, unit, unit_parent)
    if unit is not None:
        fields["unit"] = unit
    complaint = Complaint(
        external_id=external_id or f"CMP-{next_number():05d}",
        received_at=received_at,
        channel=Channel(channel),
        status=ComplaintStatus.RESOLVED if status is _UNSET else status,
        resolved_at=resolved_at,
        **fields,
    )
    if add:
        db.session.add(complaint)
    if flush:
        db.session.flush()
    return complaint


def make_service_event(
    *,
    email: str | None = "mehmet@example.org",
    phone: str | None = None,
    language: str = "tr",
    consent: bool = True,
    opted_out: bool = False,
    person: Any = _UNSET,
    service: str | Service = "permits",
    service_parent: str | None = None,
    unit: str | Unit = "parks",
    unit_parent: str | None = None,
    channel: str | Channel = "walk_in",
    occurred_at: dt.datetime | None = None,
    external_id: str | None = None,
    flush: bool = True,
) -> ServiceEvent:
    """A service delivered (by default on 14 May 2024, 10:00 UTC, service ``permits`` in unit
    ``parks``, both made when missing) to a person who agreed to surveys; ``person``: a
    Complainant (or None) instead of the one made from the contact arguments."""
    if person is _UNSET:
        person = Complainant(
            name="Mehmet Demir", email=email_key(email) if email else email, phone=phone,
            language=language, survey_consent=consent,
            opted_out_at=dt.datetime(2024, 1, 1, tzinfo=UTC) if opted_out else None)
        db.session.add(person)
    if isinstance(service, str):
        service = _service(service, service_parent)
    event = ServiceEvent(
        external_id=external_id or f"SRV-{next_number():06d}",
        occurred_at=occurred_at or dt.datetime(2024, 5, 14, 10, 0, tzinfo=UTC),
        unit=node(Unit, unit, unit_parent) if isinstance(unit, str) else unit,
        service=service,
        channel=Channel(channel),
        person=person,
    )
    db.session.add(event)
    if flush:
        db.session.flush()
    return event


def _service(code: str, parent: str | None = None) -> Service:
    found = db.session.scalar(select(Service).where(Service.code == code))
    if found is None:
        found = Service(code=code, name=code.title(),
                        parent=_service(parent) if parent else None)
        db.session.add(found)
        db.session.flush()
    return found


def _scored(response: Any, overall: float | None) -> Any:
    from app.models import Answer

    if overall is not None:
        response.answers = [Answer(question_key="overall", question_type="rating",
                                   attribute="overall", value_number=overall)]
    db.session.add(response)
    db.session.flush()
    return response


def make_service_user_response(event: Any, version: Any, submitted_at: dt.datetime,
                               overall: float | None = None, *, mode: str = "email",
                               held: bool = False, campaign: Any = None,
                               language: str = "tr") -> Any:
    """A service user's response to the invitation of ``event`` (sent an hour before, by
    ``mode``; a campaign's when ``campaign`` is given) with an overall rating, flushed."""
    from app.models import (
        Invitation,
        InvitationChannel,
        InvitationState,
        Response,
        ResponseMode,
        ResponseSource,
    )

    invitation = Invitation(service_event_id=event.id, campaign=campaign, version=version,
                            sent_at=submitted_at - dt.timedelta(hours=1), language=language,
                            channel=InvitationChannel(mode), state=InvitationState.RESPONDED)
    db.session.add(invitation)
    db.session.flush()
    return _scored(Response(
        invitation_id=invitation.id, version_id=version.id,
        questionnaire_id=version.questionnaire_id, service_event_id=event.id,
        unit_id=event.unit_id, service_id=event.service_id, channel=event.channel,
        source=ResponseSource.CAMPAIGN if campaign is not None else ResponseSource.SERVICE_USER,
        mode=ResponseMode(mode), held=held, language=language, submitted_at=submitted_at,
    ), overall)


def make_walk_in_response(unit: Unit, version: Any, submitted_at: dt.datetime,
                          overall: float | None = None, *, held: bool = False,
                          language: str = "tr") -> Any:
    """A walk-in response (a QR code at the desk: no invitation, no complaint) in ``unit``
    with an overall rating, flushed; ``held``: waiting for a person to accept it."""
    from app.models import Response, ResponseMode, ResponseSource

    return _scored(Response(
        version_id=version.id, questionnaire_id=version.questionnaire_id, unit_id=unit.id,
        channel=Channel.WALK_IN, source=ResponseSource.SERVICE_USER, mode=ResponseMode.WALK_IN,
        held=held, held_reason="burst" if held else None, language=language,
        submitted_at=submitted_at,
    ), overall)
