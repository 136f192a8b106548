"""Contract tests: POST /api/v1/complaints and GET /api/v1/complaints/<id>."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.extensions import db
from app.models import ApiScope, Complainant, Complaint, ComplaintEvent
from tests.support.api import (
    RECEIVED,
    TURKISH_NAME,
    TURKISH_TEXT,
    Api,
    complaint_body,
    error_of,
    invalid_fields,
    make_key,
)
from tests.support.database import count_rows


def test_create_answers_201_with_the_stored_complaint(app, api) -> None:
    response = api.post("/complaints", json=complaint_body())
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["external_id"] == "ÇM-2026/0001"
    assert body["status"] == "received"
    assert body["channel"] == "web" and body["category"] == "cop" and body["unit"] == "fen.yol"
    # Sent with +03:00, answered in UTC: the same instant.
    assert dt.datetime.fromisoformat(body["received_at"]) == RECEIVED
    assert body["received_at"].endswith("+00:00")
    # No due_at sent: received_at plus the category's 3 committed days.
    assert dt.datetime.fromisoformat(body["due_at"]) == RECEIVED + dt.timedelta(days=3)
    assert body["subject"] == "Çöp alınmadı" and body["description"] == TURKISH_TEXT
    assert body["complainant"] == {
        "name": TURKISH_NAME, "email": "sukru.agaoglu@example.com.tr",
        "phone": "+90 532 000 00 00", "language": "tr", "survey_consent": True,
        "opted_out_at": None, "erased_at": None,
    }
    assert body["reopen_count"] == 0 and body["resolved_at"] is None
    assert body["invitations"] == []
    assert [(e["type"], e["actor"]) for e in body["history"]] == [("received", "api_key:yönetici")]
    assert dt.datetime.fromisoformat(body["history"][0]["at"]) == RECEIVED

    with app.app_context():
        complaint = db.session.get(Complaint, body["id"])
        assert complaint.description == TURKISH_TEXT
        assert complaint.complainant.name == TURKISH_NAME
        assert complaint.received_at == RECEIVED and complaint.received_at.tzinfo is not None
        events = db.session.scalars(select(ComplaintEvent)).all()
        assert [(e.type.value, e.actor) for e in events] == [("received", "api_key:yönetici")]

    fetched = api.get(f"/complaints/{body['id']}")
    assert fetched.status_code == 200 and fetched.get_json() == body
    by_external = api.get("/complaints/ext:ÇM-2026%2F0001")
    assert by_external.status_code == 200 and by_external.get_json() == body


def test_due_at_given_or_inherited_from_the_parent_category(app, api) -> None:
    due = (RECEIVED + dt.timedelta(days=1, hours=2)).isoformat()
    given = api.post("/complaints", json=complaint_body(external_id="A", due_at=due)).get_json()
    assert dt.datetime.fromisoformat(given["due_at"]) == RECEIVED + dt.timedelta(days=1, hours=2)

    api.put("/categories/cop", json={"name": "Çöp", "parent": "temizlik"})  # no own commitment
    inherited = api.post("/complaints", json=complaint_body(external_id="B")).get_json()
    assert dt.datetime.fromisoformat(inherited["due_at"]) == RECEIVED + dt.timedelta(days=10)

    api.put("/categories/diger", json={"name": "Diğer"})
    none = api.post("/complaints", json=complaint_body(external_id="C", category="diger"))
    assert none.status_code == 201 and none.get_json()["due_at"] is None


def test_same_external_id_same_content_is_a_safe_retry(app, api) -> None:
    first = api.post("/complaints", json=complaint_body())
    # The same content written differently: another offset for the same instant, other case in
    # the e-mail address, a regional language tag.
    again = complaint_body(received_at=RECEIVED.isoformat())
    again["complainant"] = {**again["complainant"], "email": "Sukru.Agaoglu@EXAMPLE.com.tr",
                            "language": "tr-TR"}
    retry = api.post("/complaints", json=again)
    assert retry.status_code == 200
    assert retry.get_json() == first.get_json()
    assert count_rows(app, Complaint) == 1
    assert count_rows(app, ComplaintEvent) == 1
    assert count_rows(app, Complainant) == 1


def test_same_external_id_other_content_is_409_and_changes_nothing(app, api) -> None:
    first = api.post("/complaints", json=complaint_body()).get_json()
    changes = [
        ({"description": TURKISH_TEXT.replace("ı", "i")}, "description"),
        ({"channel": "phone"}, "channel"),
        ({"received_at": (RECEIVED - dt.timedelta(seconds=1)).isoformat()}, "received_at"),
        ({"unit": "fen"}, "unit"),
        ({"due_at": (RECEIVED + dt.timedelta(days=9)).isoformat()}, "due_at"),
        ({"complainant": {**complaint_body()["complainant"], "survey_consent": False}},
         "complainant.survey_consent"),
    ]
    for change, field in changes:
        response = api.post("/complaints", json=complaint_body(**change))
        assert response.status_code == 409, field
        error = error_of(response)
        assert error["code"] == "conflict"
        assert error["details"] == {"complaint_id": first["id"], "differing_fields": [field]}
    assert count_rows(app, Complaint) == 1 and count_rows(app, ComplaintEvent) == 1
    assert api.get(f"/complaints/{first['id']}").get_json() == first


def test_naive_times_and_other_invalid_fields_are_422_naming_each_field(app, api) -> None:
    body = complaint_body(
        received_at="2026-01-05T10:00:00",  # no offset
        channel="fax",
        due_at="1700000000",  # a Unix time is not ISO 8601
        subject="x" * 301,
    )
    body["complainant"] = {"email": "not-an-address", "language": "Türkçe", "phone": "call me"}
    fields = invalid_fields(api.post("/complaints", json=body))
    assert fields == {
        "received_at", "channel", "due_at", "subject", "complainant.email",
        "complainant.language", "complainant.phone", "complainant.survey_consent",
    }
    assert count_rows(app, Complaint) == 0


INVALID_FIELDS = [
    ({"received_at": "2026-01-05"}, "received_at"),
    ({"received_at": 1767600000}, "received_at"),
    ({"received_at": "yesterday"}, "received_at"),
    ({"received_at": "0001-01-01T00:00:00+14:00"}, "received_at"),
    ({"received_at": (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()},
     "received_at"),
    ({"due_at": (RECEIVED - dt.timedelta(hours=1)).isoformat()}, "due_at"),
    ({"external_id": ""}, "external_id"),
    ({"external_id": " A-1"}, "external_id"),
    ({"external_id": "A\n1"}, "external_id"),
    ({"external_id": 12}, "external_id"),
    ({"category": "a/b"}, "category"),
    ({"description": "bad\x00byte"}, "description"),
    ({"subject": "lone \ud800 surrogate"}, "subject"),
    ({"complainant": None}, "complainant"),
    ({"complainant": {"survey_consent": "yes"}}, "complainant.survey_consent"),
    ({"complainant": {"survey_consent": True, "fax": "1"}}, "complainant.fax"),
    ({"priority": "high"}, "priority"),
]


def test_each_invalid_field_is_named(app, api) -> None:
    for change, field in INVALID_FIELDS:
        response = api.post("/complaints", json=complaint_body(**change))
        assert invalid_fields(response) == {field}, change
    assert count_rows(app, Complaint) == 0


def test_unknown_category_and_unit_are_422_naming_both(app, api) -> None:
    response = api.post("/complaints", json=complaint_body(category="yok", unit="hiç"))
    assert invalid_fields(response) == {"category", "unit"}
    assert count_rows(app, Complaint) == 0 and count_rows(app, Complainant) == 0


def test_complainants_found_by_email_keep_each_complaints_own_data(app, api) -> None:
    api.post("/complaints", json=complaint_body(external_id="A"))
    same_person = complaint_body(external_id="B")
    same_person["complainant"] = {**same_person["complainant"],
                                  "email": "SUKRU.AGAOGLU@example.com.tr"}
    api.post("/complaints", json=same_person)
    assert count_rows(app, Complainant) == 1  # same data: one row

    changed = complaint_body(external_id="C")
    changed["complainant"] = {**changed["complainant"], "name": "Şükrü A.", "language": "en",
                              "survey_consent": False}
    third = api.post("/complaints", json=changed).get_json()
    assert third["complainant"]["name"] == "Şükrü A."
    assert third["complainant"]["survey_consent"] is False
    first = api.get("/complaints/ext:A").get_json()
    assert first["complainant"]["name"] == TURKISH_NAME
    assert first["complainant"]["survey_consent"] is True
    assert count_rows(app, Complainant) == 2


def test_a_new_complaint_of_an_opted_out_person_stays_opted_out(app, api) -> None:
    api.post("/complaints", json=complaint_body(external_id="A"))
    opted_out_at = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    with app.app_context():
        person = db.session.scalar(select(Complainant))
        person.opted_out_at = opted_out_at
        db.session.commit()
    other = complaint_body(external_id="B")
    other["complainant"] = {**other["complainant"], "name": "Başka Ad"}
    body = api.post("/complaints", json=other).get_json()
    assert dt.datetime.fromisoformat(body["complainant"]["opted_out_at"]) == opted_out_at


def test_anonymous_complainant_and_default_language(app, api) -> None:
    body = api.post("/complaints", json=complaint_body(
        subject=None, description=None, complainant={"survey_consent": False},
    ))
    assert body.status_code == 201
    document = body.get_json()
    assert document["subject"] is None
    assert document["complainant"] == {
        "name": None, "email": None, "phone": None, "language": app.config["BABEL_DEFAULT_LOCALE"],
        "survey_consent": False, "opted_out_at": None, "erased_at": None,
    }


def test_personal_data_only_for_admin_keys(app, api, client) -> None:
    intake = Api(client, make_key(app, ApiScope.INTAKE, ApiScope.READ, name="çağrı merkezi"))
    created = intake.post("/complaints", json=complaint_body())
    assert created.status_code == 201
    for response in (created, intake.get(f"/complaints/{created.get_json()['id']}")):
        document = response.get_json()
        assert "complainant" not in document
        assert "description" not in document and "subject" not in document
        assert TURKISH_NAME not in response.get_data(as_text=True)
    assert [e["actor"] for e in created.get_json()["history"]] == ["api_key:çağrı merkezi"]
    full = api.get(f"/complaints/{created.get_json()['id']}").get_json()
    assert full["complainant"]["name"] == TURKISH_NAME


def test_scopes_for_complaints(app, api, client) -> None:
    reader = Api(client, make_key(app, ApiScope.READ, name="okuyucu"))
    intake = Api(client, make_key(app, ApiScope.INTAKE, name="çağrı"))
    refused = reader.post("/complaints", json=complaint_body())
    assert refused.status_code == 403 and error_of(refused)["code"] == "forbidden"
    created = intake.post("/complaints", json=complaint_body())
    assert created.status_code == 201
    assert intake.get(f"/complaints/{created.get_json()['id']}").status_code == 403
    assert reader.get(f"/complaints/{created.get_json()['id']}").status_code == 200
    assert client.get("/api/v1/complaints/1").status_code == 401
    wrong = client.get("/api/v1/complaints/1", headers={"Authorization": "Bearer mk_wrong"})
    assert wrong.status_code == 401 and error_of(wrong)["code"] == "unauthorized"
    assert count_rows(app, Complaint) == 1


def test_unknown_complaints_are_404(app, api) -> None:
    api.post("/complaints", json=complaint_body())
    for ref in ("999", "ext:yok", "ext:", "abc", "-1", "1.0", "²", "99999999999999999999999",
                "ext:a%00b", "ext:" + "x" * 200, "ext:çm-2026%2F0001"):
        response = api.get(f"/complaints/{ref}")
        assert response.status_code == 404, ref
        assert error_of(response)["code"] == "not_found"


def test_an_intake_key_cannot_confirm_personal_data_by_guessing(app, api) -> None:
    """Issue 15, finding 3: re-sending a stored external_id with a guessed phone, name, e-mail,
    subject or description must answer the same whether the guess is right or wrong."""
    assert api.post("/complaints", json=complaint_body()).status_code == 201
    intake = Api(app.test_client(), make_key(app, ApiScope.INTAKE, name="tahmin"))
    person = complaint_body()["complainant"]
    guesses = [
        {"complainant": {**person, "phone": "+90 532 000 00 01"}},  # wrong
        {"complainant": {**person, "phone": "+90 532 000 00 00"}},  # right
        {"complainant": {**person, "name": "Ayşe Yılmaz"}},
        {"complainant": {**person, "email": "someone.else@example.com.tr"}},
        {"subject": "Bir tahmin"},
        {"description": "Başka bir metin"},
    ]
    answers = [intake.post("/complaints", json=complaint_body(**guess)) for guess in guesses]
    assert [(a.status_code, "error" in a.get_json()) for a in answers] == [(200, False)] * 6
    batch = intake.post("/complaints/batch", json={"complaints": [
        complaint_body(**guess) for guess in guesses]}).get_json()
    assert [r["status"] for r in batch["results"]] == [200] * 6
    # What it may know is still compared, and only that is named.
    other_channel = intake.post("/complaints", json=complaint_body(
        channel="phone", complainant={**person, "phone": "+90 555 111 11 11"}))
    assert other_channel.status_code == 409
    assert error_of(other_channel)["details"]["differing_fields"] == ["channel"]
    # Nothing changed, and the admin key still sees the whole difference.
    stored = api.get("/complaints").get_json()["complaints"]
    assert len(stored) == 1 and stored[0]["complainant"]["phone"] == "+90 532 000 00 00"
    admin = api.post("/complaints", json=complaint_body(**guesses[0]))
    assert error_of(admin)["details"]["differing_fields"] == ["complainant.phone"]
