"""The distribution rule form, and its translation to and from the API's rule document.

The form checks what a form can (numbers are numbers, in range; times look like times; the time
zone is one zoneinfo knows); everything else, and the saving, is ``rules.save_rule``, which the
REST API shares, so the two cannot disagree. Its errors come back per document field and are put
next to the matching form field (``FIELD_OF``).
"""

from __future__ import annotations

import functools
import zoneinfo
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DecimalField,
    Form,
    FormField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import InputRequired, NumberRange, Optional, Regexp, ValidationError

from app.forms import StaffForm, finite
from app.models import Channel, RuleTrigger

KEY_PATTERN = r"^\w[\w.\-]{0,63}$"  # the API's code rule
CLOCK_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d$"
UNITS = {"minutes": 1, "hours": 60, "days": 24 * 60}
UNIT_NAMES = {"minutes": _l("minutes"), "hours": _l("hours"), "days": _l("days")}
TRIGGER_NAMES = {
    RuleTrigger.COMPLAINT_RESOLVED: _l("A complaint is resolved"),
    RuleTrigger.SERVICE_EVENT: _l("A service is given"),
}
CHANNEL_NAMES = {
    Channel.WEB: _l("Web"),
    Channel.PHONE: _l("Phone"),
    Channel.EMAIL: _l("E-mail"),
    Channel.WALK_IN: _l("Walk-in"),
    Channel.SOCIAL: _l("Social media"),
    Channel.MOBILE_APP: _l("Mobile app"),
    Channel.LETTER: _l("Letter"),
    Channel.OTHER: _l("Other"),
}
# Where an error about a field of the rule document is shown in the form.
FIELD_OF = {
    "key": "key",
    "questionnaire": "questionnaire",
    "triggered_by": "triggered_by",
    "filters.services": "services",
    "filters.categories": "categories",
    "filters.units": "units",
    "filters.channels": "channels",
    "filters": "categories",
    "delay": "delay",
    "reminder_after": "reminder_after",
    "expires_after": "expires_after",
    "sample_rate": "sample_rate",
    "fatigue_days": "fatigue_days",
    "send_window": "window_start",
    "timezone": "timezone",
    "active": "active",
    "priority": "priority",
    "phone": "phone_use",
    "phone.use": "phone_use",
    "phone.max_attempts": "phone_max_attempts",
    "phone.hours_between": "phone_hours_between",
    "phone.calling_hours": "calling_from",
    "phone.calling_days": "calling_days",
}
PHONE_USE_NAMES = {
    "off": _l("No calls"),
    "everyone": _l("Call every matched person with a phone number"),
    "phone_only": _l("Call people who have only a phone number"),
    "fallback": _l("Call when the e-mail or SMS got no answer before it expired"),
}
WEEKDAY_NAMES = {
    1: _l("Monday"), 2: _l("Tuesday"), 3: _l("Wednesday"), 4: _l("Thursday"),
    5: _l("Friday"), 6: _l("Saturday"), 7: _l("Sunday"),
}


def choices(pairs: Any) -> list[Any]:
    """(value, label) pairs as SelectField choices: SelectChoice where WTForms has it (3.3
    deprecates tuples), plain tuples before."""
    try:
        from wtforms.fields.choices import SelectChoice
    except ImportError:  # WTForms < 3.3
        return list(pairs)
    return [SelectChoice(value, label) for value, label in pairs]


@functools.cache
def time_zones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


def known_time_zone(form: Any, field: Any) -> None:
    # Checked against zoneinfo's list rather than by ZoneInfo(value), which would read a file
    # named by the user ("../..", a directory).
    if (field.data or "").strip() not in set(time_zones()):
        raise ValidationError(_l("Choose an IANA time zone such as Europe/Istanbul."))


class DurationForm(Form):
    """An amount and its unit: 24 hours, 3 days, 90 minutes."""

    amount = IntegerField(
        _l("Amount"),
        validators=[InputRequired(_l("Enter a whole number.")),
                    NumberRange(min=0, message=_l("Enter zero or more."))],
    )
    # Not "Unit": that is an organisation unit, a different word in Dutch and Estonian.
    unit = SelectField(_l("Time unit"), choices=lambda: choices(UNIT_NAMES.items()))

    def minutes(self) -> int:
        return int(self.amount.data or 0) * UNITS[self.unit.data]


def duration_data(minutes: int) -> dict[str, Any]:
    """``minutes`` in the largest unit that holds it exactly (4320 -> 3 days)."""
    for unit in ("days", "hours"):
        if minutes and minutes % UNITS[unit] == 0:
            return {"amount": minutes // UNITS[unit], "unit": unit}
    return {"amount": minutes, "unit": "minutes"}


class PhoneFields:
    """The rule's phone interviews, a few fields of their own (mixed into ``RuleForm``). A
    form posted without them (an older page) keeps the defaults: no calls."""

    phone_use = SelectField(_l("Phone interviews"), default="off",
                            choices=lambda: choices(PHONE_USE_NAMES.items()))
    phone_max_attempts = IntegerField(
        _l("Calls without an answer before giving up"), default=3,
        validators=[Optional(), NumberRange(min=1, max=20, message=_l("Enter 1 to 20."))],
    )
    phone_hours_between = IntegerField(
        _l("Hours at least between two calls"), default=4,
        validators=[Optional(),
                    NumberRange(min=0, max=336, message=_l("Enter 0 to 336 hours."))],
    )
    calling_from = StringField(
        _l("Calling from"), default="10:00",
        validators=[Optional(), Regexp(CLOCK_PATTERN, message=_l("Enter a time such as 10:00."))],
    )
    calling_until = StringField(
        _l("Calling until"), default="18:00",
        description=_l("Local time, in the rule's time zone."),
        validators=[Optional(), Regexp(CLOCK_PATTERN, message=_l("Enter a time such as 18:00."))],
    )
    calling_days = SelectMultipleField(
        _l("Calling days"), coerce=int, default=[1, 2, 3, 4, 5],
        description=_l("None chosen: Monday to Friday."),
        choices=lambda: choices(WEEKDAY_NAMES.items()))


class RuleForm(StaffForm, PhoneFields):
    key = StringField(
        _l("Key"),
        description=_l("Letters, digits, '.', '-' and '_'; it cannot be changed later."),
        validators=[InputRequired(_l("Enter a key.")),
                    Regexp(KEY_PATTERN, message=_l("Use letters, digits, '.', '-' and '_' "
                                                   "(at most 64)."))],
    )
    questionnaire = SelectField(_l("Questionnaire"), choices=[])
    triggered_by = SelectField(
        _l("Survey when"), choices=lambda: choices((t.value, n) for t, n in TRIGGER_NAMES.items()),
        default=RuleTrigger.COMPLAINT_RESOLVED.value)
    categories = SelectMultipleField(
        _l("Categories"), choices=[],
        description=_l("None chosen: every category. For rules on resolved complaints."))
    services = SelectMultipleField(
        _l("Services"), choices=[],
        description=_l("None chosen: every service. For rules on services given."))
    units = SelectMultipleField(
        _l("Units"), choices=[], description=_l("None chosen: every unit."))
    channels = SelectMultipleField(
        _l("Channels"), choices=lambda: choices((c.value, n) for c, n in CHANNEL_NAMES.items()),
        description=_l("None chosen: every channel."))
    delay = FormField(DurationForm, label=_l("Delay after the resolution or the service"))
    reminder_after = FormField(
        DurationForm, label=_l("Reminder after the first send"),
        description=_l("Zero: no reminder. At most one reminder is sent."))
    expires_after = FormField(DurationForm, label=_l("Link expires after the first send"))
    sample_rate = DecimalField(
        _l("Sample rate"), places=None,
        description=_l("Share of matching complaints that get a survey, from 0 to 1."),
        validators=[InputRequired(_l("Enter a number from 0 to 1.")), finite,
                    NumberRange(min=0, max=1, message=_l("Enter a number from 0 to 1."))],
    )
    fatigue_days = IntegerField(
        _l("Survey fatigue window (days)"),
        description=_l("Nobody gets more than one survey in this many days, across all rules."),
        validators=[InputRequired(_l("Enter a whole number of days.")),
                    NumberRange(min=0, max=3650, message=_l("Enter 0 to 3650 days."))],
    )
    window_start = StringField(
        _l("Sending from"),
        validators=[InputRequired(_l("Enter a time such as 09:00.")),
                    Regexp(CLOCK_PATTERN, message=_l("Enter a time such as 09:00."))],
    )
    window_end = StringField(
        _l("Sending until"),
        description=_l("Local time; the same time twice means any time of day."),
        validators=[InputRequired(_l("Enter a time such as 20:00.")),
                    Regexp(CLOCK_PATTERN, message=_l("Enter a time such as 20:00."))],
    )
    timezone = StringField(
        _l("Time zone"),
        validators=[InputRequired(_l("Enter a time zone.")), known_time_zone],
    )
    active = BooleanField(_l("Active"))
    priority = IntegerField(
        _l("Priority"),
        description=_l("When several rules match a complaint, the highest priority wins."),
        validators=[InputRequired(_l("Enter a whole number.")),
                    NumberRange(min=-1000, max=1000, message=_l("Enter -1000 to 1000."))],
    )



def phone_form_data(phone: dict[str, Any]) -> dict[str, Any]:
    start, _, end = phone["calling_hours"].partition("-")
    return {"phone_use": phone["use"], "phone_max_attempts": phone["max_attempts"],
            "phone_hours_between": phone["hours_between"], "calling_from": start,
            "calling_until": end, "calling_days": phone["calling_days"]}


def phone_document(form: Any) -> dict[str, Any]:
    """The rule document's ``phone`` from the form; a field left empty takes its default."""
    def given(field: Any, default: Any) -> Any:
        return default if field.data in (None, "") else field.data

    return {"use": given(form.phone_use, "off"),
            "max_attempts": int(given(form.phone_max_attempts, 3)),
            "hours_between": int(given(form.phone_hours_between, 4)),
            "calling_hours": f"{given(form.calling_from, '10:00')}-"
                             f"{given(form.calling_until, '18:00')}",
            "calling_days": [int(day) for day in form.calling_days.data or []] or [1, 2, 3, 4, 5]}


def form_data(document: dict[str, Any], minutes: dict[str, int]) -> dict[str, Any]:
    """Initial form values from a rule document (``rules.rule_document``) and its durations."""
    start, _, end = document["send_window"].partition("-")
    return {
        "questionnaire": document["questionnaire"],
        "triggered_by": document.get("triggered_by") or RuleTrigger.COMPLAINT_RESOLVED.value,
        "services": document["filters"].get("services", []),
        "categories": document["filters"]["categories"],
        "units": document["filters"]["units"],
        "channels": document["filters"]["channels"],
        **{name: duration_data(value) for name, value in minutes.items()},
        "sample_rate": document["sample_rate"],
        "fatigue_days": document["fatigue_days"],
        "window_start": start,
        "window_end": end,
        "timezone": document["timezone"],
        "active": document["active"],
        "priority": document["priority"],
        **phone_form_data(document["phone"]),
    }


def rule_document(form: Any) -> dict[str, Any]:
    """The API's rule document from a validated form."""
    return {
        "questionnaire": form.questionnaire.data,
        "triggered_by": form.triggered_by.data,
        "filters": {
            "categories": list(form.categories.data or []),
            "services": list(form.services.data or []),
            "units": list(form.units.data or []),
            "channels": list(form.channels.data or []),
        },
        "delay": f"PT{form.delay.form.minutes()}M",
        "reminder_after": f"PT{form.reminder_after.form.minutes()}M",
        "expires_after": f"PT{form.expires_after.form.minutes()}M",
        "sample_rate": float(form.sample_rate.data),
        "fatigue_days": int(form.fatigue_days.data),
        "send_window": f"{form.window_start.data}-{form.window_end.data}",
        "timezone": form.timezone.data.strip(),
        "active": bool(form.active.data),
        "priority": int(form.priority.data),
        "phone": phone_document(form),
    }


def put_errors(form: Any, errors: dict[str, list[str]]) -> list[str]:
    """Put ``save_rule``'s errors next to their fields; returns those that fit no field."""
    elsewhere: list[str] = []
    for name, messages in errors.items():
        field = getattr(form, FIELD_OF.get(name, ""), None) if name else None
        if field is None:
            elsewhere.extend(messages)
            continue
        target = field.form.amount if isinstance(field, FormField) else field
        target.errors = [*list(target.errors or []), *messages]
    return elsewhere
