"""Fixtures of the webhook tests. Their receivers listen on 127.0.0.1, which a webhook may reach
only when the operator allows that host by name (``app.webhooks.addresses``)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

LOOPBACK_ALLOWED = {"MEMNUN_WEBHOOK_ALLOWED_PRIVATE_HOSTS": "127.0.0.1"}


@pytest.fixture
def app(make_app: Any) -> Flask:
    return make_app(**LOOPBACK_ALLOWED)
