"""Contract tests: GET /api/v1/complaints and GET /api/v1/responses (cursor pagination)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import ApiScope, Complaint
from tests.support.api import (
    TURKISH_NAME,
    Api,
    admin_api,
    at,
    complaint_body,
    error_of,
    invalid_fields,
    make_key,
)
from tests.support.datasets.survey import SurveyData, utc

COMPLAINTS = 23


@pytest.fixture(autouse=True)
def _complaints(request: pytest.FixtureRequest) -> None:
    """Where a test uses the api fixture: COMPLAINTS complaints posted, after the reference."""
    if "api" in request.fixturenames:
        api = request.getfixturevalue("reference")
        for number in range(COMPLAINTS):
            body = complaint_body(external_id=f"L-{number:03d}")
            assert api.post("/complaints", json=body).status_code == 201


def walk(api: Api, path: str, key: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every item of a paged list, following next_cursor; and the number of pages."""
    items: list[dict[str, Any]] = []
    pages = 0
    cursor = params.pop("cursor", None)
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = api.get(path, query_string=query)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        pages += 1
        items += body[key]
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages
        assert pages < 100, "the cursor does not advance"


def _sorted_by_change(items: list[dict[str, Any]]) -> bool:
    keys = [(dt.datetime.fromisoformat(item["updated_at"]), item["id"]) for item in items]
    return keys == sorted(keys)


def test_pages_cover_every_complaint_once_in_order(app, api) -> None:
    items, pages = walk(api, "/complaints", "complaints", limit=5)
    assert pages == 5  # 5 + 5 + 5 + 5 + 3
    ids = [item["id"] for item in items]
    assert len(ids) == COMPLAINTS and len(set(ids)) == COMPLAINTS
    assert _sorted_by_change(items)
    whole = api.get("/complaints", query_string={"limit": 200}).get_json()
    assert [item["id"] for item in whole["complaints"]] == ids and whole["next_cursor"] is None


def test_pages_stay_right_when_many_complaints_changed_at_the_same_moment(app, api) -> None:
    moment = dt.datetime(2026, 1, 1, 9, 0, 0, 123456, tzinfo=dt.UTC)
    with app.app_context():
        db.session.execute(update(Complaint).values(updated_at=moment))
        db.session.commit()
    for limit in (1, 4, 22, 23):
        items, _ = walk(api, "/complaints", "complaints", limit=limit)
        assert [item["id"] for item in items] == list(range(1, COMPLAINTS + 1)), limit


def test_a_changed_complaint_comes_again_after_the_ones_already_seen(app, api) -> None:
    first = api.get("/complaints", query_string={"limit": 10}).get_json()
    changed_id = first["complaints"][0]["id"]
    assert api.post(f"/complaints/{changed_id}/events",
                    json={"type": "acknowledged", "at": at(0.5)}).status_code == 201
    # A client that read the first page follows its cursor and meets the change at the end.
    rest, _ = walk(api, "/complaints", "complaints", limit=10, cursor=first["next_cursor"])
    assert len(rest) == COMPLAINTS - 10 + 1
    assert rest[-1]["id"] == changed_id and rest[-1]["status"] == "acknowledged"
    # A fresh walk lists each complaint once, the changed one last.
    fresh, _ = walk(api, "/complaints", "complaints", limit=10)
    assert len({item["id"] for item in fresh}) == len(fresh) == COMPLAINTS
    assert fresh[-1]["id"] == changed_id


def test_filters_by_status_and_updated_since(app, api) -> None:
    for number in (3, 7):
        response = api.post(f"/complaints/ext:L-{number:03d}/events",
                            json={"type": "resolved", "at": at(1)})
        assert response.status_code == 201
    resolved, _ = walk(api, "/complaints", "complaints", status="resolved", limit=1)
    assert [item["external_id"] for item in resolved] == ["L-003", "L-007"]
    since = resolved[0]["updated_at"]
    recent, _ = walk(api, "/complaints", "complaints", updated_since=since)
    assert [item["external_id"] for item in recent] == ["L-003", "L-007"]
    # The "+" of an offset that was not encoded arrives as a space: still understood.
    local = dt.datetime.fromisoformat(since).astimezone(dt.timezone(dt.timedelta(hours=3)))
    raw = local.isoformat().replace("+", " ")
    response = api.client.get(f"/api/v1/complaints?updated_since={raw}", headers=api.headers)
    assert [item["external_id"] for item in response.get_json()["complaints"]] == [
        "L-003", "L-007"]


def test_list_items_are_the_documents_get_answers(app, api) -> None:
    api.post("/complaints/ext:L-001/events", json={"type": "resolved", "at": at(1)})
    items, _ = walk(api, "/complaints", "complaints", limit=7)
    for item in items:
        assert api.get(f"/complaints/{item['id']}").get_json() == item
    with_invitation = next(item for item in items if item["external_id"] == "L-001")
    assert len(with_invitation["invitations"]) == 1
    assert with_invitation["complainant"]["name"] == TURKISH_NAME


def test_a_read_key_sees_no_personal_data_in_the_list(app, api) -> None:
    reader = Api(api.client, make_key(app, ApiScope.READ, name="okuyucu"))
    response = reader.get("/complaints", query_string={"limit": 200})
    assert response.status_code == 200
    for item in response.get_json()["complaints"]:
        assert not {"complainant", "subject", "description"} & set(item)
    text = json.dumps(response.get_json(), ensure_ascii=False)
    assert "sukru.agaoglu" not in text and "Ağaoğlu" not in text and "Çöp" not in text


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"cursor": "nonsense"}, "cursor"),
        ({"cursor": "a.b.c"}, "cursor"),
        ({"cursor": "\x00"}, "cursor"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"status": "lost"}, "status"),
        ({"updated_since": "2026-01-01T10:00:00"}, "updated_since"),
        ({"updated_since": "yesterday"}, "updated_since"),
        ({"updatedsince": "2026-01-01T10:00:00Z"}, "updatedsince"),
    ],
)
def test_bad_query_parameters_are_422_naming_them(app, api, query, field) -> None:
    assert invalid_fields(api.get("/complaints", query_string=query)) == {field}


def test_repeated_parameters_and_forged_cursors_are_refused(app, api) -> None:
    response = api.client.get("/api/v1/complaints?limit=2&limit=3", headers=api.headers)
    assert invalid_fields(response) == {"limit"}
    cursor = api.get("/complaints", query_string={"limit": 2}).get_json()["next_cursor"]
    body, signature = cursor.split(".")
    forged = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1] + "." + signature
    assert invalid_fields(api.get("/complaints", query_string={"cursor": forged})) == {"cursor"}
    # A cursor of one list does not work on another.
    assert invalid_fields(api.get("/responses", query_string={"cursor": cursor})) == {"cursor"}


def test_lists_need_a_key_with_the_read_scope(app, api) -> None:
    intake_only = Api(api.client, make_key(app, ApiScope.INTAKE, name="yalnız-gönderen"))
    for path in ("/complaints", "/responses", "/metrics", "/distribution-rules"):
        response = intake_only.get(path)
        assert response.status_code == 403 and error_of(response)["code"] == "forbidden"
        anonymous = api.client.get("/api/v1" + path)
        assert anonymous.status_code == 401 and error_of(anonymous)["code"] == "unauthorized"


# --- responses ---------------------------------------------------------------------------------


@pytest.fixture
def survey(app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Seven responses to post-resolution (the third with several topics and a comment) and one
    to nps-relationship, a day apart from 2 March 2026."""
    with app.app_context():
        data = SurveyData()
        ids = {}
        for number in range(7):
            complaint = data.complaint("fen", utc(2026, 2, 1), channel="phone")
            answers: dict[str, Any] = {"overall": 5 - number % 5, "resolved": "yes"}
            if number == 2:
                answers.update(topics=["hiz", "nezaket", "sonuc"],
                               comment=f"{TURKISH_NAME} çok yardımcı oldu")
            response = data.response(complaint, utc(2026, 3, 2 + number), answers)
            db.session.flush()
            ids[f"r{number}"] = response.id
        other = data.complaint("park", utc(2026, 2, 1), category="yol")
        response = data.response(other, utc(2026, 3, 5, 6), {"recommend": 9},
                                 questionnaire="nps-relationship")
        db.session.flush()
        ids["nps"] = response.id
        data.commit()
    return ids


def test_responses_page_by_page_with_answers_in_codes(app, survey) -> None:
    api = admin_api(app)
    items, pages = walk(api, "/responses", "responses", limit=3)
    assert pages == 3
    assert [item["id"] for item in items] == [
        survey["r0"], survey["r1"], survey["r2"], survey["nps"], survey["r3"], survey["r4"],
        survey["r5"], survey["r6"],
    ]
    third = items[2]
    assert third["questionnaire"] == {"key": "post-resolution", "version": 1}
    assert (third["unit"], third["category"], third["channel"]) == ("fen", "cop", "phone")
    answers = {answer["question"]: answer for answer in third["answers"]}
    assert answers["overall"]["value"] == 3 and answers["overall"]["type"] == "rating"
    assert answers["resolved"]["value"] == "yes"
    # One row per chosen option in the database, one answer with the list here.
    assert answers["topics"]["value"] == ["hiz", "nezaket", "sonuc"]
    assert answers["comment"]["value"] == f"{TURKISH_NAME} çok yardımcı oldu"
    assert "complainant" not in third and "email" not in third  # no contact data
    assert "@" not in json.dumps(third)


def test_a_read_key_gets_no_free_text(app, survey) -> None:
    reader = Api(app.test_client(), make_key(app, ApiScope.READ))
    body = reader.get("/responses", query_string={"limit": 200}).get_json()
    third = next(item for item in body["responses"] if item["id"] == survey["r2"])
    assert {answer["question"] for answer in third["answers"]} == {"overall", "resolved",
                                                                   "topics"}
    assert TURKISH_NAME not in json.dumps(body, ensure_ascii=False)


def test_responses_since_and_by_questionnaire(app, survey) -> None:
    api = admin_api(app)
    since = api.get("/responses", query_string={"since": "2026-03-07T12:00:00+00:00"})
    assert [item["id"] for item in since.get_json()["responses"]] == [survey["r5"],
                                                                       survey["r6"]]
    nps = api.get("/responses", query_string={"questionnaire": "nps-relationship"}).get_json()
    assert [item["id"] for item in nps["responses"]] == [survey["nps"]]
    assert nps["responses"][0]["answers"] == [
        {"question": "recommend", "type": "nps", "attribute": "loyalty", "value": 9}]
    assert invalid_fields(api.get("/responses", query_string={"questionnaire": "yok"})) == {
        "questionnaire"}
    assert invalid_fields(api.get("/responses", query_string={"since": "2026-03-07"})) == {
        "since"}


def test_a_one_click_answer_not_yet_submitted_is_not_listed(app, survey) -> None:
    from app.models import Invitation, InvitationState, Response

    with app.app_context():
        response = db.session.get(Response, survey["r6"])
        invitation = db.session.get(Invitation, response.invitation_id)
        invitation.state, invitation.responded_at = InvitationState.SENT, None  # partial
        db.session.commit()
    items, _ = walk(admin_api(app), "/responses", "responses")
    assert survey["r6"] not in {item["id"] for item in items} and len(items) == 7
