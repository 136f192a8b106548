"""Two-factor login in Chromium, as staff use it, in Turkish and in English: enrol (the key read
from the page, the code computed with pyotp as a phone would), keep the recovery codes, log out,
log in with a code, log in with a recovery code. Screenshots of the enrolment and second-step
pages on a desktop and on a 360-pixel phone; axe-core finds no serious or critical violation
on any two-factor page, and nothing scrolls sideways on the phone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import IMPACTS, RUN_AXE, axe_source, watched_page
from tests.support.factories import make_user
from tests.support.server import LiveServer
from tests.support.two_factor import app_code

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 780}
LOCALES = {"tr": "tr-TR", "en": "en-GB"}


def _check(page: Any, name: str, shots: Path) -> None:
    """No serious accessibility fault, nothing wider than the window, and a screenshot."""
    violations = [v for v in page.evaluate(RUN_AXE) if v["impact"] in IMPACTS]
    assert violations == [], f"{name}: axe-core found {violations}"
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{name}: scrolls sideways ({width} px)"
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def _password(page: Any, url: str, email: str, password: str) -> None:
    page.goto(f"{url}/auth/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("main form [type=submit]")


def _log_out(page: Any, url: str) -> None:
    page.click("header form [type=submit]")
    page.wait_for_url(f"{url}/auth/login")


@pytest.mark.parametrize("language", ["tr", "en"])
def test_enrol_then_log_in_with_a_code_and_with_a_recovery_code(  # type: ignore[no-untyped-def]
    site: LiveServer, browser, language: str, tmp_path: Path
) -> None:
    email, url = f"staff-{language}@example.org", site.url
    password = make_user(site.app, email, "designer")
    axe = axe_source()
    with watched_page(browser, locale=LOCALES[language], viewport=DESKTOP) as page:
        page.context.add_init_script(script=axe)
        _password(page, url, email, password)
        page.wait_for_url(f"{url}/")
        assert page.get_attribute("html", "lang") == language
        page.click("header a[href='/auth/two-factor']")
        page.wait_for_selector("#totp-secret")
        _check(page, f"enrol-{language}-desktop", tmp_path)
        assert page.locator("img.qr").evaluate("img => img.naturalWidth") > 100
        secret = page.inner_text("#totp-secret").replace(" ", "")
        page.fill("#code", app_code(secret, -1))
        page.click("main form [type=submit]")
        page.wait_for_selector("#recovery-codes")
        _check(page, f"recovery-codes-{language}-desktop", tmp_path)
        codes = page.locator("#recovery-codes code").all_inner_texts()
        assert len(codes) == 10
        page.click("main a.button")
        page.wait_for_url(f"{url}/")
        _log_out(page, url)

        _password(page, url, email, password)
        page.wait_for_url(f"{url}/auth/login/code")
        _check(page, f"second-step-{language}-desktop", tmp_path)
        page.fill("#code", "000000")
        page.click("main form [type=submit]")
        page.wait_for_selector("#code-error")
        _check(page, f"second-step-error-{language}-desktop", tmp_path)
        page.fill("#code", app_code(secret))
        page.click("main form [type=submit]")
        page.wait_for_url(f"{url}/")
        page.goto(f"{url}/auth/two-factor")
        _check(page, f"two-factor-on-{language}-desktop", tmp_path)
        _log_out(page, url)

        _password(page, url, email, password)
        page.wait_for_url(f"{url}/auth/login/code")
        page.fill("#code", codes[0].lower())
        page.click("main form [type=submit]")
        page.wait_for_url(f"{url}/")
        assert page.locator(".flash-warning").count() == 1
        assert page.problems == []

    with watched_page(browser, locale=LOCALES[language], viewport=PHONE) as phone:
        phone.context.add_init_script(script=axe)
        _password(phone, url, email, password)
        phone.wait_for_url(f"{url}/auth/login/code")
        _check(phone, f"second-step-{language}-phone", tmp_path)
        phone.fill("#code", app_code(secret, 1))
        phone.click("main form [type=submit]")
        phone.wait_for_url(f"{url}/")
        assert phone.problems == []


@pytest.mark.parametrize("language", ["tr", "en"])
def test_the_enrolment_page_on_a_phone(
    site: LiveServer,
    browser,
    language: str,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    email, url = f"phone-{language}@example.org", site.url
    password = make_user(site.app, email, "viewer")
    with watched_page(browser, locale=LOCALES[language], viewport=PHONE) as page:
        page.context.add_init_script(script=axe_source())
        _password(page, url, email, password)
        page.wait_for_url(f"{url}/")
        page.goto(f"{url}/auth/two-factor")
        page.wait_for_selector("#totp-secret")
        _check(page, f"enrol-{language}-phone", tmp_path)
        box = page.locator("img.qr").bounding_box()
        assert box and box["width"] >= 150 and box["x"] + box["width"] <= PHONE["width"]
        page.fill("#code", "123")
        page.click("main form [type=submit]")
        page.wait_for_selector("#code-error")
        _check(page, f"enrol-error-{language}-phone", tmp_path)
        assert page.problems == []
