"""Contract tests: every error under /api/v1 has one JSON shape, and no input gives a 500."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ApiKey, ApiScope, Complaint, ComplaintEvent, Unit
from tests.support.api import (
    COMPLAINT_FIELDS,
    NASTY,
    Api,
    admin_api,
    at,
    complaint_body,
    error_of,
    invalid_fields,
    make_key,
    seed_reference,
    with_field,
)
from tests.support.database import count_rows

WRITES = [
    ("PUT", "/units/fen.yeni"),
    ("PUT", "/categories/yeni"),
    ("POST", "/complaints"),
    ("POST", "/complaints/batch"),
    ("POST", "/complaints/ext:A-1/events"),
]
MALFORMED = [
    b"",
    b"{",
    b"{'name': 'x'}",
    b'{"name": "x",}',
    b"\xff\xfe\x00garbage",
    b"[" * 50_000 + b"]" * 50_000,  # deep enough to overflow the parser's recursion
]
NOT_AN_OBJECT = [b"null", b"[]", b'[{"name": "x"}]', b'"name"', b"42", b"true"]


@pytest.fixture(autouse=True)
def _complaint(request: pytest.FixtureRequest) -> None:
    """Where a test uses the api fixture: complaint A-1 posted, after the reference."""
    if "api" in request.fixturenames:
        api = request.getfixturevalue("reference")
        assert api.post("/complaints", json=complaint_body(external_id="A-1")).status_code == 201


def test_malformed_json_and_non_objects_are_400(app, api) -> None:
    for method, path in WRITES:
        for body in MALFORMED + NOT_AN_OBJECT:
            response = api.open(method, path, data=body, content_type="application/json")
            assert response.status_code == 400, (path, body[:20])
            assert error_of(response)["code"] == "malformed_json"
    assert count_rows(app, Complaint) == 1 and count_rows(app, ComplaintEvent) == 1


def test_the_body_is_read_as_json_whatever_the_content_type(app, api) -> None:
    body = json.dumps({"name": "Park ve Bahçeler"}, ensure_ascii=False).encode()
    response = api.put("/units/park", data=body, content_type="text/plain; charset=utf-8")
    assert response.status_code == 201 and response.get_json()["name"] == "Park ve Bahçeler"


def test_missing_or_wrong_keys_are_401(app, client) -> None:
    make_key(app, ApiScope.ADMIN)  # a real key exists; none of these is it
    for header in (None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer mk_not-a-key",
                   "mk_x"):
        headers = {"Authorization": header} if header is not None else {}
        for method, path in WRITES + [("GET", "/units"), ("GET", "/complaints/1")]:
            response = client.open("/api/v1" + path, method=method, headers=headers, json={})
            assert response.status_code == 401, (header, method, path)
            assert error_of(response)["code"] == "unauthorized"
            assert response.headers["WWW-Authenticate"] == 'Bearer realm="memnun"'


def test_a_revoked_key_is_401(app, client) -> None:
    key = make_key(app, ApiScope.ADMIN)
    api = Api(client, key)
    assert api.get("/units").status_code == 200
    with app.app_context():
        db.session.scalar(select(ApiKey)).revoked_at = dt.datetime.now(dt.UTC)
        db.session.commit()
    assert api.get("/units").status_code == 401


def test_a_key_without_the_scope_is_403(app, client) -> None:
    reader = Api(client, make_key(app, ApiScope.READ))
    for method, path in WRITES:
        response = reader.open(method, path, json={})
        assert response.status_code == 403
        error = error_of(response)
        assert error["code"] == "forbidden" and "intake" in error["message"]


def test_unknown_api_routes_are_404_in_the_error_shape(app, api) -> None:
    for path in ("/api/v1/nothing", "/api/v1/", "/api/v2/complaints", "/api/v1/units/a/b"):
        response = api.client.get(path, headers=api.headers)
        assert response.status_code == 404, path
        assert error_of(response)["code"] == "not_found"
    # Outside /api/ the app keeps its own (HTML) pages.
    page = api.client.get("/no-such-page")
    assert page.status_code == 404 and page.get_json(silent=True) is None


def test_wrong_methods_are_405_with_allow(app, api) -> None:
    for method, path, allowed in (
        ("DELETE", "/units/fen", {"PUT"}),
        ("POST", "/units", {"GET"}),
        ("PATCH", "/complaints", {"POST"}),
        ("DELETE", "/complaints/1/events", {"POST"}),
    ):
        response = api.open(method, path)
        assert response.status_code == 405, (method, path)
        assert error_of(response)["code"] == "method_not_allowed"
        assert allowed <= set(response.headers["Allow"].replace(" ", "").split(","))


def test_bodies_over_the_limit_are_413(make_app) -> None:
    app = make_app(MAX_CONTENT_LENGTH=4096)
    api = admin_api(app)
    seed_reference(api)
    huge = complaint_body(description="ş" * 5000)
    response = api.post("/complaints", json=huge)
    assert response.status_code == 413
    assert error_of(response) == {
        "code": "request_entity_too_large", "message": error_of(response)["message"],
        "details": {"max_bytes": 4096},
    }
    assert api.post("/complaints", json=complaint_body()).status_code == 201
    too_big_unit = api.put("/units/a", data=b'{"name": "' + b"a" * 5000 + b'"}')
    assert too_big_unit.status_code == 413
    with app.app_context():
        assert db.session.scalar(select(Unit).where(Unit.code == "a")) is None


def test_no_field_value_gives_a_500(app, api) -> None:
    """Every field of every write, replaced by hostile values: answered, never a server error."""
    outcomes: dict[int, int] = {}
    for field in COMPLAINT_FIELDS:
        for number, value in enumerate(NASTY):
            body = with_field(complaint_body(external_id=f"N-{field}-{number}"), field, value)
            response = api.post("/complaints", data=json.dumps(body),
                                content_type="application/json")
            outcomes[response.status_code] = outcomes.get(response.status_code, 0) + 1
            assert response.status_code in (200, 201, 409, 422), (field, value)
            if response.status_code >= 400:
                error_of(response)
    for field in ("type", "at", "note"):
        for value in NASTY:
            body = with_field({"type": "acknowledged", "at": at(0.5), "note": None}, field, value)
            response = api.post("/complaints/ext:A-1/events", data=json.dumps(body),
                                content_type="application/json")
            assert response.status_code in (200, 201, 409, 422), (field, value)
    for path in ("/units/u", "/categories/c"):
        for field in ("name", "parent", "committed_response_days"):
            for value in NASTY:
                response = api.put(path, data=json.dumps({"name": "N", field: value}),
                                   content_type="application/json")
                assert response.status_code in (200, 201, 422), (path, field, value)
    assert outcomes.get(422, 0) > len(COMPLAINT_FIELDS) * len(NASTY) / 2


def test_hostile_codes_in_the_path_are_422(app, api) -> None:
    for path in ("/units/%00", "/units/%ff%fe", "/units/" + "a" * 500, "/categories/..",
                 "/categories/.hidden", "/categories/%E2%80%AE", "/units/a%0Ab"):
        assert invalid_fields(api.put(path, json={"name": "X"})) == {"code"}, path


def test_hostile_complaint_references_are_404(app, api) -> None:
    for ref in ("%00", "ext:%00", "ext:%ff", "1%00", "0x10", "1e3", "ext:" + "ş" * 129,
                "%20%201"):
        assert api.get(f"/complaints/{ref}").status_code == 404, ref
        response = api.post(f"/complaints/{ref}/events", json={"type": "resolved", "at": at(1)})
        assert response.status_code == 404 and error_of(response)["code"] == "not_found", ref
