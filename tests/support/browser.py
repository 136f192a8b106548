"""Helpers shared by the tests of the respondent's pages (tests/test_respond_*.py).

- ``compiled_catalogues``: the pages are checked in Turkish, Dutch and Estonian, so the message
  catalogues must be compiled; `make test` does it, and this fixture does it too when a .mo file
  is missing or older than its .po, so that `pytest tests/test_respond_x.py` works from a clone.
- ``launch_chromium``: Debian's Chromium through Playwright. Skips with the reason when Chromium,
  Playwright or axe-core is missing, but fails under CI=true, where they must be there.
- ``served_sqlite_app``: one app on SQLite over real HTTP for a whole browser module. What a
  browser checks (keyboard, scripts, layout, accessibility) does not depend on the database;
  what does (one response per invitation, races) is tested over HTTP on both databases.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "app" / "translations"
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


def unique_reference() -> str:
    """A complaint reference not used before in this process (for a shared database)."""
    return f"CMP-2026-{next(_references):04d}"


@contextmanager
def served_sqlite_app(instance: Path) -> Iterator[Any]:
    """A fresh app on SQLite under ``instance``, served over real HTTP (a LiveServer)."""
    from app import create_app
    from app.extensions import db
    from tests.conftest import base_config, serve

    compile_catalogues()
    app = create_app(base_config(f"sqlite:///{instance / 'browser.sqlite'}", instance))
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


def compile_catalogues() -> None:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalogue = read_po(source, locale=po.parent.parent.name)
        # Written aside and moved in: another test process may be reading the old file.
        handle, temporary = tempfile.mkstemp(dir=po.parent, suffix=".mo-tmp")
        with os.fdopen(handle, "wb") as target:
            write_mo(target, catalogue)
        os.replace(temporary, mo)


@pytest.fixture(scope="session")
def compiled_catalogues() -> None:
    compile_catalogues()


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
