"""Reading figures from the hourly rollup (``hourly_figures``, kept by ``app.analytics.rollup``).

The rollup holds, per UTC hour and unit, the totals of ``app.analytics.aggregates``. It answers
a question exactly when nothing finer than an hour and a unit is asked: no category, channel,
questionnaire or language filter, every boundary (the period's, the previous period's, the
split's periods) on a whole UTC hour, and a split by period and/or unit only (``rollup_covers``).
Otherwise the tallies count the source rows (``app.analytics.tallies``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import fields
from typing import Any

from sqlalchemy import func, select

from app.analytics.aggregates import Tally, totals_of
from app.analytics.filters import Filters, in_ids
from app.analytics.splits import Across, ByDimension, ByPeriod, Columns, Dimension, Key, Split, run
from app.models import HourlyFigures

#: Off (``without_rollup``) to compute from the source rows, e.g. to check the rollup.
_use_rollup: ContextVar[bool] = ContextVar("memnun_use_rollup", default=True)
ROLLUP_COLUMNS = Columns(time=HourlyFigures.hour, unit=HourlyFigures.unit_id)


@contextmanager
def without_rollup() -> Iterator[None]:
    """Compute every figure from the source rows inside this block."""
    token = _use_rollup.set(False)
    try:
        yield
    finally:
        _use_rollup.reset(token)


def _on_the_hour(moment: dt.datetime) -> bool:
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0) == moment


def _split_edges(split: Split | None) -> list[dt.datetime] | None:
    """The boundaries a split adds, or None when the rollup cannot group by it."""
    if split is None:
        return []
    if isinstance(split, ByPeriod):
        return split.periods.boundaries()
    if isinstance(split, ByDimension):
        return [] if split.dimension is Dimension.UNIT else None
    if isinstance(split, Across):
        edges: list[dt.datetime] = []
        for part in split.parts:
            found = _split_edges(part)
            if found is None:
                return None
            edges += found
        return edges
    return None


def rollup_covers(filters: Filters, split: Split | None, previous: bool) -> bool:
    """Whether ``hourly_figures`` holds exactly what is asked: filtered by unit at most, every
    boundary (the periods', the groups') on a whole UTC hour, grouped by period and/or unit."""
    if not _use_rollup.get() or any(value is not None for value in (
            filters.category_ids, filters.channel, filters.questionnaire_id, filters.language)):
        return False
    edges = _split_edges(split)
    if edges is None:
        return False
    edges += [filters.start, filters.end, *(filters.comparison if previous else ())]
    return all(_on_the_hour(edge) for edge in edges)


def rollup_tallies(filters: Filters, split: Split | None, previous: bool,
                   kinds: Iterable[type]) -> dict[type, Tally[Any]]:
    """Tallies of several kinds of totals in one pass over ``hourly_figures`` (where
    ``rollup_covers``); a group none of whose figures of a kind is counted is left out of that
    kind, as the queries over the source rows leave it out."""
    kinds = list(kinds)
    names = [f.name for kind in kinds for f in fields(kind)]
    table = HourlyFigures.__table__
    stmt = select(*[func.coalesce(func.sum(table.c[name]), 0).label(name) for name in names])
    stmt = stmt.where(*in_ids(HourlyFigures.unit_id, filters.unit_ids))
    rows = run(stmt, ROLLUP_COLUMNS, filters, split, previous=previous)

    def counted(kind: type, side: dict[Key, dict[str, Any]]) -> dict[Key, Any]:
        totals = {key: totals_of(kind, row) for key, row in side.items()}
        return {key: value for key, value in totals.items() if value != kind()}

    return {kind: Tally(kind, counted(kind, rows.current), counted(kind, rows.previous))
            for kind in kinds}
