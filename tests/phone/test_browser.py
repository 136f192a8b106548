"""The issue's journey in Chromium: an interviewer works the call list with the keyboard only,
in Turkish (no answer, call back, completed, refused) as the rule allows, and axe-core finds no
serious or critical violation on the call list and the call screen. Screenshots (Turkish and
English) go to /tmp/shots-phone/."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    CallAttempt,
    CallOutcome,
    Invitation,
    InvitationState,
    Response,
    ResponseMode,
    User,
)
from tests.support.browser import (
    IMPACTS,
    RUN_AXE,
    axe_source,
    log_in,
    served_sqlite_app,
    watched_page,
)
from tests.support.factories import make_user
from tests.support.phone import phone_invitation, phone_rule, tab_to
from tests.support.server import LiveServer

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
SHOTS = Path("/tmp/shots-phone")
ISTANBUL = dt.timezone(dt.timedelta(hours=3))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, list[int]]]:
    """Four calls due now under a rule that lets people be called at any hour, every day (so
    the journey does not depend on the time it runs), and two interviewers."""
    with served_sqlite_app(tmp_path_factory.mktemp("phone")) as live:
        make_user(live.app, "arayan@example.org", "admin", PASSWORD)
        make_user(live.app, "caller@example.org", "admin", PASSWORD)
        with live.app.app_context():
            for email, language in (("arayan@example.org", "tr"), ("caller@example.org", "en")):
                db.session.scalar(select(User).where(User.email == email)).language = language
            phone_rule(calling_hours_start="00:00", calling_hours_end="00:00",
                       calling_days=[1, 2, 3, 4, 5, 6, 7])
            now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
            ids = [phone_invitation(now, phone=f"+90 532 100 00 0{n}").id for n in range(4)]
        yield live, ids


def _axe(page: Any) -> list[Any]:
    return [v for v in page.evaluate(RUN_AXE) if v["impact"] in IMPACTS]


def _open_call(page: Any, base: str, invitation_id: int) -> None:
    page.goto(f"{base}/phone/")
    tab_to(page, f'a[href="/phone/{invitation_id}"]')
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/phone/{invitation_id}")


def _record(page: Any, arrows: int) -> None:
    """Choose the call's outcome (the ``arrows``-th after "no answer") and record it."""
    tab_to(page, "#call-outcome-0")
    page.keyboard.press("Space")
    for _ in range(arrows):
        page.keyboard.press("ArrowDown")


def _send(page: Any, selector: str) -> None:
    tab_to(page, selector)
    page.keyboard.press("Enter")
    page.wait_for_url("**/phone/")


def test_an_interviewer_works_the_call_list_with_the_keyboard_in_turkish(site, browser) -> None:
    live, (no_answer, call_back, completed, refused) = site
    SHOTS.mkdir(exist_ok=True)
    found: dict[str, Any] = {}
    with watched_page(browser, locale="tr-TR", viewport={"width": 1280, "height": 900}) as page:
        page.context.add_init_script(script=axe_source())
        log_in(page, live.url, "arayan@example.org", PASSWORD)
        page.goto(f"{live.url}/phone/")
        found["list"] = _axe(page)
        page.screenshot(path=str(SHOTS / "tr-list.png"), full_page=True)

        _open_call(page, live.url, no_answer)
        found["screen"] = _axe(page)
        page.screenshot(path=str(SHOTS / "tr-call.png"), full_page=True)
        _record(page, 0)
        _send(page, ".call-form button[type=submit]")

        _open_call(page, live.url, call_back)
        _record(page, 2)
        tomorrow = (dt.datetime.now(ISTANBUL) + dt.timedelta(days=1)).strftime("%Y-%m-%d")
        tab_to(page, "#call-call_back_day")
        page.keyboard.type(tomorrow)
        page.keyboard.press("Tab")
        page.keyboard.type("11:00")
        _send(page, ".call-form button[type=submit]")

        _open_call(page, live.url, completed)
        tab_to(page, "#q-overall-0")
        for _ in range(3):
            page.keyboard.press("ArrowRight")  # 4 of 5
        tab_to(page, "#q-comment")
        page.keyboard.type("Telefonla yanıtladım.")
        _send(page, ".interview button[type=submit]")

        _open_call(page, live.url, refused)
        _record(page, 3)
        _send(page, ".call-form button[type=submit]")
        found["list after"] = _axe(page)
        page.screenshot(path=str(SHOTS / "tr-list-after.png"), full_page=True)
        assert page.problems == []
    assert all(not violations for violations in found.values()), found

    with live.app.app_context():
        def state(invitation_id: int) -> Invitation:
            return db.session.get(Invitation, invitation_id)

        assert (state(no_answer).state, state(no_answer).attempts) == (
            InvitationState.PLANNED, 1)
        back = state(call_back)
        assert back.state == InvitationState.PLANNED and back.attempts == 0
        assert back.due_at.astimezone(ISTANBUL).strftime("%Y-%m-%d %H:%M") == f"{tomorrow} 11:00"
        assert state(completed).state == InvitationState.RESPONDED
        response = db.session.scalar(select(Response).where(Response.invitation_id == completed))
        assert response.mode == ResponseMode.PHONE and response.interviewer_id is not None
        assert state(refused).state == InvitationState.CANCELLED
        outcomes = db.session.scalars(select(CallAttempt.outcome).order_by(CallAttempt.id)).all()
        assert outcomes == [CallOutcome.NO_ANSWER, CallOutcome.CALL_BACK,
                            CallOutcome.COMPLETED, CallOutcome.REFUSED]


def test_the_call_screen_in_english(site, browser) -> None:
    live, ids = site
    SHOTS.mkdir(exist_ok=True)
    with watched_page(browser, locale="en-GB", viewport={"width": 1280, "height": 900}) as page:
        page.context.add_init_script(script=axe_source())
        log_in(page, live.url, "caller@example.org", PASSWORD)
        page.goto(f"{live.url}/phone/")
        page.screenshot(path=str(SHOTS / "en-list.png"), full_page=True)
        page.goto(f"{live.url}/phone/{ids[0]}")
        assert _axe(page) == []
        page.screenshot(path=str(SHOTS / "en-call.png"), full_page=True)
