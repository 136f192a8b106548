"""Fixtures of the auth tests."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.support.factories import make_user
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
