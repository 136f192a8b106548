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


# --- the periods people ask for --------------------------------------------------------------


class Shortcut(enum.StrEnum):
    """The periods people use, each ending today (or at the end of last month)."""

    THIS_MONTH = "this-month"
    LAST_MONTH = "last-month"
    THIS_QUARTER = "this-quarter"
    YEAR_TO_DATE = "year-to-date"
    LAST_12_MONTHS = "last-12-months"
    CUSTOM = "custom"


class Comparison(enum.StrEnum):
    """What a period's changes are measured against."""

    PREVIOUS = "previous"  # the period before (the same days of it when running to date)
    LAST_YEAR = "last-year"  # the same days a year before


DEFAULT_SHORTCUT = Shortcut.LAST_12_MONTHS

#: How many months back the compared period lies, for each shortcut (``Comparison.PREVIOUS``).
_MONTHS_BACK = {Shortcut.THIS_MONTH: 1, Shortcut.LAST_MONTH: 1, Shortcut.THIS_QUARTER: 3,
                Shortcut.YEAR_TO_DATE: 12, Shortcut.LAST_12_MONTHS: 12}


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months`` (negative: back), the day clamped to the month's length."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    first = dt.date(year, month + 1, 1)
    length = (next_period(first, Grain.MONTH) - first).days
    return first.replace(day=min(day.day, length))


def shortcut_days(shortcut: Shortcut, today: dt.date) -> tuple[dt.date, dt.date]:
    """(first day, last day), inclusive, of ``shortcut`` on ``today`` (a local date).

    Every shortcut but last month runs to today, so a response given today counts at once;
    the last 12 months are this month so far and the 11 before it.
    """
    this_month = today.replace(day=1)
    if shortcut is Shortcut.THIS_MONTH:
        return this_month, today
    if shortcut is Shortcut.LAST_MONTH:
        return add_months(this_month, -1), this_month - dt.timedelta(days=1)
    if shortcut is Shortcut.THIS_QUARTER:
        return period_start(today, Grain.QUARTER), today
    if shortcut is Shortcut.YEAR_TO_DATE:
        return dt.date(today.year, 1, 1), today
    if shortcut is Shortcut.LAST_12_MONTHS:
        return add_months(this_month, -11), today
    raise ValueError("a custom period has no dates of its own")


def compared_days(first: dt.date, last: dt.date, shortcut: Shortcut,
                  comparison: Comparison) -> tuple[dt.date, dt.date] | None:
    """The compared period (inclusive local dates) of [first, last], or None for "the period of
    the same length just before" (``Filters``' default).

    A period running to date is compared with the same days of the period before (1-7 December
    with 1-7 November, not with the whole of November), and a whole month with the whole month
    before: both ends move back by whole months, the end exclusive, so 1-30 November compares
    with 1-31 October. Last year: both ends a year back (29 February becomes the 28th).
    """
    if comparison is Comparison.LAST_YEAR:
        months = 12
    elif shortcut in _MONTHS_BACK:
        months = _MONTHS_BACK[shortcut]
    else:
        return None
    end = add_months(last + dt.timedelta(days=1), -months)
    start = add_months(first, -months)
    if end <= start:
        return None
    return start, min(end - dt.timedelta(days=1), first - dt.timedelta(days=1))
