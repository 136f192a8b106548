"""Contract tests: GET /api/v1/service-events (cursor pagination, filters, personal data only
for admin keys) and GET /api/v1/service-events/{ref}, over real HTTP. Runs on SQLite and, with
MEMNUN_TEST_DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import requests
from sqlalchemy import update

from app.extensions import db
from app.models import ApiScope, ServiceEvent
from tests.support.api import (
    TURKISH_NAME,
    Api,
    Contract,
    complaint_body,
    document,
    error_of,
    invalid_fields,
    make_key,
    seed_services,
    service_event_body,
)
from tests.support.distribution import make_questionnaire

EVENTS = 23
# The first event's time: the events, a day apart, must not lie in the future.
START = (dt.datetime.now(dt.UTC) - dt.timedelta(days=EVENTS + 7)).replace(microsecond=0)
LIST = "/service-events"


class Http:
    """The API over real HTTP with one key: what an integrator's client does."""

    def __init__(self, base: str, key: str) -> None:
        self.base = f"{base}/api/v1"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.base + path, params=params, timeout=30)

    def walk(self, **params: Any) -> tuple[list[dict[str, Any]], int]:
        """Every item of the list, following next_cursor; and the number of pages."""
        items: list[dict[str, Any]] = []
        pages = 0
        while True:
            answer = self.get(LIST, **params)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            pages += 1
            items += body["service_events"]
            if body["next_cursor"] is None:
                return items, pages
            params["cursor"] = body["next_cursor"]
            assert pages < 100, "the cursor does not advance"


def _key(api: Api) -> str:
    return api.headers["Authorization"].removeprefix("Bearer ")


@pytest.fixture
def events(app, api) -> list[str]:  # type: ignore[no-untyped-def]
    """EVENTS service events, a day apart from START: building permits in fen.yol, every
    third a workplace licence in zabita; each planned a survey by a rule on service events.
    Their external ids, in the order sent."""
    seed_services(api)
    assert api.put("/services/ruhsat.isyeri", json={
        "name": "İşyeri ruhsatı", "parent": "ruhsat"}).status_code == 201
    assert api.put("/services/nikah", json={"name": "Nikâh", "parent": None}).status_code == 201
    assert api.put("/units/zabita", json={"name": "Zabıta", "parent": None}).status_code == 201
    with app.app_context():
        make_questionnaire("hizmet")
        db.session.commit()
    rule = {"questionnaire": "hizmet", "triggered_by": "service_event", "fatigue_days": 0}
    created = api.put("/distribution-rules/hizmet", json=rule)
    assert created.status_code == 201, created.get_json()
    ids = []
    for number in range(EVENTS):
        other = number % 3 == 2
        body = service_event_body(
            external_id=f"HZ/{number:03d}",
            occurred_at=(START + dt.timedelta(days=number)).isoformat(),
            unit="zabita" if other else "fen.yol",
            service="ruhsat.isyeri" if other else "ruhsat.yapi",
            person={"name": TURKISH_NAME, "email": f"kisi{number}@example.com",
                    "language": "tr", "survey_consent": True})
        answer = api.post("/service-events", json=body)
        assert answer.status_code == 201, answer.get_json()
        ids.append(body["external_id"])
    return ids


def test_pages_cover_every_service_event_once_in_the_order_recorded(app, api, live_server,
                                                                    events) -> None:
    client = Http(live_server.url, _key(api))
    items, pages = client.walk(limit=5)
    assert pages == 5  # 5 + 5 + 5 + 5 + 3
    assert [item["external_id"] for item in items] == events
    keys = [(dt.datetime.fromisoformat(item["created_at"]), item["id"]) for item in items]
    assert keys == sorted(keys) and len(set(keys)) == EVENTS
    contract = Contract(document(app.test_client()))
    first = client.get(LIST, limit=5)
    contract.check("get", LIST, _Answer(first))
    assert first.json()["next_cursor"] is not None
    whole = client.get(LIST, limit=200).json()
    assert [item["id"] for item in whole["service_events"]] == [item["id"] for item in items]
    assert whole["next_cursor"] is None


def test_many_events_recorded_at_the_same_moment_are_paged_by_id(app, api, live_server,
                                                                 events) -> None:
    with app.app_context():
        db.session.execute(update(ServiceEvent).values(
            created_at=dt.datetime(2026, 1, 1, 9, 0, 0, 123456, tzinfo=dt.UTC)))
        db.session.commit()
    client = Http(live_server.url, _key(api))
    for limit in (1, 4, 22, 23):
        items, _ = client.walk(limit=limit)
        assert [item["external_id"] for item in items] == events, limit


def test_filters_by_unit_service_external_id_and_times(app, api, live_server, events) -> None:
    client = Http(live_server.url, _key(api))
    in_zabita = [ref for number, ref in enumerate(events) if number % 3 == 2]
    in_fen = [ref for ref in events if ref not in in_zabita]

    def listed(**params: Any) -> list[str]:
        return [item["external_id"] for item in client.walk(limit=4, **params)[0]]

    assert listed(unit="zabita") == in_zabita
    assert listed(unit="fen") == in_fen  # the units below it are included
    assert listed(unit="fen.yol") == in_fen
    assert listed(service="ruhsat.isyeri") == in_zabita
    assert listed(service="ruhsat") == events  # the services below it are included
    assert listed(service="nikah") == []
    assert listed(unit="zabita", service="ruhsat.yapi") == []
    assert listed(external_id="HZ/007") == ["HZ/007"]
    assert listed(external_id="HZ/999") == []
    since = (START + dt.timedelta(days=20)).astimezone(dt.timezone(dt.timedelta(hours=3)))
    assert listed(occurred_since=since.isoformat()) == events[20:]
    items = client.walk()[0]
    recorded = items[10]["created_at"]
    assert listed(recorded_since=recorded) == [item["external_id"] for item in items
                                               if item["created_at"] >= recorded]
    unknown = client.get(LIST, unit="yok")
    assert unknown.status_code == 422
    assert {d["field"] for d in unknown.json()["error"]["details"]} == {"unit"}


def test_list_items_are_what_the_single_get_answers(app, api, live_server, events) -> None:
    client = Http(live_server.url, _key(api))
    items, _ = client.walk(limit=7)
    contract = Contract(document(app.test_client()))
    for item in items:
        assert len(item["invitations"]) == 1  # the rule on service events planned each one
        by_id = client.get(f"{LIST}/{item['id']}")
        assert by_id.json() == item
        # An external id with a "/" goes as %2F, as for a complaint.
        by_ref = client.get(f"{LIST}/ext:{item['external_id'].replace('/', '%2F')}")
        assert by_ref.status_code == 200 and by_ref.json() == item
    contract.check("get", f"{LIST}/{{ref}}", _Answer(by_ref))
    assert items[0]["person"]["email"] == "kisi0@example.com"
    for missing in ("999999", "ext:HZ%2F999", "HZ/001", "ext:"):
        answer = client.get(f"{LIST}/{missing}")
        assert answer.status_code == 404, missing
        assert answer.json()["error"]["code"] == "not_found"
    contract.check("get", f"{LIST}/{{ref}}", _Answer(answer))


def test_a_read_key_sees_no_personal_data(app, api, live_server, events) -> None:
    reader = Http(live_server.url, make_key(app, ApiScope.READ, name="okuyucu"))
    answer = reader.get(LIST, limit=200)
    assert answer.status_code == 200
    assert len(answer.json()["service_events"]) == EVENTS
    for item in answer.json()["service_events"]:
        assert "person" not in item
    single = reader.get(f"{LIST}/ext:HZ%2F000")
    assert single.status_code == 200 and "person" not in single.json()
    text = json.dumps([answer.json(), single.json()], ensure_ascii=False)
    assert "example.com" not in text and "Ağaoğlu" not in text


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"cursor": "nonsense"}, "cursor"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"unit": "boş kod"}, "unit"),
        ({"service": "yok"}, "service"),
        ({"external_id": "x" * 129}, "external_id"),
        ({"occurred_since": "2026-01-01T10:00:00"}, "occurred_since"),
        ({"recorded_since": "yesterday"}, "recorded_since"),
        ({"status": "resolved"}, "status"),
    ],
)
def test_bad_query_parameters_are_422_naming_them(app, api, query, field) -> None:
    seed_services(api)
    assert invalid_fields(api.get(LIST, query_string=query)) == {field}


def test_a_cursor_of_another_list_is_refused(app, api, events) -> None:
    for number in range(2):
        assert api.post("/complaints", json=complaint_body(
            external_id=f"ŞK-{number}")).status_code == 201
    ours = api.get(LIST, query_string={"limit": 2}).get_json()["next_cursor"]
    theirs = api.get("/complaints", query_string={"limit": 1}).get_json()["next_cursor"]
    assert invalid_fields(api.get("/complaints", query_string={"cursor": ours})) == {"cursor"}
    assert invalid_fields(api.get(LIST, query_string={"cursor": theirs})) == {"cursor"}


def test_reading_service_events_needs_the_read_scope(app, api, events) -> None:
    intake_only = Api(api.client, make_key(app, ApiScope.INTAKE, name="yalnız-gönderen"))
    for path in (LIST, f"{LIST}/1", f"{LIST}/ext:HZ%2F000"):
        answer = intake_only.get(path)
        assert answer.status_code == 403 and error_of(answer)["code"] == "forbidden"
        anonymous = api.client.get("/api/v1" + path)
        assert anonymous.status_code == 401 and error_of(anonymous)["code"] == "unauthorized"


class _Answer:
    """A ``requests`` answer as ``Contract.check`` reads one (Flask's test response API)."""

    def __init__(self, answer: requests.Response) -> None:
        self.status_code = answer.status_code
        self._body = answer.json()

    def get_json(self) -> Any:
        return self._body
