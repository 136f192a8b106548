"""Targets per metric and unit, and the figures under them.

``Target`` rows hold fractions (CSAT 0.8, NPS 0.3 for +30) per metric for a unit, or for the
whole organisation when ``unit_id`` is null. A unit without its own target for a metric is held
to its nearest ancestor's, else to the organisation's.

The full alert rules (targets, significant drops, control charts) are in ``app.reports.alerts``;
``below_target`` here is the plain comparison the dashboards show next to each figure.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.analytics.figures import Score
from app.analytics.overview import Overview
from app.analytics.tree import Tree
from app.extensions import db
from app.models import Target

#: The metric names of ``Target.metric``.
TARGET_METRICS = ("csat", "nps", "response_rate", "on_time_resolution", "resolution_confirmed")


def all_targets() -> dict[tuple[int | None, str], float]:
    """Every target by (unit id or None, metric): a small table."""
    rows = db.session.execute(select(Target.unit_id, Target.metric, Target.value))
    return {(unit_id, metric): float(value) for unit_id, metric, value in rows}


def owner_chain(unit_id: int | None, tree: Tree | None) -> list[int | None]:
    """Whose targets hold for ``unit_id`` (None: the organisation), nearest first: the unit,
    its ancestors, the organisation. The single root unit *is* the organisation: a target
    stored on it and one stored for the organisation are one (the organisation's wins)."""
    chain: list[int | None] = []
    if unit_id is not None:
        chain = [unit_id, *(tree.ancestors(unit_id) if tree is not None else [])]
    root = tree.single_root() if tree is not None else None
    return [owner for owner in chain if owner != root] + [None] + (
        [root] if root is not None else [])


def targets_for(unit_id: int | None, tree: Tree | None = None,
                known: dict[tuple[int | None, str], float] | None = None) -> dict[str, float]:
    """The targets that hold for ``unit_id`` (None: the organisation), metric by metric."""
    known = all_targets() if known is None else known
    chain = owner_chain(unit_id, tree)
    result = {}
    for metric in TARGET_METRICS:
        for owner in chain:
            if (owner, metric) in known:
                result[metric] = known[(owner, metric)]
                break
    return result


@dataclass(frozen=True)
class TargetGap:
    """A shown figure under its target; ``surely`` when even its interval's top is under it."""

    metric: str
    value: float
    target: float
    surely: bool


def overview_scores(figures: Overview) -> dict[str, Score]:
    """The overview's figures under the names targets use."""
    return {"csat": figures.csat, "nps": figures.nps, "response_rate": figures.response_rate,
            "on_time_resolution": figures.on_time,
            "resolution_confirmed": figures.resolution_confirmed}


def below_target(scores: dict[str, Score], targets: dict[str, float]) -> list[TargetGap]:
    """The shown figures that are under their target, in the order of ``TARGET_METRICS``."""
    gaps = []
    for metric in TARGET_METRICS:
        score, target = scores.get(metric), targets.get(metric)
        if score is None or target is None or not score.shown:
            continue
        assert score.value is not None
        if score.value < target:
            gaps.append(TargetGap(metric, score.value, target,
                                  surely=score.high is not None and score.high < target))
    return gaps
