"""Fixtures of the lookup tests: an app whose rule sends at any hour; Chromium; a served app."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.support.api import admin_api
from tests.support.browser import launch_chromium, served_sqlite_app
from tests.support.lookup import seed_organisation
from tests.support.server import LiveServer


@pytest.fixture
def world(make_app: Any, tmp_path: Any) -> Flask:
    """An app with the file mail backend, the organisation, and a rule sending at any hour
    (a window of no width), so that "send now" does not depend on the time the test runs."""
    app = make_app(MEMNUN_MAIL_BACKEND="file", MEMNUN_OUTBOX_DIR=str(tmp_path / "outbox"))
    seed_organisation(app, admin_api(app), send_window_start="00:00", send_window_end="00:00")
    return app


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One app on SQLite over real HTTP for the browser journeys: the organisation, a rule
    sending at any hour, and survey links that point at this server."""
    with served_sqlite_app(tmp_path_factory.mktemp("lookup")) as live:
        live.app.config["MEMNUN_BASE_URL"] = live.url
        seed_organisation(
            live.app, admin_api(live.app), send_window_start="00:00", send_window_end="00:00"
        )
        yield live
