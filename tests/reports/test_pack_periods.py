"""The review-pack form offers the dashboards' period shortcuts and comparisons: a shortcut's
dates are the organisation's days (a clock change included), filled in on the server so the form
works without JavaScript, and the pack made from it covers those days and the chosen compared
period. Bad dates are a form error (400), never a 500."""

from __future__ import annotations

import datetime as dt
import functools
import html
import json
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import timefmt
from app.reports import views
from app.reports.pack import ReviewPack
from tests.support.factories import make_user
from tests.support.web import csrf_token_from, login

EN = {"Accept-Language": "en"}
D = dt.date

#: (zone, fixed clock, {shortcut: (first day, last day)}). Each clock is a moment at which the
#: organisation's date is not the UTC date, or would not be with the other side's UTC offset.
CLOCKS = [
    # Amsterdam on summer time since 29 March: 22:30 UTC on 31 March is 00:30 on 1 April
    # (winter time would still say 31 March).
    ("Europe/Amsterdam", dt.datetime(2026, 3, 31, 22, 30, tzinfo=dt.UTC), {
        "this-month": (D(2026, 4, 1), D(2026, 4, 1)),
        "last-month": (D(2026, 3, 1), D(2026, 3, 31)),
        "this-quarter": (D(2026, 4, 1), D(2026, 4, 1)),
        "year-to-date": (D(2026, 1, 1), D(2026, 4, 1)),
        "last-12-months": (D(2025, 5, 1), D(2026, 4, 1)),
    }),
    # Back on winter time since 25 October: 22:30 UTC on 31 October is still 31 October.
    ("Europe/Amsterdam", dt.datetime(2026, 10, 31, 22, 30, tzinfo=dt.UTC), {
        "this-month": (D(2026, 10, 1), D(2026, 10, 31)),
        "last-month": (D(2026, 9, 1), D(2026, 9, 30)),
        "this-quarter": (D(2026, 10, 1), D(2026, 10, 31)),
        "year-to-date": (D(2026, 1, 1), D(2026, 10, 31)),
        "last-12-months": (D(2025, 11, 1), D(2026, 10, 31)),
    }),
    # Istanbul, UTC+3 all year: 21:30 UTC on New Year's Eve is already the new year.
    ("Europe/Istanbul", dt.datetime(2026, 12, 31, 21, 30, tzinfo=dt.UTC), {
        "this-month": (D(2027, 1, 1), D(2027, 1, 1)),
        "last-month": (D(2026, 12, 1), D(2026, 12, 31)),
        "this-quarter": (D(2027, 1, 1), D(2027, 1, 1)),
        "year-to-date": (D(2027, 1, 1), D(2027, 1, 1)),
        "last-12-months": (D(2026, 2, 1), D(2027, 1, 1)),
    }),
]
CASES = [(zone, clock, shortcut, days)
         for zone, clock, expected in CLOCKS for shortcut, days in expected.items()]


@pytest.fixture
def packs(monkeypatch: pytest.MonkeyPatch) -> list[ReviewPack]:
    """Every pack the view builds, as built."""
    built: list[ReviewPack] = []
    real = views.build_pack

    def keep(*args: Any, **kwargs: Any) -> ReviewPack:
        built.append(real(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(views, "build_pack", keep)
    return built


def _viewer(app: Flask, monkeypatch: pytest.MonkeyPatch, clock: dt.datetime) -> FlaskClient:
    """A signed-in viewer, the pages' clock fixed at ``clock``."""
    monkeypatch.setattr(views, "today", functools.partial(timefmt.today, clock))
    client = app.test_client()
    login(client, "viewer@example.org", make_user(app, "viewer@example.org", "viewer"))
    return client


def _post(client: FlaskClient, **fields: str) -> Any:
    token = csrf_token_from(client.get("/reports/", headers=EN).get_data(as_text=True))
    return client.post("/reports/pack", headers=EN,
                       data={"csrf_token": token, "unit": "0", "format": "html", **fields})


@pytest.mark.parametrize(("zone", "clock", "shortcut", "days"), CASES,
                         ids=[f"{z[7:]}-{c:%m%d}-{s}" for z, c, s, _d in CASES])
def test_each_shortcut_gives_the_organisations_days(make_app: Any, monkeypatch, packs, zone: str,
                                                    clock: dt.datetime, shortcut: str,
                                                    days: tuple[dt.date, dt.date]) -> None:
    app = make_app(MEMNUN_TIMEZONE=zone)
    client = _viewer(app, monkeypatch, clock)
    # Whatever the date fields hold (here last year's January), the shortcut's days count.
    response = _post(client, period=shortcut, start="2025-01-01", last="2025-01-31")
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    first, last = days
    assert f"memnun-review-{first}-{last}.html" in response.headers["Content-Disposition"]
    pack = packs[-1]
    assert (pack.start, pack.last) == days
    # The pack counts from the local midnight of its first day to that after its last.
    local = ZoneInfo(zone)
    assert pack.summary.start == dt.datetime.combine(first, dt.time(), local)
    assert pack.summary.end == dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), local)


def test_the_form_shows_the_shortcuts_with_todays_dates(make_app: Any, monkeypatch) -> None:
    app = make_app(MEMNUN_TIMEZONE="Europe/Amsterdam")
    client = _viewer(app, monkeypatch, dt.datetime(2026, 3, 31, 22, 30, tzinfo=dt.UTC))
    page = client.get("/reports/", headers=EN).get_data(as_text=True)
    start = page.index('id="pack-form"')
    pack_form = page[start:page.index("</form>", start)]
    assert re.search(r'<option selected value="last-12-months">Last 12 months</option>',
                     pack_form)
    assert 'value="2025-05-01"' in pack_form and 'value="2026-04-01"' in pack_form
    for label in ("This month", "Last month", "This quarter", "Year to date", "Custom dates",
                  "Previous period", "Same days last year"):
        assert f">{label}</option>" in pack_form
    # The script's dates are the server's, for the organisation's today.
    dates = re.search(r"data-shortcut-dates='([^']*)'", pack_form)
    assert dates and json.loads(html.unescape(dates.group(1)))["this-month"] == [
        "2026-04-01", "2026-04-01"]


@pytest.mark.parametrize(("shortcut", "compare", "compared"), [
    ("this-month", "previous", (D(2026, 3, 1), D(2026, 3, 1))),  # the same days of March
    ("this-month", "last-year", (D(2025, 4, 1), D(2025, 4, 1))),
    ("last-month", "previous", (D(2026, 2, 1), D(2026, 2, 28))),  # the whole month before
    ("last-12-months", "previous", (D(2024, 5, 1), D(2025, 4, 1))),
    ("this-quarter", "last-year", (D(2025, 4, 1), D(2025, 4, 1))),
])
def test_the_pack_is_compared_as_chosen(make_app: Any, monkeypatch, packs, shortcut: str,
                                        compare: str, compared: tuple[dt.date, dt.date]) -> None:
    app = make_app(MEMNUN_TIMEZONE="Europe/Amsterdam")
    client = _viewer(app, monkeypatch, dt.datetime(2026, 3, 31, 22, 30, tzinfo=dt.UTC))
    response = _post(client, period=shortcut, compare=compare)
    assert response.status_code == 200
    pack = packs[-1]
    assert (pack.compared_start, pack.compared_last) == compared
    assert pack.previous.start == dt.datetime.combine(compared[0], dt.time(),
                                                      ZoneInfo("Europe/Amsterdam"))
    shown = re.search(r'<span id="compared">(.*?)</span>', response.get_data(as_text=True))
    assert shown and f"{compared[0]:%b} {compared[0].day}, {compared[0].year}" in shown.group(1)


def test_custom_dates_are_the_typed_ones(make_app: Any, monkeypatch, packs) -> None:
    app = make_app(MEMNUN_TIMEZONE="Europe/Istanbul")
    client = _viewer(app, monkeypatch, dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC))
    assert _post(client, period="custom", start="2025-03-01", last="2025-03-31",
                 compare="previous").status_code == 200
    assert (packs[-1].start, packs[-1].last) == (D(2025, 3, 1), D(2025, 3, 31))
    # A custom period is compared with as many days just before it, or a year before.
    assert (packs[-1].compared_start, packs[-1].compared_last) == (D(2025, 1, 29),
                                                                    D(2025, 2, 28))
    assert _post(client, period="custom", start="2025-03-01", last="2025-03-31",
                 compare="last-year").status_code == 200
    assert (packs[-1].compared_start, packs[-1].compared_last) == (D(2024, 3, 1),
                                                                    D(2024, 3, 31))
    # A form sent without a shortcut (a script, a page from before shortcuts) is custom.
    assert _post(client, start="2025-05-01", last="2025-05-31").status_code == 200
    assert (packs[-1].start, packs[-1].last) == (D(2025, 5, 1), D(2025, 5, 31))


@pytest.mark.parametrize(("fields", "message"), [
    ({"period": "custom", "start": "2025-02-30", "last": "2025-03-31"}, "Not a valid date"),
    ({"period": "custom", "start": "", "last": "2025-03-31"}, "This field is required"),
    ({"period": "custom", "start": "2025-04-01", "last": "2025-03-31"},
     "cannot end before it starts"),
    ({"period": "custom", "start": "0001-01-01", "last": "0001-12-31", "compare": "last-year"},
     "between the years 1900 and 2999"),
    ({"period": "custom", "start": "9999-12-01", "last": "9999-12-31"},
     "between the years 1900 and 2999"),
    ({"period": "next-decade"}, "Not a valid choice"),
    ({"period": "this-month", "compare": "tomorrow"}, "Not a valid choice"),
])
def test_bad_dates_are_a_form_error(make_app: Any, monkeypatch, packs, fields: dict[str, str],
                                    message: str) -> None:
    app = make_app(MEMNUN_TIMEZONE="Europe/Istanbul")
    client = _viewer(app, monkeypatch, dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC))
    response = _post(client, **fields)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and 'class="error"' in page, re.findall(r'class="error"[^<]*<', page)
    assert not packs


def test_a_shortcut_works_whatever_the_date_fields_hold(make_app: Any, monkeypatch,
                                                        packs) -> None:
    """Without JavaScript nothing fills the dates in: a chosen shortcut needs none of them."""
    app = make_app(MEMNUN_TIMEZONE="Europe/Istanbul")
    client = _viewer(app, monkeypatch, dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC))
    response = _post(client, period="last-month", start="not a date", last="")
    assert response.status_code == 200
    assert (packs[-1].start, packs[-1].last) == (D(2026, 11, 1), D(2026, 11, 30))
