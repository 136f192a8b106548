"""Service events from CSV (`memnun import service-events`, the upload page) and the kind of what
is taken in (complaint, request, suggestion, compliment) through the API, its batch and CSV:
only a complaint gets a due time and a survey on resolution."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Complainant, Complaint, ComplaintKind, Invitation, ServiceEvent
from tests.support.api import (
    TURKISH_NAME,
    admin_api,
    at,
    complaint_body,
    invalid_fields,
    seed_reference,
    seed_services,
)
from tests.support.database import count_rows
from tests.support.web import csrf_token_from

HEADER = ("external_id;occurred_at;unit;service;channel;person_name;person_email;"
          "person_language;survey_consent")
ROWS = [
    f"SE-1;2025-04-01T09:00:00+03:00;fen.yol;ruhsat.yapi;walk_in;{TURKISH_NAME};"
    "Sukru@Example.com.tr;tr;evet",
    "SE-2;2025-04-01T10:00:00+03:00;fen.yol;yok;walk_in;;;;evet",  # line 3: unknown service
    "SE-3;2025-04-02T10:00:00+03:00;fen;ruhsat;phone;;sukru@example.com.tr;tr;belki",  # line 4
    "SE-4;2025-04-02T11:00:00Z;fen;ruhsat;web;;;;hayır",
]
FILE = "\n".join([HEADER, *ROWS]) + "\n"


@pytest.fixture
def organisation(app) -> None:  # type: ignore[no-untyped-def]
    api = admin_api(app)
    seed_reference(api)
    seed_services(api)


def test_service_events_from_csv_report_bad_rows_and_a_rerun_stores_nothing(
    app, organisation, tmp_path: Path
) -> None:
    path = tmp_path / "hizmetler.csv"
    path.write_text(FILE, encoding="utf-8")
    first = app.test_cli_runner().invoke(args=["import", "service-events", str(path)])
    assert first.exit_code == 1
    assert "Rows read: 4; stored: 2; already there: 0; refused: 2." in first.stdout
    problems = first.stderr.strip().splitlines()
    assert [line.split(":")[1] for line in problems] == ["3", "4"]
    assert "service: no service with the code yok" in problems[0]
    # The person's consent is reported as its CSV column, not as the API's field.
    assert "survey_consent: " in problems[1] and "person." not in problems[1]
    with app.app_context():
        event = db.session.scalar(select(ServiceEvent).where(ServiceEvent.external_id == "SE-1"))
        assert event.person.email == "sukru@example.com.tr" and event.person.name == TURKISH_NAME
        assert event.service.code == "ruhsat.yapi" and event.channel.value == "walk_in"
    second = app.test_cli_runner().invoke(args=["import", "service-events", str(path)])
    assert "Rows read: 4; stored: 0; already there: 2; refused: 2." in second.stdout
    assert count_rows(app, ServiceEvent) == 2 and count_rows(app, Complainant) == 2


def test_the_upload_page_takes_service_events(app, organisation, admin_client) -> None:
    page = admin_client.get("/admin/import")
    assert "service-events" in page.get_data(as_text=True)
    token = csrf_token_from(page.get_data(as_text=True))
    response = admin_client.post("/admin/import", data={
        "csrf_token": token, "kind": "service-events", "encoding": "utf-8",
        "file": (io.BytesIO(FILE.encode()), "hizmetler.csv")},
        content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert "Rows read: 4; stored: 2; already there: 0; refused: 2." in html
    assert "<td>3</td>" in html and "<td>4</td>" in html
    assert count_rows(app, ServiceEvent) == 2


def test_the_kind_is_validated_stored_and_compared(app, organisation, api) -> None:
    response = api.post("/complaints", json=complaint_body(kind="compliment"))
    assert response.status_code == 201
    body = response.get_json()
    assert body["kind"] == "compliment" and body["due_at"] is None
    assert api.post("/complaints", json=complaint_body(kind="compliment")).status_code == 200
    conflict = api.post("/complaints", json=complaint_body())  # kind left out: complaint
    assert conflict.status_code == 409
    assert conflict.get_json()["error"]["details"]["differing_fields"] == ["kind"]
    assert invalid_fields(api.post("/complaints", json=complaint_body(
        external_id="K-2", kind="praise"))) == {"kind"}
    plain = api.post("/complaints", json=complaint_body(external_id="K-3")).get_json()
    assert plain["kind"] == "complaint" and plain["due_at"] is not None
    batch = api.post("/complaints/batch", json={"complaints": [
        complaint_body(external_id="K-4", kind="request"),
        complaint_body(external_id="K-5", kind="suggestion", due_at=at(2)),
        complaint_body(external_id="K-6", kind="nonsense")]})
    assert [r["status"] for r in batch.get_json()["results"]] == [201, 201, 422]
    with app.app_context():
        kinds = dict(db.session.execute(select(Complaint.external_id, Complaint.kind)).all())
        dues = dict(db.session.execute(select(Complaint.external_id, Complaint.due_at)).all())
    assert kinds["K-4"] == ComplaintKind.REQUEST and kinds["K-5"] == ComplaintKind.SUGGESTION
    assert dues["K-4"] is None and dues["K-5"] is None  # a due time sent is not kept either


def test_only_a_complaint_is_surveyed_on_resolution(app, organisation, api) -> None:
    for number, kind in enumerate(("complaint", "request", "suggestion", "compliment")):
        created = api.post("/complaints", json=complaint_body(external_id=f"R-{number}",
                                                              kind=kind))
        assert created.status_code == 201
        resolved = api.post(f"/complaints/ext:R-{number}/events",
                            json={"type": "resolved", "at": at(1)})
        assert resolved.status_code == 201
        assert resolved.get_json()["status"] == "resolved"  # the life cycle is recorded
    with app.app_context():
        surveyed = db.session.scalars(select(Complaint.external_id).join(
            Invitation, Invitation.complaint_id == Complaint.id)).all()
    assert surveyed == ["R-0"]


def test_the_kind_from_csv(app, organisation, tmp_path: Path) -> None:
    path = tmp_path / "k.csv"
    path.write_text("\n".join([
        "external_id,kind,received_at,channel,category,unit,survey_consent",
        "KC-1,compliment,2025-03-01T09:00:00+03:00,web,cop,fen.yol,evet",
        "KC-2,,2025-03-01T09:00:00+03:00,web,cop,fen.yol,evet",
        "KC-3,övgü,2025-03-01T09:00:00+03:00,web,cop,fen.yol,evet",
    ]) + "\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import", "complaints", str(path)])
    assert "Rows read: 3; stored: 2; already there: 0; refused: 1." in result.stdout
    assert ":4: kind: " in result.stderr
    with app.app_context():
        kinds = dict(db.session.execute(select(Complaint.external_id, Complaint.kind)).all())
    assert kinds == {"KC-1": ComplaintKind.COMPLIMENT, "KC-2": ComplaintKind.COMPLAINT}
