"""How the surveys go out: the invitation funnel and response rates by channel and language.

Invitations are counted by the moment the planner made them (``created_at``) for the funnel, and
by the moment they were sent for response rates (the cohort sent in the period, answered at any
time since). Figures about invitations describe the organisation's process, not what anyone
answered, and are shown whatever their size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select

from app.analytics.figures import Score, plain_proportion
from app.analytics.filters import Filters, in_period, invitation_conditions, needs_complaint_join
from app.analytics.splits import ByDimension, Dimension, Key
from app.analytics.tallies import invitation_tally
from app.extensions import db
from app.models import Complaint, Invitation, InvitationState


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
        stmt = stmt.join(Complaint, Complaint.id == Invitation.complaint_id)
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
    )


def response_rates(filters: Filters, by: Dimension | str) -> dict[Key, Score]:
    """Responses per invitation sent in the period, by channel, language, unit, category or
    questionnaire, each with its Wilson interval."""
    tally = invitation_tally(filters, ByDimension(Dimension(by)))
    return {key: plain_proportion(t.responded, t.sent) for key, t in tally.current.items()
            if t.sent > 0}


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
    """Responses per invitation sent in the period, with its Wilson interval."""
    totals = invitation_tally(filters).total_now()
    return plain_proportion(totals.responded, totals.sent)
