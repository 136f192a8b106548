"""Reading the rollups (``hourly_figures``, ``hourly_dimension_figures``) as the tests compare
them: every writer's slot added up per key, and what a rebuild from the rows would give."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.analytics.rollup import ROLLUPS, rebuild
from app.extensions import db
from app.models import HourlyFigures

FIELDS = [column.name for column in HourlyFigures.__table__.columns
          if column.name not in ("hour", "unit_id", "slot")]

Snapshot = dict[str, dict[tuple[Any, ...], tuple[float, ...]]]


def snapshot() -> Snapshot:
    """Each rollup's figures per key (every writer's slot added up), without the ones that add
    up to nothing (left behind by moves)."""
    found = {}
    for rollup in ROLLUPS:
        table = rollup.table
        keys = [table.c[k] for k in rollup.key if k != "slot"]
        rows = db.session.execute(
            select(*keys, *[func.sum(table.c[f]).label(f) for f in FIELDS]).group_by(*keys)
        ).mappings()
        found[table.name] = {
            tuple(row[k.name] for k in keys): tuple(round(float(row[f]), 9) for f in FIELDS)
            for row in rows if any(row[f] for f in FIELDS)}
    return found


def rebuilt() -> Snapshot:
    """What a rebuild from the rows gives, leaving the tables as they were."""
    connection = db.session.connection()
    nested = connection.begin_nested()
    rebuild(connection)
    result = snapshot()
    nested.rollback()
    return result


def check(step: str) -> None:
    """Commit, and the rollups must equal a rebuild from the rows."""
    db.session.commit()
    assert snapshot() == rebuilt(), step
