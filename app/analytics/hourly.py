"""Reading figures from the rollups (``app.models.rollup``, kept by ``app.analytics.rollup``).

``hourly_figures`` holds, per UTC hour and unit, the totals of ``app.analytics.aggregates``;
``hourly_dimension_figures`` the same per hour, unit and value of one dimension (category,
channel, questionnaire, language, source, mode). Together they answer a question exactly when
nothing finer than an hour, a unit and one of those dimensions is asked: at most one filter
besides the unit, every boundary (the period's, the previous period's, the split's periods) on a
whole UTC hour, and a split by period and/or unit only (``rollup_covers``). A filter that does
not apply to a kind of row (complaints have no questionnaire, language, source or mode) leaves
those rows unfiltered, as the queries over the rows do, and their figures come from
``hourly_figures``. Otherwise the tallies count the source rows (``app.analytics.tallies``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import fields
from typing import Any

from sqlalchemy import func, select

from app.analytics.aggregates import (
    INVITATION_COLUMNS,
    RECEIVED_COLUMNS,
    RESPONSE_COLUMNS,
    AnswerTotals,
    ComplaintTotals,
    InvitationTotals,
    ResponseCount,
    Tally,
    totals_of,
)
from app.analytics.filters import Filters, in_ids
from app.analytics.splits import Across, ByDimension, ByPeriod, Columns, Dimension, Key, Split, run
from app.models import HourlyDimensionFigures, HourlyFigures

#: Off (``without_rollup``) to compute from the source rows, e.g. to check the rollup.
_use_rollup: ContextVar[bool] = ContextVar("memnun_use_rollup", default=True)
#: The rows each kind of totals counts, for the dimensions that apply to them.
ROWS_OF: dict[type, Columns] = {AnswerTotals: RESPONSE_COLUMNS, ResponseCount: RESPONSE_COLUMNS,
                                ComplaintTotals: RECEIVED_COLUMNS,
                                InvitationTotals: INVITATION_COLUMNS}


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


def _dimension_filters(filters: Filters) -> list[tuple[Dimension, list[str]]]:
    """The filters besides the unit, each as a dimension of ``hourly_dimension_figures`` and
    the values it keeps, as stored there (text)."""
    chosen = []
    if filters.category_ids is not None:
        chosen.append((Dimension.CATEGORY, sorted(str(i) for i in filters.category_ids)))
    if filters.channel is not None:
        chosen.append((Dimension.CHANNEL, [str(filters.channel)]))
    if filters.questionnaire_id is not None:
        chosen.append((Dimension.QUESTIONNAIRE, [str(filters.questionnaire_id)]))
    if filters.language is not None:
        chosen.append((Dimension.LANGUAGE, [filters.language]))
    if filters.source is not None:
        chosen.append((Dimension.SOURCE, [filters.source]))
    if filters.mode is not None:
        chosen.append((Dimension.MODE, [filters.mode]))
    return chosen


def rollup_covers(filters: Filters, split: Split | None, previous: bool) -> bool:
    """Whether the rollups hold exactly what is asked: filtered by unit and at most one other
    dimension, every boundary (the periods', the groups') on a whole UTC hour, grouped by
    period and/or unit."""
    if not _use_rollup.get() or len(_dimension_filters(filters)) > 1:
        return False
    edges = _split_edges(split)
    if edges is None:
        return False
    edges += [filters.start, filters.end, *(filters.comparison if previous else ())]
    return all(_on_the_hour(edge) for edge in edges)


def rollup_tallies(filters: Filters, split: Split | None, previous: bool,
                   kinds: Iterable[type]) -> dict[type, Tally[Any]]:
    """Tallies of several kinds of totals (where ``rollup_covers``): one pass over
    ``hourly_dimension_figures`` for the kinds the filter's dimension applies to, one over
    ``hourly_figures`` for the others (all of them, without such a filter)."""
    chosen = _dimension_filters(filters)
    by_value = [kind for kind in kinds
                if chosen and ROWS_OF[kind].of(chosen[0][0]) is not None]
    by_unit = [kind for kind in kinds if kind not in by_value]
    found: dict[type, Tally[Any]] = {}
    if by_unit:
        found |= _read(HourlyFigures, [], filters, split, previous, by_unit)
    if by_value:
        dimension, values = chosen[0]
        table = HourlyDimensionFigures
        found |= _read(table, [table.dimension == dimension.value, table.value.in_(values)],
                       filters, split, previous, by_value)
    return found


def _read(model: Any, conditions: list[Any], filters: Filters, split: Split | None,
          previous: bool, kinds: list[type]) -> dict[type, Tally[Any]]:
    """The kinds' tallies from one rollup table; a group none of whose figures of a kind is
    counted is left out of that kind, as the queries over the source rows leave it out."""
    names = [f.name for kind in kinds for f in fields(kind)]
    table = model.__table__
    stmt = select(*[func.coalesce(func.sum(table.c[name]), 0).label(name) for name in names])
    stmt = stmt.where(*conditions, *in_ids(model.unit_id, filters.unit_ids))
    columns = Columns(time=model.hour, unit=model.unit_id)
    rows = run(stmt, columns, filters, split, previous=previous)

    def counted(kind: type, side: dict[Key, dict[str, Any]]) -> dict[Key, Any]:
        totals = {key: totals_of(kind, row) for key, row in side.items()}
        return {key: value for key, value in totals.items() if value != kind()}

    return {kind: Tally(kind, counted(kind, rows.current), counted(kind, rows.previous))
            for kind in kinds}
