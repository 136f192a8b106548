"""Fixtures of the distribution tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.sms import Gateway, serve_gateway


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    with serve_gateway() as state:
        yield state
