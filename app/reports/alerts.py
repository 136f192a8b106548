"""Alerts: a figure under its target, a significant drop, and a control-chart signal.

``current_alerts(period_end)`` evaluates the organisation and every unit (or the units a unit
manager may see) for the calendar month in which ``period_end`` falls, up to and including that
day (month to date), in the organisation's time zone (``MEMNUN_TIMEZONE``). The rules:

1. **Below target**: the month's figure is under its target. A unit's target is its own, else
   the nearest ancestor's, else the organisation's (``Target.unit_id`` null); the organisation is
   held to the organisation's target.
2. **Significant drop**: the month's figure is lower than the whole previous month's and a
   two-sided test says the difference is real at the 5 % level (two-proportion z test for the
   shares, the NPS standard-error test for NPS: ``app.analytics.metrics``).
3. **Control chart** (p-chart, satisfaction falls while complaints rise): the month's CSAT share
   lies below the lower 3-sigma limit of the p-chart whose centre line is the CSAT share of the 12
   months before (needs at least 6 of them with answers), AND the month's complaint count is
   above the mean + 2 standard deviations of the monthly counts of those 12 months (months
   without complaints count as 0). The month so far is compared as it is: early in a month the
   counts are small, so the rule can only under-signal then, never over-signal.

**Response rate counts only invitations that have had time to be answered.** An invitation sent
yesterday has mostly not been answered yet, so counting it would pull the month's rate down and
raise a false "under target" or "drop" early in every month. For this metric, the month's (and the
previous month's) invitations are those sent up to ``RESPONSE_WINDOW_DAYS`` (14, the default survey
expiry) before the moment of evaluation, or before the end of the period if that is earlier; their
responses are counted whenever they came. Early in a month (before day 15) the month therefore has
no response-rate figure yet and raises no response-rate alert. The cut is on the sending time
alone, never on the outcome: keeping young invitations that are already answered (or already
expired) would bias the rate up (or down).

A figure that the dashboards would not show raises no alert: survey figures follow the same
small-group suppression (fewer than ``MEMNUN_MIN_GROUP_SIZE`` answers, and the complementary
suppression of ``app.analytics.suppression.hidden_groups`` among sibling units), and a complaint
or invitation figure needs as many observations before it can raise an alert (one late complaint
is not a trend). Figures are counted by ``app.analytics.review`` (per unit and month, with the
dashboards' tallies) and computed by ``app.analytics.metrics``; this module only applies the
rules.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from app.analytics import metrics
from app.analytics.filters import Filters
from app.analytics.names import METRIC_NAMES, METRICS
from app.analytics.periods import Grain, Periods, to_instant
from app.analytics.review import (
    ORGANISATION,
    Totals,
    UnitMonth,
    mean_and_sd,
    p_chart_point,
    roll_up,
    unit_month_totals,
)
from app.analytics.splits import ByDimension, Dimension
from app.analytics.suppression import hidden_groups
from app.analytics.tallies import invitation_tally
from app.analytics.targets import owner_chain
from app.analytics.tree import Tree, unit_tree
from app.databases import replica_reads
from app.extensions import db
from app.models import Target
from app.numbers import count as count_text
from app.numbers import decimal, figure, percent
from app.organisation.settings import organisation_settings
from app.timefmt import organisation_zone

SIGNIFICANCE = 0.05
BASELINE_MONTHS = 12
MIN_BASELINE_MONTHS = 6
SIGMAS = 3.0
COMPLAINT_SDS = 2.0
SURVEY_METRICS = ("csat", "nps", "resolution_confirmed")
#: Days an invitation is given before its silence counts as "not responded" (see the module).
RESPONSE_WINDOW_DAYS = 14


class AlertKind(enum.StrEnum):
    BELOW_TARGET = "below_target"
    SIGNIFICANT_DROP = "significant_drop"
    CONTROL_CHART = "control_chart"


@dataclass(frozen=True)
class Alert:
    """One alert. Figures are fractions (NPS in [-1, 1]); ``unit_id`` None: the organisation."""

    kind: AlertKind
    metric: str
    unit_id: int | None
    unit_name: str | None
    period_start: dt.date
    period_end: dt.date  # the last day included
    value: float
    n: int
    target: float | None = None
    previous: float | None = None
    p_value: float | None = None
    centre: float | None = None  # control chart: centre line and lower limit
    lower_limit: float | None = None
    complaints: int | None = None  # control chart: the month's complaints and their limit
    complaints_limit: float | None = None

    def message(self) -> str:
        """The alert in a sentence, in the current language."""
        where = self.unit_name or organisation_settings().name
        name = str(METRIC_NAMES.get(self.metric, self.metric))
        value = figure(self.metric, self.value)
        if self.kind == AlertKind.BELOW_TARGET:
            return _("%(where)s: %(metric)s is %(value)s, under its target of %(target)s.",
                     where=where, metric=name, value=value,
                     target=figure(self.metric, self.target))
        if self.kind == AlertKind.SIGNIFICANT_DROP:
            return _("%(where)s: %(metric)s fell to %(value)s from %(previous)s last month "
                     "(p = %(p)s).", where=where, metric=name, value=value,
                     previous=figure(self.metric, self.previous),
                     p=decimal(self.p_value, 3))
        return _("%(where)s: satisfaction %(value)s is under its control limit of %(limit)s "
                 "while complaints (%(complaints)s) are above their usual level of "
                 "%(complaints_limit)s.", where=where, value=percent(self.value),
                 limit=percent(self.lower_limit), complaints=count_text(self.complaints),
                 complaints_limit=decimal(self.complaints_limit, 0))


# --- the figures the rules look at ---------------------------------------------------------------


@dataclass(frozen=True)
class Share:
    """A figure's counts: a proportion (``successes`` of ``n``) or NPS (with ``detractors``)."""

    successes: int
    n: int
    detractors: int = 0
    is_nps: bool = False

    @property
    def value(self) -> float:
        if self.is_nps:
            return (self.successes - self.detractors) / self.n
        return self.successes / self.n


SHARES: dict[str, Callable[[Totals], Share]] = {
    "csat": lambda t: Share(t.answers.csat_satisfied, t.answers.csat_n),
    "nps": lambda t: Share(t.answers.nps_promoters, t.answers.nps_n, t.answers.nps_detractors,
                           is_nps=True),
    "resolution_confirmed": lambda t: Share(t.answers.resolution_yes, t.answers.resolution_n),
    "response_rate": lambda t: Share(t.invitations.responded, t.invitations.delivered),
    "on_time_resolution": lambda t: Share(t.complaints.resolved_on_time,
                                          t.complaints.resolved_with_due),
}


def drop_test(now: Share, before: Share) -> metrics.ZTest:
    """The significance test of the metric's change (now minus before)."""
    if now.is_nps:
        return metrics.nps_difference_test(
            metrics.nps(now.successes, now.detractors, now.n),
            metrics.nps(before.successes, before.detractors, before.n),
        )
    return metrics.two_proportion_z_test(now.successes, now.n, before.successes, before.n)


# --- periods, targets, suppression -----------------------------------------------------------


def _month_before(first: dt.date, months: int = 1) -> dt.date:
    index = first.year * 12 + first.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def alert_period(period_end: dt.date) -> tuple[dt.date, dt.date]:
    """The month to date that ``current_alerts`` evaluates: (first day, ``period_end``)."""
    return period_end.replace(day=1), period_end


def targets_for(tree: Tree) -> Callable[[int | None, str], float | None]:
    """A lookup of the target that applies to a unit (None: the organisation) and metric."""
    stored = {(t.unit_id, t.metric): t.value for t in db.session.scalars(select(Target))}

    def lookup(unit_id: int | None, metric: str) -> float | None:
        for owner in owner_chain(unit_id, tree):
            if (owner, metric) in stored:
                return stored[(owner, metric)]
        return None

    return lookup


def hidden_units(rolled: dict[tuple[int | None, dt.date], Totals], tree: Tree,
                 month: dt.date, count: Callable[[Totals], int], min_group: int) -> set[int]:
    """Units whose survey figure the dashboards would hide this month: too few answers, or the
    second group hidden so that siblings cannot be subtracted from their parent's total (the
    parent's own answers, given to no child, count as one more sibling)."""
    children: dict[int | None, list[int]] = defaultdict(list)
    for node in tree.nodes.values():
        children[node.parent_id if node.parent_id in tree else ORGANISATION].append(node.id)
    empty = Totals()
    hidden: set[int] = set()
    for parent, kids in children.items():
        counts: dict[object, int] = {kid: count(rolled.get((kid, month), empty)) for kid in kids}
        own = count(rolled.get((parent, month), empty)) - sum(counts.values())
        counts[("own", parent)] = max(0, own)
        hidden |= {key for key in hidden_groups(counts, min_group) if isinstance(key, int)}
    return hidden


def _answerable_invitations(rolled: dict[UnitMonth, Totals], tree: Tree,
                            months: Collection[dt.date], tz: str, cutoff: dt.datetime
                            ) -> dict[UnitMonth, Totals]:
    """``rolled`` with the invitations of ``months`` replaced by those sent before ``cutoff``
    (the response-rate cohort: see the module). Two small queries, one per month."""
    counted: dict[tuple[int, dt.date], Totals] = {}
    for first in months:
        start = to_instant(first, tz)
        end = min(to_instant(_month_before(first, -1), tz), cutoff)
        if end <= start:
            continue
        tally = invitation_tally(Filters(start, end), ByDimension(Dimension.UNIT))
        for unit_id, invitations in tally.current.items():
            counted[(unit_id, first)] = Totals(invitations=invitations)
    answerable = roll_up(counted, tree)
    result = dict(rolled)
    for key in {key for key in rolled if key[1] in months} | answerable.keys():
        found = answerable.get(key, Totals()).invitations
        result[key] = replace(rolled.get(key, Totals()), invitations=found)
    return result


# --- the rules -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    rolled: dict[tuple[int | None, dt.date], Totals]
    month: dt.date
    previous: dt.date
    baseline: tuple[dt.date, ...]
    period: tuple[dt.date, dt.date]
    min_group: int
    target: Callable[[int | None, str], float | None]
    hidden: dict[tuple[str, dt.date], set[int]]
    names: dict[int, str]

    def totals(self, unit_id: int | None, month: dt.date) -> Totals:
        return self.rolled.get((unit_id, month), Totals())

    def shown(self, unit_id: int | None, metric: str, month: dt.date) -> Share | None:
        """The metric's counts, or None when they may not be shown or are too few."""
        share = SHARES[metric](self.totals(unit_id, month))
        if share.n < self.min_group or share.n == 0:
            return None
        if metric in SURVEY_METRICS and unit_id in self.hidden[(metric, month)]:
            return None
        return share

    def alert(self, kind: AlertKind, metric: str, unit_id: int | None, share: Share,
              **extra: float | int | None) -> Alert:
        return Alert(kind=kind, metric=metric, unit_id=unit_id,
                     unit_name=self.names.get(unit_id) if unit_id is not None else None,
                     period_start=self.period[0], period_end=self.period[1],
                     value=share.value, n=share.n, **extra)  # type: ignore[arg-type]


def _target_and_drop_alerts(ctx: _Context, unit_id: int | None) -> list[Alert]:
    alerts = []
    for metric in METRICS:
        now = ctx.shown(unit_id, metric, ctx.month)
        if now is None:
            continue
        target = ctx.target(unit_id, metric)
        if target is not None and now.value < target:
            alerts.append(ctx.alert(AlertKind.BELOW_TARGET, metric, unit_id, now, target=target))
        before = ctx.shown(unit_id, metric, ctx.previous)
        if before is not None and now.value < before.value:
            test = drop_test(now, before)
            if test.significant(SIGNIFICANCE):
                alerts.append(ctx.alert(AlertKind.SIGNIFICANT_DROP, metric, unit_id, now,
                                        previous=before.value, p_value=test.p_value))
    return alerts


def _control_chart_alert(ctx: _Context, unit_id: int | None) -> Alert | None:
    now = ctx.shown(unit_id, "csat", ctx.month)
    if now is None:
        return None
    history = [SHARES["csat"](ctx.totals(unit_id, month)) for month in ctx.baseline]
    answered = [share for share in history if share.n > 0]
    if len(answered) < MIN_BASELINE_MONTHS:
        return None
    point = p_chart_point(now.successes, now.n, [s.successes for s in answered],
                          [s.n for s in answered], SIGMAS)
    counts = [ctx.totals(unit_id, month).complaints.received for month in ctx.baseline]
    mean, sd = mean_and_sd(counts)
    limit = mean + COMPLAINT_SDS * sd
    complaints = ctx.totals(unit_id, ctx.month).complaints.received
    if not (point.below and complaints > limit):
        return None
    return ctx.alert(AlertKind.CONTROL_CHART, "csat", unit_id, now, centre=point.centre,
                     lower_limit=point.lower, complaints=complaints, complaints_limit=limit)


@replica_reads
def current_alerts(period_end: dt.date, unit_ids: Iterable[int] | None = None, *,
                   tz: str | None = None, min_group: int | None = None,
                   now: dt.datetime | None = None) -> list[Alert]:
    """The alerts for the month to date that ends with ``period_end`` (see the module).

    ``unit_ids`` None: the organisation as a whole and every unit; otherwise those units and the
    units below them (a unit manager's view), without the organisation's own figures. Sorted:
    the organisation first, then by unit name, kind and metric. ``now`` (aware; default: the
    current time) is the moment from which invitations are old enough to count in the response
    rate. Needs an app context.
    """
    tz = tz or organisation_zone().key
    min_group = min_group if min_group is not None else current_app.config.get(
        "MEMNUN_MIN_GROUP_SIZE", metrics.MIN_GROUP)
    month = period_end.replace(day=1)
    first = _month_before(month, BASELINE_MONTHS)
    start_at = to_instant(first, tz)
    end_at = to_instant(period_end + dt.timedelta(days=1), tz)
    tree = unit_tree()
    # Every unit is counted, whoever asks, so that suppression is the same for everyone.
    months = Periods.covering(start_at, end_at, Grain.MONTH, tz)
    rolled = roll_up(unit_month_totals(start_at, end_at, months), tree)
    previous = _month_before(month)
    # On a whole hour (older, never younger) so that the hourly rollup can answer.
    cutoff = min(end_at, (now or dt.datetime.now(dt.UTC)).replace(minute=0, second=0,
                                                                  microsecond=0)
                 - dt.timedelta(days=RESPONSE_WINDOW_DAYS))
    rolled = _answerable_invitations(rolled, tree, (previous, month), tz, cutoff)
    ctx = _Context(
        rolled=rolled, month=month, previous=previous,
        baseline=tuple(_month_before(month, k) for k in range(BASELINE_MONTHS, 0, -1)),
        period=alert_period(period_end), min_group=min_group, target=targets_for(tree),
        hidden={(metric, m): hidden_units(rolled, tree, m, _count(metric), min_group)
                for metric in SURVEY_METRICS for m in (month, previous)},
        names={node.id: node.name for node in tree.nodes.values()},
    )
    scope: list[int | None]
    if unit_ids is None:
        # The single root unit is the organisation: its alerts are the organisation's.
        units = [uid for uid in tree.nodes if uid != tree.single_root()]
        scope = [ORGANISATION, *sorted(units, key=lambda uid: (tree.nodes[uid].name, uid))]
    else:
        chosen = tree.below(unit_ids)
        scope = sorted(chosen, key=lambda uid: (tree.nodes[uid].name, uid))
    alerts: list[Alert] = []
    for unit_id in scope:
        alerts.extend(_target_and_drop_alerts(ctx, unit_id))
        signal = _control_chart_alert(ctx, unit_id)
        if signal is not None:
            alerts.append(signal)
    return alerts


def _count(metric: str) -> Callable[[Totals], int]:
    return lambda totals: SHARES[metric](totals).n


def alerts_for_units(alerts: Collection[Alert], unit_ids: Collection[int]) -> list[Alert]:
    """The alerts about these units (organisation-wide ones excluded)."""
    wanted = set(unit_ids)
    return [alert for alert in alerts if alert.unit_id in wanted]
