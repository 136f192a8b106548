"""The satisfaction team plans, previews and starts a campaign in a real Chromium, in English
and Turkish (axe-core: no serious or critical violation); the person sampled answers on a
360-pixel-wide phone. Screenshots go to $MEMNUN_SCREENSHOTS (a temporary folder without)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.distribution.dispatcher import dispatch_due
from app.distribution.tokens import token_for
from app.extensions import db
from app.models import Invitation, Response, ResponseSource, ServiceEvent
from tests.support.browser import (
    RUN_AXE,
    axe_source,
    launch_chromium,
    log_in,
    watched_page,
)
from tests.support.campaigns import serve
from tests.support.database import BROWSER_ON_SQLITE
from tests.support.distribution import make_questionnaire
from tests.support.factories import make_user
from tests.support.server import serve as serve_app

pytestmark = [pytest.mark.browser, BROWSER_ON_SQLITE]
DESK = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 780}
LOCALES = {"en": "en-GB", "tr": "tr-TR"}
TODAY = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as launched:
        yield launched


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = os.environ.get("MEMNUN_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path
    path.mkdir(parents=True, exist_ok=True)
    return path


def _check(page: Any, what: str) -> None:
    page.evaluate(axe_source())
    violations = page.evaluate(RUN_AXE)
    assert not violations, f"{what}: {violations}"
    assert not page.problems, f"{what}: {page.problems}"


def _shot(page: Any, path: Path) -> None:
    """A full-page screenshot with nothing focused. Playwright takes it by making the viewport
    as tall as the page and back; Chromium then scrolls to keep a focused text or number field
    in view (scrollY 104 to 352 on the Turkish campaign form) and jumps back at the next focus
    change, which is the mousedown of the next click: the button moved away under the mouse,
    and the click was lost. A person takes no such screenshot; the page itself never scrolls."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.screenshot(path=path, full_page=True)


@pytest.mark.parametrize("language", ["en", "tr"])
def test_plan_preview_start_and_answer(app: Flask, browser: Any, shots: Path,
                                       language: str) -> None:
    password = make_user(app, "designer@example.org", "designer")
    with app.app_context():
        make_questionnaire("visit")
        serve(30, "north")
        serve(12, "south", language="en")
        db.session.query(ServiceEvent).update(
            {ServiceEvent.occurred_at: TODAY - dt.timedelta(days=20)})
        db.session.commit()
    with serve_app(app) as live, watched_page(browser, viewport=DESK,
                                              locale=LOCALES[language]) as page:
        log_in(page, live.url, "designer@example.org", password)
        page.goto(f"{live.url}/admin/campaigns")
        page.click(".button.primary")
        page.fill("#key", "autumn")
        page.fill("#name", "Autumn visits")
        page.fill("#served_from", (TODAY - dt.timedelta(days=30)).date().isoformat())
        page.fill("#served_until", (TODAY - dt.timedelta(days=1)).date().isoformat())
        page.fill("#margin_points", "15")
        page.fill("#response_rate_percent", "40")
        _check(page, "new campaign")
        _shot(page, shots / f"campaign-new-{language}.png")
        page.click("form.stack [type=submit]")
        page.wait_for_url(f"{live.url}/admin/campaigns/autumn")
        _check(page, "preview")
        _shot(page, shots / f"campaign-preview-{language}.png")
        page.click("main form [type=submit]")
        page.wait_for_url(f"{live.url}/admin/campaigns/autumn")
        assert page.locator(".flash").count() == 1
        _check(page, "progress")
        _shot(page, shots / f"campaign-progress-{language}.png")
        with app.app_context():
            assert dispatch_due().sent == 42  # into the file outbox
            invitation_id = db.session.scalar(select(Invitation.id).order_by(Invitation.id))
            token = token_for(invitation_id)
        with watched_page(browser, viewport=PHONE, locale=LOCALES[language]) as phone:
            phone.goto(f"{live.url}/s/{token}")
            _check(phone, "survey")
            _shot(phone, shots / f"campaign-survey-{language}.png")
            phone.locator("input[name=overall][value='4']").check()
            phone.click("form.survey button.send")
            phone.wait_for_url(f"{live.url}/s/thanks*")
    with app.app_context():
        assert db.session.scalar(select(Response.source)) == ResponseSource.CAMPAIGN
