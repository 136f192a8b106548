"""The reports' dataset (tests/support/datasets/reports.py) builds."""

from __future__ import annotations

from app.extensions import db
from app.models import Response
from tests.support.datasets.reports import Data, at, build_january


def test_the_dataset_builds(app) -> None:
    with app.app_context():
        data = Data().setup()
        build_january(data)
        assert db.session.scalar(db.select(db.func.count(Response.id))) == 13
        data.bulk_responses("fen", at(2025, 3, 1), [5, 1, 4])
        assert db.session.scalar(db.select(db.func.count(Response.id))) == 16
