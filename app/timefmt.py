"""One way to show a time: the organisation's zone, the reader's language.

Every staff page, e-mail and export shows an instant through this module, so the same moment
reads the same everywhere: ``format_instant`` on pages (the language's date and time pattern,
"7 Ara 2026 10:00" in Turkish, "Dec 7, 2026, 10:00 AM" in English), ``instant_element`` for a
``<time>`` element whose title names the zone, and ``export_instant`` in CSV and Excel files
(ISO 8601 with the zone's offset, "2026-12-07T10:00:00+03:00", which every spreadsheet and
program reads the same whatever its language).

``organisation_zone`` is the only place that decides which zone that is: the organisation's
settings (``app.organisation.settings``: the settings page, else ``MEMNUN_TIMEZONE``).
flask-babel is told to use it too (``create_app`` passes it as the timezone selector), so its own
``format_datetime`` and ``datetimeformat`` filter agree.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from babel.dates import get_timezone_gmt
from flask import Flask
from flask_babel import format_date, format_time, get_locale
from markupsafe import Markup, escape

from app.organisation.settings import organisation_settings


def organisation_zone() -> ZoneInfo:
    """The zone the organisation lives in: local days, send windows and every shown time."""
    return organisation_settings().zone


def local(value: dt.datetime) -> dt.datetime:
    """``value`` (aware, as stored) in the organisation's zone."""
    if value.tzinfo is None:  # stored times are UTC (UTCDateTime); a naive one is a UTC one
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(organisation_zone())


def today(now: dt.datetime | None = None) -> dt.date:
    """Today's date in the organisation's zone (at the aware instant ``now``: a fixed clock)."""
    zone = organisation_zone()
    return dt.datetime.now(zone).date() if now is None else now.astimezone(zone).date()


def format_instant(value: dt.datetime | None, empty: str = "–") -> str:
    """Date and time, minutes only, in the reader's language and the organisation's zone."""
    if value is None:
        return empty
    moment = local(value)
    pattern = get_locale().datetime_formats["medium"]  # "{1}, {0}" in English, "{1} {0}" in tr
    return (
        str(pattern)
        .replace("{1}", format_date(moment, "medium"))
        .replace("{0}", format_time(moment, "short"))
    )


def format_day(value: dt.date | dt.datetime | None, empty: str = "–") -> str:
    """A calendar day in the reader's language (an instant: its day in the organisation's zone)."""
    if value is None:
        return empty
    if isinstance(value, dt.datetime):
        value = local(value).date()
    return format_date(value, "medium")


def zone_label(value: dt.datetime | None = None) -> str:
    """The zone as people recognise it: "Europe/Istanbul (GMT+03:00)"."""
    zone = organisation_zone()
    moment = local(value) if value is not None else dt.datetime.now(zone)
    return f"{zone.key} ({get_timezone_gmt(moment, width='long', locale=get_locale())})"


def instant_element(value: dt.datetime | None, empty: str = "–") -> Markup:
    """A ``<time>`` element: the shown time, the exact instant for machines, the zone on hover."""
    if value is None:
        return escape(empty)
    moment = local(value)
    return Markup('<time datetime="{}" title="{}">{}</time>').format(  # noqa: S704 - a constant
        moment.isoformat(timespec="seconds"), zone_label(moment), format_instant(moment)
    )


def export_instant(value: dt.datetime | None) -> str | None:
    """An instant in a CSV or Excel file: ISO 8601 with the zone's offset, to the second."""
    if value is None:
        return None
    return local(value).isoformat(timespec="seconds")


def init_app(app: Flask) -> None:
    """The Jinja filters and globals every template uses for times."""
    app.jinja_env.filters["instant"] = instant_element
    app.jinja_env.filters["instant_text"] = format_instant
    app.jinja_env.filters["day"] = format_day
    app.jinja_env.globals["zone_label"] = zone_label
