"""What people call each metric and each channel, in the current language: one list for the
dashboards, targets, alerts, the review pack and the improvement actions."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.analytics import redaction
from app.analytics.periods import Comparison, Shortcut
from app.models import Channel, ResponseMode, ResponseSource

#: Metric names (as ``Target.metric`` stores them) and what people call them.
METRIC_NAMES = {
    "csat": _l("CSAT (satisfied)"),
    "nps": _l("NPS"),
    "response_rate": _l("Response rate"),
    "on_time_resolution": _l("On-time resolution"),
    "resolution_confirmed": _l("Really resolved"),
}
METRICS = tuple(METRIC_NAMES)
#: What people call the channels a complaint comes in by (``Channel``).
CHANNEL_NAMES = {
    Channel.WEB: _l("Web"), Channel.PHONE: _l("Phone"), Channel.EMAIL: _l("E-mail"),
    Channel.WALK_IN: _l("In person"), Channel.SOCIAL: _l("Social media"),
    Channel.MOBILE_APP: _l("Mobile app"), Channel.LETTER: _l("Letter"), Channel.OTHER: _l("Other"),
}
#: Whom a response speaks for (``ResponseSource``) and how it was given (``ResponseMode``).
SOURCE_NAMES = {ResponseSource.COMPLAINANT.value: _l("Complainants"),
                ResponseSource.SERVICE_USER.value: _l("Service users"),
                ResponseSource.CAMPAIGN.value: _l("Campaign sample")}
MODE_NAMES = {ResponseMode.EMAIL.value: _l("E-mail link"), ResponseMode.SMS.value: _l("SMS link"),
              ResponseMode.PHONE.value: _l("Phone interview"),
              ResponseMode.WALK_IN.value: _l("Walk-in QR code")}
#: The period shortcuts and comparisons, as the dashboards' filter bar and the review-pack form
#: offer them.
SHORTCUT_LABELS = {Shortcut.THIS_MONTH: _l("This month"), Shortcut.LAST_MONTH: _l("Last month"),
                   Shortcut.THIS_QUARTER: _l("This quarter"),
                   Shortcut.YEAR_TO_DATE: _l("Year to date"),
                   Shortcut.LAST_12_MONTHS: _l("Last 12 months"),
                   Shortcut.CUSTOM: _l("Custom dates")}
COMPARISON_LABELS = {Comparison.PREVIOUS: _l("Previous period"),
                     Comparison.LAST_YEAR: _l("Same days last year")}
#: What a piece of personal data masked out of a comment says instead (``app.analytics.redaction``).
REDACTION_LABELS = {
    redaction.EMAIL: _l("[e-mail]"), redaction.PHONE: _l("[phone]"),
    redaction.NATIONAL_ID: _l("[id number]"), redaction.IBAN: _l("[IBAN]"),
    redaction.PLATE: _l("[plate]"), redaction.NAME: _l("[name]"),
}


def redaction_labels() -> dict[str, str]:
    """``REDACTION_LABELS`` in the current language."""
    return {kind: str(label) for kind, label in REDACTION_LABELS.items()}
