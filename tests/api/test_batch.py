"""POST /api/v1/complaints/batch: each item judged as the single POST judges it, one result per
item in order, an invalid item never stopping the others; the batch refused whole only when it
cannot be read as one; concurrent batches with the same external_ids store each once. Runs on
SQLite and, with MEMNUN_TEST_DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

import pytest
import requests
from sqlalchemy import select

from app.extensions import db
from app.intake import batch
from app.models import ApiScope, Complainant, Complaint, ComplaintEvent
from tests.support.api import (
    COMPLAINT_FIELDS,
    NASTY,
    RECEIVED,
    Api,
    Contract,
    admin_api,
    complaint_body,
    document,
    error_of,
    invalid_fields,
    make_key,
    seed_reference,
    with_field,
)
from tests.support.database import count_rows

BATCH = "/complaints/batch"


def _person(number: int, **overrides: Any) -> dict[str, Any]:
    person = {"name": f"Kişi {number}", "email": f"kisi{number}@example.com.tr",
              "language": "tr", "survey_consent": True}
    return {**person, **overrides}


def _item(number: int, **overrides: Any) -> dict[str, Any]:
    return complaint_body(**{"external_id": f"B-{number:04d}", "complainant": _person(number),
                             **overrides})


def _statuses(response: Any) -> list[int]:
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    results = body["results"]
    assert [result["index"] for result in results] == list(range(len(results)))
    assert body["created"] == sum(result["status"] == 201 for result in results)
    assert body["unchanged"] == sum(result["status"] == 200 for result in results)
    assert body["failed"] == sum(result["status"] in (409, 422) for result in results)
    return [result["status"] for result in results]


def test_each_item_answers_for_itself_in_order(app, api) -> None:
    assert api.post("/complaints", json=_item(1)).status_code == 201
    items: list[Any] = [
        _item(1),                              # stored before, same content: 200
        _item(2),                              # new: 201
        _item(1, subject="Başka bir konu"),    # stored before, other content: 409
        _item(3, channel="fax"),               # invalid field: 422
        _item(4, unit="yok"),                  # unknown code: 422
        42,                                    # not a complaint at all: 422
        _item(5),                              # new: 201
        _item(2),                              # again within the batch, same content: 200
        _item(5, description="değişti"),       # again within the batch, other content: 409
        _item(4),                              # its first occurrence failed: 201 now
    ]
    response = api.post(BATCH, json={"complaints": items})
    assert _statuses(response) == [200, 201, 409, 422, 422, 422, 201, 200, 409, 201]
    results = response.get_json()["results"]
    assert [r["external_id"] for r in results] == [
        "B-0001", "B-0002", "B-0001", "B-0003", "B-0004", None, "B-0005", "B-0002", "B-0005",
        "B-0004"]
    assert results[0]["id"] == api.get("/complaints/ext:B-0001").get_json()["id"]
    assert results[7]["id"] == results[1]["id"] and results[8]["id"] is None
    for index in (2, 8):
        assert results[index]["error"]["code"] == "conflict"
        assert results[index]["error"]["details"]["differing_fields"]
    assert results[2]["error"]["details"]["complaint_id"] == results[0]["id"]
    assert results[3]["error"]["code"] == "invalid"
    assert {d["field"] for d in results[3]["error"]["details"]} == {"channel"}
    assert results[4]["error"]["details"] == [{
        "field": "unit", "type": "unknown_code", "message": "no unit with the code yok"}]
    assert all(r["error"] is None for r in results if r["status"] in (200, 201))
    assert count_rows(app, Complaint) == 4 and count_rows(app, ComplaintEvent) == 4


def test_a_stored_item_is_what_the_single_post_would_have_stored(app, api) -> None:
    """The same complaints sent one by one answer 200 (the same content) and read back the same
    as complaints sent one by one in the first place: due time from the category, the
    complainant's data, the received event."""
    items = [_item(n, received_at=RECEIVED.isoformat()) for n in range(1, 4)]
    items.append(_item(4, due_at=(RECEIVED + dt.timedelta(days=365)).isoformat()))
    created = api.post(BATCH, json={"complaints": items}).get_json()["results"]
    assert [result["status"] for result in created] == [201] * 4
    single = api.post("/complaints", json=_item(9, received_at=RECEIVED.isoformat()))
    for item, result in zip(items, created, strict=True):
        again = api.post("/complaints", json=item)
        assert again.status_code == 200, again.get_json()
        stored = again.get_json()
        assert stored["id"] == result["id"]
        assert stored["history"][0]["actor"] == "api_key:yönetici"
        assert stored["complainant"]["email"] == item["complainant"]["email"]
    first = api.get(f"/complaints/{created[0]['id']}").get_json()
    expected = single.get_json()
    different = {"id", "external_id", "complainant", "updated_at", "history"}
    assert {k: v for k, v in first.items() if k not in different} == {
        k: v for k, v in expected.items() if k not in different}
    assert first["due_at"] == (RECEIVED + dt.timedelta(days=3)).isoformat()  # the category's
    assert [e["type"] for e in first["history"]] == ["received"]


def test_complainants_are_shared_as_the_single_post_shares_them(app, api) -> None:
    """Two complaints of one new person with the same data share one row; different data makes
    a second row; an opt-out of a known person is carried over to their new row."""
    assert api.post("/complaints", json=_item(1)).status_code == 201
    with app.app_context():
        person = db.session.scalar(select(Complainant))
        person.opted_out_at = RECEIVED
        db.session.commit()
    same = _person(2)
    items = [
        _item(2, complainant=same), _item(3, complainant=same),
        _item(4, complainant=_person(2, name="Başka Ad")),
        _item(5, complainant=_person(1, language="en")),
    ]
    assert _statuses(api.post(BATCH, json={"complaints": items})) == [201] * 4
    with app.app_context():
        rows = db.session.scalars(select(Complainant).order_by(Complainant.id)).all()
        by_complaint = {c.external_id: c.complainant_id for c in db.session.scalars(
            select(Complaint))}
        assert len(rows) == 4
        assert by_complaint["B-0002"] == by_complaint["B-0003"] != by_complaint["B-0004"]
        carried = db.session.get(Complainant, by_complaint["B-0005"])
        assert carried.opted_out_at == RECEIVED and carried.language == "en"


def test_sending_a_batch_again_changes_nothing(app, api) -> None:
    items = [_item(n) for n in range(1, 31)]
    first = api.post(BATCH, json={"complaints": items})
    assert _statuses(first) == [201] * 30
    again = api.post(BATCH, json={"complaints": items})
    assert _statuses(again) == [200] * 30
    assert [r["id"] for r in again.get_json()["results"]] == [
        r["id"] for r in first.get_json()["results"]]
    assert count_rows(app, Complaint) == 30 and count_rows(app, ComplaintEvent) == 30
    assert count_rows(app, Complainant) == 30


def test_one_transaction_per_item_gives_the_same_results(app, api, monkeypatch) -> None:
    """The path taken when races keep defeating the whole-batch transaction: same answers."""
    assert api.post("/complaints", json=_item(1)).status_code == 201
    items = [_item(1), _item(2), _item(1, subject="x"), _item(3, unit="yok"), _item(2),
             _item(4)]
    monkeypatch.setattr(batch, "ROUNDS", 0)
    assert _statuses(api.post(BATCH, json={"complaints": items})) == [
        200, 201, 409, 422, 200, 201]
    assert count_rows(app, Complaint) == 3


def test_no_hostile_value_in_any_item_gives_a_500(app, api) -> None:
    items = [with_field(_item(0, external_id=f"N-{field}-{number}"), field, value)
             for field in COMPLAINT_FIELDS for number, value in enumerate(NASTY)]
    response = api.post(BATCH, data=json.dumps({"complaints": items}),
                        content_type="application/json")
    statuses = _statuses(response)
    assert set(statuses) <= {200, 201, 409, 422}
    assert statuses.count(422) > len(items) / 2
    for result in response.get_json()["results"]:
        if result["status"] == 422:
            assert result["error"]["code"] == "invalid" and result["error"]["details"]
    assert count_rows(app, Complaint) == statuses.count(201)


@pytest.mark.parametrize("body", [
    {}, {"complaints": []}, {"complaints": None}, {"complaints": {"a": 1}},
    {"complaints": "[]"}, {"complaints": [_item(1)], "extra": True}, {"complaint": [_item(1)]},
])
def test_a_body_that_is_not_a_batch_is_422(app, api, body) -> None:
    assert invalid_fields(api.post(BATCH, json=body)) <= {"complaints", "extra", "complaint"}
    assert count_rows(app, Complaint) == 0


def test_malformed_json_is_400(app, api) -> None:
    for raw in (b"{", b'{"complaints": [}', b"[]", b"null", b"[" * 50_000):
        response = api.post(BATCH, data=raw, content_type="application/json")
        assert response.status_code == 400 and error_of(response)["code"] == "malformed_json"


def test_too_many_items_or_bytes_are_413_and_store_nothing(make_app) -> None:
    app = make_app(MEMNUN_API_BATCH_MAX=3, MAX_CONTENT_LENGTH=20_000)
    api = admin_api(app)
    seed_reference(api)
    response = api.post(BATCH, json={"complaints": [_item(n) for n in range(4)]})
    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "too_many_items" and error["details"] == {"max_items": 3, "items": 4}
    big = [_item(n, description="ş" * 4000) for n in range(3)]
    response = api.post(BATCH, json={"complaints": big})
    assert response.status_code == 413
    assert error_of(response)["details"] == {"max_bytes": 20_000}
    assert count_rows(app, Complaint) == 0
    assert _statuses(api.post(BATCH, json={"complaints": [_item(n) for n in range(3)]})) == [
        201] * 3
    maximum = document(api.client)["components"]["schemas"]["ComplaintBatchIn"]
    assert maximum["properties"]["complaints"]["maxItems"] == 3


def test_keys_and_scopes_are_those_of_the_single_post(app, api) -> None:
    body = {"complaints": [_item(1)]}
    anonymous = api.client.post("/api/v1" + BATCH, json=body)
    assert anonymous.status_code == 401 and error_of(anonymous)["code"] == "unauthorized"
    wrong = Api(api.client, "mk_not-a-key").post(BATCH, json=body)
    assert wrong.status_code == 401
    reader = Api(api.client, make_key(app, ApiScope.READ, name="okur"))
    refused = reader.post(BATCH, json=body)
    assert refused.status_code == 403 and "intake" in error_of(refused)["message"]
    assert count_rows(app, Complaint) == 0
    intake = Api(api.client, make_key(app, ApiScope.INTAKE, name="entegrasyon"))
    assert _statuses(intake.post(BATCH, json=body)) == [201]


def test_answers_match_the_document(app, api) -> None:
    contract = Contract(document(api.client))
    reader = Api(api.client, make_key(app, ApiScope.READ, name="okur"))
    for response in (
        api.post(BATCH, json={"complaints": [_item(1), _item(2, channel="fax"), _item(1),
                                             _item(1, subject="x")]}),
        api.post(BATCH, json={"complaints": []}),
        api.post(BATCH, data=b"{", content_type="application/json"),
        reader.post(BATCH, json={"complaints": [_item(3)]}),
        api.client.post("/api/v1" + BATCH, json={}),
    ):
        contract.check("post", BATCH, response)
    operation = document(api.client)["paths"][BATCH]["post"]
    assert operation["x-memnun-scope"] == "intake"
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ComplaintBatchIn"}
    docs = api.client.get("/api/v1/docs").get_data(as_text=True)
    assert "POST /api/v1/complaints/batch" in docs and 'id="schema-ComplaintBatchOut"' in docs


# --- real HTTP, concurrent batches ---------------------------------------------------------------

BATCHES = 4
OVERLAP = 40


def test_concurrent_batches_with_the_same_external_ids_store_each_once(app, live_server) -> None:
    """Four batches at once over real HTTP, each sharing most of its external ids with the
    others (and each sending a few with other content): every id stored once, exactly one 201
    for it across the batches, the other copies 200 or (other content) 409; never a 500."""
    api = admin_api(app)
    seed_reference(api)
    key = api.headers["Authorization"].removeprefix("Bearer ")
    shared = [_item(n) for n in range(OVERLAP)]
    bodies = []
    for number in range(BATCHES):
        own = [_item(1000 + number * 100 + n) for n in range(10)]
        clash = [_item(n, subject=f"batch {number}") for n in range(OVERLAP, OVERLAP + 3)]
        bodies.append({"complaints": shared[number * 5:] + own + shared[:number * 5] + clash})
    answers: list[Any] = [None] * BATCHES
    start = threading.Barrier(BATCHES)

    def send(number: int) -> None:
        start.wait()
        answers[number] = requests.post(f"{live_server.url}/api/v1{BATCH}",
                                         json=bodies[number], timeout=60,
                                         headers={"Authorization": f"Bearer {key}"})

    threads = [threading.Thread(target=send, args=(n,)) for n in range(BATCHES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes: dict[str, list[int]] = {}
    for body, answer in zip(bodies, answers, strict=True):
        assert answer.status_code == 200, answer.text
        for item, result in zip(body["complaints"], answer.json()["results"], strict=True):
            assert result["external_id"] == item["external_id"]
            outcomes.setdefault(item["external_id"], []).append(result["status"])
    assert all(statuses.count(201) == 1 for statuses in outcomes.values()), outcomes
    for n in range(OVERLAP):
        assert sorted(outcomes[f"B-{n:04d}"]) == [200] * (BATCHES - 1) + [201]
    for n in range(OVERLAP, OVERLAP + 3):
        assert sorted(outcomes[f"B-{n:04d}"]) == [201] + [409] * (BATCHES - 1)
    stored = OVERLAP + 3 + BATCHES * 10
    assert count_rows(app, Complaint) == stored and count_rows(app, ComplaintEvent) == stored
