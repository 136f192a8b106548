"""The staff journeys of the lookup in Chromium, in Turkish and in English: find a resolved
complaint, see its planned invitation and time, send it now, see it in the outbox, answer it
on the respondent's page through the link found there, and read the follow-up with the
question wording; as an admin, a designer, a viewer and a unit manager, each seeing only what
its role and units allow. axe-core finds no serious or critical violation on the lookup's
pages; screenshots of them (desktop) go to ``MEMNUN_SCREENSHOT_DIR`` when it is set.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.support.api import admin_api
from tests.support.browser import IMPACTS, RUN_AXE, axe_source, watched_page
from tests.support.factories import make_user
from tests.support.lookup import ids_of, resolve_through_api
from tests.support.server import LiveServer

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
LOCALES = {"tr": "tr-TR", "en": "en-GB"}
#: The shipped questionnaire's wording, and the labels of the answers given below.
WORDING = {
    "tr": ("Şikâyet ettiğiniz sorun gerçekten çözüldü mü?", "1 / 5 (Hiç memnun değilim)", "Hayır"),
    "en": (
        "Was the problem you complained about really solved?",
        "1 / 5 (Very dissatisfied)",
        "No",
    ),
}
ROLES = {
    "admin": ("admin", None),
    "designer": ("designer", None),
    "viewer": ("viewer", None),
    "manager": ("viewer", ["fen"]),
}


class Staff:
    """One member of staff in their own browser context and language."""

    def __init__(self, site: LiveServer, browser: Any, role: str, language: str, axe: str) -> None:
        self.site, self.role, self.language = site, role, language
        kind, units = ROLES[role]
        self.email = f"{role}-{language}@example.org"
        self.password = make_user(site.app, self.email, kind, units=units)
        self._watched = watched_page(browser, locale=LOCALES[language], viewport=DESKTOP)
        self.page = self._watched.__enter__()
        self.page.set_default_timeout(15_000)
        self.page.context.add_init_script(script=axe)

    def close(self) -> None:
        self._watched.__exit__(None, None, None)

    def log_in(self) -> None:
        page = self.page
        page.goto(f"{self.site.url}/auth/login")
        page.fill("#email", self.email)
        page.fill("#password", self.password)
        page.click("form.stack [type=submit]")
        page.wait_for_url(f"{self.site.url}/")

    def goto(self, path: str) -> int:
        response = self.page.goto(f"{self.site.url}{path}")
        return response.status if response else 0

    def check(self, name: str) -> None:
        """axe-core on the page as it is, and a screenshot of it."""
        violations = [v for v in self.page.evaluate(RUN_AXE) if v["impact"] in IMPACTS]
        assert violations == [], f"{name} ({self.language}): axe-core found {violations}"
        folder = os.environ.get("MEMNUN_SCREENSHOT_DIR")
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(
                path=f"{folder}/{name}-{self.role}-{self.language}.png", full_page=True
            )

    def find(self, reference: str) -> None:
        """Search by reference and open the complaint, as a person would."""
        self.goto("/complaints/")
        self.page.fill("#reference", reference)
        self.page.click("form.search-form button[type=submit]")
        self.page.click(f'#complaints a:text-is("{reference}")')
        self.page.wait_for_selector("#timeline")

    def planned_time(self) -> str:
        return self.page.inner_text(".invitation .lead time")


@pytest.fixture(scope="module")
def axe() -> str:
    return axe_source()


@pytest.fixture
def staff(site: LiveServer, browser: Any, axe: str) -> Any:
    opened: list[Staff] = []

    def open_as(role: str, language: str) -> Staff:
        member = Staff(site, browser, role, language, axe)
        member.log_in()
        opened.append(member)
        return member

    yield open_as
    for member in opened:
        member.close()


def _expected_time(site: LiveServer, reference: str) -> str:
    from app.extensions import db
    from app.models import Invitation
    from app.timefmt import organisation_zone

    _, invitation_id = ids_of(site.app, reference)
    with site.app.app_context():
        due = db.session.get(Invitation, invitation_id).due_at
        return due.astimezone(organisation_zone()).strftime("%Y-%m-%d %H:%M")


def _answer(browser: Any, survey_url: str) -> None:
    """The complainant, on a phone: overall 1, not resolved."""
    with watched_page(browser, locale="tr-TR") as phone:
        phone.goto(survey_url)
        phone.check("#q-overall-0")
        phone.check("#q-resolved-1")
        phone.click("button.send")
        phone.wait_for_url("**/s/thanks")
        assert phone.problems == []


def _send_answer_and_follow_up(
    site: LiveServer, browser: Any, member: Staff, reference: str
) -> str:
    """The acting roles' journey, from the complaint page on; returns the follow-up's path."""
    page = member.page
    assert member.planned_time() == _expected_time(site, reference)
    member.check("complaint-planned")
    page.click('form[action$="/send"] button[type=submit]')
    page.wait_for_selector(".flash")
    assert page.locator(".state-sent").count() == 1
    member.check("complaint-sent")
    _, invitation_id = ids_of(site.app, reference)
    member.goto("/admin/outbox")
    page.click(f'tr:has(td:text-is("{invitation_id}")) a')
    link = page.locator('ul.links a[href*="/s/"]').first.get_attribute("href")
    assert link and link.startswith(site.url)
    if member.role != "admin":
        assert "@example.org" not in page.inner_text("main")  # the address is the admins' only
    _answer(browser, link.split("?")[0])
    member.find(reference)
    page.wait_for_selector(".state-responded")
    follow_up = page.locator('.invitation a[href^="/follow-ups/"]').first.get_attribute("href")
    assert follow_up
    member.check("complaint-answered")
    return follow_up


def _read_follow_up(member: Staff, path: str) -> None:
    question, overall, resolved = WORDING[member.language]
    assert member.goto(path) == 200
    answers = member.page.inner_text("table.answers")
    assert question in answers and overall in answers and resolved in answers
    assert "overall" not in answers and "resolved" not in answers  # no raw keys
    facts = member.page.inner_text("main")
    assert "Çöp toplama" in facts and "Yol Bakım Şefliği" in facts
    member.check("follow-up")


@pytest.mark.parametrize("language", ["tr", "en"])
def test_the_journeys_by_role(site: LiveServer, browser: Any, staff: Any, language: str) -> None:
    api = admin_api(site.app)
    references = {role: f"{role.upper()}-{language.upper()}-1" for role in ROLES}
    for reference in references.values():  # an address each: no fatigue rule between them
        resolve_through_api(api, reference, email=f"{reference.lower()}@example.org")
    elsewhere = f"ZAB-{language.upper()}-1"
    resolve_through_api(api, elsewhere, unit="zabita", email="zabita@example.org")

    follow_ups = {}
    for role in ("admin", "designer"):
        member = staff(role, language)
        member.goto("/complaints/")
        member.check("complaints")
        member.find(references[role])
        follow_ups[role] = _send_answer_and_follow_up(site, browser, member, references[role])
        _read_follow_up(member, follow_ups[role])
        member.goto("/invitations/")
        member.check("queue")

    viewer = staff("viewer", language)
    viewer.find(references["viewer"])
    assert viewer.planned_time() == _expected_time(site, references["viewer"])
    assert viewer.page.locator('form[action$="/send"]').count() == 0
    viewer.check("complaint-planned")
    viewer.find(references["admin"])  # answered: the answers, worded; no comments
    question, overall, _ = WORDING[language]
    answers = viewer.page.inner_text("table.answers")
    assert question in answers and overall in answers
    assert viewer.page.locator('nav a[href="/admin/outbox"]').count() == 0
    assert viewer.goto("/admin/outbox") == 403
    assert viewer.goto(follow_ups["admin"]) == 403

    manager = staff("manager", language)
    manager.goto(f"/complaints/?reference={language.upper()}-1")
    listing = manager.page.inner_text("#complaints")
    assert references["manager"] in listing and elsewhere not in listing
    manager.find(references["manager"])
    assert manager.planned_time() == _expected_time(site, references["manager"])
    assert manager.page.locator('form[action$="/send"]').count() == 0
    elsewhere_id, _ = ids_of(site.app, elsewhere)
    assert manager.goto(f"/complaints/{elsewhere_id}") == 404
    _read_follow_up(manager, follow_ups["designer"])
    assert "Çöp alınmadı" not in manager.page.inner_text("main")  # the subject: not theirs
    manager.goto("/invitations/")
    assert elsewhere not in manager.page.inner_text("main")
    manager.check("queue")
    for member in (viewer, manager):
        assert member.page.problems == []
