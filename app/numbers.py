"""Figures as people read them, the same on the dashboards, in the pack (HTML and PDF) and in
the alerts, in the current language (an app or request context for Babel).

One formatting of each kind of figure: counts with the language's grouping (2,933; 2.933),
shares as percentages with one decimal where the language puts the sign (62.5%; %62,5), NPS
in whole points with a sign (+12, -5, never "-0"), means and rates with fixed decimals. The
spreadsheets keep numbers as numbers with these as their cell formats
(``app.reports.exports``).
"""

from __future__ import annotations

from flask_babel import format_decimal, format_percent, get_locale

NONE = "–"


def percent(value: float | None, decimals: int = 1) -> str:
    """A fraction as a percentage where the language puts the sign (62.5%, %62,5)."""
    if value is None:
        return NONE
    pattern = get_locale().percent_formats[None].pattern.split(";")[0]  # e.g. "#,##0%"
    last_digit = pattern.rfind("0")
    if decimals:
        pattern = pattern[: last_digit + 1] + "." + "0" * decimals + pattern[last_digit + 1 :]
    return format_percent(_no_negative_zero(value, decimals + 2), pattern)


def points(value: float | None) -> str:
    """NPS (a fraction in [-1, 1]) in the usual whole points from -100 to +100."""
    if value is None:
        return NONE
    rounded = round(value * 100)
    return "0" if rounded == 0 else format_decimal(rounded, "+#,##0;-#,##0")


def count(value: float | None) -> str:
    """A count, grouped as the language groups thousands."""
    if value is None:
        return NONE
    return format_decimal(value, "#,##0")


def decimal(value: float | None, places: int = 1) -> str:
    """A number with ``places`` decimals (a mean score, a rate per 1,000)."""
    if value is None:
        return NONE
    pattern = "#,##0." + "0" * places if places else "#,##0"
    return format_decimal(_no_negative_zero(value, places), pattern)


def figure(metric: str, value: float | None) -> str:
    """A metric's value as shown: NPS in points, mean scores with two decimals, everything
    else as a percentage."""
    if metric == "nps":
        return points(value)
    if metric in ("mean", "mean_score", "ces"):
        return decimal(value, 2)
    return percent(value)


def _no_negative_zero(value: float, places: int) -> float:
    """0.0 for a value that rounds to zero: -0.004 shown as "-0" reads as a loss."""
    return 0.0 if round(value, places) == 0 else value
