"""The overview's section "Service users and complainants" (its callback called as a function,
in a signed-in request): per unit the two CSATs with their intervals and the difference's test,
complaints and compliments per 1,000 services, the warning about mixed modes, and a unit
manager's scope."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from app.analytics import metrics
from app.extensions import db
from app.models import ComplaintKind, ServiceVolume
from dashboards.common import p_text
from dashboards.sources import update_sources
from tests.support.dashboards import as_user, texts
from tests.support.datasets.analytics import at
from tests.support.datasets.sources import build_mixed

JANUARY = ("2025-01-01", "2025-01-31")


@pytest.fixture(params=[2, 5], ids=["k2", "k5"])
def app(make_app, request):  # type: ignore[no-untyped-def]
    app = make_app(MEMNUN_TIMEZONE="UTC", MEMNUN_MIN_GROUP_SIZE=request.param)
    with app.app_context():
        builder = build_mixed()
        compliment = builder.complaint("fen", at(2025, 1, 9))
        compliment.kind = ComplaintKind.COMPLIMENT
        db.session.add(ServiceVolume(unit_id=builder.units["fen"].id,
                                     period_start=dt.date(2025, 1, 1), transactions=2000))
        db.session.commit()
    return app


def _section(app: Any, role: str = "admin", units: list[str] | None = None) -> list[str]:
    context = as_user(app, f"{role}@example.org", role=role, units=units)
    try:
        return texts(update_sources(*JANUARY, None, None, None, None, "month", 0, "custom",
                                    "previous"))
    finally:
        context.pop()


def test_service_users_beside_complainants_per_unit(app: Any) -> None:
    shown = " | ".join(_section(app))
    # fen: 3 complaints and 1 compliment received in January, 2,000 services.
    assert "1.50 (3 received)" in shown and "0.50 (1 received)" in shown
    assert "phone answers run higher than web ones" in shown
    assert "E-mail link 100.0% then" in shown  # the compared period: complainants by e-mail
    if app.config["MEMNUN_MIN_GROUP_SIZE"] == 5:
        # zabita's 2 complainants are too few; hidden alone, the organisation's complainants
        # minus fen's would give them: fen's complainants are hidden too, and then fen's
        # service users (fen's whole minus them would give its complainants).
        assert "76.9%" not in shown and "66.7%" not in shown
        assert shown.count("too few answers") == 3
        return
    # Service users: 10 of 13 satisfied (e-mail, phone, walk-in; held ones left out);
    # complainants: 4 of 6.
    assert "76.9%" in shown and "66.7%" in shown
    users = metrics.csat(10, 13)
    assert f"{users.low * 100:.1f}%" in shown
    test = metrics.two_proportion_z_test(10, 13, 4, 6)
    assert f"{test.difference * 100:.1f} points (not significant, {p_text(test.p_value)})" in shown
    assert "50.0%" in shown  # zabita's complainants: 1 of 2 satisfied (shown from k = 2)
    assert "– (1 received)" in shown  # zabita: no volume entered


def test_a_unit_manager_sees_only_their_units(app: Any) -> None:
    shown = " | ".join(_section(app, role="viewer", units=["zabita"]))
    assert "Fen" not in shown and "Zabıta" in shown


def test_the_overview_follows_the_source_and_mode_filters(app: Any) -> None:
    from dashboards.overview import update_overview

    context = as_user(app, "o@example.org", role="admin")
    try:
        every = texts(update_overview(*JANUARY, None, None, None, None, "month", 0, "custom",
                                      "previous")[0])
        phone = texts(update_overview(*JANUARY, None, None, None, None, "month", 0, "custom",
                                      "previous", None, "phone")[0])
        users = texts(update_overview(*JANUARY, None, None, None, None, "month", 0, "custom",
                                      "previous", "service_user", None)[0])
    finally:
        context.pop()
    assert "24" in every and "5" in phone and "24" not in phone
    assert "13" in users  # e-mail 6, phone 5, walk-in 2 (the held ones count nowhere)
