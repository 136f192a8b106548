"""Complaints and satisfaction: where complaints say more than surveys do.

Per unit, complaint rate (per 1,000 transactions) against CSAT with Spearman's rho; CSAT of
complaints resolved on time against late ones; CSAT by days to resolve; and a table of the
direct and indirect indicators side by side, with the false-closure rate.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from dash import Dash, Output, html
from dash.exceptions import PreventUpdate
from flask_babel import format_decimal
from flask_login import current_user

from app.analytics.linkage import (
    DaysBucket,
    LinkageRow,
    TimelinessSatisfaction,
    linkage,
    rate_csat_correlation,
    satisfaction_by_days,
    satisfaction_by_timeliness,
    whole_median_days,
)
from app.analytics.splits import Dimension
from app.analytics.tree import Tree, flat, level
from app.numbers import points as nps_points
from dashboards import scope
from dashboards.common import (
    _,
    decimal,
    empty_figure,
    graph,
    label,
    number,
    p_text,
    satisfaction_colour,
    satisfaction_colourscale,
    shown_or_dash,
    styled,
    table,
)
from dashboards.drilldown import satisfaction_legend
from dashboards.shell import filter_inputs


def layout() -> html.Div:
    return html.Div(children=[
        html.P(id="link-status", className="status", role="status"),
        graph("link-scatter", 520),
        satisfaction_legend(),
        html.Div(className="two-columns", children=[
            graph("link-timeliness", 420),
            graph("link-days", 420),
        ]),
        html.Section(className="panel", children=[
            html.H2(_("Units side by side")), html.Div(id="link-table")]),
    ])


def _unit_name(tree: Tree, row: LinkageRow) -> str:
    node = tree.nodes.get(row.key)
    name = node.name if node else str(row.key)
    return _("%(name)s (itself)", name=name) if row.own else name


def scatter_figure(rows: list[LinkageRow], units: Tree) -> go.Figure:
    """One point per unit with both a complaint rate and a shown CSAT."""
    title = _("Complaint rate against satisfaction, per unit")
    points = [r for r in rows if r.complaint_rate is not None and r.csat.shown]
    if not points:
        return empty_figure(title, _("No unit has both a known volume and enough responses."))
    correlation = rate_csat_correlation(rows)
    if correlation is not None and correlation.rho == correlation.rho:  # not NaN
        title = _("%(title)s: Spearman's rho %(rho)s (%(p)s, %(n)s units)", title=title,
                  rho=format_decimal(correlation.rho, "0.00"), p=p_text(correlation.p_value),
                  n=correlation.n)
    largest = max(r.complaints for r in points) or 1
    figure = go.Figure(go.Scatter(
        x=[r.complaint_rate.value for r in points],  # type: ignore[union-attr]
        y=[r.csat.value * 100 for r in points],  # type: ignore[operator]
        mode="markers+text", text=[label(_unit_name(units, r)) for r in points],
        textposition="top center", textfont={"size": 12}, cliponaxis=False,
        customdata=[[number(r.complaints), shown_or_dash(r.csat)] for r in points],
        marker={"size": [12 + 38 * (r.complaints / largest) ** 0.5 for r in points],
                "color": [r.csat.value for r in points], "colorscale": satisfaction_colourscale(),
                "cmin": 0.5, "cmax": 1.0, "line": {"color": "#1d2733", "width": 1},
                "opacity": 0.9},
        hovertemplate=("%{text}<br>" + _("Complaints per 1,000 transactions") + ": %{x:.2f}<br>"
                       + _("CSAT") + ": %{customdata[1]}<br>" + _("Complaints")
                       + ": %{customdata[0]}<extra></extra>"),
    ))
    widest = max(r.complaint_rate.value for r in points)  # type: ignore[union-attr]
    figure.update_xaxes(title_text=_("Complaints per 1,000 transactions"),
                        range=[0, widest * 1.15 or 1])
    figure.update_yaxes(title_text=_("CSAT (%)"), range=[0, 105])
    return styled(figure, title, height=520, showlegend=False)


def _bar(names: list[str], scores: list[Any], title: str, note: str | None = None) -> go.Figure:
    shown = [s.csat if hasattr(s, "csat") else s for s in scores]
    # A hidden figure is a bar of 0 with "too few" above it, so that its absence is explained.
    y = [s.value * 100 if s.shown else 0 for s in shown]
    figure = go.Figure(go.Bar(
        x=[label(name) for name in names], y=y,
        marker_color=[satisfaction_colour(s.value if s.shown else None) for s in shown],
        error_y={"type": "data", "visible": True,
                 "array": [((s.high or 0) - s.value) * 100 if s.shown else 0 for s in shown],
                 "arrayminus": [(s.value - (s.low or 0)) * 100 if s.shown else 0
                                for s in shown]},
        text=[shown_or_dash(s) if s.shown else _("too few") for s in shown],
        # Inside, at the foot of the bar: above it the label would collide with the interval.
        textposition=["inside" if s.shown else "outside" for s in shown],
        insidetextanchor="start", insidetextfont={"color": "#ffffff", "size": 15},
        hovertemplate="%{x}: %{text}<extra></extra>",
    ))
    figure.update_yaxes(title_text=_("CSAT (%)"), range=[0, 110])
    if note:
        figure.add_annotation(text=note, showarrow=False, xref="paper", yref="paper", x=0.5,
                              y=1.0, yanchor="bottom", font={"size": 13})
    return styled(figure, title, height=420, showlegend=False)


def timeliness_figure(split: TimelinessSatisfaction) -> go.Figure:
    note = None
    if split.change is not None:
        note = _("Difference %(points)s points, %(p)s", points=decimal(
            split.change.difference * 100), p=p_text(split.change.p_value))
    return _bar([_("Resolved on time"), _("Resolved late")], [split.on_time, split.late],
                _("Satisfaction: on time against late"), note)


def days_figure(buckets: list[DaysBucket]) -> go.Figure:
    def name(bucket: DaysBucket) -> str:
        if bucket.high is None:
            return _("%(low)s days or more", low=decimal(bucket.low, 0))
        return _("%(low)s to %(high)s days", low=decimal(bucket.low, 0),
                 high=decimal(bucket.high, 0))

    return _bar([name(b) for b in buckets], [b.csat for b in buckets],
                _("Satisfaction against days to resolve"))


def linkage_table(rows: list[LinkageRow], units: Tree) -> html.Table:
    too_few = _("Too few responses")
    header = [_("Unit"), _("Complaints"), _("Per 1,000 transactions"), _("Resolved on time"),
              _("Median days to resolve"), _("Responses"), _("CSAT"), _("NPS"),
              _("Really resolved"), _("Not really resolved (false closure)")]
    body = []
    for r in rows:
        body.append([
            _unit_name(units, r), number(r.complaints),
            decimal(r.complaint_rate.value, 2) if r.complaint_rate else "–",
            shown_or_dash(r.on_time), decimal(r.median_days) if r.median_days is not None
            else "–", number(r.responses),
            shown_or_dash(r.csat) if r.csat.shown else too_few,
            shown_or_dash(r.nps, nps_points), shown_or_dash(r.really_resolved),
            shown_or_dash(r.false_closure),
        ])
    return table(header, body, "linkage")


def update_linkage(start_date: Any, end_date: Any, unit: Any = None, category: Any = None,
                   channel: Any = None, questionnaire: Any = None, grain: Any = None,
                   n_intervals: Any = None, shortcut: Any = None,
                   compare: Any = None, source: Any = None, mode: Any = None
                   ) -> tuple[go.Figure, go.Figure, go.Figure, Any, str]:
    if not current_user.is_authenticated:
        raise PreventUpdate
    view = scope.resolve(scope.Choice(start_date, end_date, unit, category, channel,
                                      questionnaire, grain, shortcut, compare, source,
                                      mode))
    allowed = view.filters.unit_ids
    every_unit = linkage(view.filters, Dimension.UNIT, view.min_group,
                         flat(view.units, allowed), tz=view.tz)
    level_rows = linkage(view.filters, Dimension.UNIT, view.min_group,
                         level(view.units, view.focus_unit, view.scope), tz=view.tz)
    median = whole_median_days(view.filters)
    status = scope.status_line(view, _("Median time to resolve: %(days)s days.",
                                       days=decimal(median)) if median is not None else "")
    return (scatter_figure(every_unit, view.units),
            timeliness_figure(satisfaction_by_timeliness(view.filters, view.min_group)),
            days_figure(satisfaction_by_days(view.filters, view.min_group)),
            linkage_table(level_rows, view.units), status)


def register(dash_app: Dash) -> None:
    dash_app.callback(
        Output("link-scatter", "figure"), Output("link-timeliness", "figure"),
        Output("link-days", "figure"), Output("link-table", "children"),
        Output("link-status", "children"), *filter_inputs(),
    )(update_linkage)

