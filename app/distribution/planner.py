"""The planner: on a resolution (or a service event), one invitation planned for later, or one
recorded suppression.

Called by the intake service inside its own transaction: everything here is added to the session
and flushed, never committed, so the complaint's event and its invitation are stored together or
not at all. The intake of service events calls ``plan_for_service_events`` the same way. Every
decision leaves a row (planned or suppressed with its reason) so that the team can
see the whole funnel, including the surveys that were never sent and why; a service event that
no rule on service events takes leaves none (most services are not surveyed, and they are many).

Fatigue follows the person across both: nobody is asked twice inside a rule's window, whatever
started the survey, and a complainant's survey comes first: planning one suppresses the service
surveys of the same person still waiting to be sent inside the window.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable

from flask import current_app
from sqlalchemy import ColumnElement, and_, or_, select, update

from app.distribution import channels
from app.distribution.calling import into_calling_hours, phone_channel
from app.distribution.rules import active_rules, matching_event_rule, matching_rule
from app.distribution.windows import into_send_window
from app.extensions import db
from app.models import (
    Complainant,
    Complaint,
    DistributionRule,
    Invitation,
    InvitationChannel,
    InvitationState,
    QuestionnaireVersion,
    RuleTrigger,
    ServiceEvent,
    SuppressionReason,
    VersionStatus,
)
from app.models.types import utcnow

log = logging.getLogger(__name__)

# Invitations that may still reach the person: a reopen cancels them, and a plan reuses them.
OPEN_STATES = (InvitationState.PLANNED, InvitationState.SENT, InvitationState.REMINDED)


def sample_fraction(rule_key: str, complaint_id: int | str) -> float:
    """A stable number in [0, 1) for this rule and complaint (``event:<id>``: service event).

    Deterministic, so planning the same complaint again gives the same answer, and independent
    of everything else about the complaint, so the sample is not biased.
    """
    digest = hashlib.sha256(f"{rule_key}:{complaint_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def is_sampled(rule: DistributionRule, complaint_id: int | str) -> bool:
    return sample_fraction(rule.key, complaint_id) < rule.sample_rate


def latest_published_version(questionnaire_id: int) -> QuestionnaireVersion | None:
    return db.session.scalar(
        select(QuestionnaireVersion)
        .where(
            QuestionnaireVersion.questionnaire_id == questionnaire_id,
            QuestionnaireVersion.status == VersionStatus.PUBLISHED,
        )
        .order_by(QuestionnaireVersion.number.desc())
        .limit(1)
    )


def survey_language(complainant: Complainant | None, version: QuestionnaireVersion) -> str:
    """The complainant's language when the version offers it, else the version's default."""
    languages = list(version.definition.get("languages") or ["tr"])
    wanted = (complainant.language or "").strip().lower().replace("_", "-") if complainant else ""
    for candidate in (wanted, wanted.split("-")[0]):  # "tr-TR" is served in "tr"
        if candidate in languages:
            return candidate
    return languages[0]


def opted_out(person: Complainant, channel: InvitationChannel = InvitationChannel.EMAIL) -> bool:
    """This person, or anyone using the same e-mail address (phone number), opted out."""
    if person.opted_out_at is not None:
        return True
    if not channels.contact(person, channel):
        return False
    found = db.session.scalar(
        select(Complainant.id)
        .where(channels.same_contact(person, channel), Complainant.opted_out_at.is_not(None))
        .limit(1)
    )
    return found is not None


def _carry_bounce(person: Complainant) -> None:
    """A new record of an address that bounced for good (integrations make one per complaint)
    takes over the mark, so that no e-mail goes to it (app.distribution.bounces)."""
    if not person.email or person.email_undeliverable_at is not None:
        return
    bounced = db.session.scalar(
        select(Complainant.email_undeliverable_at)
        .where(channels.same_contact(person, InvitationChannel.EMAIL),
               Complainant.email_undeliverable_at.is_not(None))
        .limit(1)
    )
    if bounced is not None:
        person.email_undeliverable_at = bounced


def same_person_invitations(person: Complainant, channel: InvitationChannel
                            ) -> ColumnElement[bool]:
    """SQL on Invitation: the surveys of anyone at the same e-mail address (phone number) as
    ``person``, started by a complaint or by a service event."""
    same = select(Complainant.id).where(channels.same_contact(person, channel))
    return or_(
        Invitation.complaint_id.in_(select(Complaint.id).where(Complaint.complainant_id.in_(same))),
        Invitation.service_event_id.in_(
            select(ServiceEvent.id).where(ServiceEvent.complainant_id.in_(same))),
    )


def _carry_wrong_number(person: Complainant) -> None:
    """A new record of a number an interviewer found wrong takes the mark over (app/phone), so
    that no call or SMS goes to it."""
    if not (person.phone or "").strip() or person.phone_wrong_at is not None:
        return
    wrong = db.session.scalar(
        select(Complainant.phone_wrong_at)
        .where(Complainant.phone == person.phone, Complainant.phone_wrong_at.is_not(None))
        .limit(1)
    )
    if wrong is not None:
        person.phone_wrong_at = wrong


def _fatigued(
    rule: DistributionRule, person: Complainant, channel: InvitationChannel, due_at: dt.datetime,
    *, for_complaint: bool = False,
) -> bool:
    """Whether the same e-mail address (phone number) already got, or will get, a survey inside
    the window.

    Across all rules and triggers: any invitation that was sent (whatever happened after) within
    ``fatigue_days`` of this one's due time, or that is still planned. For a complaint's survey
    a planned service survey does not count: the complaint's takes its place
    (``_give_way``).
    """
    if rule.fatigue_days <= 0:
        return False
    since = due_at - dt.timedelta(days=rule.fatigue_days)
    planned = Invitation.state == InvitationState.PLANNED
    if for_complaint:
        planned = and_(planned, Invitation.complaint_id.is_not(None))
    found = db.session.scalar(
        select(Invitation.id)
        .where(same_person_invitations(person, channel), or_(Invitation.sent_at >= since, planned))
        .limit(1)
    )
    return found is not None


def _give_way(invitation: Invitation, person: Complainant, rule: DistributionRule) -> int:
    """Suppress (fatigue) the service surveys of ``person`` planned and not yet sent within the
    window of the complaint survey ``invitation``: a complainant's survey comes first."""
    if rule.fatigue_days <= 0 or invitation.due_at is None:
        return 0
    window = dt.timedelta(days=rule.fatigue_days)
    suppressed = db.session.execute(
        update(Invitation)
        .where(
            same_person_invitations(person, invitation.channel),
            Invitation.complaint_id.is_(None),
            Invitation.state == InvitationState.PLANNED,
            Invitation.due_at < invitation.due_at + window,
            Invitation.due_at > invitation.due_at - window,
        )
        .values(state=InvitationState.SUPPRESSED, suppression_reason=SuppressionReason.FATIGUE)
        .execution_options(synchronize_session=False)
    ).rowcount
    if suppressed:
        log.info("invitation %s: %s service survey(s) gave way", invitation.id, suppressed)
    return int(suppressed or 0)


def _suppression(
    rule: DistributionRule, person: Complainant | None, sample_key: int | str,
    due_at: dt.datetime, *, for_complaint: bool = True,
) -> tuple[SuppressionReason | None, InvitationChannel]:
    """Why no survey may go to ``person`` (None when one may), and by which channel it would go.

    An opt-out is checked first: it is the person's explicit and lasting wish, and the funnel
    should say so rather than blame a missing consent.
    """
    if person is None or person.erased_at is not None:
        return SuppressionReason.NO_CONTACT, InvitationChannel.EMAIL
    _carry_bounce(person)
    _carry_wrong_number(person)
    channel = phone_channel(rule, person, channels.reaching(person, current_app.config),
                            current_app.config)
    if opted_out(person, channel or InvitationChannel.EMAIL):
        return SuppressionReason.OPTED_OUT, channel or InvitationChannel.EMAIL
    if not person.survey_consent:
        return SuppressionReason.NO_CONSENT, channel or InvitationChannel.EMAIL
    if channel is None:
        return SuppressionReason.NO_CONTACT, InvitationChannel.EMAIL
    if _fatigued(rule, person, channel, due_at, for_complaint=for_complaint):
        return SuppressionReason.FATIGUE, channel
    if not is_sampled(rule, sample_key):
        return SuppressionReason.NOT_SAMPLED, channel
    return None, channel


def _open_invitation(complaint: Complaint) -> Invitation | None:
    return db.session.scalar(
        select(Invitation)
        .where(Invitation.complaint_id == complaint.id, Invitation.state.in_(OPEN_STATES))
        .order_by(Invitation.id.desc())
        .limit(1)
    )


def plan_for_resolution(complaint: Complaint, now: dt.datetime | None = None) -> Invitation:
    """Plan the follow-up survey for a just-resolved complaint; returns the invitation row.

    The row is ``planned`` with its due time inside the rule's send window, or ``suppressed``
    with the reason. A complaint that still has an open invitation keeps it (a resolution
    delivered twice must not plan two surveys).
    """
    now = now or utcnow()
    db.session.flush()  # the complaint needs its id for sampling and the link to it
    existing = _open_invitation(complaint)
    if existing is not None:
        return existing

    invitation = Invitation(complaint=complaint, attempts=0)
    rule = matching_rule(complaint)
    version = latest_published_version(rule.questionnaire_id) if rule else None
    if rule is None or version is None:
        invitation.state = InvitationState.SUPPRESSED
        invitation.suppression_reason = SuppressionReason.NO_MATCHING_RULE
        invitation.rule = rule
        if rule is not None:
            invitation.last_error = "the rule's questionnaire has no published version"
        db.session.add(invitation)
        db.session.flush()
        log.info("invitation %s suppressed: no usable rule", invitation.id)
        return invitation

    resolved_at = complaint.resolved_at or now
    due_at = into_send_window(resolved_at + dt.timedelta(minutes=rule.delay_minutes), rule)
    invitation.rule = rule
    invitation.version = version
    invitation.language = survey_language(complaint.complainant, version)
    invitation.due_at = due_at
    person = complaint.complainant
    reason, invitation.channel = _suppression(rule, person, complaint.id, due_at)
    _decide(invitation, reason, rule, resolved_at)
    if reason is None and person is not None:
        _give_way(invitation, person, rule)
    return invitation


def _decide(invitation: Invitation, reason: SuppressionReason | None, rule: DistributionRule,
            start: dt.datetime) -> None:
    """Planned, or suppressed with ``reason``; a call is planned from ``start`` (the
    resolution or the service), inside the calling hours."""
    if reason is None:
        invitation.state = InvitationState.PLANNED
        if invitation.channel == InvitationChannel.PHONE:
            _plan_call(invitation, rule, start)
    else:
        invitation.state = InvitationState.SUPPRESSED
        invitation.suppression_reason = reason
    db.session.add(invitation)
    db.session.flush()
    log.info("invitation %s %s", invitation.id, reason or "planned")


def plan_for_service_event(event: ServiceEvent, now: dt.datetime | None = None,
                           rules: list[DistributionRule] | None = None) -> Invitation | None:
    """Plan the survey of a service event just taken in; returns the invitation row, or None
    when no active rule on service events takes it (then nothing is stored).

    Like ``plan_for_resolution``: a planned row due inside the rule's send window after its
    delay from the event, or a suppressed one with the reason; an event that has an invitation
    already keeps it (the same event delivered twice plans one survey). Flushes, never commits.
    """
    now = now or utcnow()
    db.session.flush()
    existing = db.session.scalar(
        select(Invitation).where(Invitation.service_event_id == event.id).limit(1))
    if existing is not None:
        return existing
    rule = matching_event_rule(event, rules)
    if rule is None:
        return None
    invitation = Invitation(service_event=event, rule=rule, attempts=0)
    version = latest_published_version(rule.questionnaire_id)
    if version is None:
        invitation.state = InvitationState.SUPPRESSED
        invitation.suppression_reason = SuppressionReason.NO_MATCHING_RULE
        invitation.last_error = "the rule's questionnaire has no published version"
        db.session.add(invitation)
        db.session.flush()
        return invitation
    served_at = event.occurred_at or now
    due_at = into_send_window(served_at + dt.timedelta(minutes=rule.delay_minutes), rule)
    invitation.version = version
    invitation.language = survey_language(event.person, version)
    invitation.due_at = due_at
    reason, invitation.channel = _suppression(
        rule, event.person, f"event:{event.id}", due_at, for_complaint=False)
    _decide(invitation, reason, rule, served_at)
    return invitation


def plan_for_service_events(events: Iterable[ServiceEvent], now: dt.datetime | None = None
                            ) -> list[Invitation]:
    """``plan_for_service_event`` for each of ``events`` (the rules read once); returns the
    invitations stored, in the order of the events. An intake batch calls this once."""
    rules = active_rules(RuleTrigger.SERVICE_EVENT)
    if not rules:
        return []
    planned = (plan_for_service_event(event, now, rules) for event in events)
    return [invitation for invitation in planned if invitation is not None]


def _plan_call(invitation: Invitation, rule: DistributionRule, start: dt.datetime) -> None:
    """A call is due inside the calling hours (not the sending hours: no message goes out), and
    its invitation expires as a link would: ``expires_after`` from the first moment it may be
    made."""
    invitation.due_at = into_calling_hours(
        start + dt.timedelta(minutes=rule.delay_minutes), rule)
    invitation.expires_at = invitation.due_at + dt.timedelta(minutes=rule.expires_after_minutes)


def cancel_open_invitations(complaint: Complaint) -> int:
    """Cancel this complaint's invitations not yet answered (on a reopen); returns how many.

    A dispatcher that is sending one of them at this moment keeps the cancellation: it marks a
    row sent only while it is still planned.
    """
    invitations = db.session.scalars(
        select(Invitation).where(
            Invitation.complaint_id == complaint.id,
            Invitation.state.in_(OPEN_STATES),
            Invitation.responded_at.is_(None),
        )
    ).all()
    for invitation in invitations:
        invitation.state = InvitationState.CANCELLED
        invitation.claimed_until = None
        invitation.reminder_due_at = None
    db.session.flush()
    if invitations:
        log.info("cancelled invitations %s", ", ".join(str(i.id) for i in invitations))
    return len(invitations)
