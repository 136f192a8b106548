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

from app.analytics import metrics
from app.analytics.breakdown import grouped_figures
from app.analytics.figures import Score
from app.analytics.filters import Filters
from app.analytics.overview import overview
from app.analytics.periods import to_instant
from app.extensions import db
from app.models import ActionStatus, ImprovementAction, Target, Unit
from app.models.types import utcnow
from app.reports.pack import build_pack
from app.reports.render import pack_html
from tests.support.datasets.delivered import build_delivered
from tests.support.datasets.reports import Data, build_january
from tests.support.factories import make_user
from tests.support.web import csrf_token_from, login

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
        segment = Filters(to_instant(JAN_1), to_instant(FEB_1))
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
    # No survey share for Park; its response and bounce rates (about the sending, not what
    # anyone answered) are the row's last two cells.
    assert "%" not in park_row.replace("too few", "").rsplit('<td class="num">', 2)[0]


def test_the_pack_shows_bounce_rates_and_response_rates_over_delivered(app) -> None:
    with app.app_context():
        build_delivered()
    pack, html = _pack(app)
    assert pack.summary.response_rate == Score.of(metrics.response_rate(2, 5))
    assert pack.summary.bounce_rate == Score.of(metrics.bounce_rate(2, 7))
    kpi = html.split('id="kpi-bounce_rate"')[1].split('<div class="kpi"')[0]
    assert "28.6%" in kpi and "2 of 7 invitations not delivered" in kpi
    assert "2 responses, 5 of 7 invitations delivered" in html
    fen = next(row for row in html.split('id="units"')[1].split("</table>")[0].split("<tr>")
               if "Fen İşleri" in row)
    assert "40.0%" in fen and "33.3%" in fen  # fen: 2 of 5 not delivered, 1 of 3 answered


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
    summary = {row[0].value: row for row in workbook["Summary"].iter_rows()}
    assert summary["CSAT"][1].value == pytest.approx(9 / 13)
    assert summary["CSAT"][1].number_format == "0.0%"  # a number that reads 69.2%
    assert summary["complaints"][1].number_format == "#,##0"
    units = {row[0]: row for row in workbook["Units"].iter_rows(values_only=True)}
    park = units["Park ve Bahçeler"]
    assert park[7] is None and park[-1] == "too few responses"  # empty, and the note says why

    text = _download(viewer, "csv").get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["section", "segment", "measure", "value"]
    assert ["Summary", "CSAT", "value", "69.2"] in rows  # the screen's units, as a number


def test_the_same_figure_reads_the_same_on_every_medium(app, january, viewer) -> None:
    """CSAT 9 of 13 and NPS on the dashboard, the pack's HTML and PDF, CSV and Excel."""
    from dashboards.overview import update_overview
    from tests.support.dashboards import as_user, texts

    context = as_user(app, "screen@example.org")
    try:
        kpis, _figure, _status = update_overview("2025-01-01", "2025-01-31")
    finally:
        context.pop()
    screen = {card.id: texts(card)[1] for card in kpis}
    _pack_data, html = _pack(app)
    pdf = _download(viewer, "pdf").get_data()
    pdf_text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    workbook = load_workbook(io.BytesIO(_download(viewer, "xlsx").get_data()))
    cells = {row[0].value: row[1] for row in workbook["Summary"].iter_rows()}
    rows = list(csv.reader(io.StringIO(_download(viewer, "csv").get_data().decode("utf-8-sig"))))
    csv_value = {row[1]: row[3] for row in rows if row[0] == "Summary" and row[2] == "value"}

    assert screen["kpi-csat"] == "69.2%"
    assert re.search(r'id="kpi-csat".*?<div class="value">69.2%</div>', html, re.S)
    assert "69.2%" in pdf_text
    assert csv_value["CSAT"] == "69.2"
    assert (round(cells["CSAT"].value * 100, 1), cells["CSAT"].number_format) == (69.2, "0.0%")
    nps = screen["kpi-nps"]
    assert re.search(rf'id="kpi-nps".*?<div class="value">{re.escape(nps)}</div>', html, re.S)
    assert csv_value["NPS"] == nps.lstrip("+")
    assert (cells["NPS"].value, cells["NPS"].number_format) == (int(nps), "+0;-0;0")


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



# --- charts --------------------------------------------------------------------------------------


def test_charts_use_the_one_satisfaction_scale(app, january) -> None:
    """CSAT per unit and the linkage scatter are coloured like the dashboards (50 % red to
    100 % blue), and the scatter shows the values on its axes."""
    from app.reports import charts
    from dashboards.common import satisfaction_colour

    assert charts.satisfaction_colour(0.5) == "#b2182b"
    assert charts.satisfaction_colour(1.0) == "#1f4e79"
    assert charts.satisfaction_colour(None) == charts.NEUTRAL
    assert satisfaction_colour(0.8) == charts.satisfaction_colour(0.8)  # one scale, shared
    bars = charts.horizontal_bars([charts.Point("a", 0.5, "50%"), charts.Point("b", 1.0, "100%")],
                                  "t", max_value=1.0, colour=charts.satisfaction_colour)
    assert 'fill="#b2182b"' in bars and 'fill="#1f4e79"' in bars
    scatter = charts.scatter([("Fen", 2.0, 0.5), ("Zabıta", 4.0, 1.0)], "t", "rate", "CSAT",
                             y_format=lambda v: f"{v:.0%}")
    assert all(f">{tick}</text>" in scatter for tick in ("0%", "50%", "100%", "0", "2", "4"))
    assert 'fill="#b2182b"' in scatter and 'fill="#1f4e79"' in scatter
    # The rightmost label is drawn to the left of its point, so it is not cut off.
    assert re.search(r'text-anchor="end"[^>]*>Zabıta<', scatter)


def test_pack_charts_colour_units_by_their_csat(app, january) -> None:
    from app.reports import charts

    pack, html = _pack(app)
    fen = next(row for row in pack.units if row.name == "Fen İşleri")
    assert charts.satisfaction_colour(fen.figures.figures["csat"].value) in html


# --- actions against targets ---------------------------------------------------------------------


@pytest.fixture
def actions(app, january) -> dict[str, int]:
    """Actions around January 2025: two alive in it on CSAT (one overdue, one done in it), one on
    complaints (no target), one created after it and one finished before it."""
    def at(year: int, month: int, day: int) -> dt.datetime:
        return dt.datetime(year, month, day, 12, tzinfo=dt.UTC)

    with app.app_context():
        unit = dict(db.session.execute(db.select(Unit.code, Unit.id)).all())
        rows = {
            "overdue": ImprovementAction(
                unit_id=unit["zabita"], metric="csat", title="Zabıta courtesy training",
                owner="Head of Zabıta", due_on=dt.date(2025, 1, 10),
                status=ActionStatus.IN_PROGRESS, created_at=at(2024, 12, 1)),
            "done": ImprovementAction(
                unit_id=unit["fen"], metric="csat", title="Call back before closing",
                owner="Fen deputy head", due_on=dt.date(2025, 1, 31), status=ActionStatus.DONE,
                outcome="<b>Most</b> callers reached", created_at=at(2025, 1, 2),
                closed_at=at(2025, 1, 20)),
            "formula": ImprovementAction(
                unit_id=None, metric="complaints", title='=HYPERLINK("http://x.example")',
                owner="@coordinator", created_at=at(2025, 1, 3)),
            "later": ImprovementAction(unit_id=unit["fen"], metric="csat", title="Later one",
                                       owner="x", created_at=at(2025, 2, 5)),
            "earlier": ImprovementAction(
                unit_id=unit["fen"], metric="csat", title="Earlier one", owner="x",
                status=ActionStatus.DONE, created_at=at(2024, 11, 1),
                closed_at=at(2024, 12, 20)),
        }
        db.session.add_all(rows.values())
        db.session.commit()
        return {key: row.id for key, row in rows.items()}


def test_the_pack_lists_actions_against_each_target(app, actions) -> None:
    pack, html = _pack(app)
    [row] = pack.actions.by_target
    assert (row.target.metric, row.target.met) == ("csat", False)
    assert [a.action.id for a in row.actions] == [actions["overdue"], actions["done"]]
    assert [a.overdue for a in row.actions] == [True, False]
    assert [a.action.id for a in pack.actions.other] == [actions["formula"]]
    assert [a.action.id for a in pack.actions.completed] == [actions["done"]]

    section = html[html.index('<section id="actions">'):]
    assert "7. Actions against targets" in section
    overdue = re.search(rf'<li data-action="{actions["overdue"]}">.*?</li>', section, re.S)
    assert "Zabıta courtesy training" in overdue.group(0) and "overdue" in overdue.group(0)
    assert "In progress" in overdue.group(0) and "Head of Zabıta" in overdue.group(0)
    completed = section[section.index('id="completed-actions"'):]
    assert "Call back before closing" in completed and "Jan 20, 2025" in completed
    assert "&lt;b&gt;Most&lt;/b&gt;" in completed and "<b>Most" not in html
    assert "Later one" not in html and "Earlier one" not in html


def test_a_unit_with_its_own_target_stands_against_it_in_the_whole_pack(app, actions) -> None:
    """Zabıta's 65 % CSAT target, not the organisation's 80 %: its row, its figures and its
    action; Fen has no target of its own and stays under the organisation's."""
    with app.app_context():
        zabita = db.session.scalar(db.select(Unit.id).where(Unit.code == "zabita"))
        db.session.add(Target(unit_id=zabita, metric="csat", value=0.65))
        db.session.commit()
    pack, html = _pack(app)
    rows = {row.target.owner: row for row in pack.actions.by_target}
    assert set(rows) == {"Örnek Belediyesi", "Zabıta"}
    assert (rows["Zabıta"].target.target, rows["Zabıta"].target.unit_id) == (0.65, zabita)
    assert rows["Zabıta"].target.actual.value == pytest.approx(4 / 5)  # Zabıta's own CSAT
    assert rows["Zabıta"].target.met is True
    assert [a.action.id for a in rows["Zabıta"].actions] == [actions["overdue"]]
    assert [a.action.id for a in rows["Örnek Belediyesi"].actions] == [actions["done"]]
    targets = html[html.index('<section id="targets"'):]
    assert "Zabıta" in targets and "65.0%" in targets


def test_a_unit_pack_holds_only_that_units_actions(app, actions) -> None:
    with app.app_context():
        fen = db.session.scalar(db.select(Unit.id).where(Unit.code == "fen"))
    pack, html = _pack(app, [fen])
    [row] = pack.actions.by_target  # Fen is held to the organisation's CSAT target
    assert row.target.unit_id == fen
    assert [a.action.id for a in row.actions] == [actions["done"]]
    assert pack.actions.other == []
    assert "Zabıta courtesy" not in html and "HYPERLINK" not in html


def test_excel_and_csv_hold_the_actions_with_formulas_neutralised(viewer, actions) -> None:
    workbook = load_workbook(io.BytesIO(_download(viewer, "xlsx").get_data()))
    sheet = list(workbook["Actions against targets"].iter_rows(values_only=True))
    assert sheet[0][:3] == ("action", "for", "metric")
    by_title = {row[0]: row for row in sheet[1:]}
    overdue = by_title["Zabıta courtesy training"]
    assert overdue[1:6] == ("Örnek Belediyesi", "csat", 0.8, pytest.approx(9 / 13), False)
    assert overdue[7:] == ("Head of Zabıta", dt.datetime(2025, 1, 10), "in_progress", True)
    formula = by_title["'=HYPERLINK(\"http://x.example\")"]
    assert formula[2] == "complaints" and formula[7] == "'@coordinator"
    done = {row[0]: row for row in workbook["Actions completed"].iter_rows(values_only=True)}
    assert "Call back before closing" in done

    text = _download(viewer, "csv").get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert ["Actions against targets", "'=HYPERLINK(\"http://x.example\")", "owner",
            "'@coordinator"] in rows
    assert ["Actions against targets", "Zabıta courtesy training", "overdue", "1"] in rows
    assert ["Actions completed", "Call back before closing", "done on", "2025-01-20"] in rows
    assert not any(cell.startswith(("=", "@")) for row in rows for cell in row)
