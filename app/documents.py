"""The JSON documents of complaints, service events, responses and rules: what the REST API
answers, what a webhook carries (``app.webhooks``), what a follow-up shows and what the privacy
export holds.

Personal data (the complainant, and the complaint's free text, where people write names,
addresses and ID numbers) goes only to callers allowed to see it; the caller decides.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import (
    Answer,
    Category,
    Complainant,
    Complaint,
    DistributionRule,
    Invitation,
    InvitationState,
    Questionnaire,
    QuestionnaireVersion,
    Response,
    Service,
    ServiceEvent,
    Unit,
)
from app.schemas.rules import format_duration


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def unit_document(unit: Unit) -> dict[str, Any]:
    return {
        "code": unit.code,
        "name": unit.name,
        "parent": unit.parent.code if unit.parent is not None else None,
    }


def category_document(category: Category) -> dict[str, Any]:
    return {
        "code": category.code,
        "name": category.name,
        "parent": category.parent.code if category.parent is not None else None,
        "committed_response_days": category.committed_response_days,
    }


def service_document(service: Service) -> dict[str, Any]:
    return {
        "code": service.code,
        "name": service.name,
        "parent": service.parent.code if service.parent is not None else None,
    }


def service_event_document(
    event: ServiceEvent,
    *,
    include_personal: bool,
    invitations: list[Invitation] | None = None,
) -> dict[str, Any]:
    """The service event with its survey invitations; the person only with
    ``include_personal``. ``invitations``: as for ``complaint_document``."""
    if invitations is None:
        invitations = list(db.session.scalars(
            select(Invitation).where(Invitation.service_event_id == event.id)
            .order_by(Invitation.created_at, Invitation.id)))
    document: dict[str, Any] = {
        "id": event.id,
        "external_id": event.external_id,
        "occurred_at": iso(event.occurred_at),
        "unit": event.unit.code,
        "service": event.service.code,
        "channel": event.channel.value,
        "created_at": iso(event.created_at),
        "invitations": [_invitation(row) for row in invitations],
    }
    if include_personal:
        document["person"] = _person(event.person)
    return document


def complaint_document(
    complaint: Complaint,
    *,
    include_personal: bool,
    invitations: list[Invitation] | None = None,
) -> dict[str, Any]:
    """The complaint with its history and survey invitations; its free text (subject,
    description, event notes) and the complainant only with ``include_personal``.

    ``invitations``: the complaint's invitations when the caller loaded them already (a page of
    complaints loads them in one query); otherwise they are read here.
    """
    document: dict[str, Any] = {
        "id": complaint.id,
        "external_id": complaint.external_id,
        "kind": complaint.kind.value,
        "status": complaint.status.value,
        "received_at": iso(complaint.received_at),
        "channel": complaint.channel.value,
        "category": complaint.category.code,
        "unit": complaint.unit.code,
        "due_at": iso(complaint.due_at),
        "acknowledged_at": iso(complaint.acknowledged_at),
        "resolved_at": iso(complaint.resolved_at),
        "closed_at": iso(complaint.closed_at),
        "resolved_on_time": complaint.resolved_on_time,
        "reopen_count": complaint.reopen_count,
        "updated_at": iso(complaint.updated_at),
        "history": [
            {
                "type": event.type.value,
                "at": iso(event.at),
                # Free text: people write names and addresses in it (app.privacy lists it).
                "note": event.note if include_personal else None,
                "actor": event.actor,
                "recorded_at": iso(event.recorded_at),
            }
            for event in sorted(complaint.events, key=lambda e: (e.at, e.id or 0))
        ],
        "invitations": [
            _invitation(row)
            for row in (invitations if invitations is not None else _invitations(complaint))
        ],
    }
    if include_personal:
        document["subject"] = complaint.subject
        document["description"] = complaint.description
        document["complainant"] = _complainant(complaint)
    return document


def _complainant(complaint: Complaint) -> dict[str, Any] | None:
    return _person(complaint.complainant)


def _person(person: Complainant | None) -> dict[str, Any] | None:
    if person is None:
        return None
    return {
        "name": person.name,
        "email": person.email,
        "phone": person.phone,
        "language": person.language,
        "survey_consent": person.survey_consent,
        "opted_out_at": iso(person.opted_out_at),
        "erased_at": iso(person.erased_at),
    }


def _invitations(complaint: Complaint) -> list[Invitation]:
    return list(
        db.session.scalars(
            select(Invitation)
            .where(Invitation.complaint_id == complaint.id)
            .order_by(Invitation.created_at, Invitation.id)
        )
    )


def invitations_by_complaint(complaint_ids: list[int]) -> dict[int, list[Invitation]]:
    """The invitations of many complaints in one query, each list in the documents' order."""
    return _invitations_by(Invitation.complaint_id, complaint_ids)


def invitations_by_service_event(event_ids: list[int]) -> dict[int, list[Invitation]]:
    """The invitations of many service events in one query, as ``invitations_by_complaint``."""
    return _invitations_by(Invitation.service_event_id, event_ids)


def _invitations_by(column: Any, ids: list[int]) -> dict[int, list[Invitation]]:
    found: dict[int, list[Invitation]] = {row_id: [] for row_id in ids}
    if ids:
        rows = db.session.scalars(
            select(Invitation)
            .where(column.in_(ids))
            .order_by(Invitation.created_at, Invitation.id)
        )
        for row in rows:
            found[getattr(row, column.key)].append(row)
    return found


def _invitation(row: Invitation) -> dict[str, Any]:
    return {
        "id": row.id,
        "state": row.state.value,
        "suppression_reason": row.suppression_reason.value
        if row.suppression_reason is not None
        else None,
        "language": row.language,
        "due_at": iso(row.due_at),
        "sent_at": iso(row.sent_at),
        "reminded_at": iso(row.reminded_at),
        "expires_at": iso(row.expires_at),
        "responded_at": iso(row.responded_at),
        "attempts": row.attempts,
    }


# --- responses ----------------------------------------------------------------------------------

FREE_TEXT_TYPES = {"text"}


@dataclass(frozen=True)
class ResponseContext:
    """What a response document names by code, looked up with the response in one query."""

    unit: str
    category: str | None  # None: a service user's response
    questionnaire: str
    version: int


def response_document(
    response: Response, context: ResponseContext, *, include_free_text: bool
) -> dict[str, Any]:
    """A response with its answers, in codes, never with personal data.

    Free-text answers are left out unless ``include_free_text``: people write names, addresses
    and phone numbers in them. A multiple choice is stored as one row per chosen option; here it
    is one answer whose value is the list of options, in the order they were stored.
    """
    answers: dict[str, dict[str, Any]] = {}
    # Answers just stored and not read back have no id yet; they are in the order stored.
    for row in sorted(response.answers, key=lambda answer: answer.id or 0):
        if row.question_type in FREE_TEXT_TYPES and not include_free_text:
            continue
        value = _answer_value(row)
        if row.question_type == "multi_choice":
            entry = answers.setdefault(row.question_key, _answer_entry(row, []))
            if value is not None:
                entry["value"].append(value)
        else:
            answers[row.question_key] = _answer_entry(row, value)
    return {
        "id": response.id,
        "submitted_at": iso(response.submitted_at),
        "complaint_id": response.complaint_id,
        "service_event_id": response.service_event_id,
        "source": str(response.source or "complainant"),
        "mode": str(response.mode or "email"),
        "questionnaire": {"key": context.questionnaire, "version": context.version},
        "unit": context.unit,
        "category": context.category,
        "channel": response.channel.value,
        "language": response.language,
        "answers": list(answers.values()),
    }


def _answer_entry(row: Answer, value: Any) -> dict[str, Any]:
    return {
        "question": row.question_key,
        "type": row.question_type,
        "attribute": row.attribute,
        "value": value,
    }


def _answer_value(row: Answer) -> float | int | str | None:
    """The answer as the respondent gave it: yes/no and choices by key, scales as numbers."""
    if row.question_type == "text":
        return row.value_text
    if row.value_choice is not None:
        return row.value_choice
    if row.value_number is not None:
        number = row.value_number
        return int(number) if float(number).is_integer() else number
    return None


# --- distribution rules -------------------------------------------------------------------------


def rule_document(rule: DistributionRule) -> dict[str, Any]:
    return {
        "key": rule.key,
        "questionnaire": rule.questionnaire.key,
        "triggered_by": str(rule.triggered_by),
        "filters": {
            "categories": list(rule.category_codes or []),
            "services": list(rule.service_codes or []),
            "units": list(rule.unit_codes or []),
            "channels": list(rule.channels or []),
        },
        "delay": format_duration(rule.delay_minutes),
        "reminder_after": format_duration(rule.reminder_after_minutes),
        "expires_after": format_duration(rule.expires_after_minutes),
        "sample_rate": rule.sample_rate,
        "fatigue_days": rule.fatigue_days,
        "send_window": f"{rule.send_window_start}-{rule.send_window_end}",
        "timezone": rule.timezone,
        "active": rule.active,
        "priority": rule.priority,
        "phone": {
            "use": str(rule.phone_use),
            "max_attempts": rule.phone_max_attempts,
            "hours_between": rule.phone_hours_between,
            "calling_hours": f"{rule.calling_hours_start}-{rule.calling_hours_end}",
            "calling_days": list(rule.calling_days or []),
        },
        "updated_at": iso(rule.updated_at),
    }


def responses_with_codes() -> Select[Any]:
    """Submitted responses with their codes. A one-click answer from the e-mail that was not
    followed by a submission is a partial response that may still change: not listed."""
    return (
        select(Response, Unit.code, Category.code, Questionnaire.key, QuestionnaireVersion.number)
        .join(Invitation, Invitation.id == Response.invitation_id)
        .where(Invitation.state == InvitationState.RESPONDED)
        .join(Unit, Unit.id == Response.unit_id)
        .outerjoin(Category, Category.id == Response.category_id)  # none: a service user's
        .join(Questionnaire, Questionnaire.id == Response.questionnaire_id)
        .join(QuestionnaireVersion, QuestionnaireVersion.id == Response.version_id)
        .options(selectinload(Response.answers))
    )


def response_with_context(response_id: int) -> tuple[Response, ResponseContext] | None:
    """One response with the codes its document names (for webhooks), or None."""
    row = db.session.execute(responses_with_codes().where(Response.id == response_id)).first()
    if row is None:
        return None
    response, unit, category, key, number = row
    return response, ResponseContext(unit=unit, category=category, questionnaire=key,
                                     version=number)
