"""Fixtures of the auth tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.support.browser import launch_chromium, served_sqlite_app
from tests.support.factories import make_user
from tests.support.server import LiveServer
from tests.support.two_factor import TwoFactorUser, enrol
from tests.support.web import login


@pytest.fixture
def enrolled(app: Flask) -> TwoFactorUser:
    """A designer, signed in, who has just switched two-factor login on."""
    email = "designer@example.org"
    password = make_user(app, email, "designer")
    client = app.test_client()
    login(client, email, password)
    return TwoFactorUser(email, password, enrol(client), client)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One app over real HTTP for the browser tests of this module (each uses its own users)."""
    with served_sqlite_app(tmp_path_factory.mktemp("two-factor")) as live:
        yield live
