"""Small charts as inline SVG, drawn from the figures: the review pack must open offline and turn
into a PDF without a browser, so no charting library and no script.

Each function returns ``Markup`` built with ``Markup.format``, which escapes every text put in
(unit and category names come from integrators). No ``xmlns`` attribute: inline SVG in HTML needs
none, and the pack holds no URL at all. Every chart has a ``<title>`` for screen readers, and the
pack shows the same numbers in a table next to it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

INK = "#1d2433"
MUTED = "#5b6475"
GRID = "#dde1e7"
SATISFACTION = "#1f6f8b"
COMPLAINTS = "#8a9bb0"
TARGET = "#b00020"
FONT = Markup('font-family="DejaVu Sans, Arial, sans-serif" font-size="11"')
#: The one colour scale for satisfaction, shared with the dashboards (``dashboards.common``):
#: a CSAT share from 50 % (red) to 100 % (dark blue), grey where nothing may be shown.
SATISFACTION_STOPS = ((0.0, "#b2182b"), (0.25, "#d6604d"), (0.5, "#b8860b"),
                      (0.75, "#4393c3"), (1.0, "#1f4e79"))
SATISFACTION_RANGE = (0.5, 1.0)
NEUTRAL = "#8a96a3"


def satisfaction_colour(value: float | None) -> str:
    """The colour of a CSAT share on the satisfaction scale; neutral grey when hidden."""
    if value is None:
        return NEUTRAL
    low, high = SATISFACTION_RANGE
    position = min(1.0, max(0.0, (value - low) / (high - low)))
    for (left, left_colour), (right, right_colour) in zip(
        SATISFACTION_STOPS, SATISFACTION_STOPS[1:], strict=False
    ):
        if position <= right:
            return _mix(left_colour, right_colour, (position - left) / (right - left))
    return SATISFACTION_STOPS[-1][1]


def _mix(first: str, second: str, share: float) -> str:
    a = [int(first[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(second[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * share):02x}" for x, y in zip(a, b, strict=True))


@dataclass(frozen=True)
class Point:
    label: str
    value: float | None  # None: nothing to draw (too few responses, or no data)
    text: str  # the value as the reader sees it ("62.5%", "too few responses")


def _short(label: str, limit: int = 26) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _open(width: int, height: int, title: str) -> Markup:
    return Markup(
        '<svg class="chart" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img">'
        "<title>{t}</title>"
    ).format(w=width, h=height, t=title)


def horizontal_bars(points: Sequence[Point], title: str, max_value: float | None = None,
                    colour: str | Callable[[float], str] = SATISFACTION,
                    width: int = 640) -> Markup:
    """One bar per point, labels on the left, values on the right; ``colour`` is one colour or
    a function of the value (e.g. ``satisfaction_colour``)."""
    row, label_width, value_width = 22, 190, 120
    height = row * len(points) + 10
    top = max_value if max_value else max((p.value or 0 for p in points), default=0) or 1
    scale = (width - label_width - value_width) / top
    parts = [_open(width, height, title)]
    for index, point in enumerate(points):
        y = 5 + index * row
        parts.append(Markup(
            '<text x="{x}" y="{y}" text-anchor="end" fill="{ink}" {font}>{label}</text>'
        ).format(x=label_width - 6, y=y + 15, ink=INK, font=FONT,
                 label=_short(point.label)))
        bar = max(0.0, (point.value or 0) * scale)
        if point.value is not None:
            parts.append(Markup(
                '<rect x="{x}" y="{y}" width="{w:.1f}" height="{h}" fill="{c}"></rect>'
            ).format(x=label_width, y=y + 3, w=bar, h=row - 8,
                     c=colour(point.value) if callable(colour) else colour))
        parts.append(Markup(
            '<text x="{x:.1f}" y="{y}" fill="{fill}" {font}>{text}</text>'
        ).format(x=label_width + bar + 5, y=y + 15, fill=INK if point.value is not None else MUTED,
                 font=FONT, text=point.text))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def columns(points: Sequence[Point], title: str, width: int = 640, height: int = 200,
            colour: str = COMPLAINTS) -> Markup:
    """Vertical bars over time (e.g. complaints per month), labels under them."""
    bottom, top_margin = height - 30, 15
    slot = (width - 20) / max(1, len(points))
    top = max((p.value or 0 for p in points), default=0) or 1
    scale = (bottom - top_margin) / top
    bar_width = min(slot * 0.7, 48)
    parts = [_open(width, height, title),
             Markup('<line x1="10" y1="{y}" x2="{x}" y2="{y}" stroke="{c}"></line>').format(
                 y=bottom, x=width - 10, c=GRID)]
    for index, point in enumerate(points):
        x = 10 + index * slot
        bar = (point.value or 0) * scale
        parts.append(Markup(
            '<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{c}"></rect>'
            '<text x="{cx:.1f}" y="{ty:.1f}" text-anchor="middle" fill="{ink}" {font}>{text}</text>'
            '<text x="{cx:.1f}" y="{ly}" text-anchor="middle" fill="{muted}" {font}>{label}</text>'
        ).format(x=x + (slot - bar_width) / 2, y=bottom - bar, w=bar_width, h=bar, c=colour,
                 cx=x + slot / 2, ty=bottom - bar - 3, ink=INK, font=FONT,
                 text=point.text, ly=bottom + 15, muted=MUTED, label=_short(point.label, 8)))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def line(points: Sequence[Point], title: str, low: float = 0.0, high: float = 1.0,
         target: float | None = None, target_text: str = "", width: int = 640,
         height: int = 200, axis_format: Callable[[float], str] = lambda v: f"{v:.0%}"
         ) -> Markup:
    """A line over time (e.g. CSAT per month) on a fixed scale; a point without a value breaks
    the line and is marked under the axis; an optional dashed target line."""
    left, right, top_margin, bottom = 40, width - 10, 15, height - 30
    slot = (right - left) / max(1, len(points))
    span = (high - low) or 1

    def y_of(value: float) -> float:
        clipped = min(high, max(low, value))
        return bottom - (clipped - low) / span * (bottom - top_margin)

    parts = [_open(width, height, title)]
    for fraction in (0.0, 0.5, 1.0):
        value = low + fraction * span
        parts.append(Markup(
            '<line x1="{l}" y1="{y:.1f}" x2="{r}" y2="{y:.1f}" stroke="{c}"></line>'
            '<text x="{tx}" y="{ty:.1f}" text-anchor="end" fill="{muted}" {font}>{text}</text>'
        ).format(l=left, r=right, y=y_of(value), c=GRID, tx=left - 4, ty=y_of(value) + 4,
                 muted=MUTED, font=FONT, text=axis_format(value)))
    if target is not None:
        parts.append(Markup(
            '<line x1="{l}" y1="{y:.1f}" x2="{r}" y2="{y:.1f}" stroke="{c}" '
            'stroke-dasharray="5,4"></line>'
            '<text x="{r}" y="{ty:.1f}" text-anchor="end" fill="{c}" {font}>{text}</text>'
        ).format(l=left, r=right, y=y_of(target), ty=y_of(target) - 4, c=TARGET,
                 font=FONT, text=target_text))
    segment: list[str] = []
    for index, point in enumerate(points):
        x = left + (index + 0.5) * slot
        parts.append(Markup(
            '<text x="{x:.1f}" y="{y}" text-anchor="middle" fill="{muted}" {font}>{label}</text>'
        ).format(x=x, y=bottom + 15, muted=MUTED, font=FONT, label=_short(point.label, 8)))
        if point.value is None:
            parts.append(_polyline(segment))
            segment = []
            parts.append(Markup(
                '<text x="{x:.1f}" y="{y}" text-anchor="middle" fill="{muted}" {font}>–</text>'
            ).format(x=x, y=bottom - 4, muted=MUTED, font=FONT))
            continue
        y = y_of(point.value)
        segment.append(f"{x:.1f},{y:.1f}")
        parts.append(Markup(
            '<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{c}"></circle>'
            '<text x="{x:.1f}" y="{ty:.1f}" text-anchor="middle" fill="{ink}" {font}>{text}</text>'
        ).format(x=x, y=y, c=SATISFACTION, ty=y - 7, ink=INK, font=FONT,
                 text=point.text))
    parts.append(_polyline(segment))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def _polyline(coordinates: list[str]) -> Markup:
    if len(coordinates) < 2:
        return Markup("")
    return Markup(
        '<polyline points="{p}" fill="none" stroke="{c}" stroke-width="2"></polyline>'
    ).format(p=" ".join(coordinates), c=SATISFACTION)


def scatter(points: Sequence[tuple[str, float, float]], title: str, x_label: str,
            y_label: str, width: int = 640, height: int = 280,
            x_format: Callable[[float], str] = lambda v: f"{v:g}",
            y_format: Callable[[float], str] = lambda v: f"{v:.0%}") -> Markup:
    """Labelled points (e.g. units: complaint rate against CSAT), y on [0, 1], with grid lines
    and their values on both axes; each point in the satisfaction colour of its y."""
    left, right, top_margin, bottom = 60, width - 20, 15, height - 45
    x_max = max((x for _, x, _ in points), default=0) or 1

    def x_of(value: float) -> float:
        return left + value / x_max * (right - left - 10)

    def y_of(value: float) -> float:
        return bottom - min(1.0, max(0.0, value)) * (bottom - top_margin)

    parts = [_open(width, height, title), Markup(
        '<text x="{mx}" y="{ly}" text-anchor="middle" fill="{muted}" {font}>{xl}</text>'
        '<text x="12" y="{my}" fill="{muted}" {font} transform="rotate(-90 12 {my})" '
        'text-anchor="middle">{yl}</text>'
    ).format(mx=(left + right) / 2, ly=height - 6, muted=MUTED, font=FONT, xl=x_label,
             my=(top_margin + bottom) / 2, yl=y_label)]
    for fraction in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(Markup(
            '<line x1="{l}" y1="{y:.1f}" x2="{r}" y2="{y:.1f}" stroke="{c}"></line>'
            '<text x="{tx}" y="{ty:.1f}" text-anchor="end" fill="{muted}" {font}>{text}</text>'
            '<line x1="{x:.1f}" y1="{t}" x2="{x:.1f}" y2="{b}" stroke="{c}"></line>'
            '<text x="{x:.1f}" y="{by}" text-anchor="middle" fill="{muted}" {font}>{xt}</text>'
        ).format(l=left, r=right, y=y_of(fraction), c=GRID, tx=left - 4,
                 ty=y_of(fraction) + 4, muted=MUTED, font=FONT, text=y_format(fraction),
                 x=x_of(fraction * x_max), t=top_margin, b=bottom, by=bottom + 15,
                 xt=x_format(fraction * x_max)))
    for label, x_value, y_value in points:
        x, y = x_of(x_value), y_of(y_value)
        # A label near the right edge goes to the left of its point, so it is not cut off.
        on_left = x > left + 0.7 * (right - left)
        parts.append(Markup(
            '<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{c}" stroke="{ink}" '
            'stroke-width="0.5"></circle>'
            '<text x="{tx:.1f}" y="{ty:.1f}" text-anchor="{anchor}" fill="{ink}" {font}>'
            "{label}</text>"
        ).format(x=x, y=y, c=satisfaction_colour(y_value), tx=x - 8 if on_left else x + 8,
                 ty=y + 4, anchor="end" if on_left else "start", ink=INK, font=FONT,
                 label=_short(label, 22)))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)
