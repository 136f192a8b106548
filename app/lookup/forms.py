"""The lookup's forms: the search (a GET) and the buttons that act on one invitation."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, DateTimeLocalField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app.forms import StaffForm

ANY = 0  # the "any unit" / "any category" choice


class SearchForm(StaffForm):
    """Read from the query string (a GET: no CSRF token to check)."""

    class Meta:
        csrf = False

    reference = StringField(
        _l("Reference (or part of it)"), validators=[Optional(), Length(max=128)]
    )
    unit = SelectField(_l("Unit"), coerce=int, default=ANY)
    category = SelectField(_l("Category"), coerce=int, default=ANY)
    status = SelectField(_l("Complaint state"), default="")
    invitation = SelectField(_l("Survey state"), default="")
    received_from = DateField(_l("Received from"), validators=[Optional()])
    received_to = DateField(_l("Received until"), validators=[Optional()])
    contact = StringField(
        _l("E-mail address or phone number"), validators=[Optional(), Length(max=320)]
    )


class SendNowForm(StaffForm):
    confirm = BooleanField(_l("Send it outside the sending hours"))


class CancelForm(StaffForm):
    pass


class ReplanForm(StaffForm):
    due_at = DateTimeLocalField(
        _l("New time"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"], validators=[DataRequired()]
    )
    confirm = BooleanField(_l("Plan it outside the sending hours"))


class QueueFilterForm(StaffForm):
    class Meta:
        csrf = False

    rule = SelectField(_l("Rule"), coerce=int, default=ANY)
    unit = SelectField(_l("Unit"), coerce=int, default=ANY)
