"""The comments explorer and its themes in Chromium: a Turkish-speaking member of the
satisfaction team searches "çöpler" and finds the "çöp" comments, keeps the detractors, opens a
theme, sees its change and frequencies and renames it; the same pages in English. axe-core
finds no serious or critical violation on either. Screenshots under /tmp/themes2-shots/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import (
    IMPACTS,
    RUN_AXE,
    axe_source,
    launch_chromium,
    log_in,
    served_sqlite_app,
    watched_page,
)
from tests.support.comments import search_the_explorer
from tests.support.factories import make_user
from tests.support.server import LiveServer
from tests.support.themes import build_labelled

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("processes")]
SHOTS = Path("/tmp/themes2-shots")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The labelled comments (January and February 2026) in eight themes, over HTTP."""
    from app.scheduler import THEMES, run_job

    with served_sqlite_app(tmp_path_factory.mktemp("themes")) as live:
        live.app.config["MEMNUN_THEMES_COUNT"] = 8
        build_labelled(live.app)
        run_job(THEMES, None, live.app)
        yield live


def _no_serious_violations(page: Any) -> None:
    violations = [v for v in page.evaluate(RUN_AXE) if v["impact"] in IMPACTS]
    assert violations == [], violations


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_the_satisfaction_team_searches_filters_opens_and_renames_a_theme(
        site: LiveServer) -> None:
    password = make_user(site.app, "ekip@example.org", "designer")
    english = make_user(site.app, "team@example.org", "designer")
    with launch_chromium() as browser:
        _in_turkish(browser, site, password)
        _in_english(browser, site, english)


def _in_turkish(browser: Any, site: LiveServer, password: str) -> None:
    with watched_page(browser, locale="tr-TR", viewport={"width": 1280, "height": 900}) as page:
        page.set_default_timeout(15_000)
        page.context.add_init_script(script=axe_source())
        log_in(page, site.url, "ekip@example.org", password)
        shown = search_the_explorer(page, "2026-01-01", "2026-02-28", "çöpler")
        assert len(shown) >= 8, shown
        assert any(text.startswith("Çöp kamyonu") for text in shown)  # "çöp" by "çöpler"
        assert not any("garbage" in text for text in shown)
        page.select_option("#comments-band", "detractors")
        page.click("#comments-form button[type=submit]")
        page.wait_for_selector("#theme-counts")
        _no_serious_violations(page)
        _shot(page, "explorer-tr")
        page.click("#theme-counts tbody tr:first-child th a")
        page.wait_for_selector("#theme-detail")
        assert page.locator("#theme-examples li").count() == 3
        assert page.locator("#theme-by-month tbody tr").count() == 2
        _no_serious_violations(page)
        _shot(page, "theme-tr")
        page.fill("#rename-name", "Çöp toplama")
        page.click("#theme-rename [type=submit]")
        page.wait_for_selector("#theme-detail")
        assert "Çöp toplama" in page.inner_text("#theme-detail-title")
        assert "Çöp toplama" in page.inner_text("#theme-counts")
        assert page.input_value("#comments-band") == "detractors"  # the selection kept
        _shot(page, "renamed-tr")
        assert page.problems == []  # type: ignore[attr-defined]


def _in_english(browser: Any, site: LiveServer, password: str) -> None:
    """The same theme in English: its change against the 28 days before February (axe ran on
    the same page in Turkish: the language changes the words, not the structure)."""
    with watched_page(browser, locale="en-GB", viewport={"width": 1280, "height": 900}) as page:
        page.set_default_timeout(15_000)
        log_in(page, site.url, "team@example.org", password)
        page.goto(f"{site.url}/reports/comments?period=custom&start=2026-02-01"
                  "&last=2026-02-28&band=detractors")
        page.click("#theme-counts tbody tr:first-child th a")
        page.wait_for_selector("#theme-detail")
        assert "Share before" in page.inner_text("#theme-counts")
        assert "points" in page.inner_text("#theme-counts")
        _shot(page, "theme-en")
        assert page.problems == []  # type: ignore[attr-defined]
