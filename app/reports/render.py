"""The review pack in its four forms: self-contained HTML, PDF, CSV and Excel.

PDF: WeasyPrint renders the same HTML (CSS paged media, inline SVG) in this process: no browser
to start, nothing downloaded, the same result on every machine with Debian's Pango. Its URL
fetcher is given no protocol at all, so a pack can never make the server fetch anything, even
if a name in it looked like a URL.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from app.actions.names import ACTION_METRIC_NAMES, ACTION_STATUS_NAMES
from app.actions.services import ActionRow
from app.analytics.figures import Score
from app.analytics.names import METRIC_NAMES, MODE_NAMES
from app.analytics.sources import ModeMix
from app.numbers import count, decimal, figure, percent, points
from app.reports import charts
from app.reports.exports import Figure, Table
from app.reports.pack import ReviewPack

MIN_SCATTER_POINTS = 3


def too_few() -> str:
    return _("too few responses")


def score_text(metric: str, score: Score) -> str:
    if score.suppressed:
        return too_few()
    return figure(metric, score.value) if score.value is not None else "–"


def pack_charts(pack: ReviewPack) -> dict[str, Markup]:
    csat_target = next((row.target for row in pack.targets if row.metric == "csat"), None)
    months = [
        charts.Point(month.key.strftime("%Y-%m"), month.figures["csat"].value,
                     score_text("csat", month.figures["csat"]))
        for month in pack.months
    ]
    complaints = [charts.Point(month.key.strftime("%Y-%m"), float(month.complaints),
                               count(month.complaints)) for month in pack.months]
    categories = [charts.Point(row.name, float(row.figures.complaints),
                               f"{count(row.figures.complaints)} ({percent(row.share)})")
                  for row in pack.categories]
    units = [charts.Point(row.name, row.figures.figures["csat"].value,
                          score_text("csat", row.figures.figures["csat"]))
             for row in pack.units]
    result = {
        "csat_trend": charts.line(months, _("CSAT by month"), target=csat_target,
                                  axis_format=lambda value: percent(value, 0),
                                  target_text=_("target %(value)s", value=percent(csat_target))
                                  if csat_target is not None else ""),
        "complaints_trend": charts.columns(complaints, _("Complaints by month")),
        "categories": charts.horizontal_bars(categories, _("Complaints by category"),
                                             colour=charts.COMPLAINTS),
        "units_csat": charts.horizontal_bars(units, _("CSAT by unit"), max_value=1.0,
                                             colour=charts.satisfaction_colour),
    }
    if len(pack.linkage.points) >= MIN_SCATTER_POINTS:
        x_label = (_("complaints per 1,000 transactions") if pack.linkage.basis == "rate"
                   else _("complaints"))
        result["linkage"] = charts.scatter(
            pack.linkage.points, _("Complaints against CSAT"), x_label, _("CSAT"),
            x_format=lambda value: decimal(value, 1 if pack.linkage.basis == "rate" else 0),
            y_format=lambda value: percent(value, 0))
    return result


def pack_html(pack: ReviewPack) -> str:
    """The pack as one HTML document: inline CSS and SVG, no script, no link, no URL."""
    return render_template("reports/pack.html", pack=pack, charts=pack_charts(pack),
                           score_text=score_text, metric_names=METRIC_NAMES, too_few=too_few(),
                           percent=percent, figure=figure, decimal=decimal, count=count,
                           points=points,
                           action_metric_names=ACTION_METRIC_NAMES,
                           action_status_names=ACTION_STATUS_NAMES, mode_names={
                               mode: str(label) for mode, label in MODE_NAMES.items()})


class PdfUnavailable(RuntimeError):
    """WeasyPrint cannot run here (Pango missing): every other format still works."""


def pack_pdf(html: str) -> bytes:
    """The HTML as a PDF. Imported here, not at the top: a machine without Pango still serves
    everything but the PDF (``PdfUnavailable``)."""
    try:
        from weasyprint import HTML
        from weasyprint.urls import URLFetcher
    except (ImportError, OSError) as exc:  # OSError: the Pango library cannot be loaded
        raise PdfUnavailable(str(exc)) from exc
    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=())).write_pdf()


# --- tables for CSV and Excel --------------------------------------------------------------------


def kind_of(metric: str) -> str:
    """How a metric's figure is written in a spreadsheet (``exports.FIGURE_FORMATS``)."""
    if metric == "nps":
        return "points"
    if metric in ("mean", "mean_score", "ces"):
        return "decimal"
    return "share"


def _cell(metric: str, score: Score) -> Figure:
    """A figure, empty when suppressed (the row's note says why)."""
    return Figure(None if score.suppressed else score.value, kind_of(metric))


def _note(*scores: Score) -> str | None:
    return too_few() if any(score.suppressed for score in scores) else None


SURVEY = (("csat", _l("CSAT")), ("mean", _l("mean score")), ("nps", _l("NPS")),
          ("ces", _l("CES")), ("resolution_confirmed", _l("resolution confirmed")))


def _score_row(label: str, metric: str, score: Score) -> list[Any]:
    shown = not score.suppressed
    kind = kind_of(metric)
    return [label, _cell(metric, score), Figure(score.low if shown else None, kind),
            Figure(score.high if shown else None, kind), Figure(score.n, "count"), _note(score)]


def _plain_row(label: str, value: float | None, kind: str, n: int | None = None) -> list[Any]:
    return [label, Figure(value, kind), None, None,
            None if n is None else Figure(n, "count"), None]


def pack_tables(pack: ReviewPack) -> list[Table]:
    """The pack's figures as tables of numbers in the formats of the screen (``Figure``); a
    suppressed figure is an empty cell and the row's note says "too few responses"."""
    s = pack.summary
    summary_rows = [
        _plain_row(_("responses"), s.responses, "count", s.responses),
        _score_row(_("CSAT"), "csat", s.csat),
        _score_row(_("mean score"), "mean", s.mean_score),
        _score_row(_("NPS"), "nps", s.nps),
        _score_row(_("CES"), "ces", s.ces),
        _score_row(_("resolution confirmed"), "resolution_confirmed", s.resolution_confirmed),
        _score_row(_("response rate"), "response_rate", s.response_rate)[:4]
        + [Figure(s.invitations_delivered, "count"), None],
        _score_row(_("bounce rate"), "bounce_rate", s.bounce_rate)[:4]
        + [Figure(s.invitations_sent, "count"), None],
        _plain_row(_("complaints"), s.complaints, "count"),
        _plain_row(_("complaints in the previous period"), pack.previous.complaints, "count"),
        _plain_row(_("complaints per 1,000 transactions"), pack.complaint_rate, "decimal",
                   pack.transactions),
        _score_row(_("on-time resolution"), "on_time", s.on_time),
        _plain_row(_("median days to resolve"), pack.median_days, "decimal"),
    ]
    figure_header = [_("figure"), _("value"), _("low"), _("high"), _("n"), _("note")]

    def segment_header(first: str) -> list[str]:
        return [first, _("responses"), _("complaints"), _("complaints per 1,000 transactions"),
                _("on-time resolution"), _("response rate"), _("bounce rate"),
                *[str(label) for _key, label in SURVEY], _("note")]

    def segment_row(name: Any, row: Any, rate: Any = None) -> list[Any]:
        figures = row.figures
        return [name, Figure(row.responses, "count"), Figure(row.complaints, "count"),
                Figure(rate, "decimal"), _cell("on_time", figures["on_time"]),
                _cell("response_rate", figures["response_rate"]),
                _cell("bounce_rate", figures["bounce_rate"]),
                *[_cell(key, figures[key]) for key, _label in SURVEY],
                _note(*[figures[key] for key, _label in SURVEY])]

    return [
        Table(_("Summary"), figure_header, summary_rows),
        Table(_("Months"), segment_header(_("month")),
              [segment_row(m.key.strftime("%Y-%m"), m) for m in pack.months]),
        Table(_("Units"), segment_header(_("unit")),
              [segment_row(u.name, u.figures, u.rate) for u in pack.units]),
        Table(_("Top categories"), segment_header(_("category")),
              [segment_row(c.name, c.figures) for c in pack.categories]),
        Table(_("Follow-ups"), [_("state or reason"), _("follow-ups")],
              [[state.value, Figure(count, "count")]
               for state, count in pack.follow_ups.by_state.items()]
              + [[reason.value, Figure(count, "count")]
                 for reason, count in pack.follow_ups.by_reason.items()]),
        Table(_("Targets"), [_("for"), _("metric"), _("target"), _("value"), _("met"),
                             _("note")],
              [[row.owner, row.metric, Figure(row.target, kind_of(row.metric)),
                _cell(row.metric, row.actual), row.met, _note(row.actual)]
               for row in pack.targets]),
        _actions_table(pack),
        Table(_("Actions completed"),
              [_("action"), _("for"), _("metric"), _("owner"), _("due on"), _("done on"),
               _("outcome")],
              [[row.action.title, row.unit_name or pack.organisation, row.action.metric,
                row.action.owner, row.action.due_on, _local_day(row, pack.tz),
                row.action.outcome] for row in pack.actions.completed]),
        Table(_("Alerts"), [_("for"), _("alert"), _("metric"), _("value"), _("message")],
              [[alert.unit_name or pack.organisation, alert.kind.value, alert.metric,
                Figure(alert.value, kind_of(alert.metric)), alert.message()]
               for alert in pack.alerts]),
        _themes_table(pack),
        Table(_("Service users and complainants"),
              [_("unit"), _("service users: CSAT"), _("complainants: CSAT"),
               _("difference"), _("p"), _("complaints per 1,000 services"),
               _("compliments per 1,000 services"), _("note")],
              [[name, _cell("csat", row.service_users), _cell("csat", row.complainants),
                Figure(row.difference.difference if row.difference else None, "points"),
                Figure(row.difference.p_value if row.difference else None, "decimal"),
                Figure(row.complaint_rate, "decimal"), Figure(row.compliment_rate, "decimal"),
                _note(row.service_users, row.complainants)] for name, row in pack.sources]),
        Table(_("Modes"), [_("mode"), _("share"), _("share before"), _("responses"),
                           _("responses before")],
              [[str(label), Figure(ModeMix.shares(pack.modes.current)[mode]),
                Figure(ModeMix.shares(pack.modes.previous)[mode]),
                Figure(pack.modes.current.get(mode, 0), "count"),
                Figure(pack.modes.previous.get(mode, 0), "count")]
               for mode, label in MODE_NAMES.items()]),
    ]


def _themes_table(pack: ReviewPack) -> Table:
    """The top themes' figures (the quoted comments stay in the HTML and PDF: these are the
    figures)."""
    return Table(_("Themes"), [_("theme"), _("comments"), _("share"), _("share before"),
                               _("change"), _("significant")],
                 [[t.title, Figure(t.comments, "count"), Figure(t.share),
                   Figure(t.change.share if t.change else None),
                   Figure(t.change.difference if t.change else None, "points"),
                   t.change.significant if t.change else None] for t in pack.said.themes])


def _local_day(row: ActionRow, tz: str) -> Any:
    closed = row.action.closed_at
    return None if closed is None else closed.astimezone(ZoneInfo(tz)).date()


def _actions_table(pack: ReviewPack) -> Table:
    """One row per target and action addressing it (a target without actions: one row with
    no action), then the actions that address no target of the pack. The action comes first,
    so that the long CSV keys each row by it."""
    header = [_("action"), _("for"), _("metric"), _("target"), _("value"), _("met"),
              _("action for"), _("owner"), _("due on"), _("status"), _("overdue")]

    def row_of(target: list[Any], row: ActionRow | None) -> list[Any]:
        if row is None:
            return [None, *target, *[None] * 5]
        return [row.action.title, *target, row.unit_name or pack.organisation, row.action.owner,
                row.action.due_on, row.action.status.value, row.overdue]

    rows: list[list[Any]] = []
    for item in pack.actions.by_target:
        t = item.target
        target = [t.owner, t.metric, Figure(t.target, kind_of(t.metric)),
                  _cell(t.metric, t.actual), t.met]
        rows.extend(row_of(target, row) for row in item.actions or [None])
    rows.extend(row_of([None, row.action.metric, None, None, None], row)
                for row in pack.actions.other)
    return Table(_("Actions against targets"), header, rows)
