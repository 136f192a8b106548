"""Fixtures of the questionnaire design tests."""

from __future__ import annotations

import pytest
from flask import Flask

from app.design.services import install_all_templates


@pytest.fixture
def installed(app: Flask) -> Flask:
    with app.app_context():
        install_all_templates()
    return app
