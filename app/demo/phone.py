"""The demo's phone interviews: the rule calls people who left only a phone number, and a
call list with calls in every state (not called yet, no answer, busy, a call-back, completed,
refused, wrong number, given up, and one not due yet), so that `make run` shows the call list
and its call screens."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from sqlalchemy import insert, update

from app.demo.answers import answer, mood_of
from app.demo.simulation import Clock, Survey
from app.extensions import db
from app.models import (
    Answer,
    CallAttempt,
    CallOutcome,
    Channel,
    Complainant,
    Complaint,
    DistributionRule,
    Invitation,
    InvitationChannel,
    InvitationState,
    PhoneUse,
    QuestionnaireVersion,
    Response,
    ResponseMode,
)
from app.wordforms import search_terms

HOUR = dt.timedelta(hours=1)
NO, BUSY, BACK = CallOutcome.NO_ANSWER, CallOutcome.BUSY, CallOutcome.CALL_BACK
#: (calls made so far, hours from now of the next call, the state it ends in)
STORIES: list[tuple[list[CallOutcome], float, InvitationState]] = [
    ([], -1, InvitationState.PLANNED),
    ([NO], -0.5, InvitationState.PLANNED),
    ([NO, BUSY], 2, InvitationState.PLANNED),
    ([BACK], 20, InvitationState.PLANNED),
    ([], 30, InvitationState.PLANNED),
    ([NO, CallOutcome.COMPLETED], 0, InvitationState.RESPONDED),
    ([CallOutcome.REFUSED], 0, InvitationState.CANCELLED),
    ([CallOutcome.WRONG_NUMBER], 0, InvitationState.CANCELLED),
    ([NO, BUSY, NO], 0, InvitationState.EXPIRED),
    ([], -3, InvitationState.PLANNED),
]


def call_people_with_only_a_phone(rule: DistributionRule) -> DistributionRule:
    """The demo's rule calls those who left no e-mail address (there is no SMS gateway)."""
    rule.phone_use = PhoneUse.PHONE_ONLY
    rule.phone_max_attempts, rule.phone_hours_between = 3, 3
    rule.calling_hours_start, rule.calling_hours_end = "09:00", "21:00"
    rule.calling_days = [1, 2, 3, 4, 5, 6]
    db.session.flush()
    return rule


def _candidates(surveys: list[Survey], clock: Clock) -> list[Survey]:
    """Recent surveys not sent for want of an e-mail address, of people with a phone."""
    recent = clock.now - dt.timedelta(days=21)
    return sorted(
        (s for s in surveys if s.state == "suppressed" and s.reason == "no_contact"
         and s.case.person is not None and s.case.person.phone
         and recent < s.due_at <= clock.now),
        key=lambda s: s.due_at)[:len(STORIES)]


def store_phone_calls(rng: random.Random, clock: Clock, surveys: list[Survey],
                      rule: DistributionRule, version: QuestionnaireVersion) -> int:
    """Turn recent surveys that had no way to reach their person into calls (see the module);
    returns how many."""
    chosen = _candidates(surveys, clock)
    for survey, (calls, next_in, state) in zip(chosen, STORIES, strict=False):
        started = survey.due_at
        failed = sum(1 for outcome in calls if outcome in (NO, BUSY))
        attempts = [{"invitation_id": survey.id, "outcome": outcome,
                     "at": min(started + i * 3 * HOUR, clock.now - (len(calls) - i) * HOUR),
                     "call_back_at": clock.now + next_in * HOUR if outcome == BACK else None}
                    for i, outcome in enumerate(calls)]
        db.session.execute(update(Invitation).where(Invitation.id == survey.id).values(
            channel=InvitationChannel.PHONE, state=state,
            suppression_reason=None, token_hash=None, attempts=failed,
            due_at=clock.now + next_in * HOUR if state == InvitationState.PLANNED else started,
            expires_at=started + dt.timedelta(minutes=rule.expires_after_minutes),
            responded_at=attempts[-1]["at"] if state == InvitationState.RESPONDED else None))
        if attempts:
            db.session.execute(insert(CallAttempt), attempts)
        if CallOutcome.WRONG_NUMBER in calls:
            db.session.execute(update(Complainant).where(
                Complainant.id == survey.case.person.id).values(phone_wrong_at=attempts[-1]["at"]))
        if state == InvitationState.RESPONDED:
            _interview(rng, clock, survey, version, attempts[-1]["at"])
    return len(chosen)


def _interview(rng: random.Random, clock: Clock, survey: Survey, version: QuestionnaireVersion,
               at: dt.datetime) -> None:
    rows: list[dict[str, Any]] = answer(
        rng, mood_of(rng, survey.case, clock, survey.resolved_at),
        version.definition.get("questions", []), survey.language)
    complaint = db.session.get(Complaint, survey.case.id)
    assert complaint is not None
    response = Response(
        invitation_id=survey.id, version_id=version.id,
        questionnaire_id=version.questionnaire_id, complaint_id=complaint.id,
        unit_id=complaint.unit_id, category_id=complaint.category_id,
        channel=Channel(survey.case.channel), language=survey.language, submitted_at=at,
        mode=ResponseMode.PHONE)
    db.session.add(response)
    db.session.flush()
    db.session.execute(insert(Answer), [
        {**row, "response_id": response.id,
         "search_terms": search_terms(row.get("value_text"), survey.language)}
        for row in rows])
