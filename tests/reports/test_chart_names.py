"""The review pack's charts (inline SVG) with a name from outside that carries markup: a unit
called ``<a href="https://evil.example/">...</a>`` shows as text, never as a link or a tag."""

from __future__ import annotations

from app.reports import charts

EVIL = '<a href="https://evil.example/">Oturum sona erdi</a><b>x</b>'


def test_every_chart_escapes_the_names_it_draws() -> None:
    points = [charts.Point(EVIL, 0.8, "80%"), charts.Point("Fen", None, "too few")]
    drawn = [
        charts.horizontal_bars(points, EVIL), charts.columns(points, EVIL),
        charts.line(points, EVIL), charts.scatter([(EVIL, 0.5, 0.7)], EVIL, EVIL, EVIL),
    ]
    for svg in drawn:
        assert "<a" not in str(svg) and "<b>" not in str(svg)
        assert "&lt;a href=" in str(svg)  # still there, as text
