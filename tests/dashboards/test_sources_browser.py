"""The overview's section "Service users and complainants" in a real Chromium, in Turkish and
English: the table fills, the mode filter narrows it and lands in the address, and the warning
about mixed modes goes away once one mode is chosen. Screenshots in /tmp/shots-split/."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.extensions import db
from app.models import ServiceVolume
from tests.support.browser import launch_chromium, log_in
from tests.support.database import BROWSER_ON_SQLITE
from tests.support.datasets.sources import build_mixed
from tests.support.factories import make_user
from tests.support.server import serve

PASSWORD = "correct horse battery"
PERIOD = "from=2025-01-01&to=2025-01-31"
SHOTS = Path("/tmp/shots-split")

pytestmark = [pytest.mark.browser, BROWSER_ON_SQLITE]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture
def app(make_app):  # type: ignore[no-untyped-def]
    app = make_app(MEMNUN_TIMEZONE="UTC", MEMNUN_MIN_GROUP_SIZE=2)
    with app.app_context():
        builder = build_mixed()
        db.session.add(ServiceVolume(unit_id=builder.units["fen"].id,
                                     period_start=dt.date(2025, 1, 1), transactions=2000))
        db.session.commit()
    make_user(app, "v@example.org", role="viewer", password=PASSWORD)
    return app


@pytest.mark.parametrize(("locale", "mode", "mixed"), [
    ("tr-TR", "Telefon görüşmesi", "telefonla verilen yanıtlar"),
    ("en-GB", "Phone interview", "phone answers run higher"),
])
def test_the_section_follows_the_mode_filter(app: Any, browser: Any, locale: str, mode: str,
                                             mixed: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    context = browser.new_context(locale=locale, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        with serve(app) as live:
            log_in(page, live.url, "v@example.org", PASSWORD)
            language = locale[:2]
            page.goto(f"{live.url}/dashboards/?{PERIOD}")
            page.wait_for_selector("#sources-table")
            page.wait_for_load_state("networkidle")
            section = page.locator(".sources-panel")
            assert mixed in (section.text_content() or "").lower()
            assert "Fen" in (page.locator("#sources-table").text_content() or "")
            section.scroll_into_view_if_needed()
            section.screenshot(path=str(SHOTS / f"sources-{language}.png"))
            page.click("#mode")
            page.locator("[role=option]", has_text=mode).first.click()
            page.wait_for_url(lambda url: "mode=phone" in url)
            page.wait_for_function(
                "() => !document.querySelector('#sources-mixed')")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(SHOTS / f"overview-phone-{language}.png"), full_page=True)
    finally:
        context.close()
    assert errors == []
