"""Fixtures of the lookup tests: an app whose rule sends at any hour, unless a test says."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.support.api import admin_api
from tests.support.lookup import seed_organisation


@pytest.fixture
def world(make_app: Any, tmp_path: Any) -> Flask:
    """An app with the file mail backend, the organisation, and a rule sending at any hour
    (a window of no width), so that "send now" does not depend on the time the test runs."""
    app = make_app(MEMNUN_MAIL_BACKEND="file", MEMNUN_OUTBOX_DIR=str(tmp_path / "outbox"))
    seed_organisation(app, admin_api(app), send_window_start="00:00", send_window_end="00:00")
    return app
