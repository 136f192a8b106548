"""The review pack's section "Service users and complainants" and its mix of modes, on the
January of ``datasets.sources`` (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from app.analytics import metrics
from app.extensions import db
from app.models import ServiceVolume
from app.models.types import utcnow
from app.reports.pack import build_pack
from app.reports.render import pack_html, pack_tables
from tests.support.datasets.sources import CAMPAIGN, EMAIL, PHONE, WALK_IN, build_mixed

JAN_1, JAN_31 = dt.date(2025, 1, 1), dt.date(2025, 1, 31)


@pytest.fixture
def app(make_app):  # type: ignore[no-untyped-def]
    app = make_app(MEMNUN_TIMEZONE="UTC", MEMNUN_MIN_GROUP_SIZE=2)
    with app.app_context():
        builder = build_mixed()
        db.session.add(ServiceVolume(unit_id=builder.units["fen"].id, period_start=JAN_1,
                                     transactions=2000))
        db.session.commit()
    return app


def test_the_pack_sets_service_users_beside_complainants_and_the_mix_of_modes(app: Any) -> None:
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        pack = build_pack(JAN_1, JAN_31, None, "scope", generated_at=utcnow())
        rows = dict(pack.sources)
        fen = rows["Fen İşleri"]
        assert fen.service_users.value == pytest.approx(10 / 13)
        assert fen.complainants.value == pytest.approx(4 / 6)
        test = metrics.two_proportion_z_test(10, 13, 4, 6)
        assert fen.difference is not None
        assert fen.difference.p_value == pytest.approx(test.p_value)
        assert fen.complaint_rate == pytest.approx(3 * 1000 / 2000)  # 3 complaints received
        # January: complainants 9 responses by e-mail (fen 7, zabita 2), service users by
        # e-mail, phone and at the desk, the campaign by e-mail; December: one, by e-mail.
        assert pack.modes.current == {"email": 9 + len(EMAIL) + len(CAMPAIGN),
                                      "phone": len(PHONE), "walk_in": len(WALK_IN)}
        assert pack.modes.previous == {"email": 1}
        assert pack.modes.mixed and pack.modes.shifted
        html = pack_html(pack)
        assert 'id="sources-table"' in html and 'id="modes-note"' in html
        assert "Phone interview" in html and "Walk-in QR code" in html
        tables = {table.title: table for table in pack_tables(pack)}
        modes = {row[0]: row for row in tables["Modes"].rows}
        assert modes["Phone interview"][3].value == len(PHONE)
        assert len(tables["Service users and complainants"].rows) == len(pack.sources)
