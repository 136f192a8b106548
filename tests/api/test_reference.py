"""Contract tests: PUT/GET /api/v1/units and /api/v1/categories."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import ApiScope, AuditLog, Category, Unit
from tests.support.api import Api, admin_api, error_of, invalid_fields, make_key, seed_reference


def test_put_unit_creates_then_updates_and_lists(app) -> None:
    api = admin_api(app)
    created = api.put("/units/fen", json={"name": "Fen İşleri", "parent": None})
    assert created.status_code == 201
    assert created.get_json() == {"code": "fen", "name": "Fen İşleri", "parent": None}

    assert api.put("/units/zabıta", json={"name": "Zabıta Müdürlüğü"}).status_code == 201
    updated = api.put("/units/zabıta", json={"name": "Zabıta Daire Başkanlığı", "parent": "fen"})
    assert updated.status_code == 200
    assert updated.get_json() == {
        "code": "zabıta", "name": "Zabıta Daire Başkanlığı", "parent": "fen",
    }

    listed = api.get("/units")
    assert listed.status_code == 200
    assert listed.get_json() == {"units": [
        {"code": "fen", "name": "Fen İşleri", "parent": None},
        {"code": "zabıta", "name": "Zabıta Daire Başkanlığı", "parent": "fen"},
    ]}
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.code == "zabıta"))
        assert unit.name == "Zabıta Daire Başkanlığı" and unit.parent.code == "fen"
        actions = db.session.scalars(
            select(AuditLog.action).where(AuditLog.target == "unit:zabıta").order_by(AuditLog.id)
        ).all()
        assert actions == ["unit.create", "unit.update"]
        actors = set(db.session.scalars(select(AuditLog.actor)))
        assert actors == {"cli", "api_key:yönetici"}


def test_put_without_parent_detaches_the_unit(app) -> None:
    api = admin_api(app)
    seed_reference(api)
    response = api.put("/units/fen.yol", json={"name": "Yol Bakım Şefliği"})
    assert response.status_code == 200 and response.get_json()["parent"] is None


def test_put_category_with_committed_days(app) -> None:
    api = admin_api(app)
    seed_reference(api)
    response = api.put("/categories/cop", json={
        "name": "Çöp ve atık", "parent": "temizlik", "committed_response_days": 2,
    })
    assert response.status_code == 200
    assert response.get_json() == {
        "code": "cop", "name": "Çöp ve atık", "parent": "temizlik", "committed_response_days": 2,
    }
    listed = api.get("/categories").get_json()["categories"]
    assert [c["code"] for c in listed] == ["cop", "temizlik"]
    assert listed[1]["committed_response_days"] == 10
    # The same again is a 200 that changes nothing; only real changes reach the audit log.
    again = api.put("/categories/cop", json={
        "name": "Çöp ve atık", "parent": "temizlik", "committed_response_days": 2,
    })
    assert again.status_code == 200 and again.get_json() == response.get_json()
    with app.app_context():
        category = db.session.scalar(select(Category).where(Category.code == "cop"))
        assert category.committed_response_days == 2
        audit = db.session.scalars(
            select(AuditLog.detail).where(AuditLog.target == "category:cop").order_by(AuditLog.id)
        ).all()
        assert [entry["committed_response_days"] for entry in audit] == [3, 2]


def test_parent_must_exist(app) -> None:
    api = admin_api(app)
    assert invalid_fields(api.put("/units/a", json={"name": "A", "parent": "yok"})) == {"parent"}
    assert invalid_fields(
        api.put("/categories/a", json={"name": "A", "parent": "yok"})
    ) == {"parent"}
    # A unit code is not a category code: the trees are separate.
    api.put("/units/u", json={"name": "U"})
    assert invalid_fields(api.put("/categories/c", json={"name": "C", "parent": "u"})) == {"parent"}
    with app.app_context():
        assert db.session.scalar(select(Category)) is None


def test_no_cycles_in_the_tree(app) -> None:
    api = admin_api(app)
    seed_reference(api)
    assert api.put("/units/fen.yol.a", json={"name": "A", "parent": "fen.yol"}).status_code == 201
    # Its own parent, and its grandchild as its parent: both refused, nothing changed.
    assert invalid_fields(api.put("/units/fen", json={"name": "X", "parent": "fen"})) == {"parent"}
    response = api.put("/units/fen", json={"name": "X", "parent": "fen.yol.a"})
    assert invalid_fields(response) == {"parent"}
    assert error_of(response)["details"][0]["type"] == "cycle"
    cycle = api.put("/categories/temizlik", json={"name": "T", "parent": "cop"})
    assert invalid_fields(cycle) == {"parent"}
    units = {u["code"]: u for u in api.get("/units").get_json()["units"]}
    assert units["fen"] == {"code": "fen", "name": "Fen İşleri Müdürlüğü", "parent": None}
    # Moving a subtree elsewhere (no cycle) is fine.
    assert api.put("/units/fen.yol.a", json={"name": "A", "parent": "fen"}).status_code == 200


def test_invalid_unit_and_category_fields(app) -> None:
    api = admin_api(app)
    assert invalid_fields(api.put("/units/a", json={})) == {"name"}
    assert invalid_fields(api.put("/units/a", json={"name": "   "})) == {"name"}
    assert invalid_fields(api.put("/units/a", json={"name": "x" * 201})) == {"name"}
    assert invalid_fields(api.put("/units/a", json={"name": 5, "parent": 7})) == {"name", "parent"}
    assert invalid_fields(api.put("/units/a", json={"name": "A", "colour": "red"})) == {"colour"}
    # Units have no committed response days.
    assert invalid_fields(
        api.put("/units/a", json={"name": "A", "committed_response_days": 3})
    ) == {"committed_response_days"}
    for days in (-1, 3651, "3", 2.5, True):
        response = api.put("/categories/c", json={"name": "C", "committed_response_days": days})
        assert invalid_fields(response) == {"committed_response_days"}, days
    for code in ("a b", "a%09b", "x" * 65, "a%00b", "%C3%A7%0A"):
        assert invalid_fields(api.put(f"/units/{code}", json={"name": "A"})) == {"code"}, code
    with app.app_context():
        assert db.session.scalar(select(Unit)) is None
        assert db.session.scalar(select(Category)) is None


def test_scopes_for_reference_data(app, client) -> None:
    reader = Api(client, make_key(app, ApiScope.READ, name="okuyucu"))
    intake = Api(client, make_key(app, ApiScope.INTAKE, name="çağrı merkezi"))
    refused = reader.put("/units/a", json={"name": "A"})
    assert refused.status_code == 403 and error_of(refused)["code"] == "forbidden"
    assert intake.put("/units/a", json={"name": "A"}).status_code == 201
    assert intake.get("/units").status_code == 403
    listed = reader.get("/units").get_json()
    assert listed == {"units": [{"code": "a", "name": "A", "parent": None}]}
    assert reader.get("/categories").get_json() == {"categories": []}
    for path in ("/units", "/categories"):
        anonymous = client.get("/api/v1" + path)
        assert anonymous.status_code == 401 and error_of(anonymous)["code"] == "unauthorized"
    anonymous_put = client.put("/api/v1/units/b", json={"name": "B"})
    assert anonymous_put.status_code == 401
    assert anonymous_put.headers["WWW-Authenticate"].startswith("Bearer")
