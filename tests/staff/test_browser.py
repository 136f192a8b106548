"""The staff workspace in Chromium, as its people use it, in Turkish and English: an admin
invites a colleague, who sets a password from the e-mail's link and logs in; the admin names the
organisation, and the survey page, the e-mail and the review pack say the new name; each role's
home page, on a desk and on a 360-pixel phone. axe-core finds no serious or critical violation on
these pages. Screenshots go to ``MEMNUN_SCREENSHOTS`` when it names a folder (to look at them).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from app.extensions import db
from app.models import Category, Unit
from tests.support.browser import (
    axe_source,
    launch_chromium,
    log_in,
    served_sqlite_app,
    watched_page,
)
from tests.support.factories import make_user, node
from tests.support.respond import invite
from tests.support.server import LiveServer
from tests.support.staff import link_in, outbox_messages

pytestmark = pytest.mark.browser

IMPACTS = ("serious", "critical")
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.filter(v => ["serious", "critical"].includes(v.impact))
    .map(v => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map(n => n.target.join(" "))}`);
}"""
DESK = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 780}
LOCALES = {"en": "en-GB", "tr": "tr-TR"}
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with served_sqlite_app(tmp_path_factory.mktemp("staff")) as live:
        with live.app.app_context():
            node(Unit, "fen", "city")
            node(Unit, "zabita", "city")
            node(Category, "yol")  # tests.support.respond.invite's category
            db.session.commit()
        make_user(live.app, "admin@example.org", "admin", PASSWORD)
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("MEMNUN_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("shots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def axe() -> str:
    return axe_source()


def _check(page: Any, axe: str, what: str) -> None:
    page.evaluate(axe)
    violations = page.evaluate(RUN_AXE)
    assert not violations, f"{what}: {violations}"
    assert not page.problems, f"{what}: {page.problems}"
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{what} scrolls sideways by {overflow} px"


@pytest.mark.parametrize("language", ["en", "tr"])
def test_an_admin_invites_and_the_colleague_sets_a_password(
    site: LiveServer, browser: Any, axe: str, shots: Path, language: str
) -> None:
    email = f"selin-{language}@example.org"
    with watched_page(browser, viewport=DESK, locale=LOCALES[language]) as admin:
        log_in(admin, site.url, "admin@example.org", PASSWORD)
        admin.goto(f"{site.url}/admin/users/new")
        _check(admin, axe, "new account")
        admin.fill("#email", email)
        admin.check("input[name=role][value=designer]")
        admin.click("form.stack [type=submit]")
        admin.wait_for_url(f"{site.url}/admin/users/*")
        assert email in admin.inner_text("main")
        assert admin.locator(".flash").count() == 1
        admin.screenshot(path=shots / f"account-{language}.png", full_page=True)
        _check(admin, axe, "account")
        admin.goto(f"{site.url}/admin/users")
        _check(admin, axe, "accounts")
        admin.screenshot(path=shots / f"accounts-{language}.png", full_page=True)

    message = next(
        m
        for m in reversed(outbox_messages(site.app.config["MEMNUN_OUTBOX_DIR"]))
        if m["To"] == email
    )
    url, _token = link_in(message)
    with watched_page(browser, viewport=PHONE, locale=LOCALES[language]) as person:
        person.goto(site.url + urlsplit(url).path)
        _check(person, axe, "set password")
        person.screenshot(path=shots / f"set-password-{language}.png", full_page=True)
        person.fill("#password", "selin's own long password")
        person.fill("#again", "selin's own long password")
        person.click("form.stack [type=submit]")
        person.wait_for_url(f"{site.url}/auth/login")
        log_in(person, site.url, email, "selin's own long password")
        assert person.locator("h2", has_text="Sending today" if language == "en" else "")
        person.goto(site.url + urlsplit(url).path)  # used up
        assert person.locator("h1").count() == 1
        _check(person, axe, "used link")


def test_the_organisation_name_reaches_survey_e_mail_and_pack(
    site: LiveServer, browser: Any, axe: str, shots: Path
) -> None:
    with watched_page(browser, viewport=DESK, locale="tr-TR") as admin:
        log_in(admin, site.url, "admin@example.org", PASSWORD)
        admin.goto(f"{site.url}/admin/organisation")
        _check(admin, axe, "organisation")
        admin.fill("#name", "Örnek Belediyesi")
        admin.fill("#short_name", "Örnek Bld.")
        admin.fill("#sender_name", "Örnek Belediyesi Çözüm Merkezi")
        admin.fill("#sender_address", "cozum@ornekbelediyesi.example")
        admin.fill("#controller_name", "Örnek Belediyesi Başkanlığı")
        admin.fill("#controller_contact", "kvkk@ornekbelediyesi.example")
        admin.click("#submit")
        admin.wait_for_url(f"{site.url}/admin/organisation")
        admin.screenshot(path=shots / "organisation-tr.png", full_page=True)
        assert "Örnek Bld." in admin.inner_text("header")

        admin.goto(f"{site.url}/admin/users/new")
        admin.fill("#email", "yeni@example.org")
        admin.click("form.stack [type=submit]")
        admin.wait_for_url(f"{site.url}/admin/users/*")
        mail = outbox_messages(site.app.config["MEMNUN_OUTBOX_DIR"])[-1]
        assert "cozum@ornekbelediyesi.example" in mail["From"]
        assert "Örnek Belediyesi" in mail["Subject"]

        admin.goto(f"{site.url}/reports/")
        admin.select_option("#pack-format", "html")
        with admin.expect_download() as download:
            admin.click("#pack-form [type=submit]")
        pack = Path(download.value.path()).read_text()
        assert "Örnek Belediyesi" in pack.split("</title>")[0]

    invited = invite(site.app, external_id="CMP-STAFF-0001")
    with watched_page(browser, viewport=PHONE, locale="tr-TR") as person:
        person.goto(f"{site.url}/s/{invited.token}")
        text = person.inner_text("body")
        assert "Örnek Belediyesi" in text and "Örnek Belediyesi Başkanlığı" in text
        assert "kvkk@ornekbelediyesi.example" in text
        person.screenshot(path=shots / "survey-tr.png", full_page=True)


ROLES = {
    "viewer": ("viewer", None),
    "designer": ("designer", None),
    "manager": ("viewer", ["fen"]),
    "admin": ("admin", None),
}


@pytest.mark.parametrize("language", ["en", "tr"])
def test_each_roles_home_page(
    site: LiveServer, browser: Any, axe: str, shots: Path, language: str
) -> None:
    for role, (kind, units) in ROLES.items():
        email = f"home-{role}-{language}@example.org"
        make_user(site.app, email, kind, PASSWORD, units=units)
        for name, viewport in (("desk", DESK), ("phone", PHONE)):
            with watched_page(browser, viewport=viewport, locale=LOCALES[language]) as page:
                log_in(page, site.url, email, PASSWORD)
                assert page.locator("main h1").count() == 1
                _check(page, axe, f"home of {role} ({language}, {name})")
                page.screenshot(path=shots / f"home-{role}-{language}-{name}.png", full_page=True)
