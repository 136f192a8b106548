"""The follow-up list: which responses need a call back, and what staff do about them.

``open_follow_up_if_needed`` runs right after a response is stored (``app.respond.services``): a
low overall score (1-2 of 5), a detractor's NPS (0-6, where the questionnaire asks it) or a
"no" to "was it really resolved?" puts the response on its unit's list and fires the
``response.low_score`` webhook, so the complaint system can reopen the complaint.

A follow-up is about a complaint (a complainant's answer) or about a service event (a service
user's answer, a campaign's included: ``follow_up.complaint_id`` is then empty and the subject
is the response's ``service_event_id``). A walk-in answer is anonymous: nobody to call back, so
it gets no follow-up, only the webhook.

Who sees what (the views enforce it, these functions take the decisions):

- admins: every follow-up, and the person's name, e-mail and phone, so that they can call
  back (unless the person's data was erased, or they did not consent to be contacted);
- designers (the satisfaction team): every follow-up, to see what their surveys bring back, but
  not the contact data;
- unit managers (staff with units, any role): the follow-ups of their units and the units below
  them, with the complaint reference (``external_id``), the scores and the notes;
- free text (the complaint's subject, text answers) only for those who read comments
  (``app.auth.scope.may_read_comments``: admins and designers; people write names and numbers
  there), never the contact data for anyone but admins;
- everyone else: nothing.

Answers are shown as the question's wording in the reader's language and the answer's label
(``app.questionnaires.questions.answer_lines``), not as keys and stored values.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from app import webhooks
from app.auth.scope import may_read_comments, may_see_personal_data, units_in_scope
from app.extensions import db
from app.models import (
    Answer,
    AuditLog,
    Category,
    Complainant,
    Complaint,
    FollowUp,
    FollowUpNote,
    FollowUpReason,
    FollowUpState,
    QuestionnaireVersion,
    Response,
    ResponseMode,
    Role,
    Service,
    ServiceEvent,
    Unit,
    User,
)
from app.models.types import utcnow
from app.questionnaires.questions import AnswerLine, answer_lines
from app.webhooks import PendingEvent

log = logging.getLogger(__name__)

LOW_SCORE_MAX = 2  # overall satisfaction 1-5: 1 and 2 are low
DETRACTOR_MAX = 6  # NPS 0-10: 0 to 6 are detractors
NOTE_MAX_LENGTH = 4000
LOOK_UP = object()  # open_follow_up_if_needed: the low-score event is to be worked out there


class FollowUpError(ValueError):
    """A change that cannot be made; the message says why."""


def follow_up_reasons(answers: Iterable[Answer]) -> list[FollowUpReason]:
    """Why a response with these answers needs a follow-up (empty: it does not), most serious
    first. Answers are selected as the metrics select them (``app.analytics.aggregates``)."""
    found: set[FollowUpReason] = set()
    for answer in answers:
        value = answer.value_number
        if value is None:
            continue
        kind, attribute = answer.question_type, answer.attribute
        if kind == "rating" and attribute == "overall" and value <= LOW_SCORE_MAX:
            found.add(FollowUpReason.LOW_SCORE)
        elif kind == "nps" and value <= DETRACTOR_MAX:
            found.add(FollowUpReason.DETRACTOR)
        elif kind == "yes_no" and attribute == "resolution" and value == 0:
            found.add(FollowUpReason.NOT_RESOLVED)
    return [reason for reason in FollowUpReason if reason in found]


def _low_score_webhook(response_id: int, reasons: list[FollowUpReason], low_score: Any) -> None:
    if low_score is LOOK_UP:
        _fire_low_score(response_id, reasons)
    else:
        webhooks.queue_safely(low_score, f"response {response_id}")


def open_follow_up_if_needed(
    response: Response,
    reasons: list[FollowUpReason] | None = None,
    low_score: PendingEvent | None | object = LOOK_UP,
) -> FollowUp | None:
    """Put a just-committed response on its unit's follow-up list when its answers call for it,
    and fire ``response.low_score``; returns the follow-up (the existing one if the response is
    on the list already) or None.

    The respond service passes ``reasons`` and the ``low_score`` event (None: nobody listens),
    built before the response's commit, so that nothing is read again here; other callers leave
    them out and they are worked out from the response.

    Never raises: the respondent's answer is stored already, and a problem here must not turn
    their thank-you page into an error. A failure is logged (ids only) and rolled back.
    """
    response_id = response.id
    try:
        prepared = reasons is not None
        reasons = follow_up_reasons(response.answers) if reasons is None else reasons
        if not reasons:
            return None
        # A response the respond service has just completed cannot be on the list yet; the
        # unique response_id below still catches a second call at the same moment.
        existing = None if prepared else _follow_up_of(response_id)
        if existing is not None:
            return existing
        if is_anonymous(response):
            # A walk-in answer names nobody: there is no one to call back. The webhook still
            # tells the integrations about the score.
            _low_score_webhook(response_id, reasons, low_score)
            return None
        follow_up = FollowUp(response_id=response_id, complaint_id=response.complaint_id,
                             unit_id=response.unit_id,
                             reason=",".join(reason.value for reason in reasons))
        db.session.add(follow_up)
        try:
            db.session.commit()
        except IntegrityError:  # a second call at the same moment made it first
            db.session.rollback()
            return _follow_up_of(response_id)
        log.info("follow-up %s opened for response %s (%s)", follow_up.id, response_id,
                 follow_up.reason)
        _low_score_webhook(response_id, reasons, low_score)
        return follow_up
    except Exception:  # noqa: BLE001 - see the docstring
        log.exception("could not open the follow-up of response %s", response_id)
        db.session.rollback()
        return None


def is_anonymous(response: Response) -> bool:
    """Whether nobody stands behind ``response`` (a walk-in answer): it gets no follow-up."""
    return response.mode == ResponseMode.WALK_IN or (
        response.complaint_id is None and response.service_event_id is None)


def low_score_event(document: dict[str, Any], reasons: list[FollowUpReason],
                    webhook_ids: tuple[int, ...]) -> PendingEvent | None:
    """``response.low_score``: the response as ``response.created`` sends it (codes and scores,
    no free text, no personal data) plus ``reasons``; None when no webhook listens."""
    return PendingEvent.of(webhooks.LOW_SCORE, webhook_ids,
                           {**document, "reasons": [reason.value for reason in reasons]})


def _follow_up_of(response_id: int) -> FollowUp | None:
    return db.session.scalar(select(FollowUp).where(FollowUp.response_id == response_id))


def _fire_low_score(response_id: int, reasons: list[FollowUpReason]) -> None:
    """Queue ``response.low_score`` for a response read again from the database."""
    from app.documents import response_document, response_with_context

    try:
        webhook_ids = webhooks.subscribed(webhooks.LOW_SCORE)[webhooks.LOW_SCORE]
        if not webhook_ids:
            return
        found = response_with_context(response_id)
        if found is None:
            return
        event = low_score_event(response_document(*found, include_free_text=False), reasons,
                                webhook_ids)
        if event is not None:
            webhooks.queue_event(event)
    except Exception:  # noqa: BLE001 - the follow-up is stored; the webhook is a courtesy
        log.exception("could not queue response.low_score for response %s", response_id)
        db.session.rollback()


# --- who may see which follow-ups ---------------------------------------------------------------


def is_unit_manager(user: User) -> bool:
    return bool(user.units)


def may_use_follow_ups(user: User) -> bool:
    return user.has_role(Role.DESIGNER) or is_unit_manager(user)


def may_see_contact(user: User) -> bool:
    """Only admins see how to reach the complainant (to call them back): those who see
    personal data (``app.auth.scope.may_see_personal_data``)."""
    return may_see_personal_data(user)


def follow_up_units(user: User) -> frozenset[int] | None:
    """Units whose follow-ups ``user`` may see (``units_in_scope``); None: all of them.

    Follow-ups hold what complainants said: staff without units see them only as admins or
    designers (a viewer without units sees none).
    """
    scope = units_in_scope(user)
    if scope is None and not user.has_role(Role.DESIGNER):
        return frozenset()
    return scope


def _visible(stmt: Select, user: User) -> Select:  # type: ignore[type-arg]
    units = follow_up_units(user)
    return stmt if units is None else stmt.where(FollowUp.unit_id.in_(units))


# --- listing and changing ----------------------------------------------------------------------


@dataclass(frozen=True)
class FollowUpRow:
    """One line of the list. A complaint's follow-up has its ``reference`` and category; a
    service user's has neither, and names the service and the day it was delivered."""

    follow_up: FollowUp
    reference: str | None
    unit_name: str
    category_name: str | None
    submitted_at: object
    service_name: str | None = None
    served_at: object = None


def list_follow_ups(user: User, state: FollowUpState | None = None,
                    limit: int = 200) -> list[FollowUpRow]:
    """The follow-ups ``user`` may see, open ones first, newest first within a state."""
    stmt = _visible(
        select(FollowUp, Complaint.external_id, Unit.name, Category.name, Response.submitted_at,
               Service.name, ServiceEvent.occurred_at)
        .join(Response, Response.id == FollowUp.response_id)
        .join(Unit, Unit.id == FollowUp.unit_id)
        .outerjoin(Complaint, Complaint.id == FollowUp.complaint_id)
        .outerjoin(Category, Category.id == Complaint.category_id)
        .outerjoin(ServiceEvent, ServiceEvent.id == Response.service_event_id)
        .outerjoin(Service, Service.id == ServiceEvent.service_id), user)
    if state is not None:
        stmt = stmt.where(FollowUp.state == state)
    order = {FollowUpState.OPEN: 0, FollowUpState.CONTACTED: 1, FollowUpState.CLOSED: 2}
    rows = db.session.execute(stmt.order_by(FollowUp.created_at.desc(), FollowUp.id.desc())
                              .limit(limit)).all()
    result = [FollowUpRow(*row) for row in rows]
    return sorted(result, key=lambda row: order[row.follow_up.state])


def get_follow_up(user: User, follow_up_id: int) -> FollowUp | None:
    """The follow-up if ``user`` may see it (else None, as if it did not exist)."""
    return db.session.scalar(_visible(select(FollowUp).where(FollowUp.id == follow_up_id), user))


@dataclass(frozen=True)
class FollowUpDetail:
    """What a follow-up page shows: about a complaint (``complaint``, its reference, category
    and subject) or about a service event (``service_event``: service, unit and day)."""

    follow_up: FollowUp
    complaint: Complaint | None
    service_event: ServiceEvent | None
    reference: str | None
    unit_name: str
    category_name: str | None
    subject: str | None  # None unless the user reads comments (and for a service event)
    response: Response
    answers: list[AnswerLine]  # text answers only for those who read comments
    contact: Complainant | None  # None unless the user may see it (see ``_contact``)
    authors: dict[int, str]


def follow_up_detail(user: User, follow_up: FollowUp, language: str) -> FollowUpDetail:
    """What the follow-up page shows ``user``, the answers worded in ``language``."""
    response = db.session.get(Response, follow_up.response_id)
    assert response is not None  # foreign key
    complaint = (db.session.get(Complaint, follow_up.complaint_id)
                 if follow_up.complaint_id is not None else None)
    event = (db.session.get(ServiceEvent, response.service_event_id)
             if complaint is None and response.service_event_id is not None else None)
    common = {"follow_up": follow_up, "response": response, "authors": _authors(follow_up),
              "answers": worded_answers(user, response, language)}
    if complaint is not None:
        return FollowUpDetail(
            **common, complaint=complaint, service_event=None,
            reference=complaint.external_id, unit_name=complaint.unit.name,
            category_name=complaint.category.name,
            subject=complaint.subject if may_read_comments(user) else None,
            contact=_contact(user, complaint.complainant))
    unit = db.session.get(Unit, follow_up.unit_id)
    return FollowUpDetail(
        **common, complaint=None, service_event=event, reference=None,
        unit_name=unit.name if unit is not None else "", category_name=None, subject=None,
        contact=_contact(user, event.person if event is not None else None))


def worded_answers(user: User, response: Response, language: str) -> list[AnswerLine]:
    """The response's answers as ``user`` may read them: worded in ``language``, text answers
    only for those who read comments."""
    version = db.session.get(QuestionnaireVersion, response.version_id)
    rows = [a for a in sorted(response.answers, key=lambda answer: answer.id)
            if a.value_text is None or may_read_comments(user)]
    return answer_lines(version.definition if version else {}, rows, language)


def _contact(user: User, person: Complainant | None) -> Complainant | None:
    """The person to call back, for those who may see contact data, unless their data was
    erased or they did not consent to be contacted about surveys (a service user gave their
    contact data for the service, not for calls)."""
    if person is None or not may_see_contact(user):
        return None
    if person.erased_at is not None or not person.survey_consent:
        return None
    return person


def _authors(follow_up: FollowUp) -> dict[int, str]:
    author_ids = {note.author_id for note in follow_up.notes if note.author_id is not None}
    if not author_ids:
        return {}
    return dict(db.session.execute(select(User.id, User.email).where(User.id.in_(author_ids)))
                .all())


def change_state(follow_up: FollowUp, state: FollowUpState, user: User) -> None:
    """Move a follow-up to ``state`` (any state may follow any other: a closed matter can come
    back), stamping when it was first contacted and last closed."""
    if follow_up.state == state:
        return
    now = utcnow()
    before = follow_up.state
    follow_up.state = state
    if state == FollowUpState.CONTACTED and follow_up.contacted_at is None:
        follow_up.contacted_at = now
    follow_up.closed_at = now if state == FollowUpState.CLOSED else None
    db.session.add(AuditLog(actor=f"user:{user.id}", action="follow_up.state",
                            target=f"follow_up:{follow_up.id}",
                            detail={"from": before.value, "to": state.value}))
    db.session.commit()


def add_note(follow_up: FollowUp, text: str, user: User) -> FollowUpNote:
    text = text.strip()
    if not text:
        raise FollowUpError("a note needs some text")
    if len(text) > NOTE_MAX_LENGTH:
        raise FollowUpError(f"a note may have at most {NOTE_MAX_LENGTH} characters")
    note = FollowUpNote(follow_up_id=follow_up.id, author_id=user.id, text=text, at=utcnow())
    db.session.add(note)
    follow_up.updated_at = note.at
    db.session.commit()
    return note
