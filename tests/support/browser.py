"""Browser tests: Chromium through Playwright, watched pages, an app served for a whole module.

- ``launch_chromium``: Debian's Chromium through Playwright. Skips with the reason when Chromium,
  Playwright or axe-core is missing, but fails under CI=true, where they must be there.
- ``log_in``: through the login page, as a person would.
- ``served_sqlite_app``: one app on SQLite over real HTTP for a whole browser module. What a
  browser checks (keyboard, scripts, layout, accessibility) does not depend on the database;
  what does (one response per invitation, races) is tested over HTTP on both databases.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.catalogues import ROOT, compile_catalogues

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
IN_CI = os.environ.get("CI", "").lower() == "true"


_references = itertools.count(1)


#: The axe-core impacts a page may not have (tests of every page, staff and respondent alike).
IMPACTS = ("serious", "critical")
#: Runs axe-core (loaded with ``axe_source``) on the page: its violations, three nodes each.
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ")),
  }));
}"""


def log_in(page: Any, base_url: str, email: str, password: str) -> None:
    """Log in through the login page, as a person would, and wait for the home page."""
    page.goto(f"{base_url}/auth/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("#submit")
    page.wait_for_url(re.compile(r".*/$"))


def unique_reference() -> str:
    """A complaint reference not used before in this process (for a shared database)."""
    return f"CMP-2026-{next(_references):04d}"


@contextmanager
def served_sqlite_app(instance: Path, **config: Any) -> Iterator[Any]:
    """A fresh app on SQLite under ``instance`` (``config`` added to the tests' own), served
    over real HTTP (a LiveServer)."""
    from app import create_app
    from app.extensions import db
    from tests.support.database import base_config
    from tests.support.server import serve

    compile_catalogues()
    app = create_app({**base_config(f"sqlite:///{instance / 'browser.sqlite'}", instance),
                      **config})
    with app.app_context():
        db.create_all()
    try:
        with serve(app) as live:
            yield live
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def missing(reason: str) -> None:
    """Skip the test, or fail it under CI, where every tool must be installed."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: browser tests must run)", pytrace=False)
    pytest.skip(reason)


@contextmanager
def launch_chromium() -> Iterator[Any]:
    """One headless Chromium (share it per module: starting one takes a second)."""
    if not os.path.exists(CHROMIUM):
        missing(f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def axe_source() -> str:
    if not AXE.exists():
        missing(f"axe-core is not installed: run tests/browser/install.sh ({AXE} is missing)")
    return AXE.read_text()


@contextmanager
def watched_page(browser: Any, **context_options: Any) -> Iterator[Any]:
    """A page in a fresh context (no cookies shared between tests) that records what went
    wrong in ``page.problems``: script errors and console errors (a Content-Security-Policy
    refusal is one)."""
    context = browser.new_context(**{"viewport": {"width": 360, "height": 780}, **context_options})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))

    def console(message: Any) -> None:
        # A 404 or 410 page is logged as a failed load: that is the status under test.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(f"console: {message.text}")

    page.on("console", console)
    page.problems = problems  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        context.close()
