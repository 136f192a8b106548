"""The REST API (/api/v1) as the tests use it: a client with a key (``Api``), reference data put
through the API, request bodies, the error shape, the OpenAPI document and its ``Contract``.

The ``api`` fixture (tests/conftest.py) is ``admin_api(app)``."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from werkzeug.test import TestResponse

from app.models import ApiScope

# Received ten days ago: events up to ten days later are in the past; later ones are refused.
RECEIVED = (dt.datetime.now(dt.UTC) - dt.timedelta(days=10)).replace(microsecond=0)
TURKISH_NAME = "Şükrü Ağaoğlu İnanç Işık"
TURKISH_TEXT = "Çöp konteyneri taşmış; ığdır, İstanbul, ŞĞÜÖÇİı ve şğüöçi — düzeltilsin."


def make_key(app: Flask, *scopes: ApiScope, name: str = "entegrasyon") -> str:
    from app.auth.services import create_api_key

    with app.app_context():
        _, plain = create_api_key(name, list(scopes))
    return plain


class Api:
    """The test client with an API key: ``api.post(path, json=...)`` and so on."""

    def __init__(self, client: FlaskClient, key: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {key}"}

    def open(self, method: str, path: str, **kwargs: Any) -> TestResponse:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.open("/api/v1" + path, method=method, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.open("GET", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> TestResponse:
        return self.open("PUT", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.open("POST", path, **kwargs)


def admin_api(app: Flask) -> Api:
    return Api(app.test_client(), make_key(app, ApiScope.ADMIN, name="yönetici"))


def seed_reference(api: Api) -> None:
    """A small organisation: a directorate with one unit below it, and two categories."""
    for path, body in (
        ("/units/fen", {"name": "Fen İşleri Müdürlüğü", "parent": None}),
        ("/units/fen.yol", {"name": "Yol Bakım Şefliği", "parent": "fen"}),
        ("/categories/temizlik", {"name": "Temizlik", "parent": None,
                                  "committed_response_days": 10}),
        ("/categories/cop", {"name": "Çöp toplama", "parent": "temizlik",
                             "committed_response_days": 3}),
    ):
        response = api.put(path, json=body)
        assert response.status_code == 201, response.get_json()


def complaint_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": "ÇM-2026/0001",
        "received_at": RECEIVED.astimezone(dt.timezone(dt.timedelta(hours=3))).isoformat(),
        "channel": "web",
        "category": "cop",
        "unit": "fen.yol",
        "subject": "Çöp alınmadı",
        "description": TURKISH_TEXT,
        "complainant": {
            "name": TURKISH_NAME,
            "email": "sukru.agaoglu@example.com.tr",
            "phone": "+90 532 000 00 00",
            "language": "tr",
            "survey_consent": True,
        },
    }
    body.update(overrides)
    return body


def at(days: float) -> str:
    """An ISO time ``days`` after the complaint was received, written in Istanbul's offset."""
    moment = RECEIVED + dt.timedelta(days=days)
    return moment.astimezone(dt.timezone(dt.timedelta(hours=3))).isoformat()


def error_of(response: TestResponse) -> dict[str, Any]:
    """The error document, after checking that it has the one shape every error has."""
    body = response.get_json()
    assert body is not None, response.get_data(as_text=True)
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def invalid_fields(response: TestResponse) -> set[str]:
    assert response.status_code == 422, response.get_json()
    error = error_of(response)
    assert error["code"] == "invalid"
    assert all(detail["message"] for detail in error["details"])
    return {detail["field"] for detail in error["details"]}


# --- hostile values (tests/api/test_errors.py, test_batch.py) -----------------------------------

NASTY: list[Any] = [
    None, True, False, 0, -1, 2**70, 1.5, float("nan"), "", " ", "\x00", "\ud800", "\u202e",
    "İ" * 400, "x" * 30_000, [], {}, [1, {"a": None}], "2026-02-30T00:00:00+03:00",
    "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+00:00", "2026-01-01T00:00:00+25:00",
    "ext:../../etc", "<script>alert(1)</script>", "'; DROP TABLE complaint; --",
]
COMPLAINT_FIELDS = [
    "external_id", "received_at", "channel", "category", "unit", "subject", "description",
    "due_at", "complainant", "complainant.name", "complainant.email", "complainant.phone",
    "complainant.language", "complainant.survey_consent",
]


def with_field(body: dict[str, Any], field: str, value: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(body))
    target = body
    *parents, last = field.split(".")
    for name in parents:
        target = target[name]
    target[last] = value
    return body


# --- the OpenAPI document ----------------------------------------------------------------------

def document(client: Any) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


class Contract:
    """Checks answers against the document's schema for their path, method and status."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc

    def check(self, method: str, path: str, response: Any) -> None:
        operation = self.doc["paths"][path][method]
        status = str(response.status_code)
        assert status in operation["responses"], (method, path, status, response.get_json())
        schema = operation["responses"][status]["content"]["application/json"]["schema"]
        root = {**schema, "components": self.doc["components"]}
        errors = list(Draft202012Validator(root).iter_errors(response.get_json()))
        assert not errors, (method, path, status, [e.message for e in errors[:3]])


# --- services and service events (tests/api/test_service_events.py, tests/intake) --------------


def seed_services(api: Api) -> None:
    """A small service catalogue: permits, with building permits below them."""
    for code, body in (("ruhsat", {"name": "Ruhsat işlemleri", "parent": None}),
                       ("ruhsat.yapi", {"name": "Yapı ruhsatı", "parent": "ruhsat"})):
        response = api.put(f"/services/{code}", json=body)
        assert response.status_code == 201, response.get_json()


def service_event_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": "HZ-2026/0001",
        "occurred_at": RECEIVED.astimezone(dt.timezone(dt.timedelta(hours=3))).isoformat(),
        "unit": "fen.yol",
        "service": "ruhsat.yapi",
        "channel": "walk_in",
        "person": {"name": TURKISH_NAME, "email": "Sukru.Agaoglu@EXAMPLE.com.tr",
                   "phone": "+90 532 000 00 00", "language": "tr-TR", "survey_consent": True},
    }
    body.update(overrides)
    return body
