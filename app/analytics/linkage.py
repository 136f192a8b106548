"""Direct and indirect indicators side by side: complaints, their rate and timeliness against what
respondents said, per unit or category; and satisfaction by timeliness.

- Complaint rate: complaints per 1,000 transactions (``ServiceVolume``, per unit and month),
  counted only over the units whose volume is known, with months cut at the period's ends in
  proportion to the days they overlap.
- Median days to resolve: ``percentile_cont`` on PostgreSQL; elsewhere (SQLite) a window query
  that hands back only the one or two middle values of each group. Medians do not add up, so a
  unit tree is rolled up in SQL, by mapping each unit to its node in a CASE.
- Spearman's rank correlation of complaint rate against CSAT across units (``metrics.spearman``).
- Satisfaction of complaints resolved on time against late ones (two-proportion z test), and by
  days to resolve.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, func, literal_column, or_, select

from app.analytics import metrics
from app.analytics.aggregates import (
    CSAT_ANSWER,
    IS_COMPLAINT,
    AnswerTotals,
    answer_aggregates,
    answer_totals_of,
)
from app.analytics.breakdown import Group, breakdown
from app.analytics.figures import Score, survey_mean, survey_proportion
from app.analytics.filters import Filters, complaint_conditions, in_period, response_conditions
from app.analytics.metrics import Correlation, Estimate, ZTest
from app.analytics.periods import Grain, local_midnight, next_period, period_start
from app.analytics.splits import ByDimension, Dimension, Key, dialect, tune_for_aggregates
from app.analytics.suppression import hidden_groups
from app.analytics.tallies import complaint_tally
from app.analytics.tree import Level
from app.analytics.volumes import monthly_volumes
from app.extensions import db
from app.models import Answer, Complaint, Response

#: Edges (days) of the "satisfaction against days to resolve" buckets.
DAY_EDGES = (1, 3, 7, 14, 30)


def days_to_resolve() -> ColumnElement[float]:
    """Days from receipt to resolution of a complaint, as a fraction."""
    if dialect() == "postgresql":
        return func.extract("epoch", Complaint.resolved_at - Complaint.received_at) / 86400.0
    return func.julianday(Complaint.resolved_at) - func.julianday(Complaint.received_at)


def _mapped(column: Any, mapping: Mapping[int, Key] | None) -> ColumnElement[Any]:
    """``column`` replaced by the node each id rolls up to (NULL outside the mapping)."""
    if mapping is None:
        return column
    if not mapping:
        return literal_column("NULL")
    return case(dict(mapping), value=column)


# --- medians -------------------------------------------------------------------------------------


def median_days(filters: Filters, column: Any = None,
                mapping: Mapping[int, Key] | None = None) -> dict[Key, float]:
    """Median days to resolve of the complaints resolved in the period, per value of ``column``
    (a complaint column, e.g. ``Complaint.unit_id``, rolled up by ``mapping``), or for all of
    them under the key None when ``column`` is None."""
    group = literal_column("0") if column is None else _mapped(column, mapping)
    days = days_to_resolve()
    conditions = [*in_period(Complaint.resolved_at, filters), IS_COMPLAINT,
                  *complaint_conditions(filters)]
    if dialect() == "postgresql":
        stmt = (select(group.label("g"), func.percentile_cont(0.5).within_group(days).label("m"))
                .where(*conditions).group_by(literal_column("g")))
    else:
        ranked = select(
            group.label("g"), days.label("d"),
            func.row_number().over(partition_by=group, order_by=days).label("rn"),
            func.count().over(partition_by=group).label("c"),
        ).where(*conditions).subquery()
        middle = or_(ranked.c.rn == (ranked.c.c + 1) // 2, ranked.c.rn == (ranked.c.c + 2) // 2)
        stmt = (select(ranked.c.g, func.avg(ranked.c.d).label("m")).where(middle)
                .group_by(ranked.c.g))
    tune_for_aggregates()
    result = {}
    for row in db.session.execute(stmt):
        if row.g is None and column is not None:
            continue  # outside the roll-up
        result[None if column is None else row.g] = float(row.m)
    return result


# --- volumes -------------------------------------------------------------------------------------


def transactions(filters: Filters, tz: str) -> dict[int, float]:
    """Transactions per unit in the period: each month's volume times the share of the month
    inside the period. Empty when a category or channel filter is set (volumes are per unit)."""
    if filters.category_ids is not None or filters.channel is not None:
        return {}
    zone_start = period_start(filters.start.astimezone(ZoneInfo(tz)).date(), Grain.MONTH)
    zone_end = filters.end.astimezone(ZoneInfo(tz)).date()
    result: dict[int, float] = {}
    volumes = monthly_volumes(zone_start, zone_end, tz, filters.unit_ids)
    for (unit_id, first), total in volumes.items():
        share = _overlap(first, filters, tz)
        if share > 0:
            result[unit_id] = result.get(unit_id, 0.0) + float(total) * share
    return result


def _overlap(first: dt.date, filters: Filters, tz: str) -> float:
    """The share of the local month beginning on ``first`` that lies inside the period."""
    begin = local_midnight(first.replace(day=1), tz)
    end = local_midnight(next_period(first.replace(day=1), Grain.MONTH), tz)
    inside = min(end, filters.end) - max(begin, filters.start)
    return max(0.0, inside / (end - begin))


def complaints_by_unit(filters: Filters) -> dict[int, int]:
    """Complaints received in the period per unit (ids as stored, not rolled up)."""
    tally = complaint_tally(filters, ByDimension(Dimension.UNIT))
    return {unit_id: totals.received for unit_id, totals in tally.current.items()
            if totals.received}


def complaint_rates(filters: Filters, mapping: Mapping[int, Key] | None,
                    tz: str) -> dict[Key, tuple[float, Estimate]]:
    """Per node (``mapping``; None: the whole), the transactions and complaints per 1,000 of
    them, over the units whose volume is known."""
    volumes = transactions(filters, tz)
    if not volumes:
        return {}
    counts = complaints_by_unit(filters)
    sums: dict[Key, list[float]] = {}
    for unit_id, volume in volumes.items():
        key = None if mapping is None else mapping.get(unit_id)
        if mapping is not None and key is None:
            continue
        entry = sums.setdefault(key, [0.0, 0.0])
        entry[0] += volume
        entry[1] += counts.get(unit_id, 0)
    return {key: (volume, metrics.rate_per_thousand(int(count), volume))
            for key, (volume, count) in sums.items() if volume > 0}


# --- linkage per unit or category ----------------------------------------------------------------


@dataclass(frozen=True)
class LinkageRow:
    """Indirect indicators (complaints, rate, timeliness) next to direct ones (what respondents
    said) for one unit or category; ``own`` marks a parent's own rows."""

    key: Key
    own: bool
    complaints: int
    transactions: float | None
    complaint_rate: Estimate | None  # per 1,000 transactions
    on_time: Score
    median_days: float | None
    responses: int
    suppressed: bool
    csat: Score
    nps: Score
    really_resolved: Score
    false_closure: Score  # respondents who say the problem was not solved


def linkage(filters: Filters, by: Dimension | str, min_group: int, level: Level, *,
            tz: str = "UTC") -> list[LinkageRow]:
    """One row per node of ``level`` (units or categories, see ``app.analytics.tree``)."""
    dimension = Dimension(by)
    groups = breakdown(filters, dimension, min_group, level=level, tz=tz)
    column = Complaint.unit_id if dimension is Dimension.UNIT else Complaint.category_id
    medians = median_days(filters, column, level.mapping)
    rates = complaint_rates(filters, level.mapping, tz) if dimension is Dimension.UNIT else {}
    return [_row(group, medians.get(group.key), rates.get(group.key)) for group in groups]


def _row(group: Group, median: float | None,
         rate: tuple[float, Estimate] | None) -> LinkageRow:
    resolution = group.figures["resolution_confirmed"]
    a = group.answers
    false_closure = (Score(n=resolution.n, suppressed=True) if not resolution.shown
                     else Score.of(metrics.wilson_interval(a.resolution_n - a.resolution_yes,
                                                           a.resolution_n)))
    return LinkageRow(
        key=group.key, own=group.own, complaints=group.complaints.received,
        transactions=rate[0] if rate else None, complaint_rate=rate[1] if rate else None,
        on_time=group.figures["on_time"], median_days=median, responses=group.responses,
        suppressed=group.suppressed, csat=group.figures["csat"], nps=group.figures["nps"],
        really_resolved=resolution, false_closure=false_closure,
    )


def rate_csat_correlation(rows: Sequence[LinkageRow]) -> Correlation | None:
    """Spearman's rho of complaint rate against CSAT over the rows where both are shown; None
    with fewer than three such rows."""
    pairs = [(row.complaint_rate.value, row.csat.value) for row in rows
             if row.complaint_rate is not None and row.csat.shown]
    if len(pairs) < 3:
        return None
    return metrics.spearman([p[0] for p in pairs], [p[1] for p in pairs])  # type: ignore[misc]


# --- satisfaction by timeliness ------------------------------------------------------------------


@dataclass(frozen=True)
class SatisfactionGroup:
    key: str
    csat: Score
    mean: Score


@dataclass(frozen=True)
class TimelinessSatisfaction:
    on_time: SatisfactionGroup
    late: SatisfactionGroup
    change: ZTest | None  # CSAT on time minus CSAT late, when both are shown


def _satisfaction_by(filters: Filters, group: ColumnElement[Any],
                     extra: Sequence[ColumnElement[bool]]) -> dict[Any, AnswerTotals]:
    """Answer totals of the CSAT answers per value of ``group`` (an expression over the
    response's complaint)."""
    stmt = (select(*answer_aggregates(), group.label("g"))
            .select_from(Answer)
            .join(Response, Response.id == Answer.response_id)
            .join(Complaint, Complaint.id == Response.complaint_id)
            .where(CSAT_ANSWER, *response_conditions(filters), *extra)
            .group_by(literal_column("g")))
    return {row["g"]: answer_totals_of(dict(row))
            for row in db.session.execute(stmt).mappings()}


def _shown(totals: dict[Any, AnswerTotals], keys: Sequence[Any],
           min_group: int) -> list[SatisfactionGroup]:
    counts = {key: totals.get(key, AnswerTotals()).csat_n for key in keys}
    hidden = hidden_groups(counts, min_group)
    result = []
    for key in keys:
        a = totals.get(key, AnswerTotals())
        if key in hidden:
            result.append(SatisfactionGroup(str(key), Score(n=a.csat_n, suppressed=True),
                                            Score(n=a.csat_n, suppressed=True)))
        else:
            result.append(SatisfactionGroup(
                str(key), survey_proportion(a.csat_satisfied, a.csat_n, min_group),
                survey_mean(a.csat_n, a.csat_sum, a.csat_sum_sq, min_group)))
    return result


def satisfaction_by_timeliness(filters: Filters, min_group: int) -> TimelinessSatisfaction:
    """CSAT of responses about complaints resolved by their due time against late ones."""
    on_time = case((Complaint.resolved_at <= Complaint.due_at, literal_column("'on_time'")),
                   else_=literal_column("'late'"))
    totals = _satisfaction_by(filters, on_time, [Complaint.due_at.is_not(None),
                                                 Complaint.resolved_at.is_not(None)])
    shown_on_time, shown_late = _shown(totals, ["on_time", "late"], min_group)
    change = None
    if shown_on_time.csat.shown and shown_late.csat.shown:
        a, b = totals["on_time"], totals["late"]
        change = metrics.two_proportion_z_test(a.csat_satisfied, a.csat_n,
                                               b.csat_satisfied, b.csat_n)
    return TimelinessSatisfaction(shown_on_time, shown_late, change)


@dataclass(frozen=True)
class DaysBucket:
    """Responses about complaints resolved in [low, high) days (``high`` None: and more)."""

    low: float
    high: float | None
    csat: Score
    mean: Score


def satisfaction_by_days(filters: Filters, min_group: int,
                         edges: Sequence[float] = DAY_EDGES) -> list[DaysBucket]:
    """CSAT and mean score by days from receipt to resolution of the response's complaint."""
    days = days_to_resolve()
    bucket = case(*[(days < edge, literal_column(str(i))) for i, edge in enumerate(edges)],
                  else_=literal_column(str(len(edges))))
    totals = _satisfaction_by(filters, bucket, [Complaint.resolved_at.is_not(None)])
    totals = {int(key): value for key, value in totals.items()}
    keys = list(range(len(edges) + 1))
    shown = _shown(totals, keys, min_group)
    bounds = [0.0, *edges]
    return [DaysBucket(low=float(bounds[i]), high=float(edges[i]) if i < len(edges) else None,
                       csat=s.csat, mean=s.mean) for i, s in zip(keys, shown, strict=True)]


def whole_median_days(filters: Filters) -> float | None:
    """Median days to resolve of all complaints resolved in the period."""
    return median_days(filters).get(None)

