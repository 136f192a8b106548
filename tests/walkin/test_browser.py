"""Walk-in visitors and the satisfaction team in a real Chromium: a visitor opens a poster's QR
link on a 360-pixel phone and answers, and a second answer from the same phone the same day is
refused kindly; a burst of answers is held, out of the figures, until a person accepts it; every
walk-in page passes axe-core. Screenshots go to $MEMNUN_SCREENSHOTS (default: the temp folder).

One app on SQLite serves the module; the database's part is tested over HTTP on both."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import IMPACTS, RUN_AXE, log_in, watched_page
from tests.support.factories import make_user
from tests.support.server import LiveServer
from tests.support.walkin import make_point, walk_ins

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(os.environ.get("MEMNUN_SCREENSHOTS", tempfile.gettempdir()))
SMALL_TARGETS = """() => Array.from(document.querySelectorAll(
    "button, .scale-option label, .choice, .languages a, .languages .current"))
  .filter(e => e.getClientRects().length && !e.closest("[hidden]"))
  .map(e => ({what: e.outerHTML.slice(0, 70), box: e.getBoundingClientRect()}))
  .filter(t => t.box.width < 44 || t.box.height < 44)
  .map(t => `${t.what} is ${Math.round(t.box.width)} x ${Math.round(t.box.height)}`)"""
_points = iter(range(1, 1000))


def _point(site: LiveServer, name: str = "Merkez Çözüm Merkezi, 1. masa") -> tuple[int, str]:
    number = next(_points)
    return make_point(site.app, code=f"DESK-{number}", name=name)


def _answer(page: Any, overall: int = 4) -> None:
    page.check(f"#q-overall-{overall - 1}")
    page.check("#q-done-0")
    page.click("button.send")


def test_a_visitor_answers_on_a_phone_and_a_second_answer_is_refused(site, browser) -> None:
    point_id, code = _point(site)
    with watched_page(browser, locale="tr-TR") as page:
        assert page.goto(f"{site.url}/w/{code}").status == 200
        assert page.locator("html").get_attribute("lang") == "tr"
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
        page.screenshot(path=str(SCREENSHOTS / "walkin-survey-360.png"), full_page=True)
        # The same phone, a second tab on the same poster, left open before answering.
        second = page.context.new_page()
        second.goto(f"{site.url}/w/{code}")
        page.fill("#q-comment", "Sıra kısaydı, teşekkürler.")
        _answer(page)
        page.wait_for_url(f"{site.url}/w/thanks")
        assert "teşekkür" in page.inner_text("main").lower()
        page.screenshot(path=str(SCREENSHOTS / "walkin-thanks-360.png"), full_page=True)
        _answer(second, 1)
        second.wait_for_load_state()
        assert "bugün zaten yanıt verdiniz" in second.inner_text("h1").lower()
        second.screenshot(path=str(SCREENSHOTS / "walkin-refused-360.png"), full_page=True)
        assert page.goto(f"{site.url}/w/{code}").status == 200  # scanning again: told kindly
        assert "zaten" in page.inner_text("h1")
        assert page.problems == []
    assert [held for _id, held, _reason in walk_ins(site.app, point_id)] == [False]


def test_a_burst_is_held_until_a_person_accepts_it(site, browser) -> None:
    point_id, code = _point(site, "Şube ofisi")
    for phone in range(4):  # four phones in a minute: more than this point ever had
        with watched_page(browser, locale="tr-TR", user_agent=f"Phone {phone}") as page:
            page.goto(f"{site.url}/w/{code}")
            _answer(page, 5)
            page.wait_for_url(f"{site.url}/w/thanks")
    # Held: kept, and out of every figure (the rollups and analytics leave ``held`` out).
    assert [(held, reason) for _id, held, reason in walk_ins(site.app, point_id)] == \
        [(True, "burst")] * 4
    password = make_user(site.app, "ekip@example.org", "designer")
    with watched_page(browser, locale="tr-TR", viewport={"width": 1280, "height": 900}) as page:
        log_in(page, site.url, "ekip@example.org", password)
        page.goto(f"{site.url}/walk-in/held")
        page.screenshot(path=str(SCREENSHOTS / "walkin-held-tr.png"), full_page=True)
        page.get_by_role("button", name="Şube ofisi").first.click()
        page.wait_for_url(f"{site.url}/walk-in/held")
        assert page.problems == []
    assert [held for _id, held, _reason in walk_ins(site.app, point_id)] == [False] * 4


def test_the_staff_pages_in_english(site, browser) -> None:
    point_id, _code = _point(site, "Branch office, desk 2")
    password = make_user(site.app, "team@example.org", "designer")
    with watched_page(browser, locale="en-GB", viewport={"width": 1280, "height": 900}) as page:
        log_in(page, site.url, "team@example.org", password)
        page.goto(f"{site.url}/walk-in/points")
        page.screenshot(path=str(SCREENSHOTS / "walkin-points-en.png"), full_page=True)
        page.goto(f"{site.url}/walk-in/points/{point_id}")
        page.screenshot(path=str(SCREENSHOTS / "walkin-point-en.png"), full_page=True)
        page.goto(f"{site.url}/walk-in/points/{point_id}/poster")
        page.screenshot(path=str(SCREENSHOTS / "walkin-poster.png"), full_page=True)
        page.goto(f"{site.url}/walk-in/points/{point_id}/card")
        page.screenshot(path=str(SCREENSHOTS / "walkin-card.png"), full_page=True)
        assert page.problems == []


# --- accessibility --------------------------------------------------------------------------


def _survey(site: LiveServer, page: Any) -> None:
    page.goto(f"{site.url}/w/{_point(site)[1]}")


def _survey_in_dutch(site: LiveServer, page: Any) -> None:
    page.goto(f"{site.url}/w/{_point(site)[1]}?lang=nl")


def _with_errors(site: LiveServer, page: Any) -> None:
    _survey(site, page)
    page.click("button.send")
    page.wait_for_selector(".error-summary")


def _thanks(site: LiveServer, page: Any) -> None:
    _survey(site, page)
    _answer(page)
    page.wait_for_url(f"{site.url}/w/thanks")


def _answered(site: LiveServer, page: Any) -> None:
    code = _point(site)[1]
    page.goto(f"{site.url}/w/{code}")
    _answer(page)
    page.wait_for_url(f"{site.url}/w/thanks")
    page.goto(f"{site.url}/w/{code}")


def _ended(site: LiveServer, page: Any) -> None:
    from app.extensions import db
    from app.models import ServicePoint
    from app.walkin.services import regenerate

    point_id, code = _point(site)
    with site.app.app_context():
        regenerate(db.session.get(ServicePoint, point_id), "test")
    assert page.goto(f"{site.url}/w/{code}").status == 410


def _unknown(site: LiveServer, page: Any) -> None:
    assert page.goto(f"{site.url}/w/1-AAAAAAAAAAAAAAAA").status == 404


PAGES: dict[str, Callable[[LiveServer, Any], None]] = {
    "survey in Turkish": _survey,
    "survey in Dutch": _survey_in_dutch,
    "survey with errors": _with_errors,
    "thank you": _thanks,
    "already answered today": _answered,
    "code no longer in use (410)": _ended,
    "unknown code (404)": _unknown,
}


@pytest.mark.parametrize("name", list(PAGES))
def test_walk_in_page_is_accessible_on_a_small_phone(site, browser, axe, name) -> None:
    with watched_page(browser, locale="tr-TR") as page:
        page.context.add_init_script(script=axe)
        PAGES[name](site, page)
        violations = [v for v in page.evaluate(RUN_AXE) if v["impact"] in IMPACTS]
        assert violations == [], f"{name}: axe-core found {violations}"
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= 360, f"{name}: scrolls sideways at 360 px ({width} px wide)"
        assert page.evaluate(SMALL_TARGETS) == [], f"{name}: touch targets under 44 px"
        assert page.problems == []
