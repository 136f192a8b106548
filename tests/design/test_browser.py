"""The designer in a real Chromium: log in, create a questionnaire from a template, edit a
question (Turkish and English text, a condition), see a validation error next to its field,
preview in Turkish and English, and publish.

Skips when /usr/bin/chromium (or Playwright) is missing, except in CI (CI=true), where that
is a failure: the test must run there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from app.design.services import (
    get_version,
    new_draft,
    published_version,
)
from app.extensions import db
from app.models import VersionStatus
from tests.support.browser import launch_chromium, log_in
from tests.support.database import BROWSER_ON_SQLITE
from tests.support.factories import make_user
from tests.support.server import serve

pytestmark = [pytest.mark.browser, BROWSER_ON_SQLITE]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as launched:
        yield launched


def test_create_edit_preview_and_publish(installed: Flask, browser: Any) -> None:
    password = make_user(installed, "designer@example.org", "designer")
    with serve(installed) as live:
        context = browser.new_context(locale="en-GB", viewport={"width": 1200, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        script_errors: list[str] = []
        page.on("pageerror", lambda error: script_errors.append(str(error)))

        log_in(page, live.url, "designer@example.org", password)

        # Create from a template.
        page.goto(f"{live.url}/admin/questionnaires/")
        page.click("text=New from a template")
        page.select_option("#template", "post-resolution.yaml")
        page.fill("#key", "after-care")
        page.fill("#title_tr", "Bakım sonrası anket")
        page.fill("#title_en", "After-care survey")
        page.click("#create")
        edit_url = f"{live.url}/admin/questionnaires/after-care/versions/1/edit"
        page.wait_for_url(edit_url)
        assert page.locator("ol.question-list > li").count() == 7

        # Edit a question: its text in Turkish and English, and a condition with a mistake.
        page.click("#question-clarity a:has-text('Edit')")
        page.wait_for_url(re.compile(r".*/questions/clarity$"))
        # designer.js shows the parts a rating uses and hides those it does not.
        expect(page.locator("#field-labels")).to_be_visible()
        expect(page.locator("#field-options")).to_be_hidden()
        page.fill("#text_tr", "Aldığınız yanıt açık mıydı?")
        page.fill("#text_en", "Was the answer you got clear?")
        page.fill("#show_if", 'resolved = "yes"')
        page.click("#save")
        error = page.locator("#field-show_if .field-errors")
        assert "a single '=' is not a comparison; write '=='" in error.inner_text()
        assert page.locator("#show_if").get_attribute("aria-invalid") == "true"
        assert page.locator("#field-text .field-errors").count() == 0
        # What was typed is still there.
        assert page.input_value("#text_tr") == "Aldığınız yanıt açık mıydı?"
        assert page.input_value("#text_en") == "Was the answer you got clear?"
        page.fill("#show_if", 'resolved == "yes"')
        page.click("#save")
        page.wait_for_url(f"{edit_url}#question-clarity")
        assert 'resolved == "yes"' in page.locator("#question-clarity").inner_text()

        # Preview in Turkish, with the condition live, then in English.
        page.click(".preview-links a.preview-tr")
        assert page.locator("h1").inner_text() == "Bakım sonrası anket"
        assert page.locator("#q-clarity-block legend").inner_text().endswith(
            "Aldığınız yanıt açık mıydı?")
        # survey.js hides it once it has run; expect() waits for that, a bare check may not.
        expect(page.locator("#q-clarity-block")).to_be_hidden()
        page.check("#q-resolved-0")  # yes
        expect(page.locator("#q-clarity-block")).to_be_visible()
        assert page.locator("button.send").is_disabled()
        page.click("nav.languages a[hreflang=en]")
        page.wait_for_url(re.compile(r".*/preview\?lang=en$"))
        assert page.locator("h1").inner_text() == "After-care survey"
        assert "Was the answer you got clear?" in page.locator("#q-clarity-block").inner_text()

        # Publish, after the confirmation.
        page.click(".preview-banner a:has-text('Edit the draft')")
        page.wait_for_url(edit_url)
        page.click("text=Publish…")
        assert page.locator("h1").inner_text() == "Publish version 1"
        assert "After-care survey" in page.locator("p.lead").inner_text()
        page.click("input[type=submit][value='Publish version 1']")
        page.wait_for_url(f"{live.url}/admin/questionnaires/after-care/versions/1")
        assert "Version 1 is published" in page.locator(".flash").inner_text()
        context.close()

    assert script_errors == []
    with installed.app_context():
        db.session.expire_all()
        version = published_version("after-care")
        assert version is not None and version.number == 1
        clarity = next(q for q in version.definition["questions"] if q["key"] == "clarity")
        assert clarity["text"]["tr"] == "Aldığınız yanıt açık mıydı?"
        assert clarity["text"]["en"] == "Was the answer you got clear?"
        assert clarity["show_if"] == 'resolved == "yes"'
        assert get_version("after-care", 1).status == VersionStatus.PUBLISHED


def test_drag_a_question_into_a_new_order(installed: Flask, browser: Any) -> None:
    with installed.app_context():
        new_draft(published_version("post-resolution").questionnaire)
    password = make_user(installed, "designer@example.org", "designer")
    with serve(installed) as live:
        page = browser.new_page(locale="en-GB")
        log_in(page, live.url, "designer@example.org", password)
        edit_url = f"{live.url}/admin/questionnaires/post-resolution/versions/2/edit"
        page.goto(edit_url)
        with page.expect_navigation():  # the new order is posted, then the page comes back
            page.drag_and_drop("#question-courtesy", "#question-timeliness")
        order = page.eval_on_selector_all("ol.question-list > li",
                                          "items => items.map(i => i.dataset.key)")
        assert order[:4] == ["overall", "resolved", "courtesy", "timeliness"]
        # A drop that would put a condition before what it reads is refused by the server.
        with page.expect_navigation():
            page.drag_and_drop("#question-improve", "#question-overall")
        assert "The questions cannot go in that order" in page.locator(".flash").inner_text()
        page.close()
    with installed.app_context():
        db.session.expire_all()
        keys = [q["key"] for q in get_version("post-resolution", 2).definition["questions"]]
        assert keys[:4] == ["overall", "resolved", "courtesy", "timeliness"]
        assert keys[-1] == "improve"


def test_enter_in_a_field_saves_the_question(installed: Flask, browser: Any) -> None:
    with installed.app_context():
        new_draft(published_version("post-resolution").questionnaire)
    password = make_user(installed, "designer@example.org", "designer")
    with serve(installed) as live:
        page = browser.new_page(locale="en-GB")
        log_in(page, live.url, "designer@example.org", password)
        page.goto(f"{live.url}/admin/questionnaires/post-resolution/versions/2/questions/courtesy")
        page.fill("#attribute", "staff_courtesy")
        page.press("#attribute", "Enter")  # not "More option rows", the first button in the form
        page.wait_for_url(re.compile(r".*/versions/2/edit#question-courtesy$"))
        page.close()
    with installed.app_context():
        db.session.expire_all()
        courtesy = next(q for q in get_version("post-resolution", 2).definition["questions"]
                        if q["key"] == "courtesy")
        assert courtesy["attribute"] == "staff_courtesy"
