"""The operations view of the outbox: invitations by state, why surveys were suppressed, what
failed and why, the bounce rate of the last days by unit, rule and channel of sending, retrying
failed invitations, and the queue (what goes out today and tomorrow).

Counts come from the database (``GROUP BY``). Failures are listed with the invitation id, the
complaint reference, the channel and the stored error, which the dispatcher already scrubbed of
addresses and phone numbers: no personal data is read or shown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Select, case, func, select, update

from app.analytics.figures import Score, bounce_share, response_share
from app.analytics.filters import Filters
from app.analytics.operations import BOUNCE_SPLITS, invitations_by
from app.distribution.windows import into_send_window
from app.extensions import db
from app.models import (
    AuditLog,
    Complaint,
    DistributionRule,
    Invitation,
    InvitationChannel,
    InvitationState,
    Service,
    ServiceEvent,
    SuppressionReason,
    Unit,
)
from app.models.types import utcnow

FAILURES_SHOWN = 200
#: The bounce rates on the operations page are of the invitations sent in the last so many days.
BOUNCE_DAYS = 30


@dataclass(frozen=True)
class QueuedInvitation:
    """One invitation in the queue (planned or failed), with what staff need to recognise it:
    ids, codes and names, never contact data. ``error`` is the stored one, already scrubbed."""

    invitation_id: int
    complaint_id: int | None  # None: a service survey (its reference is the service's name)
    reference: str
    unit_name: str
    rule_key: str | None
    state: InvitationState
    channel: InvitationChannel
    attempts: int
    error: str
    due_at: dt.datetime | None
    claimed_until: dt.datetime | None

    def in_flight(self, now: dt.datetime) -> bool:
        """A dispatcher holds it right now (its lease has not run out)."""
        return self.claimed_until is not None and self.claimed_until > now

    @property
    def is_call(self) -> bool:
        """An invitation by phone: an interviewer calls when it is due; nothing sends it."""
        return self.channel == InvitationChannel.PHONE


Failure = QueuedInvitation  # the operations page's name for a failed one


@dataclass(frozen=True)
class QueueCount:
    """Per rule and unit: how many are planned today, tomorrow, overdue, and failed; and how
    many calls are due by the end of tomorrow (``to_call``: never late, nothing sends them)."""

    rule_key: str | None
    unit_name: str
    overdue: int
    today: int
    tomorrow: int
    failed: int
    to_call: int = 0


# The unit of an invitation: its complaint's, or its service event's.
invitation_unit = func.coalesce(Complaint.unit_id, ServiceEvent.unit_id)


def _with_unit(statement: Select) -> Select:  # type: ignore[type-arg]
    return (statement.outerjoin(Complaint, Complaint.id == Invitation.complaint_id)
            .outerjoin(ServiceEvent, ServiceEvent.id == Invitation.service_event_id)
            .join(Unit, Unit.id == invitation_unit))


def _in_units(units: frozenset[int] | None) -> list[ColumnElement[bool]]:
    return [] if units is None else [invitation_unit.in_(units)]


def _queue_rows(*where: ColumnElement[bool]) -> Select:  # type: ignore[type-arg]
    return (
        _with_unit(select(
            Invitation.id, Invitation.complaint_id,
            func.coalesce(Complaint.external_id, Service.name), Unit.name,
            DistributionRule.key, Invitation.state, Invitation.channel, Invitation.attempts,
            Invitation.last_error, Invitation.due_at, Invitation.claimed_until))
        .outerjoin(Service, Service.id == ServiceEvent.service_id)
        .outerjoin(DistributionRule, DistributionRule.id == Invitation.rule_id)
        .where(*where)
    )


def _queued(rows: list) -> list[QueuedInvitation]:  # type: ignore[type-arg]
    return [QueuedInvitation(i, cid, ref, unit, rule, state, channel, attempts or 0, error or "",
                             due, claimed)
            for i, cid, ref, unit, rule, state, channel, attempts, error, due, claimed in rows]


def failed_invitations(units: frozenset[int] | None = None, limit: int = FAILURES_SHOWN,
                       rule_id: int | None = None, unit_id: int | None = None
                       ) -> list[QueuedInvitation]:
    """The newest ``limit`` failed invitations of ``units`` (None: all)."""
    where = [Invitation.state == InvitationState.FAILED, *_in_units(units),
             *_narrowed(rule_id, unit_id)]
    rows = db.session.execute(_queue_rows(*where).order_by(Invitation.id.desc()).limit(limit))
    return _queued(rows.all())


def _narrowed(rule_id: int | None, unit_id: int | None) -> list[ColumnElement[bool]]:
    where = []
    if rule_id is not None:
        where.append(Invitation.rule_id == rule_id)
    if unit_id is not None:
        where.append(invitation_unit == unit_id)
    return where


def planned_until(until: dt.datetime, units: frozenset[int] | None = None, limit: int = 500,
                  rule_id: int | None = None, unit_id: int | None = None
                  ) -> list[QueuedInvitation]:
    """Planned invitations of ``units`` due before ``until`` (overdue ones included: the
    dispatcher has not reached them yet), soonest first; at most ``limit``."""
    where = [Invitation.state == InvitationState.PLANNED, Invitation.due_at < until,
             *_in_units(units), *_narrowed(rule_id, unit_id)]
    rows = db.session.execute(
        _queue_rows(*where).order_by(Invitation.due_at, Invitation.id).limit(limit))
    return _queued(rows.all())


def queue_counts(now: dt.datetime, today_end: dt.datetime, tomorrow_end: dt.datetime,
                 units: frozenset[int] | None = None) -> list[QueueCount]:
    """Per rule and unit (one GROUP BY): planned overdue, due the rest of today, due tomorrow,
    and failed invitations, and calls to make by the end of tomorrow (an invitation by phone
    is due for a call, not late: an interviewer makes it from the call list). Groups with none
    of these are left out."""
    by_phone = Invitation.channel == InvitationChannel.PHONE
    call = (Invitation.state == InvitationState.PLANNED) & by_phone
    planned = (Invitation.state == InvitationState.PLANNED) & ~by_phone

    def counted(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.sum(case((condition, 1), else_=0))

    rows = db.session.execute(
        select(DistributionRule.key, Unit.name,
               counted(planned & (Invitation.due_at <= now)),
               counted(planned & (Invitation.due_at > now) & (Invitation.due_at < today_end)),
               counted(planned & (Invitation.due_at >= today_end)
                       & (Invitation.due_at < tomorrow_end)),
               counted(Invitation.state == InvitationState.FAILED),
               counted(call))
        .select_from(Invitation)
        .outerjoin(Complaint, Complaint.id == Invitation.complaint_id)
        .outerjoin(ServiceEvent, ServiceEvent.id == Invitation.service_event_id)
        .join(Unit, Unit.id == invitation_unit)
        .outerjoin(DistributionRule, DistributionRule.id == Invitation.rule_id)
        .where(Invitation.state.in_([InvitationState.PLANNED, InvitationState.FAILED]),
               (Invitation.state == InvitationState.FAILED) | (Invitation.due_at < tomorrow_end),
               *_in_units(units))
        .group_by(DistributionRule.key, Unit.name)
        .order_by(DistributionRule.key, Unit.name)
    ).all()
    return [QueueCount(rule, unit, int(a or 0), int(b or 0), int(c or 0), int(d or 0),
                       int(e or 0))
            for rule, unit, a, b, c, d, e in rows]


@dataclass(frozen=True)
class NextUp:
    """What the dispatcher will send next: how many are planned, and the first due time."""

    planned: int
    first_due_at: dt.datetime | None


def next_up(units: frozenset[int] | None = None) -> NextUp:
    count, first = db.session.execute(
        select(func.count(), func.min(Invitation.due_at))
        .select_from(Invitation)
        .outerjoin(Complaint, Complaint.id == Invitation.complaint_id)
        .outerjoin(ServiceEvent, ServiceEvent.id == Invitation.service_event_id)
        .where(Invitation.state == InvitationState.PLANNED, *_in_units(units))
    ).one()
    return NextUp(int(count or 0), first)


@dataclass(frozen=True)
class BounceRow:
    """One unit's, rule's or channel's invitations sent in the last ``BOUNCE_DAYS`` days: how
    many did not arrive, the bounce rate (over those sent) and the response rate (over those
    delivered). ``key``: the unit's name, the rule's key (None: sent without a rule) or the
    channel."""

    key: str | None
    sent: int
    undelivered: int
    bounce_rate: Score
    response_rate: Score


def bounce_table(by: str, now: dt.datetime | None = None,
                 days: int = BOUNCE_DAYS) -> list[BounceRow]:
    """The bounce rates of the invitations sent in the last ``days`` days, per unit, rule or
    channel of sending (``app.analytics.operations.BOUNCE_SPLITS``), most sent first."""
    now = now or utcnow()
    totals = invitations_by(Filters(now - dt.timedelta(days=days), now), by)
    names: dict[object, str | None] = {}
    if by == "unit":
        names = dict(db.session.execute(select(Unit.id, Unit.name)
                                        .where(Unit.id.in_([k for k in totals if k]))).all())
    elif by == "rule":
        names = dict(db.session.execute(select(DistributionRule.id, DistributionRule.key)
                                        .where(DistributionRule.id.in_(
                                            [k for k in totals if k]))).all())
    rows = [BounceRow(str(key) if by == "sent_by" else names.get(key), t.sent, t.undelivered,
                      bounce_share(t), response_share(t))
            for key, t in totals.items() if t.sent]
    return sorted(rows, key=lambda row: (-row.sent, row.key or ""))


@dataclass(frozen=True)
class Operations:
    by_state: list[tuple[InvitationState, int]]
    by_channel: list[tuple[InvitationChannel, int]]
    suppressions: list[tuple[SuppressionReason, int]]
    failures: list[Failure]
    failed_total: int
    bounces: dict[str, list[BounceRow]] = field(default_factory=dict)  # by BOUNCE_SPLITS


def operations_summary(limit: int = FAILURES_SHOWN) -> Operations:
    """Everything the operations page shows: counts, and the newest ``limit`` failures."""
    states = dict(
        db.session.execute(
            select(Invitation.state, func.count()).group_by(Invitation.state)
        ).all()
    )
    channels = dict(
        db.session.execute(
            select(Invitation.channel, func.count()).group_by(Invitation.channel)
        ).all()
    )
    reasons = db.session.execute(
        select(Invitation.suppression_reason, func.count())
        .where(Invitation.state == InvitationState.SUPPRESSED,
               Invitation.suppression_reason.is_not(None))
        .group_by(Invitation.suppression_reason)
        .order_by(func.count().desc())
    ).all()
    return Operations(
        by_state=[(state, states.get(state, 0)) for state in InvitationState],
        by_channel=[(channel, channels.get(channel, 0)) for channel in InvitationChannel],
        suppressions=[(reason, count) for reason, count in reasons],
        failures=failed_invitations(limit=limit),
        failed_total=states.get(InvitationState.FAILED, 0),
        bounces={by: bounce_table(by) for by in BOUNCE_SPLITS},
    )


def retry_failed(actor: str, invitation_id: int | None = None,
                 now: dt.datetime | None = None) -> int:
    """Put failed invitations back in the queue: state planned, attempts 0, due at the next
    moment inside their rule's send window. One (``invitation_id``) or all; returns how many.

    Only rows still ``failed`` change, so a double click retries nothing twice. Audited.
    """
    now = now or utcnow()
    where = [Invitation.state == InvitationState.FAILED]
    if invitation_id is not None:
        where.append(Invitation.id == invitation_id)
    rule_ids = db.session.scalars(select(Invitation.rule_id).where(*where).distinct()).all()
    count = 0
    for rule_id in rule_ids:  # each rule has its own send window
        rule = db.session.get(DistributionRule, rule_id) if rule_id is not None else None
        statement = (
            update(Invitation)
            .where(*where, Invitation.rule_id.is_(None) if rule_id is None
                   else Invitation.rule_id == rule_id)
            .values(state=InvitationState.PLANNED, attempts=0, claimed_until=None,
                    due_at=into_send_window(now, rule))
            .execution_options(synchronize_session=False)
        )
        count += db.session.execute(statement).rowcount
    if count:
        target = f"invitation:{invitation_id}" if invitation_id is not None else "invitation:*"
        db.session.add(AuditLog(actor=actor, action="invitation.retry", target=target,
                                detail={"count": count}))
    db.session.commit()
    return count
