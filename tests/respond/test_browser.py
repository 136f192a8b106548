"""The respondent's pages in a real Chromium: a Turkish survey answered with the keyboard only on a
360-pixel phone, the one-click answer from the e-mail, opting out, links that no longer work, and
the whole survey with JavaScript off. Skipped without Chromium, except under CI=true.

One app on SQLite serves the module (see tests/support/browser.py): what happens in the browser
does not depend on the database; the database's part is tested over HTTP on both."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.extensions import db
from app.models import Complainant, InvitationState
from tests.support.browser import served_sqlite_app, unique_reference, watched_page
from tests.support.respond import (
    ANSWERED,
    CLOSED,
    DEFINITION,
    answers_of,
    invitation_of,
    invite,
    responses_of,
)
from tests.support.server import LiveServer

pytestmark = pytest.mark.browser

SAVED = "Teşekkür ederiz, yanıtınız kaydedildi."
SCREENSHOTS = Path(os.environ.get("MEMNUN_SCREENSHOTS", tempfile.gettempdir()))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with served_sqlite_app(tmp_path_factory.mktemp("browser")) as live:
        yield live


def focused_id(page: Any) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id") or ""


def tab_to(page: Any, element_id: str, limit: int = 40) -> None:
    """Press Tab until ``element_id`` has the focus (the way a keyboard user gets there)."""
    for _ in range(limit):
        if focused_id(page) == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"#{element_id} cannot be reached with Tab (stuck at {focused_id(page)})")


def no_horizontal_scroll(page: Any, width: int) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth") <= width


def test_a_turkish_survey_answered_with_the_keyboard_only_on_a_phone(site, browser) -> None:
    invited = invite(site.app, external_id=unique_reference())
    with watched_page(browser, viewport={"width": 360, "height": 740}) as page:
        page.goto(f"{site.url}/s/{invited.token}")
        assert page.url == f"{site.url}/s/survey"  # the token is in no address
        assert invited.token not in page.content()
        assert page.locator("html").get_attribute("lang") == "tr"
        assert no_horizontal_scroll(page, 360)
        assert page.locator("#q-why-block").is_hidden()  # shown only for the unsatisfied

        page.locator("body").focus()
        tab_to(page, "q-overall-0")
        # The focus can be seen: the radio's label gets the focus ring.
        outline = page.evaluate(
            "getComputedStyle(document.querySelector('label[for=q-overall-0]')).outlineStyle"
        )
        assert outline == "solid"
        page.keyboard.press("ArrowRight")  # 2 of 5
        assert page.locator("#q-overall-1").is_checked()
        assert page.locator("#q-why-block").is_visible()  # the condition applies at once
        assert page.locator("#q-why-block .condition").is_hidden()  # the script needs no note

        page.keyboard.press("Tab")  # the yes/no group
        assert focused_id(page) == "q-resolved-0"
        page.keyboard.press("ArrowRight")  # "Hayır"
        assert page.locator("#q-resolved-1").is_checked()
        tab_to(page, "q-channels-1")
        page.keyboard.press("Space")
        assert page.locator("#q-channels-1").is_checked()
        tab_to(page, "q-why")
        page.keyboard.type("Üç kez aradım, kimse dönmedi.")
        assert page.locator("#q-why-block .counter").inner_text().startswith("29 / 50")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "button primary send"
        page.keyboard.press("Enter")
        page.wait_for_url(f"{site.url}/s/thanks")
        assert "Teşekkürler, yanıtlarınız bize ulaştı." in page.content()
        assert page.problems == []

    [saved] = responses_of(site.app, invited.invitation_id)
    assert answers_of(saved) == {
        "overall": 2.0,
        "resolved": "no",
        "channels": ["web"],
        "why": "Üç kez aradım, kimse dönmedi.",
    }


def test_a_mistake_is_shown_next_to_its_question_and_the_keyboard_taken_there(
    site, browser
) -> None:
    invited = invite(site.app, external_id=unique_reference())
    with watched_page(browser) as page:
        page.goto(f"{site.url}/s/{invited.token}")
        page.fill("#q-comment", "Bunu kaybetmeyin.")
        page.click("button.send")
        page.wait_for_selector(".error-summary")
        # The summary has the focus, so a screen reader reads it out; its link leads on.
        assert page.evaluate("document.activeElement.className") == "error-summary"
        assert "Lütfen bu soruyu yanıtlayın." in page.locator("#q-overall-error").inner_text()
        assert page.locator("#q-comment").input_value() == "Bunu kaybetmeyin."
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        assert focused_id(page) == "q-overall-0"
        assert page.problems == []
    assert responses_of(site.app, invited.invitation_id) == []


def test_one_click_from_the_email_is_stored_by_the_page_then_completed(site, browser) -> None:
    invited = invite(site.app, external_id=unique_reference())
    with watched_page(browser) as page:
        posts: list[str] = []
        page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
        page.goto(f"{site.url}/s/{invited.token}?overall=4")
        assert page.url == f"{site.url}/s/survey"
        page.wait_for_selector(f"#first-answer-status >> text={SAVED}")
        assert page.locator("form.one-click").is_hidden()
        assert page.locator("#q-overall-3").is_checked()
        [partial] = responses_of(site.app, invited.invitation_id)
        assert answers_of(partial) == {"overall": 4.0}
        assert invitation_of(site.app, invited.invitation_id).state == InvitationState.SENT

        page.reload()  # the answer is stored: nothing is sent again
        assert page.locator("#q-overall-3").is_checked()
        assert page.locator("form.one-click").count() == 0
        assert posts == [f"{site.url}/s/survey?lang=tr"]

        page.check("#q-resolved-0")
        page.click("button.send")
        page.wait_for_url(f"{site.url}/s/thanks")
        assert page.problems == []
    [complete] = responses_of(site.app, invited.invitation_id)
    assert complete.id == partial.id
    assert answers_of(complete) == {"overall": 4.0, "resolved": "yes"}
    assert invitation_of(site.app, invited.invitation_id).state == InvitationState.RESPONDED


def test_opting_out_in_the_browser(site, browser) -> None:
    # An address of its own: opting out cancels every pending survey sent to it.
    invited = invite(site.app, external_id=unique_reference(), email="opt-out@example.com")
    with watched_page(browser) as page:
        page.goto(f"{site.url}/s/{invited.token}")
        page.click("text=Artık anket almak istemiyorum")
        page.wait_for_url(f"{site.url}/s/opt-out?lang=tr")
        with site.app.app_context():  # asking stores nothing
            assert db.session.get(Complainant, invited.complainant_id).opted_out_at is None
        page.click("text=Evet, bana artık anket göndermeyin")
        page.wait_for_url(f"{site.url}/s/opted-out")
        assert "Artık size anket gönderilmeyecek" in page.content()
        # The survey link of the person is closed now.
        closed = page.goto(f"{site.url}/s/{invited.token}")
        assert closed.status == 410 and CLOSED in page.content()
        assert page.problems == []
    with site.app.app_context():
        assert db.session.get(Complainant, invited.complainant_id).opted_out_at is not None
    assert invitation_of(site.app, invited.invitation_id).state == InvitationState.CANCELLED


def test_used_expired_and_unknown_links(site, browser) -> None:
    used = invite(site.app, external_id=unique_reference(), state=InvitationState.RESPONDED)
    expired = invite(site.app, external_id=unique_reference(), state=InvitationState.EXPIRED)
    with watched_page(browser, locale="tr-TR") as page:  # the unknown link: the phone's language
        for token, status, words in (
            (used.token, 200, ANSWERED),
            (expired.token, 410, CLOSED),
            ("N" * 43, 404, "Bu anketi bulamadık"),
        ):
            response = page.goto(f"{site.url}/s/{token}?overall=5")
            assert response.status == status
            assert words in page.content()
            assert page.locator("form").count() == 0
            assert re.search(r"/s/(survey|N{43})", page.url)
        assert page.problems == []


def test_the_survey_with_javascript_off(site, browser) -> None:
    invited = invite(site.app, external_id=unique_reference())
    with watched_page(browser, java_script_enabled=False) as page:
        page.goto(f"{site.url}/s/{invited.token}?overall=1")
        # Nothing is stored by opening the page; a button stores the one-click answer.
        assert responses_of(site.app, invited.invitation_id) == []
        page.click("form.one-click button")
        page.wait_for_selector(f"text={SAVED}")
        assert answers_of(responses_of(site.app, invited.invitation_id)[0]) == {"overall": 1.0}
        # Conditional questions are all shown, each with a note saying when to answer it.
        assert page.locator("#q-why-block").is_visible()
        assert "1. soru ≤ 2" in page.locator("#q-why-block .condition").inner_text()
        assert page.locator("#q-overall-0").is_checked()
        page.check("#q-resolved-1")
        page.fill("#q-why", "Kimse aramadı.")
        page.click("button.send")
        page.wait_for_url(f"{site.url}/s/thanks")
    [saved] = responses_of(site.app, invited.invitation_id)
    assert answers_of(saved) == {"overall": 1.0, "resolved": "no", "why": "Kimse aramadı."}


def _with_a_condition_in_the_middle() -> dict[str, Any]:
    """The test questionnaire with the conditional "why" moved before the last question."""
    questions = {q["key"]: q for q in DEFINITION["questions"]}
    order = ["overall", "resolved", "why", "comment"]
    return {**DEFINITION, "key": "respond-numbering", "questions": [questions[k] for k in order]}


def _numbers(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "form.survey [data-key]:not([hidden]) .number", "nodes => nodes.map(n => n.textContent)")


def test_a_hidden_question_takes_no_number_on_a_phone(site, browser) -> None:
    invited = invite(site.app, external_id=unique_reference(),
                     definition=_with_a_condition_in_the_middle())
    with watched_page(browser, viewport={"width": 360, "height": 740}) as page:
        page.goto(f"{site.url}/s/{invited.token}")
        assert page.locator("#q-why-block").is_hidden()
        assert _numbers(page) == ["1.", "2.", "3."]  # "comment" is the third one seen
        page.check("#q-overall-0")  # 1 of 5: "why" appears, live
        assert page.locator("#q-why-block").is_visible()
        assert _numbers(page) == ["1.", "2.", "3.", "4."]
        assert page.locator("#q-comment-block .number").inner_text() == "4."
        page.check("#q-overall-4")  # 5 of 5: "why" goes again
        assert _numbers(page) == ["1.", "2.", "3."]
        assert page.locator("#q-comment-block .number").inner_text() == "3."
        assert no_horizontal_scroll(page, 360)
        page.screenshot(path=str(SCREENSHOTS / "respond-numbering-phone.png"), full_page=True)
        assert page.problems == []
    with watched_page(browser, java_script_enabled=False) as page:
        # Without the script every question is shown, numbered 1 to 4, the condition in words.
        page.goto(f"{site.url}/s/{invited.token}")
        assert _numbers(page) == ["1.", "2.", "3.", "4."]
        assert page.locator("#q-why-block .condition").is_visible()
