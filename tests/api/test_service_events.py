"""The service catalogue (PUT/GET /api/v1/services) and service events (POST
/api/v1/service-events and its batch): the same validation, error shape, retries and person
handling as complaints. Runs on SQLite and, with MEMNUN_TEST_DATABASE_URL, on PostgreSQL; the
batch also through real HTTP."""

from __future__ import annotations

import datetime as dt

import requests
from sqlalchemy import select

from app.extensions import db
from app.models import ApiScope, Complainant, ServiceEvent
from tests.support.api import (
    RECEIVED,
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
from tests.support.database import count_rows


def test_services_are_a_tree_put_like_categories(app, api) -> None:
    seed_services(api)
    again = api.put("/services/ruhsat.yapi", json={"name": "Yapı ruhsatı", "parent": "ruhsat"})
    assert again.status_code == 200
    renamed = api.put("/services/ruhsat", json={"name": "Ruhsatlar"})
    assert renamed.status_code == 200 and renamed.get_json() == {
        "code": "ruhsat", "name": "Ruhsatlar", "parent": None}
    assert invalid_fields(api.put("/services/x", json={"name": "X", "parent": "yok"})) == {
        "parent"}
    assert invalid_fields(api.put("/services/ruhsat", json={
        "name": "Döngü", "parent": "ruhsat.yapi"})) == {"parent"}
    assert invalid_fields(api.put("/services/bo%C5%9F%20kod", json={"name": "X"})) == {"code"}
    listed = api.get("/services").get_json()["services"]
    assert [(s["code"], s["parent"]) for s in listed] == [
        ("ruhsat", None), ("ruhsat.yapi", "ruhsat")]
    contract = Contract(document(app.test_client()))
    contract.check("get", "/services", api.get("/services"))


def test_a_service_event_is_stored_once_and_its_person_as_a_complainant(app, api) -> None:
    seed_services(api)
    response = api.post("/service-events", json=service_event_body())
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert dt.datetime.fromisoformat(body["occurred_at"]) == RECEIVED
    assert (body["unit"], body["service"], body["channel"]) == ("fen.yol", "ruhsat.yapi",
                                                                 "walk_in")
    # The e-mail address normalised and the language cut to "tr", as for a complaint.
    assert body["person"] == {"name": TURKISH_NAME, "email": "sukru.agaoglu@example.com.tr",
                              "phone": "+90 532 000 00 00", "language": "tr",
                              "survey_consent": True, "opted_out_at": None, "erased_at": None}
    assert body["invitations"] == []
    contract = Contract(document(app.test_client()))
    contract.check("post", "/service-events", response)

    again = api.post("/service-events", json=service_event_body())
    assert again.status_code == 200 and again.get_json()["id"] == body["id"]
    contract.check("post", "/service-events", again)
    other = api.post("/service-events", json=service_event_body(channel="phone", person={
        "name": "Başkası", "language": "tr", "survey_consent": True}))
    assert other.status_code == 409
    error = error_of(other)
    assert error["code"] == "conflict"
    assert error["details"] == {"service_event_id": body["id"], "differing_fields": [
        "channel", "person.name", "person.email", "person.phone"]}
    # A complaint of the same person (same data) shares the complainant row.
    complaint = api.post("/complaints", json=complaint_body(complainant={
        "name": TURKISH_NAME, "email": "sukru.agaoglu@example.com.tr",
        "phone": "+90 532 000 00 00", "language": "tr", "survey_consent": True}))
    assert complaint.status_code == 201
    assert count_rows(app, ServiceEvent) == 1 and count_rows(app, Complainant) == 1


def test_an_opted_out_person_stays_opted_out(app, api) -> None:
    seed_services(api)
    assert api.post("/complaints", json=complaint_body()).status_code == 201
    moment = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with app.app_context():
        person = db.session.scalar(select(Complainant))
        person.opted_out_at = moment
        db.session.commit()
    response = api.post("/service-events", json=service_event_body(person={
        "email": "sukru.agaoglu@example.com.tr", "survey_consent": True}))
    assert response.status_code == 201
    assert dt.datetime.fromisoformat(response.get_json()["person"]["opted_out_at"]) == moment


def test_bad_service_events_are_refused_with_each_field_and_nothing_stored(app, api) -> None:
    seed_services(api)
    assert invalid_fields(api.post("/service-events", json=service_event_body(
        unit="yok", service="yok"))) == {"unit", "service"}
    assert invalid_fields(api.post("/service-events", json=service_event_body(
        channel="fax", occurred_at="2999-01-01T00:00:00+00:00", extra=1))) == {
        "channel", "occurred_at", "extra"}
    assert invalid_fields(api.post("/service-events", json=service_event_body(person={
        "email": "not an address", "survey_consent": "yes"}))) == {
        "person.email", "person.survey_consent"}
    assert count_rows(app, ServiceEvent) == 0 and count_rows(app, Complainant) == 0


def test_scopes_and_personal_data_as_for_complaints(app, api) -> None:
    seed_services(api)
    intake = Api(app.test_client(), make_key(app, ApiScope.INTAKE, name="sistem"))
    reader = Api(app.test_client(), make_key(app, ApiScope.READ, name="okuyucu"))
    assert reader.post("/service-events", json=service_event_body()).status_code == 403
    assert reader.put("/services/x", json={"name": "X"}).status_code == 403
    created = intake.post("/service-events", json=service_event_body())
    assert created.status_code == 201 and "person" not in created.get_json()
    # A key that may not read personal data is not told whether a guessed name matches.
    guess = intake.post("/service-events", json=service_event_body(person={
        "name": "Tahmin", "survey_consent": False}))
    assert guess.status_code == 200 and "person" not in guess.get_json()


def test_a_batch_of_service_events_answers_per_item(app, api) -> None:
    seed_services(api)
    assert api.post("/service-events", json=service_event_body()).status_code == 201
    items = [
        service_event_body(),                                          # 200
        service_event_body(external_id="HZ-2", person={                # 201
            "email": "ayse@example.com", "survey_consent": True}),
        service_event_body(external_id="HZ-3", person={                # 201, same person
            "email": "AYSE@example.com", "survey_consent": True}),
        service_event_body(channel="phone"),                           # 409
        service_event_body(external_id="HZ-4", service="yok"),         # 422
        17,                                                            # 422
        service_event_body(external_id="HZ-2", channel="web", person={  # 409, again in batch
            "email": "ayse@example.com", "survey_consent": True}),
    ]
    response = api.post("/service-events/batch", json={"service_events": items})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [r["status"] for r in body["results"]] == [200, 201, 201, 409, 422, 422, 409]
    assert (body["created"], body["unchanged"], body["failed"]) == (2, 1, 4)
    assert body["results"][4]["error"]["details"][0]["field"] == "service"
    Contract(document(app.test_client())).check("post", "/service-events/batch", response)
    with app.app_context():
        events = db.session.scalars(select(ServiceEvent).order_by(ServiceEvent.external_id))
        people = {e.external_id: e.complainant_id for e in events}
    assert set(people) == {"HZ-2026/0001", "HZ-2", "HZ-3"}
    assert people["HZ-2"] == people["HZ-3"] != people["HZ-2026/0001"]
    assert count_rows(app, Complainant) == 2
    too_many = api.post("/service-events/batch", json={"service_events": [
        service_event_body(external_id=f"N-{n}") for n in range(501)]})
    assert too_many.status_code == 413 and error_of(too_many)["code"] == "too_many_items"
    assert count_rows(app, ServiceEvent) == 3


def test_the_batch_over_real_http_then_resent_changes_nothing(app, api, live_server) -> None:
    seed_services(api)
    key = api.headers["Authorization"].removeprefix("Bearer ")
    body = {"service_events": [
        service_event_body(external_id=f"H-{n:03d}", person={
            "email": f"kisi{n % 7}@example.com", "survey_consent": n % 2 == 0})
        for n in range(60)]}

    def send() -> list[int]:
        answer = requests.post(f"{live_server.url}/api/v1/service-events/batch", json=body,
                               headers={"Authorization": f"Bearer {key}"}, timeout=60)
        assert answer.status_code == 200, answer.text
        return [result["status"] for result in answer.json()["results"]]

    assert send() == [201] * 60
    people = count_rows(app, Complainant)
    assert people == 14  # seven addresses, each with and without consent
    assert send() == [200] * 60
    assert count_rows(app, ServiceEvent) == 60 and count_rows(app, Complainant) == people
