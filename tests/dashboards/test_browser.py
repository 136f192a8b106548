"""The dashboards in a real Chromium: log in through the form, open every page, change a filter
and see the figures change (and the URL follow), live refresh, the language switch, and one
figure checked against the metrics API and the analytics function for the same filter.

Skips when Chromium is missing, except in CI (CI=true), where that is a failure. One browser for
the module; each test has its own context (cookies).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from app.analytics.filters import Filters
from app.analytics.overview import overview_of
from app.analytics.tree import unit_tree
from tests.support.browser import launch_chromium, log_in
from tests.support.database import BROWSER_ON_SQLITE
from tests.support.datasets.generated import END, START
from tests.support.factories import make_user
from tests.support.server import serve

PERIOD = "from=2024-10-01&to=2025-03-31"  # START to END (UTC)
PASSWORD = "correct horse battery"
# Each page, and an element whose text holds its figures.
PAGES = {
    "": "#kpis", "drill": "#drill-table", "complaints": "#link-table",
    "survey": "#survey-summary", "operations": "#ops-funnel",
}

pytestmark = [pytest.mark.browser, BROWSER_ON_SQLITE]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture
def app(make_app):  # type: ignore[no-untyped-def]
    return make_app(MEMNUN_TIMEZONE="UTC", MEMNUN_DASHBOARD_REFRESH_SECONDS=2)


@pytest.fixture
def server_errors(app) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """Errors the app logs (an exception in a callback) while the test runs."""
    found: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            found.append(record.getMessage())

    handler = Keep(level=logging.ERROR)
    app.logger.addHandler(handler)
    yield found
    app.logger.removeHandler(handler)


@pytest.fixture
def page(browser, app, server_errors):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="en-GB", viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    tab.on("response", lambda r: problems.append(f"{r.status} {r.url}")
           if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    yield tab
    context.close()
    assert problems == [], problems
    assert server_errors == [], server_errors


def choose(page, dropdown: str, label: str) -> None:  # type: ignore[no-untyped-def]
    """Pick ``label`` in a Dash dropdown, as a person does: open it, click the option."""
    page.click(f"#{dropdown}")
    page.locator("[role=option]", has_text=label).first.click()


def text_of(page, selector: str) -> str:  # type: ignore[no-untyped-def]
    return page.locator(selector).text_content() or ""


def wait_for_figures(page, selector: str) -> str:  # type: ignore[no-untyped-def]
    """The text of ``selector`` once a callback has filled it."""
    page.wait_for_function(
        "s => (document.querySelector(s)?.textContent || '').trim().length > 0", arg=selector)
    page.wait_for_load_state("networkidle")
    return text_of(page, selector)


def wait_for_change(page, selector: str, before: str) -> str:  # type: ignore[no-untyped-def]
    page.wait_for_function(
        "([s, old]) => (document.querySelector(s)?.textContent || '') !== old",
        arg=[selector, before])
    page.wait_for_load_state("networkidle")
    return text_of(page, selector)


def test_every_page_follows_a_filter(app, data, page) -> None:
    make_user(app, "v@example.org", role="designer", password=PASSWORD)
    with serve(app) as live:
        log_in(page, live.url, "v@example.org", PASSWORD)
        for path, figures in PAGES.items():
            page.goto(f"{live.url}/dashboards/{path}?{PERIOD}")
            before = wait_for_figures(page, figures)
            assert page.locator("nav.pages a.current").count() == 1
            choose(page, "unit", "Unit solo")
            after = wait_for_change(page, figures, before)
            assert after != before, path
            assert "unit=solo" in page.url, path  # the view can be shared by its address
        # The drill-down: clicking a box narrows the filters (and so every chart).
        page.goto(f"{live.url}/dashboards/drill?{PERIOD}")
        wait_for_figures(page, "#drill-table")
        page.locator("#drill-tree text.slicetext", has_text="Unit org").first.click(force=True)
        page.wait_for_url(re.compile(r".*unit=org.*"))
        # Live refresh: the time of the last update moves on by itself.
        status = wait_for_figures(page, "#drill-status")
        assert wait_for_change(page, "#drill-status", status) != status
        # The language switch keeps the view.
        page.click("form.language button[value=tr]")
        page.wait_for_load_state("networkidle")
        assert page.locator("html").get_attribute("lang") == "tr"
        assert "unit=org" in page.url


def test_a_figure_matches_the_metrics_api_and_the_analytics(app, data, page) -> None:
    from app.auth.services import create_api_key
    from app.models import ApiScope

    make_user(app, "v@example.org", role="viewer", password=PASSWORD)
    with app.app_context():
        _, key = create_api_key("browser-test", [ApiScope.READ])
    with serve(app) as live:
        log_in(page, live.url, "v@example.org", PASSWORD)
        page.goto(f"{live.url}/dashboards/?{PERIOD}&unit=a")
        shown = {"a": _csat_card(page)}
        choose(page, "unit", "Unit b1")
        page.wait_for_url(re.compile(r".*unit=b1.*"))
        shown["b1"] = _csat_card(page, shown["a"])
        for code, text in shown.items():
            api = page.request.get(f"{live.url}/api/v1/metrics?from=2024-10-01&to=2025-04-01"
                                   f"&unit={code}", headers={"Authorization": f"Bearer {key}"})
            assert api.ok, api.text()
            csat = api.json()["groups"][0]["csat"]
            with app.app_context():
                units = unit_tree()
                expected = overview_of(Filters(START, END, unit_ids=units.below(
                    [units.by_code(code)])), 5).csat
            assert expected.value == pytest.approx(csat["value"])
            assert text == f"{expected.value * 100:.1f}%", code


def _csat_card(page, before: str | None = None) -> str:  # type: ignore[no-untyped-def]
    selector = "#kpi-csat .kpi-value"
    if before is None:
        return wait_for_figures(page, selector)
    return wait_for_change(page, selector, before)


def test_the_review_pack_opens_offline_with_its_charts(app, data, browser, tmp_path) -> None:
    """The HTML pack, saved to a file and opened with the network off: nothing is fetched,
    and every chart is drawn (SVG with a size), not a broken placeholder."""
    import datetime as dt

    from app.models.types import utcnow
    from app.reports.pack import build_pack
    from app.reports.render import pack_html

    with app.test_request_context(headers={"Accept-Language": "en"}):
        html = pack_html(build_pack(dt.date(2024, 10, 1), dt.date(2025, 3, 31), None, "all",
                                    generated_at=utcnow()))
    saved = tmp_path / "pack.html"
    saved.write_text(html, encoding="utf-8")
    context = browser.new_context(offline=True)
    try:
        tab = context.new_page()
        fetched: list[str] = []
        tab.on("request", lambda request: fetched.append(request.url))
        tab.goto(saved.as_uri())
        sizes = tab.eval_on_selector_all(
            "svg.chart", "charts => charts.map(c => c.getBoundingClientRect().height)")
    finally:
        context.close()
    assert [url for url in fetched if not url.startswith("file:")] == []
    assert len(sizes) >= 4 and all(height > 50 for height in sizes)


def test_a_period_shortcut_is_in_the_url_and_a_copied_link_shows_the_same_view(
        app, data, page, browser) -> None:
    import datetime as dt

    today = dt.datetime.now(dt.UTC).date()
    make_user(app, "v@example.org", role="viewer", password=PASSWORD)
    with serve(app) as live:
        log_in(page, live.url, "v@example.org", PASSWORD)
        page.goto(f"{live.url}/dashboards/drill?unit=a")
        wait_for_figures(page, "#drill-table")
        assert page.input_value("#period-end") == f"{today:%d.%m.%Y}"  # live: runs to today
        choose(page, "shortcut", "This month")
        page.wait_for_url(re.compile(r".*period=this-month.*"))
        assert page.input_value("#period-start") == f"{today.replace(day=1):%d.%m.%Y}"
        choose(page, "compare", "Same days last year")
        page.wait_for_url(re.compile(r".*compare=last-year.*"))
        page.wait_for_function(
            "y => (document.querySelector('#drill-status')?.textContent || '')"
            ".split('Changes against')[1]?.includes(y)", arg=str(today.year - 1))
        shared = page.url
        assert "unit=a" in shared and "from=" not in shared  # a shortcut moves with the day
        # Someone else opens the copied link: the same view.
        other = browser.new_context(locale="en-GB", viewport={"width": 1400, "height": 1000})
        try:
            tab = other.new_page()
            log_in(tab, live.url, "v@example.org", PASSWORD)
            tab.goto(shared)
            assert wait_for_figures(tab, "#drill-table") == wait_for_figures(page, "#drill-table")
            assert tab.input_value("#period-start") == f"{today.replace(day=1):%d.%m.%Y}"
            assert tab.locator("#compare").text_content() == "Same days last year"
        finally:
            other.close()
        # Dates changed by hand make the period custom, kept as dates.
        page.fill("#period-start", "01.10.2024")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r".*from=2024-10-01.*"))
        assert page.locator("#shortcut").text_content() == "Custom dates"


def test_a_survey_answered_now_shows_on_the_default_overview_at_the_next_refresh(
        app, page, browser) -> None:
    from tests.support.respond import invite

    make_user(app, "v@example.org", role="viewer", password=PASSWORD)
    invited = invite(app, external_id="LIVE-1")
    with serve(app) as live:
        log_in(page, live.url, "v@example.org", PASSWORD)
        page.goto(f"{live.url}/dashboards/")  # no period chosen: the default, live one
        before = wait_for_figures(page, "#kpi-responses .kpi-value")
        phone = browser.new_context(viewport={"width": 360, "height": 740})
        try:
            survey = phone.new_page()
            survey.goto(f"{live.url}/s/{invited.token}")
            survey.check("#q-overall-4")
            survey.check("#q-resolved-0")
            survey.click("button.send")
            survey.wait_for_url(f"{live.url}/s/thanks")
        finally:
            phone.close()
        # No reload: the page's own refresh (every 2 s here) brings the answer in.
        after = wait_for_change(page, "#kpi-responses .kpi-value", before)
        assert int(after.replace(",", "")) == int(before.replace(",", "")) + 1


def test_a_day_grain_over_months_shows_no_spikes(app, data, page) -> None:
    """Six months by day: a few answers a day would draw shares jumping between 0 and 100;
    the trend coarsens instead, and says so."""
    make_user(app, "v@example.org", role="viewer", password=PASSWORD)
    with serve(app) as live:
        log_in(page, live.url, "v@example.org", PASSWORD)
        page.goto(f"{live.url}/dashboards/?{PERIOD}&by=day")
        status = wait_for_figures(page, "#status")
        assert re.search(r"Too few responses per day: the trend is shown by (week|month)\.",
                         status), status
        traces = page.evaluate(
            "Array.from(document.querySelector('#trend .js-plotly-plot').data,"
            " t => ({name: t.name, x: t.x, y: t.y}))")
    csat = next(trace for trace in traces if trace["name"] == "CSAT (%)")
    assert len(csat["x"]) <= 27  # weeks or months of the six months, not 182 days
    shares = [v for trace in traces if trace["name"] in ("Response rate (%)",
                                                         "Resolved on time (%)")
              for v in trace["y"] if v is not None]
    assert shares and not all(v in (0, 100) for v in shares)
