"""The form that plans a campaign: what it asks, whom (the served period), how precisely, and
until when. Dates are days in the organisation's time zone."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import DateField, DecimalField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Regexp, ValidationError

from app.distribution.forms import KEY_PATTERN
from app.forms import StaffForm, finite
from app.timefmt import organisation_zone


def start_of(day: dt.date) -> dt.datetime:
    """Midnight at the start of ``day`` in the organisation's time zone, in UTC."""
    return dt.datetime.combine(day, dt.time(), organisation_zone()).astimezone(dt.UTC)


class CampaignForm(StaffForm):
    key = StringField(
        _l("Key"), description=_l("Letters, digits, '.', '-' and '_'; it cannot be changed later."),
        validators=[InputRequired(_l("Enter a key.")),
                    Regexp(KEY_PATTERN, message=_l("Use letters, digits, '.', '-' and '_' "
                                                   "(at most 64)."))])
    name = StringField(_l("Name"), validators=[InputRequired(_l("Enter a name.")),
                                               Length(max=200)])
    questionnaire = SelectField(_l("Questionnaire"), choices=[])
    served_from = DateField(_l("People served from"),
                            validators=[InputRequired(_l("Enter a date."))])
    served_until = DateField(_l("People served until (this day included)"),
                             validators=[InputRequired(_l("Enter a date."))])
    margin_points = DecimalField(
        _l("Target margin of error (percentage points)"), places=None,
        description=_l("Per unit: 5 means that a measured CSAT of 80 lies between 75 and 85, "
                       "with 95 percent confidence."),
        validators=[InputRequired(_l("Enter a number from 1 to 20.")), finite,
                    NumberRange(min=1, max=20, message=_l("Enter a number from 1 to 20."))])
    response_rate_percent = DecimalField(
        _l("Expected response rate (%)"), places=None,
        validators=[InputRequired(_l("Enter a number from 1 to 100.")), finite,
                    NumberRange(min=1, max=100, message=_l("Enter a number from 1 to 100."))])
    closes_on = DateField(_l("Closes at the end of"),
                          validators=[InputRequired(_l("Enter a date."))])

    def validate_served_until(self, field: Any) -> None:
        if self.served_from.data and field.data and field.data < self.served_from.data:
            raise ValidationError(_l("The period must end on or after its first day."))
        if field.data and start_of(field.data + dt.timedelta(days=1)) > dt.datetime.now(dt.UTC):
            raise ValidationError(_l("The period must be over: choose a day before today."))

    def validate_closes_on(self, field: Any) -> None:
        if field.data and start_of(field.data + dt.timedelta(days=1)) <= dt.datetime.now(dt.UTC):
            raise ValidationError(_l("Choose a closing day from today on."))

    def values(self) -> dict[str, Any]:
        """The campaign's columns from the validated form."""
        return {
            "key": self.key.data.strip(),
            "name": self.name.data.strip(),
            "served_from": start_of(self.served_from.data),
            "served_until": start_of(self.served_until.data + dt.timedelta(days=1)),
            "margin_of_error": float(self.margin_points.data) / 100,
            "expected_response_rate": float(self.response_rate_percent.data) / 100,
            "closes_at": start_of(self.closes_on.data + dt.timedelta(days=1)),
        }
