"""The demo's rule on service events: building-permit applicants are asked about their visit.

The planning department ("imar") reports every service it delivers as a service event
(``loader._store_service_events``). A distribution rule triggered by those events, on its
building permits handed over at the desk, asks a sample of the applicants, by e-mail a day after
the visit, the walk-in questionnaire ("How was your visit today?"). This module makes what that
rule would have left since it was set up, six months ago, as the planner and the dispatcher
would: each event gets an invitation row with the planner's decision (no contact for the
applicants who left no e-mail, no consent, not sampled, or planned), the planned ones are sent,
some reminded, answered (source service_user, mode email) or expired. So the dashboards' section
"Service users and complainants" compares complainants with service users asked by a rule, not
only by campaigns and walk-in codes. The events whose survey is not yet due get none: the demo
leaves nothing for the dispatcher but the few invitations it plans on purpose.

Set-based, like the rest of the demo: one statement per table (people, the events' person,
invitations, token hashes, responses, answers), a few thousand rows at full scale.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from typing import Any

from sqlalchemy import select, update

from app.demo.rows import insert_all, insert_numbered
from app.demo.simulation import HOUR, MINUTE, Clock, RuleSettings, in_window
from app.demo.walkin import answer_rows, draw_answers
from app.distribution.tokens import hash_token, token_for
from app.extensions import db
from app.models import (
    Answer,
    Channel,
    Complainant,
    DistributionRule,
    Invitation,
    InvitationChannel,
    InvitationState,
    Questionnaire,
    Response,
    ResponseMode,
    ResponseSource,
    RuleTrigger,
    Service,
    ServiceEvent,
    SuppressionReason,
    Unit,
)
from app.walkin.services import DEFAULT_QUESTIONNAIRE

RULE_KEY = "imar-yapi-ruhsati"
UNIT, SERVICE, CHANNEL = "imar", "yapi-ruhsati", Channel.WALK_IN  # served at the desk
WITH_EMAIL = 0.35  # of the applicants, those who left an e-mail address
CONSENT = 0.85
SAMPLE_RATE = 0.5
#: The rule was set up this many months ago: the events before it have no survey (and the
#: demo writes half the rows a whole year would take, each paying the funnel's triggers).
RULE_MONTHS = 6
RESPONSE_CHANCE = 0.38
#: The applicants' mean overall rating (1-5): above the unit's complainants, whose permits were
#: the trouble, and with a slow climb over the year (the new appointment system).
MEAN, CLIMB = 3.8, 0.04


def store_service_surveys(rng: random.Random, clock: Clock) -> int:
    """The rule and what it left since it was set up (``RULE_MONTHS`` ago); returns how many
    answered. Needs the service events stored; flushes, the caller commits."""
    questionnaire = db.session.scalar(
        select(Questionnaire).where(Questionnaire.key == DEFAULT_QUESTIONNAIRE))
    version = questionnaire.published_version if questionnaire is not None else None
    if questionnaire is None or version is None:
        return 0
    since = clock.now - dt.timedelta(days=30.4 * RULE_MONTHS)
    rule = DistributionRule(
        key=RULE_KEY, questionnaire=questionnaire, triggered_by=RuleTrigger.SERVICE_EVENT,
        service_codes=[SERVICE], unit_codes=[UNIT], channels=[CHANNEL.value],
        sample_rate=SAMPLE_RATE, timezone="Europe/Istanbul", created_at=since,
        updated_at=since)
    db.session.add(rule)
    db.session.flush()
    settings = RuleSettings.of(rule)
    events = db.session.execute(
        select(ServiceEvent.id, ServiceEvent.occurred_at, ServiceEvent.unit_id,
               ServiceEvent.service_id, ServiceEvent.channel)
        .join(Unit, Unit.id == ServiceEvent.unit_id)
        .join(Service, Service.id == ServiceEvent.service_id)
        .where(Unit.code == UNIT, Service.code == SERVICE, ServiceEvent.channel == CHANNEL,
               ServiceEvent.occurred_at >= since)
        .order_by(ServiceEvent.occurred_at, ServiceEvent.id)).all()
    surveys = []
    for event in events:
        due = in_window(event.occurred_at + settings.delay, settings)
        if due <= clock.now:  # later ones are not due yet: left out (see the module's note)
            surveys.append(_decide(rng, clock, settings, event, due))
    _store_people(surveys)
    ids = insert_numbered(Invitation, [
        {"service_event_id": s["event"].id, "rule_id": rule.id, "version_id": version.id,
         "language": "tr", "channel": InvitationChannel.EMAIL, "created_at": s["event"].at,
         **s["invitation"]}
        for s in surveys])
    sent = [(s, new_id) for s, new_id in zip(surveys, ids, strict=True)
            if s["invitation"]["sent_at"] is not None]
    if sent:
        db.session.execute(update(Invitation), [
            {"id": new_id, "token_hash": hash_token(token_for(new_id))} for _s, new_id in sent])
    return _store_answers(rng, clock, sent, version.id, questionnaire.id)


class _Event:
    """One service event as the rule sees it."""

    def __init__(self, row: Any) -> None:
        self.id, self.at, self.unit_id, self.service_id, self.channel = row


def _decide(rng: random.Random, clock: Clock, settings: RuleSettings, row: Any,
            due: dt.datetime) -> dict[str, Any]:
    """The planner's decision for one event and, when planned, what became of the invitation
    by the demo's ``now`` (the dispatcher's send, reminder, the answer or the expiry)."""
    event = _Event(row)
    draws = [rng.random() for _ in range(5)]
    has_email, consents = draws[0] < WITH_EMAIL, draws[1] < CONSENT
    invitation: dict[str, Any] = {
        "due_at": due, "state": InvitationState.SUPPRESSED, "suppression_reason": None,
        "attempts": 0, "sent_at": None, "reminded_at": None, "expires_at": None,
        "responded_at": None, "reminder_due_at": None}
    if not has_email:
        invitation["suppression_reason"] = SuppressionReason.NO_CONTACT
    elif not consents:
        invitation["suppression_reason"] = SuppressionReason.NO_CONSENT
    elif draws[2] >= settings.sample_rate:
        invitation["suppression_reason"] = SuppressionReason.NOT_SAMPLED
    else:
        invitation.update(_delivered(clock, settings, due, draws[3], draws[4]))
    return {"event": event, "invitation": invitation, "email": has_email, "consent": consents}


def _delivered(clock: Clock, settings: RuleSettings, due: dt.datetime, respond: float,
               wait: float) -> dict[str, Any]:
    """Sent a few minutes after it fell due; answered (most within hours, some after the
    reminder), reminded, or expired, as far as ``now`` goes. Nothing is left due."""
    sent = due + (1 + 9 * wait) * MINUTE
    expires = sent + settings.expiry
    reminder = sent + settings.reminder if settings.reminder else None
    answered = None
    if respond < RESPONSE_CHANCE:
        hours = -math.log(1 - wait)  # exponential, mean 1
        after_reminder = reminder is not None and respond > 0.65 * RESPONSE_CHANCE
        answered = min((reminder + 10 * hours * HOUR) if after_reminder and reminder
                       else sent + 5 * hours * HOUR, expires - 10 * MINUTE)
    stop = min(x for x in (clock.now, answered, expires) if x)
    reminded = reminder + 5 * MINUTE if reminder and reminder < stop else None
    values = {"sent_at": sent, "expires_at": expires, "attempts": 1, "reminded_at": reminded}
    if answered is not None and answered == stop:
        return {**values, "state": InvitationState.RESPONDED, "responded_at": answered}
    if expires <= clock.now:
        return {**values, "state": InvitationState.EXPIRED}
    return {**values, "state": InvitationState.REMINDED if reminded else InvitationState.SENT}


def _store_people(surveys: list[dict[str, Any]]) -> None:
    """The applicants who left an e-mail address, one person each, linked to their event."""
    with_email = [s for s in surveys if s["email"]]
    ids = insert_numbered(Complainant, [
        {"name": f"Başvuru sahibi {s['event'].id}",
         "email": f"basvuru.{s['event'].id}@example.net",
         "language": "tr", "survey_consent": s["consent"],
         "created_at": s["event"].at} for s in with_email])
    if ids:
        db.session.execute(update(ServiceEvent), [
            {"id": s["event"].id, "complainant_id": person_id}
            for s, person_id in zip(with_email, ids, strict=True)])


def _store_answers(rng: random.Random, clock: Clock, sent: list[tuple[dict[str, Any], int]],
                   version_id: int, questionnaire_id: int) -> int:
    answered = [(s, new_id) for s, new_id in sent
                if s["invitation"]["state"] == InvitationState.RESPONDED]
    response_ids = insert_numbered(Response, [
        {"invitation_id": new_id, "version_id": version_id, "questionnaire_id": questionnaire_id,
         "service_event_id": s["event"].id, "unit_id": s["event"].unit_id,
         "service_id": s["event"].service_id, "channel": s["event"].channel,
         "source": ResponseSource.SERVICE_USER, "mode": ResponseMode.EMAIL, "language": "tr",
         "submitted_at": s["invitation"]["responded_at"]}
        for s, new_id in answered])
    rows = []
    for (s, _id), response_id in zip(answered, response_ids, strict=True):
        mean = MEAN + CLIMB * clock.months_from_middle(s["event"].at)
        rows += answer_rows(response_id, draw_answers(rng, mean, "tr"), "tr")
    insert_all(Answer, rows)
    return len(response_ids)
