"""Every staff page in Chromium, as an admin working in Turkish: axe-core finds no serious or
critical violation (the respondent's pages have their own test, tests/respond/test_a11y.py).
The pages come from the URL map (tests/support/staff_pages.py), with real ids from a small
dataset, and the five dashboards. Screenshots of each page go to $MEMNUN_SCREENSHOTS when set.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import (
    IMPACTS,
    RUN_AXE,
    axe_source,
    log_in,
    served_sqlite_app,
    watched_page,
)
from tests.support.factories import make_user
from tests.support.server import LiveServer
from tests.support.staff_pages import DASH_PAGES, build_dataset, staff_pages

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
SCREENSHOTS = os.environ.get("MEMNUN_SCREENSHOTS")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, list[str]]]:
    with served_sqlite_app(tmp_path_factory.mktemp("staff-a11y")) as live:
        values = build_dataset(live.app)
        make_user(live.app, "admin@example.org", "admin", PASSWORD)
        yield live, staff_pages(live.app, values) + DASH_PAGES


def _settle(page: Any, path: str) -> None:
    if path.startswith("/dashboards/"):  # drawn by the Dash renderer after the first answer
        page.wait_for_selector("#page h1", timeout=30_000)
        page.wait_for_load_state("networkidle")


def test_every_staff_page_has_no_serious_or_critical_violation(site, browser) -> None:
    live, paths = site
    found: dict[str, Any] = {}
    with watched_page(browser, locale="tr-TR", viewport={"width": 1280, "height": 900}) as page:
        page.context.add_init_script(script=axe_source())
        log_in(page, live.url, "admin@example.org", PASSWORD)
        for path in paths:
            response = page.goto(f"{live.url}{path}")
            assert response is not None and response.status == 200, path
            _settle(page, path)
            violations = [v for v in page.evaluate(RUN_AXE) if v["impact"] in IMPACTS]
            if violations:
                found[path] = violations
            if SCREENSHOTS:
                name = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"
                page.screenshot(path=str(Path(SCREENSHOTS) / f"tr-{name}.png"), full_page=True)
    assert len(paths) > 20
    assert found == {}, "\n".join(f"{p}: {v}" for p, v in found.items())
