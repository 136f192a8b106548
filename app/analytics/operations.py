"""How the surveys go out: the invitation funnel, response rates by channel and language, and
bounce rates by unit, rule and sending channel.

Invitations are counted by the moment the planner made them (``created_at``) for the funnel, and
by the moment they were sent for response and bounce rates (the cohort sent in the period,
answered or bounced at any time since). A response rate is over the invitations delivered (sent
and not bounced or reported failed), a bounce rate over those sent (docs/design.md, "Metric
definitions"). Figures about invitations describe the organisation's process, not what anyone
answered, and are shown whatever their size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select

from app.analytics.aggregates import (
    InvitationTotals,
    invitation_aggregates,
    join_subject,
    totals_of,
    with_response,
)
from app.analytics.figures import Score, bounce_share, response_share
from app.analytics.filters import Filters, in_period, invitation_conditions, needs_complaint_join
from app.analytics.splits import ByDimension, Dimension, Key
from app.analytics.tallies import invitation_tally
from app.extensions import db
from app.models import Invitation, InvitationState


@dataclass(frozen=True)
class Funnel:
    """Invitations the planner made in the period, by what became of them."""

    planned: int = 0  # every invitation made, suppressed ones included
    suppressed: dict[str, int] = field(default_factory=dict)  # by reason
    cancelled: int = 0
    waiting: int = 0  # planned and not sent yet
    sent: int = 0  # sent at least once
    responded: int = 0
    expired: int = 0
    failed: int = 0
    bounced: int = 0  # the e-mail came back for good

    @property
    def suppressed_total(self) -> int:
        return sum(self.suppressed.values())


def invitation_funnel(filters: Filters) -> Funnel:
    """The funnel of the invitations made in the period: one GROUP BY over state and reason."""
    stmt = (select(Invitation.state, Invitation.suppression_reason,
                   func.count(Invitation.id).label("n"),
                   func.count(Invitation.sent_at).label("sent"))
            .select_from(Invitation))
    if needs_complaint_join(filters):
        stmt = join_subject(stmt)
    stmt = (stmt.where(*in_period(Invitation.created_at, filters),
                       *invitation_conditions(filters))
            .group_by(Invitation.state, Invitation.suppression_reason))
    counts: dict[str, int] = {}
    suppressed: dict[str, int] = {}
    planned = sent = 0
    for state, reason, n, sent_n in db.session.execute(stmt):
        state = getattr(state, "value", state)
        planned += int(n)
        sent += int(sent_n)
        counts[state] = counts.get(state, 0) + int(n)
        if state == InvitationState.SUPPRESSED.value:
            name = getattr(reason, "value", reason) or "unknown"
            suppressed[name] = suppressed.get(name, 0) + int(n)
    return Funnel(
        planned=planned, suppressed=suppressed,
        cancelled=counts.get(InvitationState.CANCELLED.value, 0),
        waiting=counts.get(InvitationState.PLANNED.value, 0), sent=sent,
        responded=counts.get(InvitationState.RESPONDED.value, 0),
        expired=counts.get(InvitationState.EXPIRED.value, 0),
        failed=counts.get(InvitationState.FAILED.value, 0),
        bounced=counts.get(InvitationState.BOUNCED.value, 0),
    )


def response_rates(filters: Filters, by: Dimension | str) -> dict[Key, Score]:
    """Responses per invitation delivered of those sent in the period, by channel, language,
    unit, category or questionnaire, each with its Wilson interval."""
    tally = invitation_tally(filters, ByDimension(Dimension(by)))
    return {key: response_share(t) for key, t in tally.current.items() if t.delivered > 0}


#: What a bounce rate can be split by: the complaint's unit, the distribution rule that planned
#: the invitation, and the channel it went by (e-mail or SMS, not the complaint's channel).
BOUNCE_SPLITS = ("unit", "rule", "sent_by")


def invitations_by(filters: Filters, by: str) -> dict[Key, InvitationTotals]:
    """The invitations sent in the period (answered, undelivered) per unit (through the rollup
    where it covers the question), per rule id or per sending channel (``BOUNCE_SPLITS``)."""
    if by == "unit":
        return dict(invitation_tally(filters, ByDimension(Dimension.UNIT)).current)
    if by not in BOUNCE_SPLITS:
        raise ValueError(f"no bounce rate by {by!r}")
    group = Invitation.rule_id if by == "rule" else Invitation.channel
    stmt = select(group.label("key"), *invitation_aggregates()).select_from(Invitation)
    if needs_complaint_join(filters):
        stmt = join_subject(stmt)
    stmt = (with_response(stmt)
            .where(*in_period(Invitation.sent_at, filters), *invitation_conditions(filters))
            .group_by(group))
    return {getattr(row["key"], "value", row["key"]): totals_of(InvitationTotals, dict(row))
            for row in db.session.execute(stmt).mappings()}


def bounce_rates(filters: Filters, by: str) -> dict[Key, Score]:
    """Invitations not delivered per invitation sent in the period, by unit, rule or sending
    channel (``BOUNCE_SPLITS``), each with its Wilson interval."""
    return {key: bounce_share(t) for key, t in invitations_by(filters, by).items() if t.sent}


@dataclass(frozen=True)
class Activity:
    """What the sending did in a period (a day, for the satisfaction team's home page)."""

    due: int = 0  # planned, due in the period, not sent yet
    sent: int = 0  # first sent in the period
    responded: int = 0  # answered in the period
    failed: int = 0  # failed and not retried, whenever they failed: work waiting for someone


def activity(filters: Filters) -> Activity:
    """The sending's day in one statement (complaint filters are not applied: this is the
    organisation's process as a whole)."""
    def in_range(column: Any) -> Any:
        return (column >= filters.start) & (column < filters.end)

    planned = (Invitation.state == InvitationState.PLANNED) & in_range(Invitation.due_at)
    row = db.session.execute(select(
        func.count(case((planned, 1))),
        func.count(case((in_range(Invitation.sent_at), 1))),
        func.count(case((in_range(Invitation.responded_at), 1))),
        func.count(case((Invitation.state == InvitationState.FAILED, 1))),
    )).one()
    return Activity(*(int(value or 0) for value in row))


def response_rate(filters: Filters) -> Score:
    """Responses per invitation delivered of those sent in the period, with its Wilson
    interval."""
    return response_share(invitation_tally(filters).total_now())
