"""The management-review pack: what ISO 10002 (9.4, 9.6) and ISO 10004 (8.5) ask management to
review, for one period and scope, gathered from ``app.analytics`` (the only place figures are
computed) into one object that the HTML, PDF, CSV and Excel renderings share.

Contents: satisfaction results and trends (CSAT, mean score, NPS, CES, response rate, with
intervals), complaint frequency and timeliness (volume, rate per 1,000 transactions, on-time,
median days to resolve), linkage (complaints against satisfaction per unit, Spearman), main
causes (top categories), detractor follow-ups (by state and reason), the figures against their
targets with the alerts of the period's last month, the improvement actions against those
targets (ISO 10002 8.7: open ones, and the ones finished in the period), and what people said:
the period's top comment themes with their change against the compared period and a few of their
comments (``what_people_said``), service users beside complainants per unit
(``app.analytics.sources``) and the mix of modes of both periods. Small groups are suppressed as
the dashboards and the API suppress them (``app.analytics.suppression``); comments as the
comments explorer withholds them (none from a unit with fewer than k responses in the period)
and redacted for every reader who may not see personal data (the caller says: ``redact``)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from app.actions.services import ActionRow, actions_for_review
from app.analytics import metrics
from app.analytics.breakdown import GroupFigures, grouped_figures
from app.analytics.comments import Selection, shown_text
from app.analytics.figures import Score
from app.analytics.filters import Filters, expand
from app.analytics.names import METRICS
from app.analytics.overview import Overview, overview, overview_of
from app.analytics.periods import to_instant
from app.analytics.review import (
    FollowUpCounts,
    follow_up_counts,
    median_days_to_resolve,
    rate_per_1000,
    transactions_by_unit,
)
from app.analytics.sources import (
    ModeMix,
    UnitSources,
    mode_mix,
    service_users_and_complainants,
)
from app.analytics.themes import (
    Change,
    hidden_units,
    latest_run,
    representatives,
    theme_counts,
)
from app.analytics.tree import Tree, unit_tree
from app.extensions import db
from app.models import ActionStatus, Category, Target, Unit
from app.organisation.settings import organisation_settings
from app.reports.alerts import Alert, current_alerts, targets_for
from app.timefmt import organisation_zone

TOP_CATEGORIES = 10
TOP_THEMES = 5  # a page of the pack: the themes that carry most of the comments
THEME_EXAMPLES = 2  # comments quoted per theme
MAX_PERIOD_DAYS = 3660  # about ten years: bounds the work one request can cause


@dataclass(frozen=True)
class Segmented:
    """A segment's figures with the name people know it by."""

    name: str
    figures: GroupFigures
    rate: float | None = None  # complaints per 1,000 transactions
    share: float | None = None  # of all complaints in the period (categories)


@dataclass(frozen=True)
class TargetRow:
    owner: str
    metric: str
    target: float
    actual: Score
    unit_id: int | None = None  # None: the organisation

    @property
    def met(self) -> bool | None:
        """None when the figure is not shown (too few responses, or no data)."""
        if self.actual.suppressed or self.actual.value is None:
            return None
        return self.actual.value >= self.target


@dataclass(frozen=True)
class TargetActions:
    """A target's row with the actions addressing its metric in its unit or the units below."""

    target: TargetRow
    actions: list[ActionRow]


@dataclass(frozen=True)
class ActionsAgainstTargets:
    """The register of improvement actions as the review reads it: actions created before the
    period's end and not finished before its start, in the pack's scope."""

    by_target: list[TargetActions]
    other: list[ActionRow]  # addressing no target of the pack (complaints, or no target set)
    completed: list[ActionRow]  # done within the period


@dataclass(frozen=True)
class Linkage:
    basis: str  # "rate" (per 1,000 transactions) or "count" (when volumes are not known)
    correlation: metrics.Correlation | None
    points: list[tuple[str, float, float]]  # (unit, complaints, CSAT)


@dataclass(frozen=True)
class SaidTheme:
    """One of the period's top themes, as the pack shows it."""

    title: str
    comments: int  # in the period, outside small units
    share: float  # of the period's comments
    change: Change | None  # against the compared period; None when either has no comment
    more_among_detractors: bool
    examples: list[str]  # its heaviest comments, redacted for the reader


@dataclass(frozen=True)
class WhatPeopleSaid:
    themes: list[SaidTheme]
    comments: int  # the period's comments counted (themed or not), small units left out
    withheld_units: int  # units whose comments are left out: fewer than k responses
    computed_at: dt.datetime | None  # the themes' last computation; None: never computed


@dataclass(frozen=True)
class ReviewPack:
    organisation: str
    scope: str  # the organisation, or the unit(s) the pack is about
    start: dt.date
    last: dt.date  # the last day included
    compared_start: dt.date  # the period the changes are measured against, ...
    compared_last: dt.date  # ... its last day included
    generated_at: dt.datetime
    min_group: int
    tz: str
    summary: Overview
    previous: Overview  # the compared period (by default the same length just before)
    transactions: int | None
    complaint_rate: float | None
    median_days: float | None
    months: list[GroupFigures]
    units: list[Segmented]
    categories: list[Segmented]
    linkage: Linkage
    follow_ups: FollowUpCounts
    targets: list[TargetRow]
    alerts: list[Alert]
    alerts_month: dt.date
    actions: ActionsAgainstTargets
    said: WhatPeopleSaid
    sources: list[tuple[str, UnitSources]]  # (unit name, service users beside complainants)
    modes: ModeMix  # responses by mode, the period and the compared one


def check_period(start: dt.date, last: dt.date) -> None:
    """ValueError when the period makes no sense or asks for too much work."""
    if last < start:
        raise ValueError("the period ends before it starts")
    if (last - start).days > MAX_PERIOD_DAYS:
        raise ValueError("the period is too long")


def overview_figure(summary: Overview, metric: str) -> Score:
    """The overview's figure for a target's metric name."""
    return {
        "csat": summary.csat,
        "nps": summary.nps,
        "response_rate": summary.response_rate,
        "on_time_resolution": summary.on_time,
        "resolution_confirmed": summary.resolution_confirmed,
    }[metric]


def build_pack(start: dt.date, last: dt.date, unit_ids: Iterable[int] | None, scope: str,
               *, generated_at: dt.datetime,
               compared: tuple[dt.date, dt.date] | None = None,
               redact: bool = True) -> ReviewPack:
    """The pack for the days ``start`` to ``last`` (inclusive, in the organisation's time zone)
    about ``unit_ids`` and the units below them (None: the whole organisation), its changes
    measured against the days ``compared`` (inclusive; None: as many days just before, as the
    dashboards' ``compared_days`` says for a custom period). Its comments are redacted unless
    ``redact`` is false (a reader who may see personal data)."""
    check_period(start, last)
    config = current_app.config
    tz = organisation_zone().key
    min_group = int(config.get("MEMNUN_MIN_GROUP_SIZE") or metrics.MIN_GROUP)
    chosen = None if unit_ids is None else sorted(set(unit_ids))
    end = last + dt.timedelta(days=1)
    start_at, end_at = to_instant(start, tz), to_instant(end, tz)
    expanded = None if chosen is None else sorted(expand(Unit, chosen))
    compared_start, compared_last = compared or (start - (end - start),
                                                 start - dt.timedelta(days=1))
    compared_end = compared_last + dt.timedelta(days=1)

    # Changes against the same local days that ``previous`` counts: stepping back the period's
    # length in instants would miss or add an hour when a clock change lies between.
    summary = overview_of(Filters(start_at, end_at, unit_ids=expanded, compared=(
        to_instant(compared_start, tz), to_instant(compared_end, tz))), min_group)
    previous = overview(compared_start, compared_end, chosen, min_group, tz=tz)
    filters = Filters(start_at, end_at, unit_ids=expanded)
    compared_filters = filters.but(compared=(to_instant(compared_start, tz),
                                             to_instant(compared_end, tz)))
    volumes = transactions_by_unit(start, end, tz, expanded)
    tree = unit_tree()
    units = _units(grouped_figures(filters, "unit", min_group, tz), volumes, tree)
    lookup = targets_for(tree)
    organisation = organisation_settings().name
    targets = []
    for owner_id, owner_name in _target_owners(chosen, tree, organisation):
        figures = summary if owner_id is None or [owner_id] == chosen else overview(
            start, end, [owner_id], min_group, tz=tz)
        for metric in METRICS:
            target = lookup(owner_id, metric)
            if target is not None:
                targets.append(TargetRow(owner_name, metric, target,
                                         overview_figure(figures, metric), owner_id))
    with_volume = [u for u in units if u.rate is not None]
    known = sum(volumes.get(u.figures.key, 0) for u in with_volume)
    return ReviewPack(
        organisation=organisation, scope=scope, start=start, last=last,
        compared_start=compared_start, compared_last=compared_last,
        generated_at=generated_at, min_group=min_group, tz=tz, summary=summary,
        previous=previous, transactions=known or None,
        complaint_rate=rate_per_1000(sum(u.figures.complaints for u in with_volume), known),
        median_days=median_days_to_resolve(start_at, end_at, expanded),
        months=grouped_figures(filters, "month", min_group, tz),
        units=units,
        categories=_categories(grouped_figures(filters, "category", min_group, tz),
                               summary.complaints),
        linkage=_linkage(units),
        follow_ups=follow_up_counts(start_at, end_at, expanded),
        targets=targets,
        alerts=current_alerts(last, chosen, tz=tz, min_group=min_group),
        alerts_month=last.replace(day=1),
        actions=_actions(targets, tree, start_at, end_at, expanded,
                         generated_at.astimezone(ZoneInfo(tz)).date()),
        said=what_people_said(Selection(compared_filters, min_group=min_group), redact),
        sources=[(_unit_name(tree, row.unit_id), row) for row in
                 service_users_and_complainants(filters, min_group, start, end, tz)],
        modes=mode_mix(compared_filters),
    )


def _unit_name(tree: Tree, unit_id: int) -> str:
    node = tree.nodes.get(unit_id)
    return node.name if node is not None else str(unit_id)


def what_people_said(selection: Selection, redact: bool) -> WhatPeopleSaid:
    """The selection's ``TOP_THEMES`` themes with their change against its compared period
    and ``THEME_EXAMPLES`` of their heaviest comments each (the same text once), from the
    comments the explorer would show for it: none of a unit with fewer than k responses."""
    hidden = hidden_units(selection)
    counts, total = theme_counts(selection, hidden)
    themes = []
    for count in [c for c in counts if c.comments][:TOP_THEMES]:
        examples: list[str] = []
        for comment in representatives(selection, count.theme.id, n=3 * THEME_EXAMPLES,
                                       with_names=redact, hidden=hidden.now):
            text = shown_text(comment, redact)
            if text not in examples and len(examples) < THEME_EXAMPLES:
                examples.append(text)
        themes.append(SaidTheme(count.theme.title, count.comments, count.share, count.change,
                                bool(count.test and count.test.significant), examples))
    return WhatPeopleSaid(themes, total, len(hidden.now), latest_run())


def _target_owners(chosen: list[int] | None, tree: Tree,
                   organisation: str) -> list[tuple[int | None, str]]:
    """Whose figures stand against targets: the organisation (or the chosen units), then every
    unit below with targets of its own, in tree order, each against its own targets (a unit
    without one of a metric falls back to its parent's, then the organisation's)."""
    owners: list[tuple[int | None, str]] = [(None, organisation)] if chosen is None else [
        (uid, tree.nodes[uid].name) for uid in chosen if uid in tree]
    inside = None if chosen is None else set(tree.below(chosen))
    own = set(db.session.scalars(select(Target.unit_id).where(Target.unit_id.is_not(None))))
    listed = {owner for owner, _name in owners}
    owners += [(uid, tree.nodes[uid].name) for uid, _depth in tree.in_order()
               if uid in own and uid not in listed and (inside is None or uid in inside)]
    return owners


def _nearest_target(row: ActionRow, targets: list[TargetRow], tree: Tree) -> TargetRow | None:
    """The target an action stands against: of its metric, owned by its unit or the nearest
    unit above it (the organisation's last)."""
    owners: list[int | None] = []
    current = row.action.unit_id
    while current is not None and current in tree and current not in owners:
        owners.append(current)
        current = tree.nodes[current].parent_id
    owners.append(None)
    for owner in owners:
        for target in targets:
            if target.metric == row.action.metric and target.unit_id == owner:
                return target
    return None


def _actions(targets: list[TargetRow], tree: Tree, start_at: dt.datetime,
             end_at: dt.datetime, units: list[int] | None,
             today: dt.date) -> ActionsAgainstTargets:
    """Each target with the actions that stand against it (``_nearest_target``: an action for
    Zabıta against Zabıta's own target, not the organisation's); ``today`` decides what is
    overdue."""
    rows = actions_for_review(start_at, end_at, None if units is None else set(units), today)
    nearest = {row.action.id: _nearest_target(row, targets, tree) for row in rows}
    by_target, matched = [], set()
    for target in targets:
        found = [row for row in rows if nearest[row.action.id] is target]
        matched.update(row.action.id for row in found)
        by_target.append(TargetActions(target, found))
    completed = [row for row in rows if row.action.status == ActionStatus.DONE
                 and row.action.closed_at is not None
                 and start_at <= row.action.closed_at < end_at]
    return ActionsAgainstTargets(
        by_target=by_target,
        other=[row for row in rows if row.action.id not in matched],
        completed=completed)


def _units(groups: list[GroupFigures], volumes: dict[int, int],
           tree: Tree) -> list[Segmented]:
    rows = [Segmented(name=tree.nodes[g.key].name if g.key in tree else str(g.key), figures=g,
                      rate=rate_per_1000(g.complaints, volumes.get(g.key)))
            for g in groups]
    return sorted(rows, key=lambda row: (-row.figures.complaints, row.name))


def _categories(groups: list[GroupFigures], total: int) -> list[Segmented]:
    ids = [g.key for g in groups if g.key is not None]
    names = dict(db.session.execute(select(Category.id, Category.name).where(
        Category.id.in_(ids))).all()) if ids else {}
    rows = [Segmented(name=names.get(g.key, str(g.key)), figures=g,
                      share=g.complaints / total if total else None)
            for g in groups if g.complaints > 0]
    rows.sort(key=lambda row: (-row.figures.complaints, row.name))
    return rows[:TOP_CATEGORIES]


def _linkage(units: list[Segmented]) -> Linkage:
    """Complaints against CSAT across the units whose CSAT may be shown: the rate per 1,000
    transactions when every such unit has volumes, else the plain complaint count."""
    shown = [u for u in units if u.figures.figures["csat"].value is not None]
    basis = "rate" if shown and all(u.rate is not None for u in shown) else "count"
    points = [(u.name, float(u.rate if basis == "rate" else u.figures.complaints),
               float(u.figures.figures["csat"].value))  # type: ignore[arg-type]
              for u in shown]
    correlation = None
    if len(points) >= 3:
        found = metrics.spearman([p[1] for p in points], [p[2] for p in points])
        correlation = None if math.isnan(found.rho) else found
    return Linkage(basis=basis, correlation=correlation, points=points)
