"""SQL aggregates and the overview on a small dataset counted by hand (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from app.analytics import metrics
from app.analytics.filters import Filters, expand
from app.analytics.overview import overview, overview_and_trend
from app.analytics.periods import Grain, Periods, to_instant
from app.extensions import db
from app.models import Unit
from tests.support.datasets.analytics import Builder, at, build_january

JANUARY = (dt.date(2025, 1, 1), dt.date(2025, 2, 1))


@pytest.fixture
def january(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        builder = Builder().setup()
        build_january(builder)
        ids = {code: unit.id for code, unit in builder.units.items()}
    return ids


def test_overview_of_all_units_matches_the_hand_counts(app, january) -> None:
    with app.app_context():
        figures = overview(*JANUARY)
    # Nine responses in January: six in fen, two in zabita, one in fen without an overall rating.
    assert figures.responses == 9
    assert not figures.suppressed
    # CSAT: fen 4 of 6 satisfied, zabita 1 of 2.
    assert figures.csat.n == 8
    expected = metrics.wilson_interval(5, 8)
    assert (figures.csat.value, figures.csat.low, figures.csat.high) == pytest.approx(
        (expected.value, expected.low, expected.high)
    )
    mean = metrics.mean_interval(8, 29, 121)
    assert figures.mean_score.value == pytest.approx(29 / 8)
    assert (figures.mean_score.low, figures.mean_score.high) == pytest.approx((mean.low, mean.high))
    assert figures.nps.n == 6
    assert figures.nps.value == pytest.approx((3 - 2) / 6)
    assert figures.ces.value == pytest.approx(15 / 6)
    assert figures.ces.low == pytest.approx(metrics.mean_interval(6, 15, 47).low)
    assert (figures.resolution_confirmed.n, figures.resolution_confirmed.value) == (6, 4 / 6)
    # Complaints received in January: fen 3, park 1, zabita 1.
    assert figures.complaints == 5
    # Resolved in January with a due time: fen on time, fen late, zabita on time to the second.
    assert (figures.on_time.n, figures.on_time.value) == (3, 2 / 3)
    # Sent in January: 6 + 2 + 1 answered in January, 1 sent on 31 January and answered on
    # 1 February (the cohort counts it), and 4 never answered.
    assert figures.invitations_sent == 14
    assert (figures.response_rate.n, figures.response_rate.value) == (14, 10 / 14)
    # December had one overall rating: too few to compare with.
    assert figures.csat_change is None


def test_a_parent_unit_includes_the_units_below_it(app, january) -> None:
    with app.app_context():
        assert sorted(expand(Unit, [january["city"]])) == sorted(
            [january["city"], january["fen"], january["park"]]
        )
        figures = overview(*JANUARY, unit_ids=[january["city"]])
    assert figures.responses == 7
    assert (figures.csat.n, figures.csat.value) == (6, 4 / 6)
    assert figures.complaints == 4
    assert (figures.on_time.n, figures.on_time.value) == (2, 1 / 2)
    assert (figures.invitations_sent, figures.response_rate.value) == (12, 8 / 12)


def test_a_small_unit_shows_no_survey_score(app, january) -> None:
    with app.app_context():
        figures = overview(*JANUARY, unit_ids=[january["zabita"]], min_group=5)
        shown = overview(*JANUARY, unit_ids=[january["zabita"]], min_group=2)
    assert figures.responses == 2
    assert figures.suppressed
    assert figures.csat.suppressed and figures.csat.value is None and figures.csat.low is None
    assert figures.mean_score.suppressed and figures.mean_score.value is None
    # Complaint figures are about the organisation, not about respondents: still shown.
    assert figures.complaints == 1
    assert (figures.on_time.value, figures.on_time.suppressed) == (1.0, False)
    assert not shown.suppressed
    assert shown.csat.value == 0.5


def test_empty_unit_list_shows_nothing(app, january) -> None:
    with app.app_context():
        figures = overview(*JANUARY, unit_ids=[])
    assert (figures.responses, figures.complaints, figures.invitations_sent) == (0, 0, 0)
    assert figures.csat.suppressed and figures.on_time.value is None


def test_change_against_the_previous_period(app) -> None:
    with app.app_context():
        builder = Builder().setup()
        for day, overall in enumerate([5, 5, 4, 4, 5, 4, 5, 2], start=1):  # December: 7 of 8
            builder.response("fen", at(2024, 12, day), overall)
        for day, overall in enumerate([5, 1, 2, 2, 3, 1, 4, 2, 1, 5], start=1):  # January: 3 of 10
            builder.response("fen", at(2025, 1, day), overall)
        db.session.commit()
        figures = overview(*JANUARY)
    expected = metrics.two_proportion_z_test(3, 10, 7, 8)
    assert figures.csat_change is not None
    assert figures.csat_change.difference == pytest.approx(3 / 10 - 7 / 8)
    assert figures.csat_change.p_value == pytest.approx(expected.p_value)
    assert figures.csat_change.significant()


def monthly_trend(start: dt.date, end: dt.date, tz: str = "UTC") -> list:  # type: ignore[type-arg]
    """The dashboards' monthly trend over [start, end), every group at least one response."""
    filters = Filters(to_instant(start, tz), to_instant(end, tz))
    return overview_and_trend(filters, Grain.MONTH, 1, tz)[1]


def test_the_monthly_trend_counts_each_month(app, january) -> None:
    with app.app_context():
        series = monthly_trend(dt.date(2024, 10, 1), dt.date(2025, 3, 1))
        whole = overview(*JANUARY, min_group=1)
    assert [m.start for m in series] == [
        dt.date(2024, 10, 1), dt.date(2024, 11, 1), dt.date(2024, 12, 1),
        dt.date(2025, 1, 1), dt.date(2025, 2, 1),
    ]
    october, _, december, january_, february = series
    assert (october.responses, october.complaints, october.invitations_sent) == (0, 0, 0)
    assert october.csat.suppressed and october.csat.value is None
    assert october.on_time.value is None and not october.on_time.suppressed
    # December: the response a second before January, 11 responses' complaints received on
    # 10 December and 6 complaints of unanswered invitations received on 1 December.
    assert (december.responses, december.csat.value, december.complaints) == (1, 0.0, 17)
    assert (december.invitations_sent, december.response_rate.value) == (1, 1.0)
    assert january_.responses == whole.responses == 9
    assert january_.csat == whole.csat
    assert january_.nps == whole.nps
    assert january_.complaints == 5
    assert january_.on_time == whole.on_time
    assert (january_.invitations_sent, january_.response_rate) == (14, whole.response_rate)
    assert (february.responses, february.complaints) == (1, 0)
    assert (february.on_time.n, february.on_time.value) == (1, 1.0)  # park, resolved 3 February
    assert (february.invitations_sent, february.response_rate.value) == (1, 0.0)


@pytest.mark.parametrize(
    ("tz", "moments", "expected"),
    [
        # Istanbul is UTC+3 all year: 22:30 UTC on 31 January is already 1 February there.
        ("Europe/Istanbul",
         [(2024, 12, 31, 21, 30), (2025, 1, 31, 20, 30), (2025, 1, 31, 22, 30)],
         {dt.date(2025, 1, 1): 2, dt.date(2025, 2, 1): 1}),
        # Amsterdam moves to summer time on 30 March: April begins at 22:00 UTC on 31 March,
        # an hour earlier than March began (23:00 UTC on 28 February).
        ("Europe/Amsterdam",
         [(2025, 2, 28, 23, 30), (2025, 3, 31, 21, 30), (2025, 3, 31, 22, 30)],
         {dt.date(2025, 3, 1): 2, dt.date(2025, 4, 1): 1}),
    ],
)
def test_months_follow_the_local_calendar(app, tz, moments, expected) -> None:
    with app.app_context():
        builder = Builder().setup()
        for moment in moments:
            builder.response("fen", dt.datetime(*moment, tzinfo=dt.UTC), 5)
        db.session.commit()
        first, last = min(expected), max(expected)
        end = dt.date(last.year + last.month // 12, last.month % 12 + 1, 1)
        series = monthly_trend(first, end, tz)
    assert {m.start: m.responses for m in series} == expected
    assert {m.start: m.csat.n for m in series} == expected


def test_months_covering_a_period() -> None:
    months = Periods.covering(to_instant(dt.date(2024, 11, 15)), to_instant(dt.date(2025, 2, 1)),
                              Grain.MONTH, "UTC")
    assert months.starts == (dt.date(2024, 11, 1), dt.date(2024, 12, 1), dt.date(2025, 1, 1))
    assert months.boundaries() == [at(2024, 12, 1, 0), at(2025, 1, 1, 0)]


def test_periods_are_instants() -> None:
    assert to_instant(dt.date(2025, 1, 1), "Europe/Istanbul") == at(2024, 12, 31, 21)
    with pytest.raises(ValueError, match="naive"):
        to_instant(dt.datetime(2025, 1, 1))  # noqa: DTZ001 - the point of the test
