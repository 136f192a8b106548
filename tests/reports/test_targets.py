"""The targets page: admins only, CSRF, percent in the form and fractions in the database."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import AuditLog, Target, Unit
from app.reports.targets import TargetError, set_target
from tests.support.datasets.reports import Data
from tests.support.factories import make_user
from tests.support.web import csrf_token_from, login

EN = {"Accept-Language": "en"}


@pytest.fixture
def units(app) -> dict[str, int]:
    with app.app_context():
        data = Data().setup()
        return {code: unit.id for code, unit in data.units.items()}


def _save(client, **fields):
    token = csrf_token_from(client.get("/reports/targets", headers=EN).get_data(as_text=True))
    return client.post("/reports/targets", headers=EN, data={"csrf_token": token, **fields})


def _targets(app) -> set[tuple[int | None, str, float]]:
    with app.app_context():
        return {(t.unit_id, t.metric, t.value) for t in db.session.scalars(db.select(Target))}


def test_admin_sets_changes_and_deletes_targets(app, admin_client, units) -> None:
    assert _save(admin_client, unit=0, metric="csat", value="80").status_code == 302
    assert _save(admin_client, unit=units["fen"], metric="nps", value="-10").status_code == 302
    assert _targets(app) == {(None, "csat", 0.8), (units["fen"], "nps", -0.1)}
    assert _save(admin_client, unit=0, metric="csat", value="75.5").status_code == 302
    assert _targets(app) == {(None, "csat", 0.755), (units["fen"], "nps", -0.1)}
    page = admin_client.get("/reports/targets", headers=EN).get_data(as_text=True)
    assert "75.5 %" in page and "Fen İşleri" in page and "-10" in page
    with app.app_context():
        target_id = db.session.scalar(db.select(Target.id).where(Target.metric == "nps"))
        assert db.session.scalar(db.select(db.func.count(AuditLog.id)).where(
            AuditLog.action == "target.set")) == 3
    token = csrf_token_from(page)
    deleted = admin_client.post(f"/reports/targets/{target_id}/delete",
                                data={"csrf_token": token})
    assert deleted.status_code == 302
    assert _targets(app) == {(None, "csat", 0.755)}


@pytest.mark.parametrize(("metric", "value"), [("csat", "-5"), ("csat", "120"), ("nps", "-101"),
                                               ("csat", ""), ("csat", "NaN"), ("nps", "-NaN"),
                                               ("nps", "sNaN"), ("csat", "Infinity")])
def test_impossible_targets_are_refused(app, admin_client, units, metric, value) -> None:
    response = _save(admin_client, unit=0, metric=metric, value=value)
    assert response.status_code == 400
    assert 'class="error"' in response.get_data(as_text=True)
    assert _targets(app) == set()


def test_only_admins_set_targets(app, client, units) -> None:
    password = make_user(app, "designer@example.org", "designer")
    login(client, "designer@example.org", password)
    assert client.get("/reports/targets").status_code == 403
    token = csrf_token_from(client.get("/reports/").get_data(as_text=True))
    assert client.post("/reports/targets", data={"unit": 0, "metric": "csat", "value": "80",
                                                 "csrf_token": token}).status_code == 403
    assert _targets(app) == set()


def test_the_service_refuses_what_the_form_would(app, units) -> None:
    with app.app_context():
        with pytest.raises(TargetError):
            set_target(None, "speed", 0.5, "test")
        with pytest.raises(TargetError):
            set_target(None, "csat", 1.5, "test")
        with pytest.raises(TargetError):
            set_target(max(units.values()) + 100, "csat", 0.5, "test")
        assert db.session.scalar(db.select(db.func.count(Unit.id))) == 4
