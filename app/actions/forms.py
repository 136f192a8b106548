from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.actions.names import ACTION_METRIC_NAMES, ACTION_STATUS_NAMES
from app.actions.services import OWNER_MAX_LENGTH, TEXT_MAX_LENGTH, TITLE_MAX_LENGTH
from app.forms import StaffForm
from app.models import ActionStatus

ORGANISATION = 0  # the "whole organisation" choice of the unit field

STATUS_CHOICES = [(status.value, ACTION_STATUS_NAMES[status.value]) for status in ActionStatus]


class StatusForm(StaffForm):
    status = SelectField(_l("Status"), choices=STATUS_CHOICES, validators=[DataRequired()])
    outcome = TextAreaField(_l("Outcome"), validators=[Optional(), Length(max=TEXT_MAX_LENGTH)])
    submit = SubmitField(_l("Save the status"))


class ActionForm(StatusForm):
    unit = SelectField(_l("For"), coerce=int, default=ORGANISATION)
    metric = SelectField(_l("Figure it addresses"), choices=list(ACTION_METRIC_NAMES.items()),
                         validators=[DataRequired()])
    title = StringField(_l("Action"), validators=[DataRequired(), Length(max=TITLE_MAX_LENGTH)])
    description = TextAreaField(_l("Description"),
                                validators=[Optional(), Length(max=TEXT_MAX_LENGTH)])
    owner = StringField(_l("Owner (a member of staff or a role)"),
                        validators=[DataRequired(), Length(max=OWNER_MAX_LENGTH)])
    due_on = DateField(_l("Due on"), validators=[Optional()])
    submit = SubmitField(_l("Save the action"))


class FilterForm(StaffForm):
    """The list's filters, read from the query string (a GET: no CSRF token to check)."""

    class Meta:
        csrf = False

    unit = SelectField(_l("Unit"), coerce=int, default=ORGANISATION)
    status = SelectField(_l("Status"), choices=[("", _l("Any status")), *STATUS_CHOICES],
                         default="")
