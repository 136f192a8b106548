"""CSV import of complaints and events: `memnun import ...` and the admin upload page."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Complaint, ComplaintEvent, Invitation
from tests.support.api import TURKISH_NAME, TURKISH_TEXT, admin_api, seed_reference
from tests.support.web import csrf_token_from

HEADER = ("external_id,received_at,channel,category,unit,subject,description,due_at,"
          "complainant_name,complainant_email,complainant_phone,complainant_language,"
          "survey_consent")
GOOD = [
    f'CSV-1,2025-03-01T09:00:00+03:00,web,cop,fen.yol,Çöp alınmadı,"{TURKISH_TEXT}",,'
    f'{TURKISH_NAME},sukru@example.com.tr,+90 532 000 00 00,tr,evet',
    "CSV-2,2025-03-02T10:00:00+03:00,phone,temizlik,fen,,,2025-03-05T10:00:00+03:00,"
    "İnci Işıl,,,en,hayır",
    "CSV-3,2025-03-03T11:00:00Z,walk_in,cop,fen,Kaldırım,,,,,,,yes",
]
BAD = [
    # line 3: an unknown category
    "CSV-4,2025-03-04T09:00:00+03:00,web,yok,fen,,,,,,,,yes",
    # line 5: no received_at, a bad e-mail, and a consent that is neither yes nor no
    "CSV-5,,web,cop,fen,,,,,not-an-address,,,belki",
]
COMPLAINTS_FILE = "\n".join([HEADER, GOOD[0], BAD[0], GOOD[1], BAD[1], GOOD[2]]) + "\n"


@pytest.fixture
def reference(app) -> None:  # type: ignore[no-untyped-def]
    seed_reference(admin_api(app))


def _count(app, model) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _import(app, kind: str, path: Path, *options: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=["import", kind, str(path), *options])


def test_good_rows_stored_bad_rows_reported_and_a_rerun_stores_nothing(
    app, reference, tmp_path
) -> None:
    path = tmp_path / "şikayetler.csv"
    path.write_text(COMPLAINTS_FILE, encoding="utf-8")
    first = _import(app, "complaints", path)
    assert first.exit_code == 1  # some rows were refused
    assert "Rows read: 5; stored: 3; already there: 0; refused: 2." in first.stdout
    problems = first.stderr.strip().splitlines()
    assert len(problems) == 2
    assert problems[0].startswith("şikayetler.csv:3: ")
    assert "category: no category with the code yok" in problems[0]
    assert problems[1].startswith("şikayetler.csv:5: ")
    assert "received_at: Field required" in problems[1]
    assert "complainant_email: is not a valid e-mail address" in problems[1]
    assert "survey_consent" in problems[1]
    with app.app_context():
        rows = {c.external_id: c for c in db.session.scalars(select(Complaint))}
        assert set(rows) == {"CSV-1", "CSV-2", "CSV-3"}
        assert rows["CSV-1"].description == TURKISH_TEXT
        assert rows["CSV-1"].complainant.name == TURKISH_NAME
        assert rows["CSV-1"].complainant.survey_consent is True
        assert rows["CSV-2"].complainant.name == "İnci Işıl"
        assert rows["CSV-2"].complainant.survey_consent is False
        assert rows["CSV-2"].complainant.language == "en"
        assert [e.actor for e in rows["CSV-3"].events] == ["csv:cli"]

    second = _import(app, "complaints", path)
    assert "Rows read: 5; stored: 0; already there: 3; refused: 2." in second.stdout
    assert _count(app, Complaint) == 3 and _count(app, ComplaintEvent) == 3


def test_excel_csv_with_bom_semicolons_crlf_and_a_multiline_cell(app, reference, tmp_path) -> None:
    rows = [
        "external_id;received_at;channel;category;unit;description;survey_consent",
        'X-1;2025-03-01T09:00:00+03:00;web;cop;fen;"Birinci satır;\r\nikinci satır: ş, ğ, İ, ı";'
        "evet",
        "X-2;2025-03-01T09:00:00+03:00;fax;cop;fen;;evet",  # line 4 (the cell above has 2)
        "X-3;2025-03-01T10:00:00+03:00;email;cop;fen;Çok güzel;hayır",
        ";;;;;;",  # Excel's empty rows
        ";;;;;;",
    ]
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(rows).encode("utf-8") + b"\r\n")
    result = _import(app, "complaints", path)
    assert "Rows read: 3; stored: 2; already there: 0; refused: 1." in result.stdout
    assert result.stderr.startswith("excel.csv:4: ") and "channel" in result.stderr
    with app.app_context():
        stored = db.session.scalar(select(Complaint).where(Complaint.external_id == "X-1"))
        assert stored.description == "Birinci satır;\r\nikinci satır: ş, ğ, İ, ı"


def test_windows_1254_only_when_asked(app, reference, tmp_path) -> None:
    path = tmp_path / "ansi.csv"
    text = ("external_id;received_at;channel;category;unit;subject;survey_consent\r\n"
            "W-1;2025-03-01T09:00:00+03:00;letter;cop;fen;Işıklar yanmıyor, ağaç düştü;evet\r\n")
    path.write_bytes(text.encode("cp1254"))
    refused = _import(app, "complaints", path)
    assert refused.exit_code != 0 and "not utf-8" in refused.output.lower()
    assert _count(app, Complaint) == 0
    accepted = _import(app, "complaints", path, "--encoding", "cp1254")
    assert accepted.exit_code == 0, accepted.output
    with app.app_context():
        assert db.session.scalar(select(Complaint.subject)) == "Işıklar yanmıyor, ağaç düştü"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("external_id,received_at,channel,category,unit,colour,survey_consent", "colour"),
        ("external_id,received_at,channel,category,unit", "survey_consent"),
        ("external_id,external_id,received_at,channel,category,unit,survey_consent",
         "external_id"),
        ("", "empty"),
    ],
)
def test_a_header_that_does_not_fit_refuses_the_whole_file(
    app, reference, tmp_path, header, message
) -> None:
    path = tmp_path / "bad.csv"
    body = "\nX,2025-03-01T09:00:00Z,web,cop,fen,a,yes\n" if header else ""
    path.write_text(header + body, encoding="utf-8")
    result = _import(app, "complaints", path)
    assert result.exit_code != 0 and message in result.output
    assert _count(app, Complaint) == 0


def test_events_plan_surveys_once_and_report_impossible_changes(app, reference, tmp_path) -> None:
    complaints = tmp_path / "c.csv"
    complaints.write_text(HEADER + "\n" + "\n".join(GOOD) + "\n", encoding="utf-8")
    assert _import(app, "complaints", complaints).exit_code == 0
    events = tmp_path / "olaylar.csv"
    events.write_text("\n".join([
        "external_id,type,at,note",
        "CSV-1,acknowledged,2025-03-01T10:00:00+03:00,Alındı",
        "CSV-1,resolved,2025-03-02T10:00:00+03:00,Konteyner boşaltıldı — teşekkürler",
        "CSV-2,resolved,2025-03-01T09:00:00+03:00,",  # line 4: before it was received
        "YOK-1,resolved,2025-03-04T10:00:00+03:00,",  # line 5: no such complaint
        "CSV-3,closed,2025-03-04T10:00:00+03:00,",
        "CSV-3,resolved,2025-03-05T10:00:00+03:00,",  # line 7: closed, cannot be resolved
        "CSV-2,fixed,2025-03-04T10:00:00+03:00,",  # line 8: no such event type
        "CSV-2,resolved,2025-03-04T10:00:00+03:00,extra,cell",  # line 9: too many cells
    ]) + "\n", encoding="utf-8")
    first = _import(app, "events", events)
    assert "Rows read: 8; stored: 3; already there: 0; refused: 5." in first.stdout
    lines = [line.split(":")[1] for line in first.stderr.strip().splitlines()]
    assert lines == ["4", "5", "7", "8", "9"]
    assert "received" in first.stderr and "YOK-1" in first.stderr and "closed" in first.stderr
    with app.app_context():
        complaint = db.session.scalar(select(Complaint).where(Complaint.external_id == "CSV-1"))
        assert complaint.status.value == "resolved"
        history = [(e.type.value, e.actor, e.note) for e in complaint.events]
        assert history == [("received", "csv:cli", None), ("acknowledged", "csv:cli", "Alındı"),
                           ("resolved", "csv:cli", "Konteyner boşaltıldı — teşekkürler")]
    assert _count(app, Invitation) == 1  # the resolution planned (or recorded) one survey

    second = _import(app, "events", events)
    assert "Rows read: 8; stored: 0; already there: 3; refused: 5." in second.stdout
    assert _count(app, ComplaintEvent) == 3 + 3 and _count(app, Invitation) == 1


def test_the_upload_page_imports_as_the_logged_in_admin(app, reference, admin_client) -> None:
    page = admin_client.get("/admin/import")
    assert page.status_code == 200
    token = csrf_token_from(page.get_data(as_text=True))
    data = ("\ufeff" + COMPLAINTS_FILE.replace(",", ";")).encode("utf-8")
    refused = admin_client.post("/admin/import", data={
        "kind": "complaints", "encoding": "utf-8",
        "file": (io.BytesIO(data), "sikayetler.csv")}, content_type="multipart/form-data")
    assert refused.status_code == 400 and _count(app, Complaint) == 0  # no CSRF token
    response = admin_client.post("/admin/import", data={
        "csrf_token": token, "kind": "complaints", "encoding": "utf-8",
        "file": (io.BytesIO(data), "sikayetler.csv")}, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Rows read: 5; stored: 3; already there: 0; refused: 2." in html
    assert "<td>3</td>" in html and "<td>5</td>" in html
    with app.app_context():
        complaint = db.session.scalar(select(Complaint).where(Complaint.external_id == "CSV-1"))
        assert complaint.events[0].actor == "csv:admin@example.org"
        assert complaint.complainant.name == TURKISH_NAME
    wrong = admin_client.post("/admin/import", data={
        "csrf_token": token, "kind": "events", "encoding": "utf-8",
        "file": (io.BytesIO(data), "sikayetler.csv")}, content_type="multipart/form-data")
    assert "does not fit a events file" in wrong.get_data(as_text=True)
