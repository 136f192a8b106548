"""Changes against the compared period: the same days of the previous month or year, not the
period of the same length just before, from the source rows and from the hourly rollup alike."""

from __future__ import annotations

import datetime as dt

import pytest

from app.analytics.filters import Filters
from app.analytics.hourly import without_rollup
from app.analytics.overview import overview_of
from app.analytics.periods import (
    Comparison,
    Shortcut,
    add_months,
    compared_days,
    shortcut_days,
    to_instant,
)
from app.extensions import db
from tests.support.datasets.analytics import Builder, at

TODAY = dt.date(2026, 12, 7)


@pytest.mark.parametrize(("shortcut", "dates", "previous", "last_year"), [
    (Shortcut.THIS_MONTH, ("2026-12-01", "2026-12-07"), ("2026-11-01", "2026-11-07"),
     ("2025-12-01", "2025-12-07")),
    (Shortcut.LAST_MONTH, ("2026-11-01", "2026-11-30"), ("2026-10-01", "2026-10-31"),
     ("2025-11-01", "2025-11-30")),
    (Shortcut.THIS_QUARTER, ("2026-10-01", "2026-12-07"), ("2026-07-01", "2026-09-07"),
     ("2025-10-01", "2025-12-07")),
    (Shortcut.YEAR_TO_DATE, ("2026-01-01", "2026-12-07"), ("2025-01-01", "2025-12-07"),
     ("2025-01-01", "2025-12-07")),
    (Shortcut.LAST_12_MONTHS, ("2026-01-01", "2026-12-07"), ("2025-01-01", "2025-12-07"),
     ("2025-01-01", "2025-12-07")),
])
def test_each_shortcut_has_its_dates_and_compared_days(shortcut, dates, previous,
                                                       last_year) -> None:
    first, last = shortcut_days(shortcut, TODAY)
    assert (first.isoformat(), last.isoformat()) == dates
    for comparison, expected in ((Comparison.PREVIOUS, previous),
                                 (Comparison.LAST_YEAR, last_year)):
        days = compared_days(first, last, shortcut, comparison)
        assert days is not None
        assert (days[0].isoformat(), days[1].isoformat()) == expected


def test_month_ends_and_leap_days_are_clamped() -> None:
    assert add_months(dt.date(2024, 3, 31), -1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2024, 2, 29), -12) == dt.date(2023, 2, 28)
    # 31 March: this month is whole, so it compares with the whole of February.
    first, last = shortcut_days(Shortcut.THIS_MONTH, dt.date(2024, 3, 31))
    assert compared_days(first, last, Shortcut.THIS_MONTH, Comparison.PREVIOUS) == (
        dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    # Custom dates keep the period of the same length just before (Filters' default).
    assert compared_days(dt.date(2024, 3, 5), dt.date(2024, 3, 9), Shortcut.CUSTOM,
                         Comparison.PREVIOUS) is None


def test_shortcut_instants_follow_daylight_saving_in_the_organisations_zone() -> None:
    # Amsterdam moves to summer time on 31 March 2024: a winter quarter begins at 23:00 UTC,
    # the summer one at 22:00 UTC; "to date" ends at the next local midnight.
    winter, _ = shortcut_days(Shortcut.THIS_QUARTER, dt.date(2024, 2, 15))
    summer, today = shortcut_days(Shortcut.THIS_QUARTER, dt.date(2024, 4, 15))
    assert to_instant(winter, "Europe/Amsterdam") == dt.datetime(2023, 12, 31, 23, tzinfo=dt.UTC)
    assert to_instant(summer, "Europe/Amsterdam") == dt.datetime(2024, 3, 31, 22, tzinfo=dt.UTC)
    assert to_instant(today + dt.timedelta(days=1), "Europe/Amsterdam") == dt.datetime(
        2024, 4, 15, 22, tzinfo=dt.UTC)


def test_the_compared_period_must_lie_before() -> None:
    start, end = at(2025, 2, 1, 0), at(2025, 2, 8, 0)
    with pytest.raises(ValueError, match="compared period"):
        Filters(start, end, compared=(at(2025, 1, 1, 0), at(2025, 2, 3, 0)))


@pytest.mark.parametrize("rollup", [True, False], ids=["rollup", "rows"])
def test_changes_count_only_the_compared_days(app, rollup) -> None:
    """1-7 February against 1-7 January: what happened on 20 January is in neither."""
    with app.app_context():
        builder = Builder().setup()
        for day in (2, 3, 4, 5):
            builder.complaint("fen", at(2025, 1, day))
        for day in (20, 21, 22, 23, 24):  # outside the compared days
            builder.complaint("fen", at(2025, 1, day))
        for overall, day in ((5, 2), (5, 3), (5, 4), (5, 5), (5, 6)):
            builder.response("fen", at(2025, 1, day), overall, received=at(2024, 12, 1))
        for overall, day in ((1, 20), (1, 21), (1, 22), (1, 23), (1, 24)):
            builder.response("fen", at(2025, 1, day), overall, received=at(2024, 12, 1))
        for overall, day in ((4, 2), (5, 3), (1, 4), (2, 5), (5, 6)):
            builder.response("fen", at(2025, 2, day), overall, received=at(2024, 12, 1))
        builder.complaint("fen", at(2025, 2, 3))
        db.session.commit()
        filters = Filters(at(2025, 2, 1, 0), at(2025, 2, 8, 0),
                          compared=(at(2025, 1, 1, 0), at(2025, 1, 8, 0)))
        if rollup:
            figures = overview_of(filters, min_group=5)
        else:
            with without_rollup():
                figures = overview_of(filters, min_group=5)
        adjacent = overview_of(Filters(at(2025, 2, 1, 0), at(2025, 2, 8, 0)), min_group=5)
    assert figures.complaints == 1
    assert figures.complaints_previous == 4  # not the 9 of the whole of January
    assert figures.csat_change is not None
    assert figures.csat_change.difference == pytest.approx(3 / 5 - 5 / 5)
    assert adjacent.complaints_previous == 0  # 25-31 January: nothing
