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

import copy
import datetime as dt
import enum
import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import get_locale
from sqlalchemy import Select, Update, bindparam, delete, insert, inspect, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from app import webhooks
from app.distribution.tokens import hash_token, well_formed
from app.documents import ResponseContext, response_document
from app.emails import email_key
from app.extensions import db
from app.followup.services import follow_up_reasons, low_score_event, open_follow_up_if_needed
from app.models import (
    Answer,
    AuditLog,
    Category,
    Channel,
    Complainant,
    Complaint,
    DistributionRule,
    Invitation,
    InvitationChannel,
    InvitationState,
    Questionnaire,
    QuestionnaireVersion,
    Response,
    ResponseMode,
    ResponseSource,
    Service,
    ServiceEvent,
    SuppressionReason,
    Unit,
    VersionStatus,
)
from app.models.distribution import SurveyAbout
from app.models.types import utcnow
from app.respond.questions import (
    MULTI_CHOICE,
    SCALES,
    SINGLE_CHOICE,
    TEXT,
    YES_NO,
    Question,
    questions_in,
    version_languages,
)
from app.wordforms import search_terms

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


@dataclass
class LinkedComplaint:
    """The complaint's columns the survey pages and a new response use."""

    id: int
    external_id: str | None
    received_at: dt.datetime
    unit_id: int
    category_id: int
    channel: Channel


@dataclass
class LinkedServiceEvent:
    """The service event's columns the survey pages and a new response use (no complaint)."""

    id: int
    occurred_at: dt.datetime
    unit_id: int
    service_id: int
    channel: Channel
    service_name: str


@dataclass
class SurveyLink:
    """An invitation as the survey form and its POST read it: the few columns they use, read by
    ``find_survey_link`` in one Core statement, no ORM object (building the invitation, its
    complaint and response as objects was most of a survey page's database work in Python).

    The services below take it or an ``Invitation`` alike (the same attribute names);
    ``response`` is the partial response as an object, read only when a submission completes
    one (``response_id`` says whether there is one).
    """

    id: int
    state: InvitationState
    expires_at: dt.datetime | None
    version_id: int | None
    rule_id: int | None
    language: str
    channel: InvitationChannel
    campaign_id: int | None
    complaint: LinkedComplaint | None
    service_event: LinkedServiceEvent | None
    response_id: int | None
    response: Response | None = None

    @property
    def complaint_id(self) -> int | None:
        return self.complaint.id if self.complaint is not None else None

    @property
    def service_event_id(self) -> int | None:
        return self.service_event.id if self.service_event is not None else None

    @property
    def about(self) -> SurveyAbout:
        """What the survey asks about, as ``Invitation.about`` says it."""
        if self.complaint is not None:
            return SurveyAbout(self.complaint.external_id or "", self.complaint.received_at,
                               False)
        event = self.service_event
        assert event is not None  # the invitation's CHECK: a complaint or a service event
        return SurveyAbout(event.service_name, event.occurred_at, True)


def _survey_link_lookup() -> Select[Any]:
    invitation, complaint = Invitation.__table__.c, Complaint.__table__.c
    event, service = ServiceEvent.__table__.c, Service.__table__.c
    response = Response.__table__.c
    return (
        select(invitation.id, invitation.state, invitation.expires_at, invitation.version_id,
               invitation.rule_id, invitation.language, invitation.channel,
               invitation.campaign_id, complaint.id, complaint.external_id,
               complaint.received_at, complaint.unit_id, complaint.category_id,
               complaint.channel, event.id, event.occurred_at, event.unit_id, event.service_id,
               event.channel, service.name, response.id)
        .select_from(Invitation.__table__)
        .outerjoin(Complaint.__table__, complaint.id == invitation.complaint_id)
        .outerjoin(ServiceEvent.__table__, event.id == invitation.service_event_id)
        .outerjoin(Service.__table__, service.id == event.service_id)
        .outerjoin(Response.__table__, response.invitation_id == invitation.id)
        .where(invitation.token_hash == bindparam("token_hash"))
    )


_SURVEY_LINK = _survey_link_lookup()  # built once: a survey visit looks a token up twice


def find_survey_link(token: str) -> SurveyLink | None:
    """The invitation a link token belongs to, as the survey pages read it, or None for
    anything malformed or unknown."""
    if not well_formed(token):
        return None
    row = db.session.connection().execute(
        _SURVEY_LINK, {"token_hash": hash_token(token)}).first()
    if row is None:
        return None
    complaint = LinkedComplaint(*row[8:14]) if row[8] is not None else None
    event = LinkedServiceEvent(*row[14:20]) if row[14] is not None else None
    return SurveyLink(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7],
                      complaint, event, row[20])


# What the services read of an invitation: an ``Invitation`` or a ``SurveyLink``.
Invited = Invitation | SurveyLink


@dataclass(frozen=True)
class SurveyVersion:
    """A questionnaire version as the survey pages read it.

    A published version never changes, so each process reads one once (``survey_version``) and
    keeps it, with its questions in each language asked for: a survey visit reads no version.
    """

    id: int
    questionnaire_id: int
    questionnaire_key: str
    number: int
    definition: dict[str, Any]
    _questions: dict[tuple[str, str], tuple[Question, ...]] = field(
        default_factory=dict, compare=False, repr=False)

    @property
    def languages(self) -> list[str]:
        return version_languages(self.definition)

    def questions(self, language: str) -> list[Question]:
        """``questions_in`` this version, kept per language and catalogue; call it inside
        ``force_locale`` as ``questions_in`` wants (the locale is part of the key)."""
        key = (language, str(get_locale()))
        found = self._questions.get(key)
        if found is None:
            found = self._questions[key] = tuple(questions_in(self.definition, language))
        return list(found)


MAX_KEPT_VERSIONS = 500


def _kept_versions() -> dict[int, SurveyVersion]:
    return current_app.extensions.setdefault("memnun_survey_versions", {})  # type: ignore[no-any-return]


def version_by_id(version_id: int) -> SurveyVersion | None:
    """The version with this id: from this process's copy when it is published (it cannot
    change), else read now."""
    kept = _kept_versions()
    found = kept.get(version_id)
    if found is not None:
        return found
    row = db.session.execute(
        select(QuestionnaireVersion, Questionnaire.key)
        .join(Questionnaire, Questionnaire.id == QuestionnaireVersion.questionnaire_id)
        .where(QuestionnaireVersion.id == version_id)
    ).first()
    if row is None:
        return None
    version, key = row
    found = SurveyVersion(version.id, version.questionnaire_id, key, version.number,
                          copy.deepcopy(version.definition))
    if version.status == VersionStatus.PUBLISHED:
        if len(kept) >= MAX_KEPT_VERSIONS:
            kept.clear()
        kept[version_id] = found
    return found


def survey_version(invitation: Invited) -> SurveyVersion | None:
    """The version this invitation asks about: its own, else its rule's published one."""
    if invitation.version_id is not None:
        return version_by_id(invitation.version_id)
    if invitation.rule_id is not None:
        published = db.session.scalar(
            select(QuestionnaireVersion.id)
            .join(DistributionRule,
                  DistributionRule.questionnaire_id == QuestionnaireVersion.questionnaire_id)
            .where(DistributionRule.id == invitation.rule_id,
                   QuestionnaireVersion.status == VersionStatus.PUBLISHED)
            .order_by(QuestionnaireVersion.number.desc()).limit(1))
        return version_by_id(published) if published is not None else None
    return None


def link_state(invitation: Invited, now: dt.datetime | None = None) -> LinkState:
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


@functools.lru_cache(maxsize=4)
def _claim_statement(names: tuple[str, ...]) -> Update:
    """The claim's UPDATE, setting the columns ``names`` from bind parameters of the same names
    (none: a no-op update of the state that only takes the row lock). Built once per set of
    names: building and caching an expression costs more Python than running it."""
    table = Invitation.__table__.c
    values = {name: bindparam(f"new_{name}") for name in names} or {"state": table.state}
    return (
        update(Invitation.__table__)
        .where(
            table.id == bindparam("invitation_id"),
            table.state.in_(ANSWERABLE),
            or_(table.expires_at.is_(None), table.expires_at > bindparam("now")),
        )
        .values(values)
    )


def _set_loaded(invitation: Invited, name: str, value: Any) -> None:
    """Say on ``invitation`` what its row now holds (an ORM object: without marking it
    changed)."""
    if isinstance(invitation, SurveyLink):
        setattr(invitation, name, value)
    else:
        set_committed_value(invitation, name, value)


def _claim_while_answerable(invitation: Invited, now: dt.datetime, **values: Any) -> None:
    """Update the invitation only if it still takes an answer, in the same statement that checks
    it, so that an expiry, a cancellation or another submission cannot slip in between. The
    updated row stays locked until commit (PostgreSQL; SQLite locks the whole database).

    Run on the session's connection as Core: nothing in the session needs synchronising, and
    the values are set on the object below."""
    statement = _claim_statement(tuple(sorted(values)))
    changed = db.session.connection().execute(statement, {
        "invitation_id": invitation.id, "now": now,
        **{f"new_{name}": value for name, value in values.items()},
    }).rowcount
    if changed == 1:
        for name, value in values.items():  # the object says what the row now holds
            _set_loaded(invitation, name, value)
        return
    db.session.rollback()
    if isinstance(invitation, SurveyLink):
        invitation.state = db.session.scalar(
            select(Invitation.state).where(Invitation.id == invitation.id))
    else:
        db.session.refresh(invitation)
    if invitation.state == InvitationState.RESPONDED:
        raise AlreadyAnswered
    raise SurveyClosed


def _response_of(invitation: Invited) -> Response | None:
    """The invitation's response: as loaded with it (``Invitation.response``; a
    ``SurveyLink``'s, read by its id the first time), else read now."""
    if isinstance(invitation, SurveyLink):
        if invitation.response is None and invitation.response_id is not None:
            invitation.response = db.session.get(Response, invitation.response_id)
        return invitation.response
    if "response" not in inspect(invitation).unloaded:
        return invitation.response
    return db.session.scalar(select(Response).where(Response.invitation_id == invitation.id))


def partial_answers(invitation: Invited) -> dict[str, Any]:
    """The answers stored so far for an invitation not yet responded (its one-click answer),
    by question key, in the form ``survey_answers`` gives them; empty when there are none."""
    if invitation.state == InvitationState.RESPONDED:
        return {}
    response_id = (invitation.response_id if isinstance(invitation, SurveyLink)
                   else getattr(_response_of(invitation), "id", None))
    if response_id is None:
        return {}
    answers: dict[str, Any] = {}
    stored = db.session.scalars(select(Answer).where(Answer.response_id == response_id))
    for answer in stored:
        if answer.value_choice is not None:
            answers[answer.question_key] = answer.value_choice
        elif answer.value_number is not None:
            answers[answer.question_key] = int(answer.value_number)
    return answers


_INSERT_RESPONSE = insert(Response.__table__).returning(Response.__table__.c.id)
_INSERT_ANSWERS = insert(Answer.__table__)
ANSWER_COLUMNS = ("question_key", "question_type", "attribute", "value_number", "value_choice",
                  "value_text", "search_terms")


def _insert_answers(response: Response, rows: list[Answer]) -> None:
    """Store ``rows`` as the answers of ``response`` in one statement. The rows stay in memory
    as its answers (for the hooks): nothing is read back, so they have no ids."""
    for row in rows:
        row.response_id = response.id
        row.search_terms = search_terms(row.value_text, response.language)
    if rows:
        # Core, every column given: the ORM's bulk insert would split rows by the columns set.
        db.session.connection().execute(_INSERT_ANSWERS, [
            {"response_id": response.id, **{name: getattr(row, name) for name in ANSWER_COLUMNS}}
            for row in rows
        ])
    set_committed_value(response, "answers", rows)


def _segment(invitation: Invited) -> dict[str, Any]:
    """Whom the response speaks for and where it counts: the complaint's unit, category and
    channel, or the service event's unit, service and channel (a campaign's sample too)."""
    if invitation.complaint_id is not None:
        complaint = invitation.complaint
        # Every column the response's document reads is given, so nothing is read back.
        return {"complaint_id": complaint.id, "service_event_id": None,
                "unit_id": complaint.unit_id, "category_id": complaint.category_id,
                "service_id": None, "channel": complaint.channel,
                "source": ResponseSource.COMPLAINANT}
    event = invitation.service_event
    source = ResponseSource.CAMPAIGN if invitation.campaign_id else ResponseSource.SERVICE_USER
    return {"complaint_id": None, "service_event_id": event.id, "unit_id": event.unit_id,
            "category_id": None, "service_id": event.service_id, "channel": event.channel,
            "source": source}


def _new_response(invitation: Invited, version: SurveyVersion, language: str,
                  now: dt.datetime, recorded: dict[str, Any] | None = None) -> Response:
    """``recorded``: what a phone interview adds (its mode and interviewer)."""
    values = {
        "invitation_id": invitation.id,
        "version_id": version.id,
        "questionnaire_id": version.questionnaire_id,
        **_segment(invitation),
        "mode": ResponseMode.answering(invitation.channel),
        "language": language,
        "submitted_at": now,
        **(recorded or {}),
    }
    # One Core INSERT ... RETURNING, not a unit-of-work flush (a third of the POST's Python);
    # the unique invitation_id decides a race here. The object then joins the session as the
    # row it is, without being written again.
    response_id = db.session.connection().execute(_INSERT_RESPONSE, values).scalar_one()
    response = Response(id=response_id, **values)
    make_transient_to_detached(response)
    db.session.add(response)
    _set_loaded(invitation, "response", response)
    if isinstance(invitation, SurveyLink):
        invitation.response_id = response_id
    return response


def _store(invitation: Invited, version: SurveyVersion, answers: dict[str, Any],
           language: str, now: dt.datetime, recorded: dict[str, Any] | None = None,
           **claim: Any) -> Response:
    """Claim the invitation (``claim``: the values it takes), then add the response with
    ``answers``, or put them in place of a partial one; flushed, not committed.

    The response loaded with the invitation is used as it is: a partial response is never
    removed, so one that was there is there still. One that was not may have been stored by a
    one-click answer since; the unique constraint on ``response.invitation_id`` then refuses the
    new one, and the claim is made again and the partial response read after it (the claimed row
    stays locked, so it cannot change before the commit). A submission that finds the
    invitation answered gets ``AlreadyAnswered``.
    """
    read_after_claim = False
    while True:
        _claim_while_answerable(invitation, now, **claim)
        response = (db.session.scalar(select(Response).where(
            Response.invitation_id == invitation.id)) if read_after_claim
            else _response_of(invitation))
        try:
            if response is None:
                response = _new_response(invitation, version, language, now, recorded)
            else:
                db.session.execute(delete(Answer).where(Answer.response_id == response.id)
                                   .execution_options(synchronize_session=False))
                response.language = language
                response.submitted_at = now
        except IntegrityError:
            db.session.rollback()
            if read_after_claim:
                log.info("second response refused for invitation %s", invitation.id)
                raise AlreadyAnswered from None
            read_after_claim = True
            continue
        _insert_answers(response, answer_rows(version.definition, answers))
        return response


@contextmanager
def _keeping_loaded() -> Iterator[None]:
    """Commits inside do not expire the objects of this request: they hold what was just
    written (the claim sets its values on the invitation), and reading them again would cost a
    statement each (the hooks and the thank-you redirect still use them). A rollback still
    expires them."""
    session = db.session()
    session.expire_on_commit = False
    try:
        yield
    finally:
        session.expire_on_commit = True


def _commit_keeping_loaded() -> None:
    with _keeping_loaded():
        db.session.commit()


def save_first_answer(invitation: Invited, answers: dict[str, Any], language: str) -> Response:
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
    if not answer_rows(version.definition, answers):
        raise ValueError("a first answer needs at least one answer")
    now = utcnow()
    # A no-op update that takes the invitation's row lock while the link is still open.
    response = _store(invitation, version, answers, language, now)
    _commit_keeping_loaded()
    log.info("first answer stored as response %s of invitation %s", response.id, invitation.id)
    return response


def submit_response(invitation: Invited, answers: dict[str, Any], language: str, *,
                    interviewer_id: int | None = None) -> Response:
    """Store the one response of ``invitation`` with its answers, and mark it responded.

    A partial response (the one-click answer) is completed: its answers are replaced by these.
    Two submissions at the same moment store one response: the conditional update of the
    invitation decides, the unique constraint on ``response.invitation_id`` backs it up, and the
    loser gets ``AlreadyAnswered``. Raises ``SurveyClosed`` for an expired or cancelled invitation
    and ValueError for answers that do not fit the version.

    What the response sets off (the ``response.created`` webhook, a follow-up and its
    ``response.low_score`` webhook) is decided and built before the commit, in the same
    transaction, and written after it in transactions of its own: nothing is read again after
    the commit, and a problem there never loses the response.

    ``interviewer_id``: the member of staff who asked the questions on the phone and typed the
    answers (app/phone); the response's mode is then ``phone``.
    """
    version = survey_version(invitation)
    if version is None:
        raise SurveyClosed
    answer_rows(version.definition, answers)  # ValueError before anything is written
    if invitation.state == InvitationState.RESPONDED:
        raise AlreadyAnswered
    now = utcnow()
    recorded = None if interviewer_id is None else {
        "mode": ResponseMode.PHONE, "interviewer_id": interviewer_id}
    response = _store(invitation, version, answers, language, now, recorded,
                      state=InvitationState.RESPONDED, responded_at=now)
    commit_with_hooks(response, version)
    log.info("response %s stored for invitation %s", response.id, invitation.id)
    return response


def commit_with_hooks(response: Response, version: SurveyVersion) -> None:
    """Commit a new response (flushed, with its answers) and then run what it sets off: the
    ``response.created`` webhook and, for a low score, a follow-up (``app.followup``) and the
    ``response.low_score`` webhook. The one way every new response is stored: a link's, a phone
    interview's (``submit_response``) and a walk-in answer's (``app.walkin``)."""
    after_commit = prepare_hooks(response, version)
    _commit_keeping_loaded()
    after_commit()


def run_hooks_of_stored(response_id: int) -> None:
    """Run the hooks of a response committed earlier without them: a held walk-in answer,
    which counts (and so is announced) only once a person accepts it."""
    response = db.session.get(Response, response_id)
    version = version_by_id(response.version_id) if response is not None else None
    if response is not None and version is not None:
        prepare_hooks(response, version)()


def prepare_hooks(response: Response, version: SurveyVersion) -> Callable[[], None]:
    """Read and build, before the response's commit, what its hooks need (one query for the
    subscribed webhooks; the codes of the document only when one is); returns what writes them
    after the commit."""
    response_id = response.id
    reasons = follow_up_reasons(response.answers)
    listening = webhooks.subscribed(webhooks.RESPONSE_CREATED, webhooks.LOW_SCORE)
    created = low_score = None
    if listening[webhooks.RESPONSE_CREATED] or (reasons and listening[webhooks.LOW_SCORE]):
        document = response_document(response, _codes_of(response, version),
                                     include_free_text=False)
        created = webhooks.PendingEvent.of(webhooks.RESPONSE_CREATED,
                                           listening[webhooks.RESPONSE_CREATED], document)
        if reasons:
            low_score = low_score_event(document, reasons, listening[webhooks.LOW_SCORE])

    def after_commit() -> None:
        with _keeping_loaded():
            if reasons:
                open_follow_up_if_needed(response, reasons, low_score)  # never raises
            webhooks.queue_safely(created, f"response {response_id}")

    return after_commit


def _codes_of(response: Response, version: SurveyVersion) -> ResponseContext:
    unit, category = db.session.execute(select(
        select(Unit.code).where(Unit.id == response.unit_id).scalar_subquery(),
        select(Category.code).where(Category.id == response.category_id).scalar_subquery(),
    )).one()
    return ResponseContext(unit=unit, category=category, questionnaire=version.questionnaire_key,
                           version=version.number)


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


def opt_out(invitation: Invitation, how: str = "page", actor: str = "complainant") -> int:
    """Opt the person behind ``invitation`` out of every survey; return how many pending
    invitations were cancelled.

    The person is the complaint's complainant and every complainant record with the same e-mail
    (integrations often create one record per complaint). Safe to repeat: a second call finds
    nothing left to cancel and keeps the first opt-out time. ``how`` is audited: ``page`` (the
    opt-out page's form), ``one_click`` (RFC 8058, from the mailbox provider), ``mail`` (an
    unsubscribe e-mail), ``phone`` (the person said so to an interviewer, ``actor``).
    """
    now = utcnow()
    complainant = invitation.person
    people = _same_person(complainant) if complainant is not None else []
    for person in people:
        person.opted_out_at = person.opted_out_at or now
    ids = [person.id for person in people]
    their_complaints = select(Complaint.id).where(Complaint.complainant_id.in_(ids))
    their_services = select(ServiceEvent.id).where(ServiceEvent.complainant_id.in_(ids))
    cancelled = db.session.execute(
        update(Invitation)
        .where(
            or_(Invitation.id == invitation.id, Invitation.complaint_id.in_(their_complaints),
                Invitation.service_event_id.in_(their_services)),
            Invitation.state.in_(PENDING),
        )
        .values(state=InvitationState.CANCELLED, suppression_reason=SuppressionReason.OPTED_OUT)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.add(
        AuditLog(
            actor=actor,
            action="opt_out",
            target=f"complainant:{complainant.id}" if complainant else None,
            detail={"invitation": invitation.id, "cancelled": cancelled, "how": how},
        )
    )
    db.session.commit()
    log.info("opt-out through invitation %s cancelled %s invitation(s)", invitation.id, cancelled)
    return cancelled
