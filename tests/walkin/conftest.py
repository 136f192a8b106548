"""Fixtures of the walk-in tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.browser import axe_source, launch_chromium, served_sqlite_app
from tests.support.server import LiveServer


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One app on SQLite for a browser module; a burst is four answers in ten minutes here."""
    with served_sqlite_app(tmp_path_factory.mktemp("walkin"), MEMNUN_WALKIN_BURST_FLOOR=4,
                           MEMNUN_WALKIN_PATTERN_RUN=50) as live:
        yield live


@pytest.fixture(scope="module")
def axe() -> str:
    return axe_source()
