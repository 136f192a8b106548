"""The review-pack form in Chromium, in Turkish and in English: choosing a shortcut shows its
dates, typing other dates makes the period custom, and the downloaded pack covers the chosen
shortcut's days; without JavaScript a shortcut still gives its own days. Screenshots of the form
go to ``MEMNUN_SCREENSHOTS`` when it is set."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.analytics.periods import Shortcut, shortcut_days
from app.timefmt import today
from tests.support.browser import launch_chromium, log_in, served_sqlite_app, watched_page
from tests.support.factories import make_user
from tests.support.server import LiveServer

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
DESKTOP = {"width": 1280, "height": 900}
LOCALES = {"tr": "tr-TR", "en": "en-GB"}
#: (the default shortcut's label, the comparison's label, the hint's first words) per language.
WORDS = {"tr": ("Son 12 ay", "Karşılaştırılan dönem", "Özel tarihler dışındaki"),
         "en": ("Last 12 months", "Compare with", "A period other than custom dates")}
SCREENSHOTS = os.environ.get("MEMNUN_SCREENSHOTS")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with served_sqlite_app(tmp_path_factory.mktemp("pack-form")) as live:
        make_user(live.app, "viewer@example.org", "viewer", PASSWORD)
        yield live


def _days(site: LiveServer, shortcut: Shortcut) -> tuple[str, str]:
    with site.app.app_context():
        first, last = shortcut_days(shortcut, today())
    return first.isoformat(), last.isoformat()


def _download(page: Any) -> Any:
    with page.expect_download() as info:
        page.click("#pack-submit")
    return info.value


@pytest.mark.parametrize("language", ["tr", "en"])
def test_the_pack_form_with_its_shortcuts(site: LiveServer, browser: Any, language: str) -> None:
    default, compare, hint = WORDS[language]
    with watched_page(browser, locale=LOCALES[language], viewport=DESKTOP) as page:
        log_in(page, site.url, "viewer@example.org", PASSWORD)
        page.goto(f"{site.url}/reports/")
        assert page.locator("#pack-period option:checked").inner_text() == default
        assert page.locator("label[for=pack-compare]").inner_text() == compare
        assert page.locator("#pack-period-hint").inner_text().startswith(hint)
        assert (page.input_value("#pack-start"), page.input_value("#pack-last")) == _days(
            site, Shortcut.LAST_12_MONTHS)

        page.select_option("#pack-period", "this-month")
        assert (page.input_value("#pack-start"), page.input_value("#pack-last")) == _days(
            site, Shortcut.THIS_MONTH)
        page.fill("#pack-start", "2025-01-01")
        assert page.input_value("#pack-period") == "custom"

        page.select_option("#pack-period", "last-month")
        page.select_option("#pack-compare", "last-year")
        if SCREENSHOTS:
            page.screenshot(path=str(Path(SCREENSHOTS) / f"{language}-pack-form.png"),
                            full_page=True)
        first, last = _days(site, Shortcut.LAST_MONTH)
        download = _download(page)
        assert download.suggested_filename == f"memnun-review-{first}-{last}.html"
        pack = Path(download.path()).read_text(encoding="utf-8")
        assert re.search(r'<span id="compared">[^<]*\d{4}[^<]*</span>', pack)
        assert page.problems == []


def test_a_shortcut_works_without_javascript(site: LiveServer, browser: Any) -> None:
    with watched_page(browser, locale="en-GB", viewport=DESKTOP,
                      java_script_enabled=False) as page:
        log_in(page, site.url, "viewer@example.org", PASSWORD)
        page.goto(f"{site.url}/reports/")
        page.select_option("#pack-period", "this-quarter")
        # Nothing changed the date fields: they still hold the last 12 months.
        assert page.input_value("#pack-start") == _days(site, Shortcut.LAST_12_MONTHS)[0]
        first, last = _days(site, Shortcut.THIS_QUARTER)
        assert _download(page).suggested_filename == f"memnun-review-{first}-{last}.html"
