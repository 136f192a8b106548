"""What every dashboard page shares: translation, number formats, the period, the satisfaction
colour scale and the look of a figure.

Callbacks run inside a Flask request, so ``flask_babel`` formats in the user's language.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

import plotly.graph_objects as go
from dash import dcc, html
from flask import current_app, has_request_context
from flask_babel import format_decimal, format_time
from flask_babel import gettext as _gettext

from app.analytics.figures import Score
from app.analytics.metrics import CountTest, ZTest
from app.analytics.periods import DEFAULT_SHORTCUT, shortcut_days
from app.numbers import count as number
from app.numbers import decimal, percent
from app.reports import charts
from app.timefmt import organisation_zone

#: Longest period a request may ask for (about ten years): bounds the work one callback can cause.
MAX_PERIOD_DAYS = 3660


def _(message: str, **variables: Any) -> str:
    """gettext where a request (and so a user's language) exists; the text itself otherwise, as
    when Dash checks the layout once at start-up."""
    if has_request_context():
        return _gettext(message, **variables)
    return message % variables if variables else message


def settings() -> tuple[str, int]:
    """The organisation's time zone and the smallest group that may show a score."""
    config = current_app.config
    return organisation_zone().key, int(config.get("MEMNUN_MIN_GROUP_SIZE") or 5)


# --- period --------------------------------------------------------------------------------------


def local_today(tz: str) -> dt.date:
    return dt.datetime.now(ZoneInfo(tz)).date()


def default_period(today: dt.date) -> tuple[dt.date, dt.date]:
    """The default view: this month so far and the 11 months before it, as (first day, last
    day) inclusive, so that what happened today is on the page."""
    return shortcut_days(DEFAULT_SHORTCUT, today)


def parse_period(start_date: Any, end_date: Any) -> tuple[dt.date, dt.date] | None:
    """The picker's dates (ISO strings, sometimes with a time) or None when they make no sense."""
    try:
        start = dt.date.fromisoformat(str(start_date)[:10])
        last = dt.date.fromisoformat(str(end_date)[:10])
    except ValueError:
        return None
    if last < start or (last - start).days > MAX_PERIOD_DAYS:
        return None
    return start, last


def updated_at(tz: str) -> str:
    """'updated at 14:05:09': the live-refresh time, in the organisation's time zone."""
    return _("updated at %(time)s", time=format_time(dt.datetime.now(ZoneInfo(tz)), "HH:mm:ss",
                                                     rebase=False))


# --- numbers -------------------------------------------------------------------------------------


def mean_score(value: float) -> str:
    return decimal(value, 2)


def interval_text(score: Score, show: Callable[[float], str] = percent) -> str:
    return _(
        "%(low)s to %(high)s (95%% interval), n = %(n)s",
        low=show(score.low or 0.0), high=show(score.high or 0.0), n=number(score.n),
    )


def shown_or_dash(score: Score | None, show: Callable[[float], str] = percent) -> str:
    """A score's value, or a dash when hidden or without data."""
    if score is None or not score.shown:
        return "–"
    return show(score.value)  # type: ignore[arg-type]


def change_text(change: ZTest | None, last_year: bool = False) -> str | None:
    """Marks a change against the compared period only when it is statistically significant."""
    if change is None or not change.significant():
        return None
    arrow = "▲" if change.difference > 0 else "▼"
    points = format_decimal(abs(change.difference) * 100, "#,##0.0")
    if last_year:
        return _("%(arrow)s %(points)s points against the same days last year", arrow=arrow,
                 points=points)
    return _("%(arrow)s %(points)s points against the previous period", arrow=arrow,
             points=points)


def count_change_text(change: CountTest | None, last_year: bool = False) -> str | None:
    """A significant change of a count (complaints), as a percentage of the compared period's
    rate (per day: the compared period may be longer or shorter)."""
    if change is None or not change.significant() or change.second == 0:
        return None
    arrow = "▲" if change.ratio > 1 else "▼"
    share = abs(change.ratio - 1)
    if last_year:
        return _("%(arrow)s %(share)s against the same days last year", arrow=arrow,
                 share=percent(share))
    return _("%(arrow)s %(share)s against the previous period", arrow=arrow,
             share=percent(share))


def p_text(p_value: float) -> str:
    """'p = 0.012', or 'p < 0.001' rather than a misleading 'p = 0.000'."""
    if p_value < 0.001:
        return "p < " + format_decimal(0.001, "0.000")
    return "p = " + format_decimal(p_value, "0.000")


def separators() -> str:
    """Plotly's decimal and thousands separators for the user's language."""
    sample = format_decimal(1234.5, "#,##0.0")  # e.g. "1,234.5" or "1.234,5"
    return sample[5] + sample[1]


def count_step(largest: float) -> int:
    """A whole-number tick step (1, 2, 5, 10, 20, ...) giving at most about six ticks."""
    step = 1
    while largest / step > 6:
        step = step * 5 // 2 if str(step).startswith("2") else step * 2
    return step


# --- colours and figures -------------------------------------------------------------------------

#: One colour scale for satisfaction everywhere (CSAT from 50 % to 100 %; lower is the bottom
#: colour). Dark enough at every step for white labels and a projector; red against blue stays
#: apart for the common colour-vision deficiencies. Defined with the review pack's charts
#: (``app.reports.charts``), which draw with the same scale.
SATISFACTION_STOPS = charts.SATISFACTION_STOPS
SATISFACTION_RANGE = charts.SATISFACTION_RANGE
SATISFACTION_COLOUR = "#1f6f8b"  # a line of satisfaction over time
COMPLAINTS_COLOUR = "#c9d3dd"
NEUTRAL_COLOUR = charts.NEUTRAL  # hidden ("too few responses") or no data
SERIES_COLOURS = ("#1f6f8b", "#c05a00", "#5e3c99", "#2a7f3f", "#8c510a")
#: Detractors, passives, promoters: the two ends of the satisfaction scale and the neutral grey.
NPS_COLOURS = (SATISFACTION_STOPS[0][1], NEUTRAL_COLOUR, SATISFACTION_STOPS[-1][1])


def satisfaction_colourscale() -> list[list[Any]]:
    return [[stop, colour] for stop, colour in SATISFACTION_STOPS]


def satisfaction_colour(value: float | None) -> str:
    """The colour of a CSAT share on the satisfaction scale; neutral grey when hidden."""
    return charts.satisfaction_colour(value)


_AXIS = {"gridcolor": "#e6ebf1", "linecolor": "#d8dee6", "zerolinecolor": "#d8dee6",
         "zerolinewidth": 2, "automargin": True, "ticks": ""}
#: A small white template, built once: naming "plotly_white" on every figure costs about a
#: tenth of a second each time (the whole template is validated and copied for every axis).
TEMPLATE = go.layout.Template(layout={
    "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff", "font": {"color": "#1d2733"},
    "xaxis": _AXIS, "yaxis": _AXIS, "hovermode": "closest", "colorway": list(SERIES_COLOURS),
    "hoverlabel": {"align": "left"},
})


def styled(figure: go.Figure, title: str, **layout: Any) -> go.Figure:
    """The common look: white template, large type for a projector, local separators."""
    settings_: dict[str, Any] = {
        "template": TEMPLATE, "title": {"text": title}, "font": {"size": 15},
        "margin": {"l": 60, "r": 40, "t": 60, "b": 50}, "separators": separators(),
        "legend": {"orientation": "h", "y": -0.2},
    }
    figure.update_layout(**{**settings_, **layout})
    return figure


def label(text: Any) -> str:
    """``text`` safe inside a figure. Plotly renders a subset of HTML in labels, titles and
    hover texts (``<a href>``, ``<b>``): a unit, category or questionnaire name, a question
    text or an option label comes from outside and could carry a link that looks like ours.
    Escaped, it shows as the plain text it is (Plotly turns the entities back into characters).
    Every figure builder passes such names through here."""
    return escape(str(text), quote=False)


def wrapped(text: str, width: int = 48, max_lines: int = 3) -> str:
    """Text broken into lines of about ``width`` characters for Plotly (which does not wrap
    titles or annotations itself), escaped (``label``): only the line breaks are markup."""
    lines: list[str] = []
    for word in label(text).split():
        if lines and len(lines[-1]) + len(word) < width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines[:max_lines])


def empty_figure(title: str, message: str) -> go.Figure:
    """A figure that says why it has nothing to show."""
    figure = go.Figure()
    # Plotly does not wrap annotations: a long message in a half-width chart would be cut off.
    figure.add_annotation(text=wrapped(message, 44), showarrow=False, font={"size": 16},
                          xref="paper", yref="paper", x=0.5, y=0.5)
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return styled(figure, title)


GRAPH_CONFIG = {"displaylogo": False, "responsive": True}


def graph(graph_id: str, height: int, figure: go.Figure | None = None) -> dcc.Graph:
    """A graph that fills its column's width at ``height`` pixels (a responsive graph takes
    its container's size, so the container gets the height)."""
    extra = {} if figure is None else {"figure": figure}
    return dcc.Graph(id=graph_id, config=GRAPH_CONFIG, style={"height": f"{height}px"},
                     className="graph", **extra)


def table(header: list[str], rows: list[list[Any]], table_id: str,
          caption: str | None = None) -> html.Table:
    """A plain, accessible table (Dash escapes every text)."""
    head = html.Thead(html.Tr([html.Th(text, scope="col") for text in header]))
    body = html.Tbody([html.Tr([html.Td(cell) for cell in row]) for row in rows])
    children: list[Any] = [html.Caption(caption)] if caption else []
    return html.Table(children + [head, body], id=table_id, className="figures")
