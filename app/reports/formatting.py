"""Figures as people read them, in the current language (needs an app context for Babel)."""

from __future__ import annotations

from flask_babel import format_decimal, format_percent, get_locale


def percent(value: float | None, decimals: int = 1) -> str:
    """A fraction as a percentage where the language puts the sign (62.5%, %62,5); '–' for
    None."""
    if value is None:
        return "–"
    pattern = get_locale().percent_formats[None].pattern.split(";")[0]  # e.g. "#,##0%"
    last_digit = pattern.rfind("0")
    if decimals:
        pattern = pattern[: last_digit + 1] + "." + "0" * decimals + pattern[last_digit + 1 :]
    return format_percent(value, pattern)


def nps_points(value: float | None) -> str:
    """NPS (a fraction in [-1, 1]) in the usual points from -100 to +100."""
    if value is None:
        return "–"
    points = value * 100
    sign = "+" if points > 0 else ""
    return sign + format_decimal(round(points, 1), "#,##0.#")


def figure(metric: str, value: float | None) -> str:
    """A metric's value as shown: NPS in points, everything else as a percentage."""
    return nps_points(value) if metric == "nps" else percent(value)


def number(value: float | None, decimals: int = 1) -> str:
    if value is None:
        return "–"
    return format_decimal(value, "#,##0" + ("." + "#" * decimals if decimals else ""))
