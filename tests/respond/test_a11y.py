"""Every respondent page in Chromium: axe-core finds no serious or critical violation (WCAG 2.1
AA and best practices), nothing scrolls sideways at 320 px, every touch target is at least
44 x 44 px, and the survey page is light (under 50 KB with its CSS and script) and asks no other
host for anything.

The pages do not depend on the database, so this module serves one SQLite app for all its tests.
axe-core comes from npm (tests/browser/install.sh); it is injected as an init script, which the
pages' Content-Security-Policy does not apply to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from app.models import InvitationState
from tests.support.browser import (
    IMPACTS,
    RUN_AXE,
    axe_source,
    served_sqlite_app,
    unique_reference,
    watched_page,
)
from tests.support.respond import invite
from tests.support.server import LiveServer

pytestmark = pytest.mark.browser

BUDGET = 50 * 1024  # bytes on the wire: the survey page, its CSS and its script
SMALL_TARGETS = """() => Array.from(document.querySelectorAll(
    "button, .scale-option label, .choice, .languages a, .languages .current"))
  .filter(e => e.getClientRects().length && !e.closest("[hidden]"))
  .map(e => ({what: e.outerHTML.slice(0, 70), box: e.getBoundingClientRect()}))
  .filter(t => t.box.width < 44 || t.box.height < 44)
  .map(t => `${t.what} is ${Math.round(t.box.width)} x ${Math.round(t.box.height)}`)"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with served_sqlite_app(tmp_path_factory.mktemp("a11y")) as live:
        yield live


@pytest.fixture(scope="module")
def axe() -> str:
    return axe_source()


def _survey(site: LiveServer, page: Any, query: str = "") -> None:
    invited = invite(site.app, external_id=unique_reference())
    page.goto(f"{site.url}/s/{invited.token}{query}")


def _survey_in_english(site: LiveServer, page: Any) -> None:
    _survey(site, page)
    page.goto(f"{site.url}/s/survey?lang=en")


def _one_click_saved(site: LiveServer, page: Any) -> None:
    _survey(site, page, "?overall=2")
    page.wait_for_selector("#first-answer-status .notice")


def _with_errors(site: LiveServer, page: Any) -> None:
    _survey(site, page, "?lang=tr")
    page.fill("#q-comment", "x" * 201)
    page.click("button.send")
    page.wait_for_selector(".error-summary")


def _thanks(site: LiveServer, page: Any) -> None:
    _survey(site, page, "?overall=5")
    page.check("#q-resolved-0")
    page.click("button.send")
    page.wait_for_url(f"{site.url}/s/thanks")


def _answered(site: LiveServer, page: Any) -> None:
    invited = invite(site.app, external_id=unique_reference(), state=InvitationState.RESPONDED)
    assert page.goto(f"{site.url}/s/{invited.token}").status == 200


def _expired(site: LiveServer, page: Any) -> None:
    invited = invite(site.app, external_id=unique_reference(), state=InvitationState.EXPIRED)
    assert page.goto(f"{site.url}/s/{invited.token}").status == 410


def _unknown(site: LiveServer, page: Any) -> None:
    assert page.goto(f"{site.url}/s/{'K' * 43}").status == 404


def _lost(site: LiveServer, page: Any) -> None:
    assert page.goto(f"{site.url}/s/survey").status == 404


def _opt_out(site: LiveServer, page: Any) -> None:
    # An address of its own: opting out cancels every pending survey sent to it.
    invited = invite(site.app, external_id=unique_reference(), email="a11y-opt-out@example.com")
    page.goto(f"{site.url}/s/{invited.token}/opt-out")
    page.wait_for_selector("form.opt-out")


def _opted_out(site: LiveServer, page: Any) -> None:
    _opt_out(site, page)
    page.click("form.opt-out button")
    page.wait_for_url(f"{site.url}/s/opted-out")


PAGES: dict[str, Callable[[LiveServer, Any], None]] = {
    "survey in Turkish": _survey,
    "survey in English": _survey_in_english,
    "survey with the one-click answer saved": _one_click_saved,
    "survey with errors": _with_errors,
    "thank you": _thanks,
    "already answered (200)": _answered,
    "expired (410)": _expired,
    "unknown link (404)": _unknown,
    "no link cookie (404)": _lost,
    "opt-out confirmation": _opt_out,
    "opted out": _opted_out,
}


@pytest.mark.parametrize("name", list(PAGES))
def test_page_is_accessible_on_a_small_phone(site, browser, axe, name) -> None:
    with watched_page(browser, locale="tr-TR") as page:
        page.context.add_init_script(script=axe)
        PAGES[name](site, page)
        violations = [v for v in page.evaluate(RUN_AXE) if v["impact"] in IMPACTS]
        assert violations == [], f"{name}: axe-core found {violations}"
        page.set_viewport_size({"width": 320, "height": 640})
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= 320, f"{name}: scrolls sideways at 320 px ({width} px wide)"
        assert page.evaluate(SMALL_TARGETS) == [], f"{name}: touch targets under 44 px"
        assert page.problems == []


def test_the_survey_page_is_light_and_asks_no_other_host(site, browser) -> None:
    with watched_page(browser) as page:
        loaded: list[Any] = []
        page.on("requestfinished", lambda request: loaded.append(request))
        _survey(site, page, "?overall=4")  # the one-click answer is posted too
        page.wait_for_selector("#first-answer-status .notice")
        hosts = {urlsplit(request.url).netloc for request in loaded}
        assert hosts == {urlsplit(site.url).netloc}, f"requests to other hosts: {hosts}"
        page_load = [r for r in loaded if r.method == "GET"]
        icons = [r for r in page_load if "favicon" in urlsplit(r.url).path]
        kinds = sorted(r.resource_type for r in page_load if r not in icons)
        assert kinds == ["document", "document", "script", "stylesheet"]  # redirect + page
        assert len(icons) <= 1  # and the site's icon, once
        transferred = 0
        for request in page_load:
            sizes = request.sizes()
            transferred += sizes["responseHeadersSize"] + sizes["responseBodySize"]
        assert transferred < BUDGET, f"the survey page weighs {transferred} bytes"
        assert page.problems == []
