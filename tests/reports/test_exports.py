"""Exports: spreadsheet formulas neutralised in cells and headers, large exports streamed, and
the responses export anonymous and for the satisfaction team only."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from app.extensions import db
from app.reports import responses as responses_module
from app.reports.exports import Table, csv_stream, neutralise, write_xlsx
from tests.support.datasets.reports import Data, at, build_january
from tests.support.factories import make_user
from tests.support.web import csrf_token_from, login

EN = {"Accept-Language": "en"}
DANGEROUS = ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("x","y")', "-", "=",
             # What spreadsheets also run, or what hides a start they run: blanks before a
             # formula, a line break, full-width signs (LibreOffice), DDE's pipe.
             " =1", "  +1", "\n=1", "\n", "\t", "\r", "＝1+1", "＋1", "－1", "＠SUM(A1)",
             "|calc'!A0", " |x", "\u3000=1"]
HARMLESS = ["safe", "", "a=b", "1-1", "Ş@ir", "a|b", " safe"]


@pytest.mark.parametrize("value", DANGEROUS)
def test_neutralise_prefixes_what_a_spreadsheet_would_run(value: str) -> None:
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", [*HARMLESS, 5, -3, 1.5, -0.25, None, True])
def test_neutralise_leaves_everything_else(value) -> None:
    assert neutralise(value) == value
    assert type(neutralise(value)) is type(value)


def test_csv_neutralises_cells_and_headers() -> None:
    text = "".join(csv_stream(["=header", "ok"], [["=1+1", -3], ["@cmd", "fine"]]))
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows == [["'=header", "ok"], ["'=1+1", "-3"], ["'@cmd", "fine"]]


def test_excel_neutralises_cells_and_headers(tmp_path) -> None:
    path = str(tmp_path / "x.xlsx")
    write_xlsx([Table("=sheet", ["+header", "n"], [["=1+1", -3], ["\tx", 2.5]])], path)
    sheet = load_workbook(path).active
    cells = [[cell for cell in row] for row in sheet.iter_rows()]
    assert [[c.value for c in row] for row in cells] == [
        ["'+header", "n"], ["'=1+1", -3], ["'\tx", 2.5]]
    assert all(c.data_type != "f" for row in cells for c in row)  # no formula anywhere
    assert cells[1][1].data_type == "n"  # numbers stay numbers


@pytest.fixture
def app(make_app):
    return make_app(MEMNUN_TIMEZONE="UTC")


def _login(app, client, role: str, units=None) -> None:
    email = f"{role}{len(units or [])}@example.org"
    password = make_user(app, email, role, units=units)
    login(client, email, password)


def _post(client, url: str, fmt: str, **extra):
    token = csrf_token_from(client.get("/reports/", headers=EN).get_data(as_text=True))
    data = {"csrf_token": token, "start": "2025-01-01", "last": "2025-01-31", "unit": 0,
            "format": fmt, **extra}
    return client.post(url, headers=EN, data=data)


def test_pack_exports_neutralise_a_hostile_unit_name(app, client) -> None:
    hostile = '=HYPERLINK("http://evil.example","click")'
    with app.app_context():
        build_january(Data().setup({"fen": hostile}))
    _login(app, client, "viewer")
    text = _post(client, "/reports/pack", "csv").get_data().decode("utf-8-sig")
    segments = [row[1] for row in csv.reader(io.StringIO(text))]
    assert "'" + hostile in segments and hostile not in segments
    workbook = load_workbook(io.BytesIO(_post(client, "/reports/pack", "xlsx").get_data()))
    names = [row[0].value for row in workbook["Units"].iter_rows()]
    assert "'" + hostile in names and hostile not in names
    assert all(row[0].data_type != "f" for row in workbook["Units"].iter_rows())


def test_responses_export_is_anonymous(app, client) -> None:
    with app.app_context():
        data = Data().setup()
        data.response("fen", at(2025, 1, 5), overall=2, nps=3, resolved=False,
                      comment="Call me on 0555 123 45 67", email="ayse@example.org")
        db.session.commit()
    _login(app, client, "designer")
    response = _post(client, "/reports/responses", "csv")
    assert response.status_code == 200
    text = response.get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["response", "submitted (UTC)", "questionnaire", "questionnaire key",
                       "version", "unit", "unit code", "category", "category code", "channel",
                       "channel code", "language", "overall", "recommend", "resolved"]
    # Names as people read them, codes for programs.
    assert rows[1][2:] == ["After resolution", "post-resolution", "1", "Fen İşleri", "fen",
                           "Yol ve kaldırım", "yol", "Web", "web", "tr", "2", "3", "no"]
    for private in ("0555", "ayse@", "Ayşe", "C-1"):  # free text, contact, complaint reference
        assert private not in text


def test_large_exports_stream(app, client, monkeypatch) -> None:
    many = 2500
    with app.app_context():
        data = Data().setup()
        data.bulk_responses("fen", at(2025, 1, 10), [(i % 5) + 1 for i in range(many)])
    monkeypatch.setattr(responses_module, "PAGE_SIZE", 700)  # several pages of the keyset
    _login(app, client, "designer")
    response = _post(client, "/reports/responses", "csv")
    assert response.status_code == 200
    assert response.is_streamed
    chunks = [chunk for chunk in response.response if chunk]
    assert len(chunks) > 2  # written a few hundred rows at a time, not in one piece
    rows = list(csv.reader(io.StringIO(b"".join(
        c if isinstance(c, bytes) else c.encode() for c in chunks).decode("utf-8-sig"))))
    assert len(rows) == many + 1
    ids = [int(row[0]) for row in rows[1:]]
    assert ids == sorted(set(ids))  # every response once, in order, across pages

    excel = _post(client, "/reports/responses", "xlsx")
    assert excel.status_code == 200 and excel.is_streamed
    sheet = load_workbook(io.BytesIO(excel.get_data()), read_only=True).active
    assert sum(1 for _row in sheet.iter_rows()) == many + 1


def test_responses_export_is_for_the_satisfaction_team(app, client) -> None:
    with app.app_context():
        build_january(Data().setup())
    _login(app, client, "viewer")
    page = client.get("/reports/", headers=EN).get_data(as_text=True)
    assert 'id="export-form"' not in page
    token = csrf_token_from(page)
    response = client.post("/reports/responses", data={
        "csrf_token": token, "start": "2025-01-01", "last": "2025-01-31", "unit": 0,
        "format": "csv"})
    assert response.status_code == 403


def test_a_unit_manager_exports_only_their_units(app, client) -> None:
    with app.app_context():
        build_january(Data().setup())
    _login(app, client, "designer", units=["zabita"])
    rows = list(csv.reader(io.StringIO(
        _post(client, "/reports/responses", "csv").get_data().decode("utf-8-sig"))))
    assert len(rows) == 1 + 5
    assert {row[6] for row in rows[1:]} == {"zabita"}


def test_times_are_written_as_iso_text_with_the_organisations_offset(make_app) -> None:
    when = dt.datetime(2025, 1, 5, 9, 30, tzinfo=dt.UTC)
    with make_app(MEMNUN_TIMEZONE="Europe/Istanbul").app_context():
        text = "".join(csv_stream(["at"], [[when]]))
    assert "2025-01-05T12:30:00+03:00" in text
