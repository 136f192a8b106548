"""Operations: how surveys go out. The invitation funnel (planned, suppressed by reason, sent,
responded, expired, failed), response rates (over invitations delivered) by channel and by
language, and the bounce rate by the channel the invitations went by."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from dash import Dash, Output, html
from dash.exceptions import PreventUpdate
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.analytics.figures import Score
from app.analytics.names import CHANNEL_NAMES
from app.analytics.operations import Funnel, bounce_rates, invitation_funnel, response_rates
from app.analytics.splits import Dimension
from app.languages import LANGUAGE_NAMES
from dashboards import scope
from dashboards.common import (
    NEUTRAL_COLOUR,
    SERIES_COLOURS,
    _,
    empty_figure,
    graph,
    label,
    number,
    percent,
    styled,
)
from dashboards.shell import filter_inputs

REASONS = {
    "no_consent": _l("No consent"), "no_contact": _l("No contact details"),
    "opted_out": _l("Opted out"), "fatigue": _l("Surveyed recently (fatigue)"),
    "not_sampled": _l("Not sampled"), "no_matching_rule": _l("No matching rule"),
    "unknown": _l("Reason not recorded"),
}


SENT_BY = {"email": _l("E-mail"), "sms": _l("SMS")}


def layout() -> html.Div:
    return html.Div(children=[
        html.P(id="ops-status", className="status", role="status"),
        graph("ops-funnel", 460),
        html.Div(className="two-columns", children=[
            graph("ops-channel", 400),
            graph("ops-language", 400),
        ]),
        graph("ops-bounces", 400),
    ])


def funnel_figure(funnel: Funnel) -> go.Figure:
    title = _("Invitations planned in the period, and what became of them")
    if funnel.planned == 0:
        return empty_figure(title, _("No invitations were planned in this period."))
    stages = [_("Planned"), _("Suppressed"), _("Cancelled"), _("Waiting"), _("Sent"),
              _("Responded"), _("Expired"), _("Failed"), _("Bounced")]
    values = [funnel.planned, 0, funnel.cancelled, funnel.waiting, funnel.sent,
              funnel.responded, funnel.expired, funnel.failed, funnel.bounced]
    texts = [number(v) for v in values]
    texts[1] = ""
    figure = go.Figure(go.Bar(x=stages, y=values, name=_("Invitations"), showlegend=False,
                              marker_color=SERIES_COLOURS[0], text=texts,
                              textposition="outside", hovertemplate="%{x}: %{y}<extra></extra>"))
    reds = ["#b2182b", "#d6604d", "#8c510a", "#5e3c99", NEUTRAL_COLOUR, "#2a7f3f", "#444444"]
    for (reason, count), colour in zip(sorted(funnel.suppressed.items()), reds, strict=False):
        name = str(REASONS.get(reason, reason))
        figure.add_bar(x=[stages[1]], y=[count], name=name, marker_color=colour,
                       hovertemplate=f"{name}: %{{y}}<extra></extra>")
    figure.add_annotation(x=stages[1], y=funnel.suppressed_total, text=number(
        funnel.suppressed_total), showarrow=False, yanchor="bottom", font={"size": 15})
    figure.update_layout(barmode="stack")
    figure.update_yaxes(title_text=_("Invitations"), rangemode="tozero")
    return styled(figure, title, height=460)


def rates_figure(rates: dict[Any, Score], names: dict[Any, str], title: str,
                 bounces: bool = False) -> go.Figure:
    """Response rates (over the invitations delivered) or, with ``bounces``, bounce rates (over
    the invitations sent), with their intervals."""
    if not rates:
        return empty_figure(title, _("No invitations sent in this period"))
    keys = sorted(rates, key=lambda k: -(rates[k].n))
    scores = [rates[k] for k in keys]
    figure = go.Figure(go.Bar(
        x=[label(names.get(k, k)) for k in keys], y=[(s.value or 0) * 100 for s in scores],
        marker_color=SERIES_COLOURS[0],
        error_y={"type": "data", "visible": True,
                 "array": [((s.high or 0) - (s.value or 0)) * 100 for s in scores],
                 "arrayminus": [((s.value or 0) - (s.low or 0)) * 100 for s in scores]},
        text=[percent(s.value or 0) for s in scores],
        customdata=[number(s.n) for s in scores],
        # Inside, at the foot of the bar: above it the label would collide with the interval.
        textposition="inside", insidetextanchor="start",
        insidetextfont={"color": "#ffffff", "size": 15},
        hovertemplate="%{x}: %{text} (" + (
            _("of %(n)s sent", n="%{customdata}") if bounces
            else _("of %(n)s delivered", n="%{customdata}")) + ")<extra></extra>",
    ))
    figure.update_yaxes(title_text=_("Bounce rate (%)") if bounces else _("Response rate (%)"),
                        range=[0, 105])
    return styled(figure, title, height=400, showlegend=False)


def update_operations(start_date: Any, end_date: Any, unit: Any = None, category: Any = None,
                      channel: Any = None, questionnaire: Any = None, grain: Any = None,
                      n_intervals: Any = None, shortcut: Any = None,
                      compare: Any = None, source: Any = None, mode: Any = None
                      ) -> tuple[go.Figure, go.Figure, go.Figure, go.Figure, str]:
    if not current_user.is_authenticated:
        raise PreventUpdate
    view = scope.resolve(scope.Choice(start_date, end_date, unit, category, channel,
                                      questionnaire, grain, shortcut, compare, source,
                                      mode))
    channels = {c.value: str(label) for c, label in CHANNEL_NAMES.items()}
    status = scope.status_line(view)
    return (
        funnel_figure(invitation_funnel(view.filters)),
        rates_figure(response_rates(view.filters, Dimension.CHANNEL), channels,
                     _("Response rate by channel")),
        rates_figure(response_rates(view.filters, Dimension.LANGUAGE), LANGUAGE_NAMES,
                     _("Response rate by language")),
        rates_figure(bounce_rates(view.filters, "sent_by"), SENT_BY,
                     _("Bounce rate by channel of sending: invitations not delivered"),
                     bounces=True),
        status,
    )


def register(dash_app: Dash) -> None:
    dash_app.callback(
        Output("ops-funnel", "figure"), Output("ops-channel", "figure"),
        Output("ops-language", "figure"), Output("ops-bounces", "figure"),
        Output("ops-status", "children"), *filter_inputs(),
    )(update_operations)
