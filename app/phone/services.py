"""What the satisfaction team does with invitations by phone: list the calls, record each call.

An invitation by phone (``channel = phone``) is planned with ``due_at`` as the time of its next
call, always inside the rule's calling hours (``app.distribution.calling``). Each call is a
``call_attempt`` row and an audit entry (ids and codes only). No answer and busy count against
the rule's maximum and push the next call by its spacing; after the last one the invitation
expires. A call-back moves the next call to the time the person asked for. Refused ends the
invitation; wrong number ends it and marks the number on every record that holds it, so no call
or SMS goes to it again. A completed interview is a response stored by the survey's own service
(``app.respond.services.submit_response``): one per invitation, follow-ups and webhooks as for
an answer on the web, with the mode ``phone`` and the interviewer.

Every change is one conditional UPDATE on the invitation as it was read (still planned, the
same next call time): two interviewers who record the same call at once cannot both count.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import aliased

from app.auth.scope import may_call_people, units_in_scope
from app.distribution.calling import in_calling_hours, into_calling_hours, next_attempt
from app.errors import Conflict
from app.extensions import db
from app.models import (
    FAILED_OUTCOMES,
    AuditLog,
    CallAttempt,
    CallOutcome,
    Complainant,
    Complaint,
    DistributionRule,
    Invitation,
    InvitationChannel,
    InvitationState,
    PhoneUse,
    Response,
    Role,
    ServiceEvent,
    Unit,
    User,
)
from app.models.types import utcnow
from app.respond import services as respond

LIST_SIZE = 200
#: How far back the fallback job looks for links that expired unanswered.
FALLBACK_LOOKBACK = dt.timedelta(days=7)


class CallRefused(Conflict):
    """The call cannot be recorded now; ``code`` says why (for the page's message)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code  # closed | not_due | outside_hours | taken | bad_call_back


def may_make_calls(user: User) -> bool:
    """The satisfaction team (designers), admins and phone interviewers (of any role) work the
    call list; only admins and interviewers see whom to call (``may_call_people``)."""
    return user.has_role(Role.DESIGNER) or may_call_people(user)


@dataclass(frozen=True)
class Call:
    """One line of the call list (``name`` and ``phone`` None for who may not see them)."""

    invitation_id: int
    due_at: dt.datetime
    expires_at: dt.datetime | None
    reference: str | None
    unit_name: str
    language: str | None
    name: str | None
    phone: str | None
    attempts: int
    max_attempts: int
    last_outcome: CallOutcome | None
    last_at: dt.datetime | None
    callable_now: bool
    opens_at: dt.datetime | None  # when the calling hours open next, when not callable now


def _unit_column() -> ColumnElement[Any]:
    return func.coalesce(Complaint.unit_id, ServiceEvent.unit_id)


def _person_column() -> ColumnElement[Any]:
    return func.coalesce(Complaint.complainant_id, ServiceEvent.complainant_id)


def _scope(user: User) -> list[ColumnElement[bool]]:
    units = units_in_scope(user)
    return [] if units is None else [_unit_column().in_(units)]


def _open_calls(now: dt.datetime) -> list[ColumnElement[bool]]:
    return [
        Invitation.channel == InvitationChannel.PHONE,
        Invitation.state == InvitationState.PLANNED,
        or_(Invitation.expires_at.is_(None), Invitation.expires_at > now),
    ]


def _last_attempt(column: Any) -> Any:
    return (select(column).where(CallAttempt.invitation_id == Invitation.id)
            .order_by(CallAttempt.at.desc(), CallAttempt.id.desc()).limit(1).scalar_subquery())


def call_list(user: User, now: dt.datetime | None = None) -> list[Call]:
    """The calls still to make inside ``user``'s units, the next due first (one statement)."""
    now = now or utcnow()
    personal = may_call_people(user)
    statement = (
        select(Invitation.id, Invitation.due_at, Invitation.expires_at, Complaint.external_id,
               Unit.name, Invitation.language, Complainant.name, Complainant.phone,
               Invitation.attempts, DistributionRule,
               _last_attempt(CallAttempt.outcome), _last_attempt(CallAttempt.at))
        .join(DistributionRule, DistributionRule.id == Invitation.rule_id)
        .outerjoin(Complaint, Complaint.id == Invitation.complaint_id)
        .outerjoin(ServiceEvent, ServiceEvent.id == Invitation.service_event_id)
        .join(Unit, Unit.id == _unit_column())
        .outerjoin(Complainant, Complainant.id == _person_column())
        .where(*_open_calls(now), *_scope(user))
        .order_by(Invitation.due_at, Invitation.id)
        .limit(LIST_SIZE)
    )
    calls = []
    for (invitation_id, due_at, expires_at, reference, unit_name, language, name, phone,
         attempts, rule, last_outcome, last_at) in db.session.execute(statement):
        callable_now = due_at <= now and in_calling_hours(now, rule)
        calls.append(Call(
            invitation_id, due_at, expires_at, reference, unit_name, language,
            name if personal else None, phone if personal else None, attempts,
            rule.phone_max_attempts, CallOutcome(last_outcome) if last_outcome else None,
            last_at, callable_now,
            None if callable_now else into_calling_hours(max(due_at, now), rule)))
    return calls


def phone_invitation(user: User, invitation_id: int) -> Invitation | None:
    """The invitation by phone ``user`` may see (inside their units), else None."""
    return db.session.scalar(
        select(Invitation)
        .outerjoin(Complaint, Complaint.id == Invitation.complaint_id)
        .outerjoin(ServiceEvent, ServiceEvent.id == Invitation.service_event_id)
        .where(Invitation.id == invitation_id,
               Invitation.channel == InvitationChannel.PHONE, *_scope(user))
    )


def attempts_of(invitation: Invitation) -> list[CallAttempt]:
    return list(db.session.scalars(
        select(CallAttempt).where(CallAttempt.invitation_id == invitation.id)
        .order_by(CallAttempt.at, CallAttempt.id)))


def person_of(invitation: Invitation) -> Complainant | None:
    subject = invitation.complaint or invitation.service_event
    return subject.complainant if subject is not None else None


def call_state(invitation: Invitation, now: dt.datetime | None = None) -> str | None:
    """None when the call can be made now; else why not (a ``CallRefused`` code)."""
    now = now or utcnow()
    if (invitation.state != InvitationState.PLANNED or invitation.rule is None
            or (invitation.expires_at is not None and invitation.expires_at <= now)):
        return "closed"
    if invitation.due_at is not None and invitation.due_at > now:
        return "not_due"
    if not in_calling_hours(now, invitation.rule):
        return "outside_hours"
    return None


def _audit(user: User, outcome: CallOutcome, invitation: Invitation, **detail: Any) -> None:
    db.session.add(AuditLog(actor=f"user:{user.id}", action=f"phone.{outcome.value}",
                            target=f"invitation:{invitation.id}", detail=detail or None))


def _move(invitation: Invitation, seen_due: dt.datetime | None, **values: Any) -> None:
    """The one conditional UPDATE of a call (see the module); CallRefused('taken') if the
    invitation changed since it was read."""
    changed = db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.state == InvitationState.PLANNED,
               Invitation.due_at == seen_due)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        db.session.rollback()
        raise CallRefused("taken")
    for name, value in values.items():
        setattr(invitation, name, value)


def _after_failed_call(invitation: Invitation, rule: DistributionRule,
                       now: dt.datetime) -> dict[str, Any]:
    attempts = invitation.attempts + 1
    following = next_attempt(now, rule)
    if attempts >= rule.phone_max_attempts or (
            invitation.expires_at is not None and following >= invitation.expires_at):
        return {"attempts": attempts, "state": InvitationState.EXPIRED}
    return {"attempts": attempts, "due_at": following}


def _mark_wrong_number(person: Complainant | None, now: dt.datetime) -> None:
    if person is None or not (person.phone or "").strip():
        return
    db.session.execute(
        update(Complainant)
        .where(Complainant.phone == person.phone, Complainant.phone_wrong_at.is_(None))
        .values(phone_wrong_at=now)
        .execution_options(synchronize_session=False))


def record_call(invitation: Invitation, outcome: CallOutcome, user: User, *,
                call_back_at: dt.datetime | None = None, note: str | None = None,
                now: dt.datetime | None = None) -> CallAttempt:
    """Record one call that did not complete the interview; commits. Raises CallRefused."""
    now = now or utcnow()
    if outcome == CallOutcome.COMPLETED:
        raise ValueError("a completed interview is recorded by complete_interview")
    problem = call_state(invitation, now)
    if problem is not None:
        raise CallRefused(problem)
    rule = invitation.rule
    assert rule is not None
    seen_due = invitation.due_at
    detail: dict[str, Any] = {"attempt": invitation.attempts + 1}
    if outcome in FAILED_OUTCOMES:
        values = _after_failed_call(invitation, rule, now)
    elif outcome == CallOutcome.CALL_BACK:
        if (call_back_at is None or call_back_at <= now or not in_calling_hours(call_back_at, rule)
                or (invitation.expires_at is not None and call_back_at >= invitation.expires_at)):
            raise CallRefused("bad_call_back")
        values = {"due_at": call_back_at}
    else:  # refused, wrong number: the invitation ends
        values = {"state": InvitationState.CANCELLED}
    _move(invitation, seen_due, **values)
    if outcome == CallOutcome.WRONG_NUMBER:
        _mark_wrong_number(person_of(invitation), now)
    detail["state"] = str(invitation.state)
    attempt = CallAttempt(invitation_id=invitation.id, at=now, outcome=outcome, user_id=user.id,
                          call_back_at=call_back_at, note=(note or "").strip()[:500] or None)
    db.session.add(attempt)
    _audit(user, outcome, invitation, **detail)
    db.session.commit()
    return attempt


def complete_interview(invitation: Invitation, answers: dict[str, Any], language: str,
                       user: User, now: dt.datetime | None = None) -> Response:
    """Store the interview's answers as the invitation's one response (mode phone, the
    interviewer recorded), then the call that completed it. Raises CallRefused when the call
    cannot be made now, ``respond.AlreadyAnswered`` / ``SurveyClosed`` as a web answer would,
    ValueError for answers that do not fit."""
    now = now or utcnow()
    problem = call_state(invitation, now)
    if problem == "outside_hours":
        problem = None  # an interview begun in the hours may end after them
    if problem is not None:
        raise CallRefused(problem)
    response = respond.submit_response(invitation, answers, language, interviewer_id=user.id)
    db.session.add(CallAttempt(invitation_id=invitation.id, at=now,
                               outcome=CallOutcome.COMPLETED, user_id=user.id))
    _audit(user, CallOutcome.COMPLETED, invitation, attempt=invitation.attempts + 1,
           response=response.id)
    db.session.commit()
    return response


def opt_out_by_phone(invitation: Invitation, user: User) -> int:
    """The person said on the phone they want no more surveys: the survey's own opt-out."""
    return respond.opt_out(invitation, how="phone", actor=f"user:{user.id}")


def plan_phone_fallbacks(now: dt.datetime | None = None) -> int:
    """For rules that call as a fallback: a call for every e-mail or SMS invitation whose link
    expired unanswered in the last week, once, where the person has a working number. The
    call is due at the next calling hours and expires after the rule's ``expires_after``.
    Returns how many calls were planned (the scheduler's ``memnun-phone-fallback`` job)."""
    now = now or utcnow()
    past = aliased(Invitation, name="past")
    already = select(Invitation.id).where(
        Invitation.channel == InvitationChannel.PHONE,
        or_(and_(Invitation.complaint_id.is_not(None),
                 Invitation.complaint_id == past.complaint_id),
            and_(Invitation.service_event_id.is_not(None),
                 Invitation.service_event_id == past.service_event_id)))
    rows = db.session.execute(
        select(past, DistributionRule)
        .join(DistributionRule, DistributionRule.id == past.rule_id)
        .where(past.state == InvitationState.EXPIRED,
               past.channel != InvitationChannel.PHONE,
               past.expires_at > now - FALLBACK_LOOKBACK,
               DistributionRule.phone_use == PhoneUse.FALLBACK,
               DistributionRule.active.is_(True),
               ~already.exists())
    ).all()
    planned = 0
    for expired, rule in rows:
        person = person_of(expired)
        if person is None or person.erased_at or person.opted_out_at or person.phone_wrong_at:
            continue
        if not (person.phone or "").strip():
            continue
        due = into_calling_hours(now, rule)
        db.session.add(Invitation(
            complaint_id=expired.complaint_id, service_event_id=expired.service_event_id,
            campaign_id=expired.campaign_id, rule_id=rule.id, version_id=expired.version_id,
            language=expired.language, channel=InvitationChannel.PHONE,
            state=InvitationState.PLANNED, due_at=due, attempts=0,
            expires_at=due + dt.timedelta(minutes=rule.expires_after_minutes)))
        planned += 1
    db.session.commit()
    return planned


def expire_calls(now: dt.datetime | None = None) -> int:
    """Calls still planned past their invitation's expiry become expired (the same job)."""
    now = now or utcnow()
    count = db.session.execute(
        update(Invitation)
        .where(Invitation.channel == InvitationChannel.PHONE,
               Invitation.state == InvitationState.PLANNED, Invitation.expires_at <= now)
        .values(state=InvitationState.EXPIRED)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return count
