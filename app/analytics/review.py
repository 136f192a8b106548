"""Aggregates for the management-review pack and the alerts, beyond ``app.analytics.tallies``.

- per unit and month: the counts behind CSAT, NPS, resolution confirmed, response rate, on-time
  resolution and complaint volume, rolled up the unit tree (alerts, control charts);
- the median time to resolve and the complaint rate per 1,000 transactions;
- the follow-up list's counts by state and reason;
- the p-chart (control chart for a proportion) as a pure function.

As everywhere in analytics, the database counts (GROUP BY) and Python only adds up counts; no
response or complaint row is loaded to compute a figure. Periods are half-open [start, end) in
aware datetimes; months are calendar months of the organisation's time zone (``Periods`` of the
month grain).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, func, select

from app.analytics.aggregates import (
    AnswerTotals,
    ComplaintTotals,
    InvitationTotals,
    add,
)
from app.analytics.filters import Filters, in_ids
from app.analytics.periods import Periods
from app.analytics.splits import Across, ByDimension, ByPeriod, Dimension, dialect
from app.analytics.tallies import all_tallies
from app.analytics.tree import Tree
from app.analytics.volumes import monthly_volumes
from app.extensions import db
from app.models import (
    Complaint,
    FollowUp,
    FollowUpReason,
    FollowUpState,
)

#: The organisation as a whole, where a unit id is expected.
ORGANISATION = None


# --- the unit tree -----------------------------------------------------------------------------


# --- per unit and month ------------------------------------------------------------------------


@dataclass(frozen=True)
class Totals:
    """What one unit (or the organisation) counted in one month."""

    answers: AnswerTotals = field(default_factory=AnswerTotals)
    complaints: ComplaintTotals = field(default_factory=ComplaintTotals)
    invitations: InvitationTotals = field(default_factory=InvitationTotals)

    def __add__(self, other: Totals) -> Totals:
        return Totals(add(self.answers, other.answers),
                      add(self.complaints, other.complaints),
                      add(self.invitations, other.invitations))


UnitMonth = tuple[int | None, dt.date]


def unit_month_totals(start: dt.datetime, end: dt.datetime, months: Periods,
                      unit_ids: Collection[int] | None = None
                      ) -> dict[tuple[int, dt.date], Totals]:
    """Totals per (unit, month) in [start, end), each unit on its own (not rolled up);
    ``months``: ``Periods`` of the month grain. ``unit_ids`` None: all units.

    The tallies of the dashboards, split by unit and month at once: one pass over the hourly
    rollup when its hours hold the months exactly, else a query per kind of row; either way,
    whatever the number of units and months.
    """
    split = Across((ByDimension(Dimension.UNIT), ByPeriod(months)))
    counted = all_tallies(Filters(start, end, unit_ids=unit_ids), split, with_responses=False)
    answers, complaints = counted.answers.current, counted.complaints.current
    invitations = counted.invitations.current
    return {key: Totals(answers.get(key, AnswerTotals()),
                        complaints.get(key, ComplaintTotals()),
                        invitations.get(key, InvitationTotals()))
            for key in answers.keys() | complaints.keys() | invitations.keys()}


def roll_up(totals: dict[tuple[int, dt.date], Totals], tree: Tree
            ) -> dict[UnitMonth, Totals]:
    """Each unit's totals with those of every unit below it, and the organisation's
    (``ORGANISATION`` as the unit) as the sum of all."""
    rolled: dict[UnitMonth, Totals] = defaultdict(Totals)
    for (unit_id, month), value in totals.items():
        for owner in (unit_id, *tree.ancestors(unit_id), ORGANISATION):
            rolled[(owner, month)] = rolled[(owner, month)] + value
    return dict(rolled)


# --- timeliness and rates ----------------------------------------------------------------------


def _days_to_resolve() -> ColumnElement[float]:
    if dialect() == "postgresql":
        seconds = func.extract("epoch", Complaint.resolved_at - Complaint.received_at)
        return seconds / 86400.0
    return func.julianday(Complaint.resolved_at) - func.julianday(Complaint.received_at)


def median_days_to_resolve(start: dt.datetime, end: dt.datetime,
                           unit_ids: Collection[int] | None = None) -> float | None:
    """Median days from receipt to resolution of the complaints resolved in [start, end).

    Portable: the database counts, then hands back only the one or two middle values of the
    ordered durations (PostgreSQL's percentile_cont does not exist in SQLite). None without data.
    """
    conditions = [Complaint.resolved_at >= start, Complaint.resolved_at < end,
                  *in_ids(Complaint.unit_id, unit_ids)]
    n = db.session.scalar(select(func.count(Complaint.id)).where(*conditions)) or 0
    if n == 0:
        return None
    days = _days_to_resolve()
    middle = list(db.session.scalars(
        select(days).where(*conditions).order_by(days).offset((n - 1) // 2)
        .limit(1 if n % 2 else 2)
    ))
    return float(sum(middle) / len(middle))


def transactions_by_unit(start: dt.date, end: dt.date, tz: str,
                         unit_ids: Collection[int] | None = None) -> dict[int, int]:
    """Services per unit in the months whose first day falls in [start, end) (dates): counted
    service events, or typed-in volumes where a unit-month has none (``volumes``)."""
    totals: dict[int, int] = {}
    for (unit_id, _month), count in monthly_volumes(start, end, tz, unit_ids).items():
        totals[unit_id] = totals.get(unit_id, 0) + count
    return totals


def rate_per_1000(complaints: int, transactions: int | None) -> float | None:
    """Complaints per 1,000 transactions; None when the volume is unknown or zero."""
    if not transactions:
        return None
    return complaints * 1000.0 / transactions


# --- follow-ups --------------------------------------------------------------------------------


KNOWN_REASONS = {reason.value for reason in FollowUpReason}


@dataclass(frozen=True)
class FollowUpCounts:
    """Follow-ups opened in a period: how many, in which state now, and why they were opened."""

    total: int
    by_state: dict[FollowUpState, int]
    by_reason: dict[FollowUpReason, int]


def follow_up_counts(start: dt.datetime, end: dt.datetime,
                     unit_ids: Collection[int] | None = None) -> FollowUpCounts:
    """Counts of follow-ups created in [start, end) in ``unit_ids`` (None: all units).

    A follow-up with several reasons counts once under each; ``total`` counts it once.
    """
    conditions = [FollowUp.created_at >= start, FollowUp.created_at < end,
                  *in_ids(FollowUp.unit_id, unit_ids)]
    states = dict.fromkeys(FollowUpState, 0)
    for state, count in db.session.execute(
        select(FollowUp.state, func.count(FollowUp.id)).where(*conditions)
        .group_by(FollowUp.state)
    ):
        states[FollowUpState(state)] = int(count)
    reasons = dict.fromkeys(FollowUpReason, 0)
    for reason, count in db.session.execute(
        select(FollowUp.reason, func.count(FollowUp.id)).where(*conditions)
        .group_by(FollowUp.reason)
    ):
        for code in reason.split(","):
            if code in KNOWN_REASONS:
                reasons[FollowUpReason(code)] += int(count)
    return FollowUpCounts(total=sum(states.values()), by_state=states, by_reason=reasons)


# --- control charts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PChartPoint:
    """A proportion against the p-chart of its baseline.

    centre = p-bar = sum(x_i) / sum(n_i) over the baseline samples;
    sigma  = sqrt(p-bar (1 - p-bar) / n) for this point's own sample size n;
    LCL/UCL = p-bar -/+ k sigma, clipped to [0, 1] (k = 3: Shewhart's limits).

    Source: W. A. Shewhart, "Economic control of quality of manufactured product" (1931);
    D. C. Montgomery, "Introduction to statistical quality control" (7th ed., 2013), 7.2
    (the p chart with variable sample size).
    """

    value: float
    n: int
    centre: float
    lower: float
    upper: float

    @property
    def below(self) -> bool:
        return self.value < self.lower

    @property
    def above(self) -> bool:
        return self.value > self.upper


def p_chart_point(successes: int, n: int, baseline_successes: Sequence[int],
                  baseline_ns: Sequence[int], sigmas: float = 3.0) -> PChartPoint:
    """Place ``successes / n`` on the p-chart whose centre line comes from the baseline."""
    if n <= 0:
        raise ValueError("a point on a p-chart needs at least one observation")
    total = sum(baseline_ns)
    if total <= 0:
        raise ValueError("a p-chart needs a baseline with observations")
    centre = sum(baseline_successes) / total
    sigma = math.sqrt(centre * (1 - centre) / n)
    return PChartPoint(value=successes / n, n=n, centre=centre,
                       lower=max(0.0, centre - sigmas * sigma),
                       upper=min(1.0, centre + sigmas * sigma))


def mean_and_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n - 1); needs two values."""
    if len(values) < 2:
        raise ValueError("a standard deviation needs at least two values")
    mean = sum(values) / len(values)
    variance = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(variance)
