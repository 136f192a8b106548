"""The executive overview: KPI cards, trends with their targets, and the alerts.

Each card shows its figure with its 95 % interval, its target, and its change against the
previous period of the same length only when a test says the change is real. The callback reads
figures only through ``app.analytics``; which units a person may see comes from the signed-in
user on the server, never from anything the browser sends (``dashboards.scope``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go
from dash import Dash, Output, html
from dash.exceptions import PreventUpdate
from flask_babel import format_date
from flask_login import current_user
from plotly.subplots import make_subplots

from app.analytics import metrics
from app.analytics.figures import Score
from app.analytics.linkage import complaint_rates
from app.analytics.metrics import ZTest
from app.analytics.overview import Overview, PeriodFigures, overview_and_trend
from app.analytics.periods import Comparison, Grain, next_period
from app.analytics.targets import all_targets, below_target, overview_scores, targets_for
from app.numbers import points as nps_points
from dashboards import scope, sources
from dashboards.common import (
    COMPLAINTS_COLOUR,
    SATISFACTION_COLOUR,
    SERIES_COLOURS,
    _,
    change_text,
    count_change_text,
    count_step,
    decimal,
    default_period,
    graph,
    interval_text,
    local_today,
    number,
    parse_period,
    percent,
    styled,
)
from dashboards.shell import filter_inputs

__all__ = ["_", "default_period", "layout", "local_today", "parse_period", "register",
           "update_alerts", "update_overview"]


def layout() -> html.Div:
    """The page body under the filters."""
    return html.Div(children=[
        html.P(id="status", className="status", role="status"),
        html.Div(id="kpis", className="kpis"),
        html.Section(className="panel alerts-panel", children=[
            html.H2(_("Alerts")),
            html.Div(id="alerts", className="alerts", **{"aria-live": "polite"}),
        ]),
        graph("trend", 860),
        sources.layout(),
    ])


# --- cards ---------------------------------------------------------------------------------------


def _card(key: str, title: str, value: str, *details: str | None, suppressed: bool = False,
          below: bool = False) -> html.Section:
    classes = ["kpi"] + (["kpi-suppressed"] if suppressed else []) + (
        ["kpi-below-target"] if below else [])
    return html.Section(
        id=f"kpi-{key}",
        className=" ".join(classes),
        children=[
            html.H2(title),
            html.P(value, className="kpi-value"),
            *[html.P(detail, className="kpi-detail") for detail in details if detail],
        ],
    )


def _target_text(score: Score, target: float | None, show: Callable[[float], str]) -> str | None:
    if target is None:
        return None
    if score.shown and score.value is not None and score.value < target:
        return _("Target %(target)s: under target", target=show(target))
    return _("Target %(target)s", target=show(target))


def _under(score: Score, target: float | None) -> bool:
    return target is not None and score.shown and score.value is not None and score.value < target


def _survey_card(key: str, title: str, score: Score, show: Callable[[float], str],
                 change: ZTest | None, target: float | None,
                 last_year: bool = False) -> html.Section:
    """A survey score, or "too few responses"; ``show`` formats a value of the score."""
    if score.suppressed or score.value is None:
        return _card(key, title, "–", _("Too few responses"),
                     _target_text(score, target, show), suppressed=True)
    return _card(key, title, show(score.value), interval_text(score, show),
                 _target_text(score, target, show), change_text(change, last_year),
                 below=_under(score, target))


def _share_card(key: str, title: str, score: Score, empty: str, change: ZTest | None,
                target: float | None, last_year: bool = False) -> html.Section:
    if score.value is None:
        return _card(key, title, "–", empty, _target_text(score, target, percent))
    return _card(key, title, percent(score.value), interval_text(score),
                 _target_text(score, target, percent), change_text(change, last_year),
                 below=_under(score, target))


def _complaints_card(figures: Overview, rate: metrics.Estimate | None,
                     last_year: bool = False) -> html.Section:
    interval = metrics.poisson_interval(figures.complaints)
    details = [_("%(low)s to %(high)s (95%% Poisson interval)", low=decimal(interval.low),
                 high=decimal(interval.high))]
    if rate is not None:
        details.append(_("%(rate)s per 1,000 transactions (%(low)s to %(high)s)",
                         rate=decimal(rate.value, 2), low=decimal(rate.low, 2),
                         high=decimal(rate.high, 2)))
    details.append(count_change_text(figures.complaints_change, last_year))
    return _card("complaints", _("Complaints received"), number(figures.complaints), *details)


def kpi_cards(figures: Overview, targets: dict[str, float],
              rate: metrics.Estimate | None = None, last_year: bool = False) -> list[html.Section]:
    """The cards; changes are against the same days last year when ``last_year``."""
    return [
        _survey_card("csat", _("CSAT: satisfied (4 or 5 of 5)"), figures.csat, percent,
                     figures.csat_change, targets.get("csat"), last_year),
        _survey_card("nps", _("Net Promoter Score"), figures.nps, nps_points,
                     figures.nps_change, targets.get("nps"), last_year),
        _survey_card("resolved", _("Really resolved (respondents)"),
                     figures.resolution_confirmed, percent, figures.resolution_change,
                     targets.get("resolution_confirmed"), last_year),
        _card("responses", _("Responses"), number(figures.responses),
              _("Too few responses") if figures.suppressed else None),
        _share_card("response-rate", _("Response rate"), figures.response_rate,
                    _("No invitations sent in this period"), figures.response_rate_change,
                    targets.get("response_rate"), last_year),
        _share_card("bounce-rate", _("Bounce rate (not delivered)"), figures.bounce_rate,
                    _("No invitations sent in this period"), None, None, last_year),
        _complaints_card(figures, rate, last_year),
        _share_card("on-time", _("Resolved on time"), figures.on_time,
                    _("No complaints with a due date resolved in this period"),
                    figures.on_time_change, targets.get("on_time_resolution"), last_year),
    ]


# --- trend ---------------------------------------------------------------------------------------

MAX_ALERTS = 12
PERIOD_FORMATS = {Grain.DAY: "d MMM", Grain.WEEK: "d MMM", Grain.MONTH: "MMM y",
                  Grain.QUARTER: "QQQ y"}


#: The next coarser grain, when a finer one leaves most points without enough answers.
COARSER = {Grain.DAY: Grain.WEEK, Grain.WEEK: Grain.MONTH, Grain.MONTH: Grain.QUARTER}


def _points(scores: list[Score], min_n: int = 1) -> list[float | None]:
    """Percentages to draw; a gap (None) where a figure is hidden or rests on fewer than
    ``min_n`` cases: a share of two invitations jumps between 0 and 100 and means nothing."""
    return [s.value * 100 if s.shown and s.value is not None and s.n >= min_n else None
            for s in scores]


def mostly_unreliable(series: list[PeriodFigures], min_group: int) -> bool:
    """Whether more than half of the periods with any responses have too few to show a score."""
    answered = [p for p in series if p.responses]
    return len(series) > 1 and sum(p.responses < min_group for p in answered) * 2 > len(
        answered)


def reliable_trend(view: scope.View) -> tuple[Overview, list[PeriodFigures], Grain, list[str]]:
    """The overview and a trend at the chosen grain, or at a coarser one when the chosen one
    leaves most points without enough responses (with a note saying so)."""
    grain = view.grain
    while True:
        figures, series = overview_and_trend(view.filters, grain, view.min_group, view.tz)
        coarser = COARSER.get(grain)
        if coarser is None or not mostly_unreliable(series, view.min_group):
            break
        grain = coarser
    notes = []
    if grain is not view.grain:
        notes.append(_("Too few responses per %(chosen)s: the trend is shown by %(shown)s.",
                       chosen=str(scope.GRAIN_UNITS[view.grain]),
                       shown=str(scope.GRAIN_UNITS[grain])))
    if _has_gaps(series, view.min_group):
        notes.append(_("Gaps in the trend: too few responses or invitations in that period "
                       "to show a figure."))
    partial = _partial_period(view, series, grain)
    if partial:
        notes.append(partial)
    return figures, series, grain, notes


def _has_gaps(series: list[PeriodFigures], min_group: int) -> bool:
    shares = [p.response_rate for p in series] + [p.on_time for p in series]
    return any(p.responses and not p.csat.shown for p in series) or any(
        s.value is not None and s.n < min_group for s in shares)


def _partial_period(view: scope.View, series: list[PeriodFigures], grain: Grain) -> str | None:
    """A note when the last point's period is not over: it holds only the days to today."""
    if not series or not view.to_date:
        return None
    last = series[-1].start
    if next_period(last, grain) - dt.timedelta(days=1) <= view.last_day:
        return None
    return _("The last point holds only %(start)s to %(end)s: that period is not over.",
             start=format_date(last, "medium"), end=format_date(view.last_day, "medium"))


def _target_line(figure: go.Figure, x: list[str], target: float | None, name: str, colour: str,
                 row: int, secondary: bool = False) -> None:
    if target is None or not x:
        return
    # A line needs two points: a one-period trend gets a wide flat marker instead.
    single = {"mode": "markers", "marker": {"symbol": "line-ew", "size": 60,
                                            "line": {"color": colour, "width": 2}}}
    figure.add_scatter(x=x, y=[target * 100] * len(x), name=name,
                       line={"color": colour, "dash": "dash", "width": 2}, hoverinfo="skip",
                       row=row, col=1, secondary_y=secondary,
                       **(single if len(x) == 1 else {"mode": "lines"}))


def trend_figure(series: list[PeriodFigures], grain: Grain = Grain.MONTH,
                 targets: dict[str, float] | None = None, min_n: int = 1) -> go.Figure:
    """CSAT per period with its interval (gaps where suppressed) over complaints received; the
    shares (on time, response rate, really resolved) and NPS below, each with its target.

    The complaint bars take the primary axis (on the right) and CSAT the secondary one (on the
    left), drawn on top, so the line stays visible. A share resting on fewer than ``min_n``
    invitations or complaints is a gap, not a point.
    """
    targets = targets or {}
    x = [format_date(p.start, PERIOD_FORMATS[grain]) for p in series]
    csat = [p.csat for p in series]
    figure = make_subplots(
        rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.09, row_heights=[0.5, 0.3, 0.2],
        specs=[[{"secondary_y": True}], [{}], [{}]],
        subplot_titles=(_("Satisfaction and complaints"), _("Timeliness and follow-up"),
                        _("Net Promoter Score")),
    )
    figure.add_scatter(
        x=x, y=_points(csat), name=_("CSAT (%)"), mode="lines+markers", connectgaps=False,
        line={"color": SATISFACTION_COLOUR, "width": 3}, marker={"size": 9},
        error_y={"type": "data", "visible": True, "color": SATISFACTION_COLOUR, "thickness": 1.5,
                 "array": [((s.high or 0) - s.value) * 100 if s.shown else 0 for s in csat],
                 "arrayminus": [(s.value - (s.low or 0)) * 100 if s.shown else 0 for s in csat]},
        text=[_("Too few responses") if s.suppressed else _("n = %(n)s", n=number(s.n))
              for s in csat],
        hovertemplate="%{x}: %{y:.1f} % (%{text})<extra></extra>",
        row=1, col=1, secondary_y=True,
    )
    _target_line(figure, x, targets.get("csat"), _("CSAT target"), SATISFACTION_COLOUR, 1, True)
    complaints = [p.complaints for p in series]
    figure.add_bar(x=x, y=complaints, name=_("Complaints received"),
                   marker_color=COMPLAINTS_COLOUR, hovertemplate="%{x}: %{y}<extra></extra>",
                   row=1, col=1, secondary_y=False)
    shares = [("on_time_resolution", _("Resolved on time (%)"), [p.on_time for p in series]),
              ("response_rate", _("Response rate (%)"), [p.response_rate for p in series]),
              ("resolution_confirmed", _("Really resolved (%)"),
               [p.resolution_confirmed for p in series])]
    for (metric, name, scores), colour in zip(shares, SERIES_COLOURS[1:], strict=False):
        figure.add_scatter(x=x, y=_points(scores, min_n), name=name, mode="lines+markers",
                           connectgaps=False, line={"color": colour, "width": 2.5},
                           hovertemplate="%{x}: %{y:.1f} %<extra></extra>", row=2, col=1)
        _target_line(figure, x, targets.get(metric), _("%(name)s target", name=name), colour, 2)
    figure.add_scatter(x=x, y=_points([p.nps for p in series]), name=_("NPS"),
                       mode="lines+markers", connectgaps=False,
                       line={"color": SERIES_COLOURS[0], "width": 2.5},
                       hovertemplate="%{x}: %{y:+.0f}<extra></extra>", row=3, col=1)
    _target_line(figure, x, targets.get("nps"), _("NPS target"), SERIES_COLOURS[0], 3)
    figure.update_yaxes(title_text=_("Complaints received"), rangemode="tozero",
                        showgrid=False, tickformat=",d", dtick=count_step(max(complaints,
                                                                              default=0)),
                        row=1, col=1, secondary_y=False, side="right")
    figure.update_yaxes(title_text=_("CSAT (%)"), range=[0, 100], dtick=20, row=1, col=1,
                        secondary_y=True, side="left", showgrid=True)
    figure.update_yaxes(title_text="%", range=[0, 100], dtick=25, row=2, col=1)
    figure.update_yaxes(title_text=_("NPS"), range=[-100, 100], dtick=50, zeroline=True,
                        row=3, col=1)
    return styled(figure, _("Trends"), height=860,
                  legend={"orientation": "h", "y": -0.08})


# --- callbacks -----------------------------------------------------------------------------------


def _choice(start_date: Any, end_date: Any, unit: Any, category: Any, channel: Any,
            questionnaire: Any, grain: Any, shortcut: Any, compare: Any, source: Any = None,
            mode: Any = None) -> scope.Choice:
    return scope.Choice(start=start_date, end=end_date, unit=unit, category=category,
                        channel=channel, questionnaire=questionnaire, grain=grain,
                        shortcut=shortcut, compare=compare, source=source, mode=mode)


def update_overview(start_date: Any, end_date: Any, unit: Any = None, category: Any = None,
                    channel: Any = None, questionnaire: Any = None, grain: Any = None,
                    n_intervals: Any = None, shortcut: Any = None,
                    compare: Any = None, source: Any = None, mode: Any = None
                    ) -> tuple[list[html.Section], go.Figure, str]:
    """Figures for the chosen filters within the user's units: KPI cards, trends, status."""
    if not current_user.is_authenticated:  # the guard answers 401 first; never compute anyway
        raise PreventUpdate
    view = scope.resolve(_choice(start_date, end_date, unit, category, channel, questionnaire,
                                 grain, shortcut, compare, source, mode))
    figures, series, grain, notes = reliable_trend(view)
    targets = targets_for(view.focus_unit, view.units)
    rates = complaint_rates(view.filters, None, view.tz)
    rate = rates[None][1] if None in rates else None
    last_year = view.comparison is Comparison.LAST_YEAR
    return (kpi_cards(figures, targets, rate, last_year),
            trend_figure(series, grain, targets, view.min_group),
            scope.status_line(view, *notes))


def update_alerts(start_date: Any, end_date: Any, unit: Any = None, category: Any = None,
                  channel: Any = None, questionnaire: Any = None, grain: Any = None,
                  n_intervals: Any = None, shortcut: Any = None,
                  compare: Any = None, source: Any = None, mode: Any = None
                  ) -> list[Any]:
    """The alerts of the month that ends the period, for the units the user may see.

    The rules (targets, significant drops, control charts) are ``app.reports.alerts``; without
    that module the figures under their targets are listed instead.
    """
    if not current_user.is_authenticated:
        raise PreventUpdate
    view = scope.resolve(_choice(start_date, end_date, unit, category, channel, questionnaire,
                                 grain, shortcut, compare, source, mode))
    today = local_today(view.tz)
    period_end = min(view.last_day, today)
    messages = _alert_messages(view, period_end)
    # The alerts judge one month, not the chosen period: say which, or they read as wrong.
    start, end = format_date(period_end.replace(day=1), "medium"), format_date(period_end,
                                                                               "medium")
    covered = html.P(_("Month to date: %(start)s to %(end)s.", start=start, end=end)
                     if period_end == today else
                     _("The month of %(start)s to %(end)s.", start=start, end=end),
                     className="muted", id="alerts-period")
    if not messages:
        return [covered, html.P(_("No alerts."), className="muted")]
    shown = [covered, html.Ul([html.Li(message) for message in messages[:MAX_ALERTS]])]
    if len(messages) > MAX_ALERTS:
        shown.append(html.P(_("… and %(n)s more.", n=len(messages) - MAX_ALERTS),
                            className="muted"))
    return shown


def _alert_messages(view: scope.View, period_end: dt.date) -> list[str]:
    try:
        from app.reports.alerts import current_alerts
    except ImportError:
        return _targets_missed(view)
    units = None
    if view.unit_id is not None:
        units = [view.unit_id]
    elif view.scope is not None:
        units = view.units.tops(view.scope)
    alerts = current_alerts(period_end, units, tz=view.tz, min_group=view.min_group)
    return [alert.message() for alert in alerts]


def _targets_missed(view: scope.View) -> list[str]:
    """Fallback: the filtered figures under the targets that hold for the view."""
    from app.analytics.overview import overview_of

    figures = overview_of(view.filters, view.min_group)
    known = all_targets()
    gaps = below_target(overview_scores(figures),
                        targets_for(view.focus_unit, view.units, known))
    names = {"csat": _("CSAT"), "nps": _("NPS"), "response_rate": _("Response rate"),
             "on_time_resolution": _("Resolved on time"),
             "resolution_confirmed": _("Really resolved")}
    show = {"nps": nps_points}
    return [_("%(metric)s is %(value)s, under its target of %(target)s.",
              metric=names[gap.metric], value=show.get(gap.metric, percent)(gap.value),
              target=show.get(gap.metric, percent)(gap.target)) for gap in gaps]


def register(dash_app: Dash) -> None:
    """The overview's callbacks, bound to ``dash_app``."""
    dash_app.callback(
        Output("kpis", "children"),
        Output("trend", "figure"),
        Output("status", "children"),
        *filter_inputs(),
    )(update_overview)
    dash_app.callback(Output("alerts", "children"), *filter_inputs())(update_alerts)
    dash_app.callback(Output("sources", "children"), *filter_inputs())(sources.update_sources)

