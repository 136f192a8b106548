"""What the survey pages do to the database: store a response, opt a complainant out.

No request in here: the views hand over plain values, so the planner, a CLI command or a test
can call the same functions.

A response can be partial: the one-click answer from the e-mail is stored on its own by
``save_first_answer`` (a POST the page sends), as a ``Response`` whose invitation stays sent,
so the link still takes the whole questionnaire. ``submit_response`` then completes it: it
replaces the partial answers with the full set and marks the invitation responded, which is what
uses the link up. The dispatcher sends no reminder and expires nothing that has a response.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from app import webhooks
from app.emails import email_key
from app.extensions import db
from app.followup.services import open_follow_up_if_needed
from app.models import (
    Answer,
    AuditLog,
    Complainant,
    Complaint,
    Invitation,
    InvitationState,
    QuestionnaireVersion,
    Response,
    SuppressionReason,
)
from app.models.types import utcnow
from app.respond.questions import MULTI_CHOICE, SCALES, SINGLE_CHOICE, TEXT, YES_NO

log = logging.getLogger(__name__)

# An invitation can still be answered in these states. "failed" is included on purpose: the
# mail may have reached the person even though the server's last reply was an error.
ANSWERABLE = (
    InvitationState.PLANNED,
    InvitationState.SENT,
    InvitationState.REMINDED,
    InvitationState.FAILED,
)
# Invitations that may still reach the person, and so are cancelled by an opt-out.
PENDING = (InvitationState.PLANNED, InvitationState.SENT, InvitationState.REMINDED)


class AlreadyAnswered(Exception):
    """The invitation has a response already (perhaps from a submission a moment ago)."""


class SurveyClosed(Exception):
    """The invitation expired or was cancelled: it takes no answer any more."""


class LinkState(enum.StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


def survey_version(invitation: Invitation) -> QuestionnaireVersion | None:
    """The version this invitation asks about: its own, else its rule's published one."""
    if invitation.version is not None:
        return invitation.version
    if invitation.rule is not None:
        return invitation.rule.questionnaire.published_version
    return None


def link_state(invitation: Invitation, now: dt.datetime | None = None) -> LinkState:
    """Whether the survey link of ``invitation`` can be answered now."""
    now = now or utcnow()
    if invitation.state == InvitationState.RESPONDED:
        return LinkState.ANSWERED
    if invitation.state not in ANSWERABLE:
        return LinkState.CLOSED
    if invitation.expires_at is not None and invitation.expires_at <= now:
        return LinkState.CLOSED
    if survey_version(invitation) is None:
        return LinkState.CLOSED
    return LinkState.OPEN


def _scale_value(key: str, kind: str, value: Any) -> float:
    low, high = SCALES[kind]
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"answer to {key!r} must be a number from {low} to {high}")
    return float(value)


def _rows_for(question: dict[str, Any], value: Any) -> list[Answer]:
    """The Answer rows for one question's value (a multiple choice gives one row per choice)."""
    key, kind = question["key"], question.get("type", "")
    base = {"question_key": key, "question_type": kind, "attribute": question.get("attribute")}
    options = {str(option["key"]) for option in question.get("options") or []}
    if kind in SCALES:
        return [Answer(**base, value_number=_scale_value(key, kind, value))]
    if kind == YES_NO and value in ("yes", "no"):
        return [Answer(**base, value_number=1.0 if value == "yes" else 0.0, value_choice=value)]
    if kind == SINGLE_CHOICE and value in options:
        return [Answer(**base, value_choice=value)]
    if kind == MULTI_CHOICE and isinstance(value, list) and set(value) <= options:
        return [Answer(**base, value_choice=choice) for choice in dict.fromkeys(value)]
    if kind == TEXT and isinstance(value, str):
        return [Answer(**base, value_text=value)]
    raise ValueError(f"answer to {key!r} does not fit its {kind} question")


def answer_rows(definition: dict[str, Any], answers: dict[str, Any]) -> list[Answer]:
    """Answer rows for ``answers`` (question key -> value, as ``survey_answers`` gives them).

    Raises ValueError for a key the version does not have or a value its question cannot take.
    """
    questions = {q["key"]: q for q in definition.get("questions") or []}
    unknown = set(answers) - set(questions)
    if unknown:
        raise ValueError(f"no such question in this version: {sorted(unknown)}")
    rows: list[Answer] = []
    for key, question in questions.items():
        if answers.get(key) is not None:
            rows.extend(_rows_for(question, answers[key]))
    return rows


def _claim_while_answerable(invitation: Invitation, now: dt.datetime, **values: Any) -> None:
    """Update the invitation only if it still takes an answer, in the same statement that checks
    it, so that an expiry, a cancellation or another submission cannot slip in between. The
    updated row stays locked until commit (PostgreSQL; SQLite locks the whole database)."""
    changed = db.session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.state.in_(ANSWERABLE),
            or_(Invitation.expires_at.is_(None), Invitation.expires_at > now),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed == 1:
        return
    db.session.rollback()
    db.session.refresh(invitation)
    if invitation.state == InvitationState.RESPONDED:
        raise AlreadyAnswered
    raise SurveyClosed


def _response_of(invitation: Invitation) -> Response | None:
    return db.session.scalar(select(Response).where(Response.invitation_id == invitation.id))


def partial_answers(invitation: Invitation) -> dict[str, Any]:
    """The answers stored so far for an invitation not yet responded (its one-click answer),
    by question key, in the form ``survey_answers`` gives them; empty when there are none."""
    if invitation.state == InvitationState.RESPONDED:
        return {}
    response = _response_of(invitation)
    if response is None:
        return {}
    answers: dict[str, Any] = {}
    for answer in response.answers:
        if answer.value_choice is not None:
            answers[answer.question_key] = answer.value_choice
        elif answer.value_number is not None:
            answers[answer.question_key] = int(answer.value_number)
    return answers


def _replace_answers(response: Response, rows: list[Answer]) -> None:
    db.session.execute(
        delete(Answer)
        .where(Answer.response_id == response.id)
        .execution_options(synchronize_session=False)
    )
    for row in rows:
        row.response_id = response.id
    db.session.add_all(rows)
    db.session.expire(response, ["answers"])


def _new_response(invitation: Invitation, version: QuestionnaireVersion, language: str,
                  now: dt.datetime, rows: list[Answer]) -> Response:
    complaint = invitation.complaint
    response = Response(
        invitation_id=invitation.id,
        version_id=version.id,
        questionnaire_id=version.questionnaire_id,
        complaint_id=complaint.id,
        unit_id=complaint.unit_id,
        category_id=complaint.category_id,
        channel=complaint.channel,
        language=language,
        submitted_at=now,
        answers=rows,
    )
    db.session.add(response)
    return response


def _store(invitation: Invitation, version: QuestionnaireVersion, rows: list[Answer],
           language: str, now: dt.datetime) -> Response:
    """Add the response with ``rows``, or put ``rows`` in place of a partial one, and commit.

    Call after ``_claim_while_answerable``: the invitation row is locked, so the partial response
    read here cannot change before the commit. The unique constraint on
    ``response.invitation_id`` is the backstop: the loser of a race gets ``AlreadyAnswered``.
    """
    response = _response_of(invitation)
    if response is None:
        response = _new_response(invitation, version, language, now, rows)
    else:
        _replace_answers(response, rows)
        response.language = language
        response.submitted_at = now
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        log.info("second response refused for invitation %s", invitation.id)
        raise AlreadyAnswered from None
    return response


def save_first_answer(invitation: Invitation, answers: dict[str, Any], language: str) -> Response:
    """Store the one-click answer(s) from the e-mail as a partial response, or put them in place
    of the partial response stored before (the last click counts).

    The invitation stays sent: the link still takes the whole questionnaire, and a mail scanner
    that runs the page's script can at worst store a click that the respondent's own click or
    "Send" replaces. Raises ``AlreadyAnswered`` once the questionnaire was sent, ``SurveyClosed``
    for an expired or cancelled link and ValueError for answers that do not fit the version.
    """
    version = survey_version(invitation)
    if version is None:
        raise SurveyClosed
    rows = answer_rows(version.definition, answers)
    if not rows:
        raise ValueError("a first answer needs at least one answer")
    now = utcnow()
    # A no-op update that takes the invitation's row lock while the link is still open.
    _claim_while_answerable(invitation, now, state=Invitation.state)
    response = _store(invitation, version, rows, language, now)
    log.info("first answer stored as response %s of invitation %s", response.id, invitation.id)
    return response


def submit_response(invitation: Invitation, answers: dict[str, Any], language: str) -> Response:
    """Store the one response of ``invitation`` with its answers, and mark it responded.

    A partial response (the one-click answer) is completed: its answers are replaced by these.
    Two submissions at the same moment store one response: the conditional update of the
    invitation decides, the unique constraint on ``response.invitation_id`` backs it up, and the
    loser gets ``AlreadyAnswered``. Raises ``SurveyClosed`` for an expired or cancelled invitation
    and ValueError for answers that do not fit the version.
    """
    version = survey_version(invitation)
    if version is None:
        raise SurveyClosed
    rows = answer_rows(version.definition, answers)
    if invitation.state == InvitationState.RESPONDED:
        raise AlreadyAnswered
    now = utcnow()
    _claim_while_answerable(
        invitation, now, state=InvitationState.RESPONDED, responded_at=now
    )
    response = _store(invitation, version, rows, language, now)
    log.info("response %s stored for invitation %s", response.id, invitation.id)
    webhooks.response_created(response)  # queues only, never raises: see app.webhooks
    open_follow_up_if_needed(response)  # the closed loop (app.followup); never raises
    return response


def _same_person(complainant: Complainant) -> list[Complainant]:
    """The complainant and every other complainant record with the same e-mail address."""
    if not complainant.email:
        return [complainant]
    others = db.session.scalars(
        select(Complainant).where(
            Complainant.email == email_key(complainant.email),
            Complainant.id != complainant.id,
        )
    ).all()
    return [complainant, *others]


def opt_out(invitation: Invitation) -> int:
    """Opt the person behind ``invitation`` out of every survey; return how many pending
    invitations were cancelled.

    The person is the complaint's complainant and every complainant record with the same e-mail
    (integrations often create one record per complaint). Safe to repeat: a second call finds
    nothing left to cancel and keeps the first opt-out time.
    """
    now = utcnow()
    complainant = invitation.complaint.complainant
    people = _same_person(complainant) if complainant is not None else []
    for person in people:
        person.opted_out_at = person.opted_out_at or now
    their_complaints = select(Complaint.id).where(
        Complaint.complainant_id.in_([person.id for person in people])
    )
    cancelled = db.session.execute(
        update(Invitation)
        .where(
            or_(Invitation.id == invitation.id, Invitation.complaint_id.in_(their_complaints)),
            Invitation.state.in_(PENDING),
        )
        .values(state=InvitationState.CANCELLED, suppression_reason=SuppressionReason.OPTED_OUT)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.add(
        AuditLog(
            actor="complainant",
            action="opt_out",
            target=f"complainant:{complainant.id}" if complainant else None,
            detail={"invitation": invitation.id, "cancelled": cancelled},
        )
    )
    db.session.commit()
    log.info("opt-out through invitation %s cancelled %s invitation(s)", invitation.id, cancelled)
    return cancelled
