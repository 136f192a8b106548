"""Fixtures of the dashboard tests (each module sets its own ``app``: time zone, refresh)."""

from __future__ import annotations

import pytest

from tests.support.datasets.generated import build


@pytest.fixture
def data(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        return build()
