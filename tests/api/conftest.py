"""Fixtures of the REST API tests. ``api`` itself (an admin client) is in tests/conftest.py; here
it comes with the reference data of ``seed_reference``, as the tests of this folder expect."""

from __future__ import annotations

import pytest

from tests.support.api import Api, seed_reference


@pytest.fixture
def reference(api: Api) -> Api:
    """The small organisation of ``seed_reference`` (units fen, fen.yol; categories temizlik,
    cop), put through the API; the same ``api`` client is returned."""
    seed_reference(api)
    return api


@pytest.fixture(autouse=True)
def _reference_with_the_api(request: pytest.FixtureRequest) -> None:
    """A test here that uses ``api`` gets the reference data first, unless its module sets
    ``SEED_REFERENCE = False`` (it brings its own). Tests without ``api`` get nothing."""
    if "api" in request.fixturenames and getattr(request.module, "SEED_REFERENCE", True):
        request.getfixturevalue("reference")
