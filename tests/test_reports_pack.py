"""The management-review pack: its figures are analytics' figures, small groups are suppressed,
the HTML opens offline, the PDF is a real PDF, and staff see only what their role allows."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from app.analytics.grouped import Segment, grouped_figures
from app.analytics.queries import overview, to_instant
from app.extensions import db
from app.models import Target, Unit
from app.models.types import utcnow
from app.reports.pack import build_pack
from app.reports.render import pack_html
from tests.conftest import csrf_token_from, login, make_user
from tests.test_reports_dataset import Data, build_january

JAN_1, JAN_31, FEB_1 = dt.date(2025, 1, 1), dt.date(2025, 1, 31), dt.date(2025, 2, 1)
EN = {"Accept-Language": "en"}


@pytest.fixture
def app(make_app):
    return make_app(MEMNUN_TIMEZONE="UTC", MEMNUN_ORGANISATION_NAME="Örnek Belediyesi")


@pytest.fixture
def january(app) -> Data:
    with app.app_context():
        data = Data().setup()
        build_january(data)
        db.session.add(Target(unit_id=None, metric="csat", value=0.8))
        db.session.commit()
        return data


def _pack(app, unit_ids=None):
    with app.test_request_context(headers=EN):
        pack = build_pack(JAN_1, JAN_31, unit_ids, "scope", generated_at=utcnow())
        return pack, pack_html(pack)


def test_figures_are_analytics_figures_with_small_groups_suppressed(app, january) -> None:
    pack, html = _pack(app)
    with app.app_context():
        assert pack.summary == overview(JAN_1, FEB_1, None, 5, tz="UTC")
        segment = Segment(to_instant(JAN_1), to_instant(FEB_1))
        by_unit = {g.key: g for g in grouped_figures(segment, "unit", 5, "UTC")}
    # Hand counts: satisfied 4 (fen) + 1 (park) + 4 (zabita) of 13.
    assert pack.summary.csat.value == pytest.approx(9 / 13)
    assert pack.summary.complaints == 6
    assert pack.median_days == pytest.approx(6.0)  # resolved in January: 1, 2, 6, 7, 18 days
    units = {row.name: row for row in pack.units}
    for row in pack.units:
        assert row.figures == by_unit[row.figures.key]
    assert units["Fen İşleri"].figures.figures["csat"].value == pytest.approx(4 / 6)
    assert units["Park ve Bahçeler"].figures.figures["csat"].suppressed  # 2 responses
    # Zabıta has 5, but showing it would let Park's be worked out from the total.
    assert units["Zabıta"].figures.figures["csat"].suppressed
    assert [c.name for c in pack.categories][:2] == ["Yol ve kaldırım", "Temizlik"]
    assert pack.categories[0].share == pytest.approx(3 / 6)
    assert [(t.metric, t.target, t.met) for t in pack.targets] == [("csat", 0.8, False)]

    assert "69.2%" in html and "66.7%" in html
    units_table = html[html.index('id="units"'):html.index("</table>", html.index('id="units"'))]
    park_row = re.search(r"Park ve Bahçeler.*?</tr>", units_table, re.S).group(0)
    assert "too few responses" in park_row
    assert "%" not in park_row.replace("too few", "")  # no share shown for Park at all


def test_html_opens_offline(app, january) -> None:
    _pack_object, html = _pack(app)
    assert "<svg" in html and "<style>" in html  # charts and styles are inline
    lowered = html.lower()
    for outside in ("http://", "https://", "<script", "<link", " src=", "url(", "@import"):
        assert outside not in lowered, outside


def test_names_are_escaped_in_the_html(app) -> None:
    with app.app_context():
        data = Data().setup({"fen": '<img src=x onerror=alert(1)>'})
        build_january(data)
    _pack_object, html = _pack(app)
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_a_unit_pack_holds_only_that_unit(app, january) -> None:
    with app.app_context():
        fen = db.session.scalar(db.select(Unit.id).where(Unit.code == "fen"))
    pack, html = _pack(app, [fen])
    assert [row.name for row in pack.units] == ["Fen İşleri"]
    assert pack.summary.responses == 6
    assert "Zabıta" not in html and "Park ve" not in html


@pytest.fixture
def viewer(app, client, january):
    password = make_user(app, "viewer@example.org", "viewer")
    login(client, "viewer@example.org", password)
    return client


def _download(client, fmt: str, unit: int = 0, start: str = "2025-01-01",
              last: str = "2025-01-31"):
    page = client.get("/reports/", headers=EN)
    assert page.status_code == 200
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post("/reports/pack", headers=EN, data={
        "csrf_token": token, "start": start, "last": last, "unit": unit, "format": fmt})


def test_viewer_downloads_html(viewer) -> None:
    response = _download(viewer, "html")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    assert "Örnek Belediyesi" in response.get_data(as_text=True)


def test_pdf_has_pages_and_the_figures(viewer) -> None:
    response = _download(viewer, "pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    body = response.get_data()
    assert body.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(body))
    assert len(reader.pages) > 0
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "69.2%" in text and "Fen" in text and "too few" in text


def test_excel_and_csv_hold_the_figures(viewer) -> None:
    workbook = load_workbook(io.BytesIO(_download(viewer, "xlsx").get_data()))
    assert {"Summary", "Months", "Units", "Top categories", "Targets"} <= set(workbook.sheetnames)
    summary = {row[0]: row[1] for row in workbook["Summary"].iter_rows(values_only=True)}
    assert summary["CSAT"] == pytest.approx(9 / 13)
    units = {row[0]: row for row in workbook["Units"].iter_rows(values_only=True)}
    assert units["Park ve Bahçeler"][6] == "too few responses"

    text = _download(viewer, "csv").get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["section", "segment", "measure", "value"]
    assert ["Summary", "CSAT", "value", str(9 / 13)] in rows


def test_a_bad_period_is_refused_with_the_form(viewer) -> None:
    response = _download(viewer, "html", start="2025-02-01", last="2025-01-01")
    assert response.status_code == 400
    assert "cannot end before it starts" in response.get_data(as_text=True)


def test_a_unit_manager_gets_only_their_units(app, client, january) -> None:
    password = make_user(app, "fen@example.org", "viewer", units=["fen"])
    login(client, "fen@example.org", password)
    page = client.get("/reports/", headers=EN).get_data(as_text=True)
    assert "Fen İşleri" in page and "Zabıta" not in page
    with app.app_context():
        zabita = db.session.scalar(db.select(Unit.id).where(Unit.code == "zabita"))
    refused = _download(client, "html", unit=zabita)  # not among the choices they are given
    assert refused.status_code == 400
    assert "Management review:" not in refused.get_data(as_text=True)
    html = _download(client, "html").get_data(as_text=True)
    assert "Management review: Fen İşleri" in html
    assert "Zabıta" not in html


def test_anonymous_users_are_sent_to_login(client) -> None:
    assert client.get("/reports/").status_code == 302

