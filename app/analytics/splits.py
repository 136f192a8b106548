"""Splitting aggregate queries into groups: by period, unit, category, channel, language,
questionnaire, source (whom a response speaks for) or mode (how it was given), or several of
them at once (``Across``), optionally with the previous period counted in the same pass.

An aggregate statement (counts and sums only) is limited to the period, given a GROUP BY on the
split's column and, when the change against the previous period is wanted, on a "phase" column
(0: this period, 1: the one before). Python then only adds up a few dozen rows of counts: a unit
tree is rolled up by adding each unit's counts to the node it belongs to, which is exact because
counts and sums add up (medians do not: ``app.analytics.linkage`` rolls those up in SQL).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, literal_column, or_, text

from app.analytics.filters import Filters
from app.analytics.periods import Periods
from app.extensions import db

Key = Any  # a period's first day, a unit or category id, a channel, a language, or None
#: The key of an ungrouped result.
WHOLE = None


def dialect() -> str:
    return db.session.get_bind().dialect.name


def tune_for_aggregates() -> None:
    """Settings for big aggregates, for the current transaction only (PostgreSQL).

    The JIT compiler spends about two seconds compiling the answer aggregate of a million
    responses and saves less than it costs; 4 MB of work_mem makes the hash join and the
    grouping spill to disk. ``SET LOCAL`` ends with the transaction (the request).
    """
    if dialect() != "postgresql":
        return
    transaction = db.session().get_transaction()
    if transaction is not None and db.session.info.get("memnun_tuned") is transaction:
        return
    db.session.execute(text("SET LOCAL jit = off"))
    db.session.execute(text("SET LOCAL work_mem = '64MB'"))
    db.session.info["memnun_tuned"] = db.session().get_transaction()


class Dimension(enum.StrEnum):
    UNIT = "unit"
    CATEGORY = "category"
    CHANNEL = "channel"
    LANGUAGE = "language"
    QUESTIONNAIRE = "questionnaire"
    SOURCE = "source"
    MODE = "mode"


@dataclass(frozen=True)
class Columns:
    """The columns of one kind of row that a period and a split look at. A dimension that does
    not apply to the rows (complaints have no questionnaire) is None."""

    time: Any
    unit: Any = None
    category: Any = None
    channel: Any = None
    language: Any = None
    questionnaire: Any = None
    source: Any = None
    mode: Any = None

    def of(self, dimension: Dimension) -> Any:
        return getattr(self, dimension.value)


class Split:
    """How rows are grouped: ``column`` gives the SQL group expression (None: the split does
    not apply to these rows) and ``decode`` the key of a returned value."""

    def column(self, columns: Columns) -> ColumnElement[Any] | None:
        raise NotImplementedError

    def decode(self, raw: Any) -> Key:
        return raw

    def columns(self, columns: Columns) -> list[ColumnElement[Any]] | None:
        """Every group expression of the split (one, but for ``Across``)."""
        group = self.column(columns)
        return None if group is None else [group]

    def decode_all(self, raws: list[Any]) -> Key:
        return self.decode(raws[0])

    def dimensions(self) -> set[Dimension]:
        """The dimensions the split groups by (the rows must have their columns)."""
        return set()


@dataclass(frozen=True)
class ByPeriod(Split):
    periods: Periods

    def column(self, columns: Columns) -> ColumnElement[Any] | None:
        return self.periods.bucket(columns.time, dialect())

    def decode(self, raw: Any) -> Key:
        return self.periods.decode(raw)


SKIP = object()  # a row outside the roll-up: not counted
#: Dimensions whose values are our enumerations (keyed by their plain value).
ENUMERATED = {Dimension.CHANNEL, Dimension.SOURCE, Dimension.MODE}


@dataclass(frozen=True)
class ByDimension(Split):
    """Group by a dimension's column. With ``roll_up`` (unit or category id -> the node it
    counts under), rows of ids not in the mapping are left out."""

    dimension: Dimension
    roll_up: Mapping[int, Key] | None = field(default=None)

    def column(self, columns: Columns) -> ColumnElement[Any] | None:
        return columns.of(self.dimension)

    def decode(self, raw: Any) -> Key:
        if raw is None:
            return SKIP  # no value of the dimension (a service user's category): in no group
        if self.dimension in ENUMERATED:
            return getattr(raw, "value", raw)
        if self.roll_up is not None:
            return self.roll_up.get(raw, SKIP)
        return raw

    def dimensions(self) -> set[Dimension]:
        return {self.dimension}


@dataclass(frozen=True)
class Across(Split):
    """Group by several splits at once (e.g. unit and month): a key is the tuple of the parts'
    keys, and a row any part leaves out (``SKIP``) is left out."""

    parts: tuple[Split, ...]

    def columns(self, columns: Columns) -> list[ColumnElement[Any]] | None:
        found = [part.column(columns) for part in self.parts]
        return None if any(group is None for group in found) else found

    def decode_all(self, raws: list[Any]) -> Key:
        keys = tuple(part.decode(raw) for part, raw in zip(self.parts, raws, strict=True))
        return SKIP if any(key is SKIP for key in keys) else keys

    def dimensions(self) -> set[Dimension]:
        return set().union(*(part.dimensions() for part in self.parts))


@dataclass
class Table:
    """Rows of counts by key, for this period and (when asked) the previous one."""

    current: dict[Key, dict[str, Any]] = field(default_factory=dict)
    previous: dict[Key, dict[str, Any]] = field(default_factory=dict)


def _accumulate(into: dict[Key, dict[str, Any]], key: Key, values: dict[str, Any]) -> None:
    known = into.get(key)
    if known is None:
        into[key] = {name: value or 0 for name, value in values.items()}
    else:
        for name, value in values.items():
            known[name] = known[name] + (value or 0)


def _window(time: Any, filters: Filters, previous: bool) -> list[ColumnElement[bool]]:
    """The rows of the period and, with ``previous``, of the compared period: one range when
    they touch (an index range scan), two otherwise (the same days a month or a year ago)."""
    if not previous:
        return [time >= filters.start, time < filters.end]
    first, last = filters.comparison
    if filters.contiguous_with_previous():
        return [time >= first, time < filters.end]
    return [or_(and_(time >= first, time < last),
                and_(time >= filters.start, time < filters.end))]


def run(stmt: Select[Any], columns: Columns, filters: Filters, split: Split | None = None,
        *, previous: bool = False) -> Table:
    """Limit ``stmt`` (an aggregate) to the period on ``columns.time``, group it by ``split``
    (and phase, with ``previous``), run it and add up the rows by key."""
    time = columns.time
    stmt = stmt.where(*_window(time, filters, previous))
    if previous:
        phase = case((time < filters.start, literal_column("1")), else_=literal_column("0"))
        stmt = stmt.add_columns(phase.label("phase")).group_by(literal_column("phase"))
    names: list[str] = []
    if split is not None:
        groups = split.columns(columns)
        if groups is None:
            return Table()
        # Grouped by the output name: a constant bucket (one period) would otherwise read as a
        # column position, and PostgreSQL need not match bound parameters twice.
        for index, group in enumerate(groups):
            names.append(f"group_key_{index}" if index else "group_key")
            stmt = stmt.add_columns(group.label(names[-1])).group_by(literal_column(names[-1]))
    tune_for_aggregates()
    table = Table()
    for row in db.session.execute(stmt).mappings():
        values = dict(row)
        before = values.pop("phase", 0) == 1
        raws = [values.pop(name) for name in names]
        key = split.decode_all(raws) if split is not None else WHOLE
        if key is SKIP:
            continue
        _accumulate(table.previous if before else table.current, key, values)
    return table
