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
                    colour: str = SATISFACTION, width: int = 640) -> Markup:
    """One bar per point, labels on the left, values on the right."""
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
            ).format(x=label_width, y=y + 3, w=bar, h=row - 8, c=colour))
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
            y_label: str, width: int = 640, height: int = 260) -> Markup:
    """Labelled points (e.g. units: complaint rate against CSAT); y on [0, 1]."""
    left, right, top_margin, bottom = 50, width - 20, 15, height - 40
    x_max = max((x for _, x, _ in points), default=0) or 1
    parts = [_open(width, height, title), Markup(
        '<line x1="{l}" y1="{b}" x2="{r}" y2="{b}" stroke="{c}"></line>'
        '<line x1="{l}" y1="{t}" x2="{l}" y2="{b}" stroke="{c}"></line>'
        '<text x="{mx}" y="{ly}" text-anchor="middle" fill="{muted}" {font}>{xl}</text>'
        '<text x="12" y="{my}" fill="{muted}" {font} transform="rotate(-90 12 {my})" '
        'text-anchor="middle">{yl}</text>'
    ).format(l=left, r=right, t=top_margin, b=bottom, c=GRID, mx=(left + right) / 2,
             ly=height - 8, muted=MUTED, font=FONT, xl=x_label,
             my=(top_margin + bottom) / 2, yl=y_label)]
    for label, x_value, y_value in points:
        x = left + x_value / x_max * (right - left - 10)
        y = bottom - min(1.0, max(0.0, y_value)) * (bottom - top_margin)
        parts.append(Markup(
            '<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{c}"></circle>'
            '<text x="{tx:.1f}" y="{ty:.1f}" fill="{ink}" {font}>{label}</text>'
        ).format(x=x, y=y, c=SATISFACTION, tx=x + 6, ty=y + 4, ink=INK, font=FONT,
                 label=_short(label, 20)))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)
