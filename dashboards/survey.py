"""Survey results for one questionnaire: the distribution of every question, the NPS split, the
importance-performance matrix, key drivers and Cronbach's alpha; and the free-text comments for
the roles allowed to read them (admins and designers, never viewers).

Without a questionnaire filter the page shows the questionnaire with the most responses in the
period. Answers are compared across versions by question key only where the scale did not
change (``app.analytics.survey``).
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from dash import Dash, Output, html
from dash.exceptions import PreventUpdate
from flask_babel import format_decimal, format_percent, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.analytics import metrics, survey
from app.analytics.names import redaction_labels
from app.analytics.survey import Catalogue, Distribution, Driver, ImportancePerformance
from app.numbers import points as nps_points
from app.questionnaires.documents import SCALES, YES_NO_OPTIONS
from app.timefmt import format_day
from dashboards import scope
from dashboards.common import (
    NPS_COLOURS,
    SATISFACTION_COLOUR,
    SERIES_COLOURS,
    _,
    empty_figure,
    graph,
    label,
    mean_score,
    number,
    percent,
    satisfaction_colour,
    styled,
    wrapped,
)
from dashboards.shell import filter_inputs

MAX_COMMENTS = 30
QUADRANT_NAMES = {
    metrics.KEEP_UP: _l("Keep up the good work"), metrics.CONCENTRATE: _l("Concentrate here"),
    metrics.LOW_PRIORITY: _l("Low priority"), metrics.POSSIBLE_OVERKILL: _l("Possible overkill"),
}


def layout() -> html.Div:
    return html.Div(children=[
        html.P(id="survey-status", className="status", role="status"),
        html.H2(id="survey-title"),
        html.Div(id="survey-summary", className="kpis"),
        html.Div(className="two-columns", children=[
            graph("survey-ipa", 460),
            graph("survey-drivers", 460),
        ]),
        graph("survey-nps", 240),
        html.Section(className="panel", children=[
            html.H2(_("Answers per question")),
            html.Div(id="survey-distributions", className="small-multiples")]),
        html.Section(className="panel", children=[
            html.H2(_("Comments")), html.Div(id="survey-comments")]),
    ])


def _language() -> str:
    return str(get_locale())[:2]


def _question_text(cat: Catalogue, key: str) -> str:
    question = cat.question(key)
    if question is None:
        return key
    return question.text.get(_language()) or next(iter(question.text.values()), key)


def _option_label(cat: Catalogue, key: str, value: Any) -> str:
    question = cat.question(key)
    if question is not None and isinstance(value, str):
        for option in question.options:
            if option.get("key") == value:
                label = option.get("label") or {}
                return str(label.get(_language()) or next(iter(label.values()), value))
        if question.type == "yes_no":
            return _("Yes") if value == "yes" else _("No") if value == "no" else value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _every_point(d: Distribution) -> dict[Any, int]:
    """The counts with every point of the question's scale, unchosen ones at 0, so that the
    charts of one scale look alike and an empty end of the scale is seen, not left out."""
    counts = dict(d.counts)
    numeric = all(isinstance(value, float) for value in counts)
    if d.type in SCALES and numeric:
        low, high = SCALES[d.type]
        for point in range(low, high + 1):
            counts.setdefault(float(point), 0)
    elif d.type == "yes_no" and all(value in YES_NO_OPTIONS for value in counts):
        for option in YES_NO_OPTIONS:
            counts.setdefault(option, 0)
    return counts


def _bar_colour(question_type: str, value: Any) -> str:
    """One colour language everywhere: the satisfaction scale for 1-5 and yes/no, the NPS
    split's colours for 0-10."""
    if question_type in ("rating", "likert") and isinstance(value, float):
        return satisfaction_colour(0.5 + 0.5 * (value - 1) / 4)
    if question_type == "yes_no":
        return satisfaction_colour({"yes": 1.0, "no": 0.5}.get(value))
    if question_type == "nps" and isinstance(value, float):
        return NPS_COLOURS[0 if value <= 6 else 1 if value <= 8 else 2]
    return SATISFACTION_COLOUR


def distribution_figure(cat: Catalogue, d: Distribution) -> go.Figure:
    title = wrapped(_question_text(cat, d.key))
    if d.suppressed:
        return empty_figure(title, _("Too few responses"))
    counts = _every_point(d)
    values = sorted(counts, key=lambda v: (isinstance(v, str), v))
    total = sum(counts.values()) or 1
    figure = go.Figure(go.Bar(
        x=[label(_option_label(cat, d.key, v)) for v in values], y=[counts[v] for v in values],
        marker_color=[_bar_colour(d.type, v) for v in values],
        text=[percent(counts[v] / total) for v in values],
        textposition="outside", hovertemplate="%{x}: %{y} (%{text})<extra></extra>",
    ))
    figure.update_xaxes(type="category")
    note = _("n = %(n)s", n=number(d.responses))
    if d.mean is not None and d.mean.shown:
        note += " · " + _("mean %(mean)s", mean=mean_score(d.mean.value))  # type: ignore[arg-type]
    if d.left_out:
        note += " · " + _("versions %(numbers)s left out: the scale changed",
                          numbers=", ".join(str(n) for n in d.left_out))
    figure.add_annotation(text=note, showarrow=False, xref="paper", yref="paper", x=0,
                          y=1.02, xanchor="left", yanchor="bottom", font={"size": 12})
    return styled(figure, title, height=330, showlegend=False,
                  title_font={"size": 13}, margin={"l": 40, "r": 20, "t": 90, "b": 40})


def nps_figure(distributions: list[Distribution]) -> go.Figure:
    title = _("Net Promoter Score: promoters, passives, detractors")
    split = next((d for d in distributions if d.nps is not None), None)
    if split is None or split.nps is None:
        return empty_figure(title, _("No NPS question with enough responses."))
    parts = [(_("Detractors (0-6)"), split.nps.detractors, NPS_COLOURS[0]),
             (_("Passives (7-8)"), split.nps.passives, NPS_COLOURS[1]),
             (_("Promoters (9-10)"), split.nps.promoters, NPS_COLOURS[2])]
    total = sum(n for _name, n, _colour in parts) or 1
    figure = go.Figure([
        go.Bar(y=[""], x=[n / total * 100], name=name, orientation="h", marker_color=colour,
               text=[f"{name}: {percent(n / total)}"], textposition="inside",
               hovertemplate=f"{name}: {number(n)}<extra></extra>")
        for name, n, colour in parts
    ])
    score = split.nps.score
    figure.update_layout(barmode="stack", legend_traceorder="normal")
    figure.update_xaxes(range=[0, 100], title_text="%")
    heading = _("%(title)s: NPS %(value)s (%(low)s to %(high)s)", title=title,
                value=nps_points(score.value or 0), low=nps_points(score.low or 0),
                high=nps_points(score.high or 0))
    return styled(figure, heading, height=240)


def ipa_figure(ipa: ImportancePerformance) -> go.Figure:
    title = _("Importance and performance per attribute")
    points = [p for p in ipa.points if p.quadrant is not None]
    if not points or ipa.importance_centre is None:
        return empty_figure(title, _("This questionnaire asks no importance questions, or too "
                                     "few people answered them."))
    figure = go.Figure(go.Scatter(
        x=[p.performance.value for p in points], y=[p.importance.value for p in points],
        mode="markers+text", text=[label(p.attribute.replace("_", " ")) for p in points],
        textposition="top center",
        customdata=[str(QUADRANT_NAMES[p.quadrant]) for p in points],  # type: ignore[index]
        marker={"size": 16, "color": SERIES_COLOURS[0]},
        hovertemplate=("%{text}: " + _("performance") + " %{x:.2f}, " + _("importance")
                       + " %{y:.2f}<br>%{customdata}<extra></extra>"),
    ))
    figure.add_vline(x=ipa.performance_centre, line_dash="dash", line_color="#5a6878")
    figure.add_hline(y=ipa.importance_centre, line_dash="dash", line_color="#5a6878")
    for quadrant, x, y in ((metrics.CONCENTRATE, 0.02, 0.98), (metrics.KEEP_UP, 0.98, 0.98),
                           (metrics.LOW_PRIORITY, 0.02, 0.02),
                           (metrics.POSSIBLE_OVERKILL, 0.98, 0.02)):
        figure.add_annotation(text=str(QUADRANT_NAMES[quadrant]), xref="paper", yref="paper",
                              x=x, y=y, showarrow=False, xanchor="left" if x < 0.5 else "right",
                              font={"size": 13, "color": "#5a6878"})
    figure.update_xaxes(title_text=_("Performance (mean, 1-5)"), range=[1, 5.2])
    figure.update_yaxes(title_text=_("Importance (mean, 1-5)"), range=[1, 5.2])
    return styled(figure, title, height=460, showlegend=False)


def drivers_figure(cat: Catalogue, drivers: list[Driver]) -> go.Figure:
    title = _("Key drivers: correlation with overall satisfaction")
    shown = [d for d in drivers if d.correlation is not None]
    if not shown:
        return empty_figure(title, _("Too few responses"))
    figure = go.Figure(go.Bar(
        x=[d.correlation.r for d in shown],  # type: ignore[union-attr]
        y=[wrapped(_question_text(cat, d.key), 30) for d in shown], orientation="h",
        customdata=[label(_question_text(cat, d.key)) for d in shown],
        marker_color=SATISFACTION_COLOUR,
        error_x={"type": "data", "visible": True,
                 "array": [d.correlation.high - d.correlation.r for d in shown],  # type: ignore[union-attr]
                 "arrayminus": [d.correlation.r - d.correlation.low for d in shown]},  # type: ignore[union-attr]
        text=[format_decimal(d.correlation.r, "0.00") for d in shown],  # type: ignore[union-attr]
        textposition="inside", insidetextanchor="start", insidetextfont={"color": "#ffffff"},
        hovertemplate="%{customdata}: r = %{text}<extra></extra>",
    ))
    # The level is a formatted percentage so that each language places its sign ("%95").
    figure.update_xaxes(title_text=_("Pearson's r (%(level)s confidence interval)",
                                     level=format_percent(0.95)), range=[-0.2, 1.1])
    figure.update_yaxes(autorange="reversed")
    return styled(figure, title, height=460, showlegend=False,
                  margin={"l": 230, "r": 30, "t": 60, "b": 50})


def summary_cards(alpha: survey.Alpha, responses: int) -> list[html.Section]:
    if alpha.alpha is None:
        alpha_text, detail = "–", _("Needs at least two 1-5 items and enough complete answers.")
    else:
        alpha_text = format_decimal(alpha.alpha, "0.00")
        detail = _("%(items)s items, %(n)s complete responses", items=len(alpha.items),
                   n=number(alpha.responses))
    return [
        html.Section(className="kpi", id="survey-responses", children=[
            html.H2(_("Responses")), html.P(number(responses), className="kpi-value")]),
        html.Section(className="kpi", id="survey-alpha", children=[
            html.H2(_("Cronbach's alpha")), html.P(alpha_text, className="kpi-value"),
            html.P(detail, className="kpi-detail")]),
    ]


def comments_block(view: scope.View) -> Any:
    if not scope.may_read_comments():
        return html.P(_("Comments are shown to administrators and designers only."),
                      className="muted")
    # Personal data in what people wrote is masked for all but admins (as in the explorer).
    found = survey.comments(view.filters, limit=MAX_COMMENTS,
                            redact_with=None if scope.may_see_personal_data()
                            else redaction_labels())
    if not found:
        return html.P(_("No comments in this period."), className="muted")
    return html.Ul(className="comments", children=[
        html.Li([
            html.Span(format_day(c.submitted_at), className="comment-date"),
            html.Span(view.units.nodes[c.unit_id].name if c.unit_id in view.units else "",
                      className="comment-unit"),
            html.Q(c.text),  # Dash sets text, never HTML: what someone typed stays text
        ]) for c in found
    ])


def _questionnaire(view: scope.View) -> Catalogue | None:
    chosen = view.questionnaire_id
    if chosen is None:
        counts = survey.responses_per_questionnaire(view.filters)
        chosen = max(counts, key=lambda q: (counts[q], -q)) if counts else None
    if chosen is None:
        listed = survey.questionnaires()
        chosen = listed[0][0] if listed else None
    return survey.catalogue(chosen) if chosen is not None else None


def update_survey(start_date: Any, end_date: Any, unit: Any = None, category: Any = None,
                  channel: Any = None, questionnaire: Any = None, grain: Any = None,
                  n_intervals: Any = None, shortcut: Any = None,
                  compare: Any = None, source: Any = None, mode: Any = None
                  ) -> tuple[Any, ...]:
    if not current_user.is_authenticated:
        raise PreventUpdate
    view = scope.resolve(scope.Choice(start_date, end_date, unit, category, channel,
                                      questionnaire, grain, shortcut, compare, source,
                                      mode))
    status = scope.status_line(view)
    cat = _questionnaire(view)
    if cat is None:
        nothing = empty_figure("", _("No questionnaire yet."))
        return (status, _("No questionnaire yet."), [], nothing, nothing, nothing, [],
                comments_block(view))
    filters = view.filters.but(questionnaire_id=cat.questionnaire_id)
    view.filters = filters
    distributions = survey.distributions(filters, cat, view.min_group)
    responses = survey.responses_per_questionnaire(filters).get(cat.questionnaire_id, 0)
    return (
        status, cat.titles.get(_language()) or cat.title,
        summary_cards(survey.cronbach_alpha(filters, cat, view.min_group), responses),
        ipa_figure(survey.importance_performance(filters, cat, view.min_group)),
        drivers_figure(cat, survey.key_drivers(filters, cat, view.min_group)),
        nps_figure(distributions),
        [graph(f"question-{d.key}", 330, distribution_figure(cat, d)) for d in distributions],
        comments_block(view),
    )


def register(dash_app: Dash) -> None:
    dash_app.callback(
        Output("survey-status", "children"), Output("survey-title", "children"),
        Output("survey-summary", "children"), Output("survey-ipa", "figure"),
        Output("survey-drivers", "figure"), Output("survey-nps", "figure"),
        Output("survey-distributions", "children"), Output("survey-comments", "children"),
        *filter_inputs(),
    )(update_survey)
