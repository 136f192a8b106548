"""Live dashboards: the default period runs to today, shortcuts and comparisons are in the URL,
small periods are gaps rather than spikes, and a grain too fine for the data coarsens."""

from __future__ import annotations

import datetime as dt

import pytest

from app.extensions import db
from dashboards import scope
from dashboards.overview import update_alerts, update_overview
from tests.support.dashboards import as_user, texts
from tests.support.datasets.analytics import Builder, at


@pytest.fixture
def app(make_app):  # type: ignore[no-untyped-def]
    return make_app(MEMNUN_TIMEZONE="UTC")


def _card(kpis, key: str) -> list[str]:  # type: ignore[no-untyped-def]
    return texts(next(card for card in kpis if card.id == f"kpi-{key}"))


def test_a_response_given_now_is_on_the_default_overview(app) -> None:
    with app.app_context():
        builder = Builder().setup()
        builder.response("fen", dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1), 5)
        db.session.commit()
    context = as_user(app, "v@example.org")
    try:
        kpis, _figure, status = update_overview(None, None)  # what a first visit asks for
    finally:
        context.pop()
    assert _card(kpis, "responses")[1] == "1"
    assert "(to date)" in status


def test_this_month_compares_with_the_same_days_of_last_month(app) -> None:
    today = dt.datetime.now(dt.UTC).date()
    context = as_user(app, "v@example.org")
    try:
        *_, status = update_overview(None, None, shortcut="this-month")
        *_, last_year = update_overview(None, None, shortcut="this-month",
                                        compare="last-year")
    finally:
        context.pop()
    first_of_last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    assert f"Changes against {first_of_last_month:%b} 1, {first_of_last_month.year}" in status
    assert f"Changes against {today:%b} 1, {today.year - 1}" in last_year


def test_a_shortcut_in_the_url_stays_a_shortcut() -> None:
    choice = scope.Choice(shortcut="this-quarter", compare="last-year", unit="fen", grain="week")
    query = scope.to_query(choice)
    assert query == "?unit=fen&by=week&period=this-quarter&compare=last-year"
    assert scope.from_query(query) == choice
    # A link from before shortcuts (dates only) is a custom period.
    notices: list[str] = []
    shortcut, days = scope.chosen_period(scope.from_query("?from=2025-01-01&to=2025-01-31"),
                                         dt.date(2026, 12, 7), notices)
    assert shortcut is scope.Shortcut.CUSTOM
    assert days == (dt.date(2025, 1, 1), dt.date(2025, 1, 31))
    assert notices == []


def test_the_period_bar_keeps_shortcut_and_dates_in_step(app) -> None:
    today = dt.datetime.now(dt.UTC).date()
    with app.test_request_context():
        dates = scope.shortcut_and_dates("shortcut", "year-to-date", "2020-01-01", "2020-02-01")
        custom = scope.shortcut_and_dates("period", "year-to-date", "2020-01-01", "2020-02-01")
        same = scope.shortcut_and_dates("period", "year-to-date", f"{today.year}-01-01",
                                        today.isoformat())
    assert dates[1:] == (f"{today.year}-01-01", today.isoformat())
    assert custom[0] == "custom"
    assert same[0] is scope.no_update


def test_a_day_grain_over_a_year_of_few_responses_coarsens(app) -> None:
    with app.app_context():
        builder = Builder().setup()
        for month in range(1, 13):  # six a month: enough for a month, never for a day
            for day in (3, 9, 14, 18, 22, 26):
                builder.response("fen", at(2025, month, day), 4)
        db.session.commit()
    context = as_user(app, "v@example.org")
    try:
        _kpis, figure, status = update_overview("2025-01-01", "2025-12-31", grain="day")
    finally:
        context.pop()
    assert "Too few responses per day: the trend is shown by month." in status
    csat = next(trace for trace in figure.data if trace.type == "scatter")
    assert len(csat.x) == 12
    assert all(value == pytest.approx(100.0) for value in csat.y)


def test_a_share_over_too_few_invitations_is_a_gap_not_a_spike(app) -> None:
    with app.app_context():
        builder = Builder().setup()
        builder.invitation("fen", at(2025, 1, 10))  # January: 1 of 1 not answered: "0 %"
        for day in range(1, 9):  # February: eight sent
            builder.invitation("fen", at(2025, 2, day))
        db.session.commit()
    context = as_user(app, "v@example.org")
    try:
        _kpis, figure, status = update_overview("2025-01-01", "2025-02-28")
    finally:
        context.pop()
    rate = next(trace for trace in figure.data if trace.name == "Response rate (%)")
    assert list(rate.y) == [None, pytest.approx(0.0)]
    assert "Gaps in the trend" in status


def test_the_current_month_is_marked_as_not_over(app) -> None:
    today = dt.datetime.now(dt.UTC).date()
    context = as_user(app, "v@example.org")
    try:
        *_, status = update_overview(None, None)
        alerts = texts(update_alerts(None, None))
    finally:
        context.pop()
    # On a month's last day the month is whole (to midnight): nothing to mark.
    assert ("that period is not over" in status) is (today != _month_end(today))
    assert alerts[0].startswith("Month to date: ")


def _month_end(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
