"""Fixtures of the staff workspace tests: units to give accounts."""

from __future__ import annotations

import pytest
from flask import Flask

from app.extensions import db
from tests.support.factories import node


@pytest.fixture
def units(app: Flask) -> Flask:
    """One organisation: the root unit 'city' with 'fen' and 'zabita' below it."""
    from app.models import Unit

    with app.app_context():
        node(Unit, "fen", "city")
        node(Unit, "zabita", "city")
        db.session.commit()
    return app
