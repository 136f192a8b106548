"""Targets per unit and metric (``Target``): the level a figure should reach, for the alerts,
the overview and the review pack. ``unit_id`` None is the organisation's target, which also
applies to every unit without a target of its own (see ``app.reports.alerts``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.analytics.names import METRICS
from app.auth.scope import organisation_unit
from app.extensions import db
from app.models import AuditLog, Target, Unit


class TargetError(ValueError):
    """A target that cannot be stored; the message says why."""


@dataclass(frozen=True)
class TargetRow:
    target: Target
    unit_name: str | None  # None: the organisation


def value_range(metric: str) -> tuple[float, float]:
    """Targets are fractions: NPS in [-1, 1], every other metric in [0, 1]."""
    return (-1.0, 1.0) if metric == "nps" else (0.0, 1.0)


def list_targets() -> list[TargetRow]:
    rows = db.session.execute(
        select(Target, Unit.name).outerjoin(Unit, Unit.id == Target.unit_id)
    ).all()
    order = {metric: index for index, metric in enumerate(METRICS)}
    result = [TargetRow(target, name) for target, name in rows]
    return sorted(result, key=lambda row: (row.unit_name is not None, row.unit_name or "",
                                           order.get(row.target.metric, 99)))


def set_target(unit_id: int | None, metric: str, value: float, actor: str) -> Target:
    """Create or change the target of ``unit_id`` (None: the organisation) for ``metric``."""
    unit_id = organisation_unit(unit_id)
    if metric not in METRICS:
        raise TargetError(f"unknown metric {metric!r}")
    low, high = value_range(metric)
    if not low <= value <= high:
        raise TargetError(f"a {metric} target must be between {low} and {high}")
    if unit_id is not None and db.session.get(Unit, unit_id) is None:
        raise TargetError("no such unit")
    # Looked up rather than left to the unique constraint: NULL unit ids never collide in it.
    target = db.session.scalar(select(Target).where(
        Target.unit_id.is_(None) if unit_id is None else Target.unit_id == unit_id,
        Target.metric == metric))
    if target is None:
        target = Target(unit_id=unit_id, metric=metric, value=value)
        db.session.add(target)
    else:
        target.value = value
    db.session.add(AuditLog(actor=actor, action="target.set", target=f"target:{metric}",
                            detail={"unit_id": unit_id, "metric": metric, "value": value}))
    db.session.commit()
    return target


def delete_target(target_id: int, actor: str) -> bool:
    target = db.session.get(Target, target_id)
    if target is None:
        return False
    db.session.add(AuditLog(actor=actor, action="target.delete", target=f"target:{target.metric}",
                            detail={"unit_id": target.unit_id, "metric": target.metric}))
    db.session.delete(target)
    db.session.commit()
    return True
