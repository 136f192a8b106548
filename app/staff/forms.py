"""Forms of the staff accounts pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, RadioField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from app.auth.forms import staff_address
from app.auth.services import MIN_PASSWORD_LENGTH
from app.forms import CheckboxesField, StaffForm, select_choices
from app.models import Role

ROLE_NAMES = {
    Role.ADMIN: _l("Admin: everything, including accounts and settings"),
    Role.DESIGNER: _l("Satisfaction team: questionnaires, sending, comments"),
    Role.VIEWER: _l("Viewer: figures, reports and actions"),
}
SHORT_ROLE_NAMES = {
    Role.ADMIN: _l("Admin"),
    Role.DESIGNER: _l("Satisfaction team"),
    Role.VIEWER: _l("Viewer"),
}


class AccessForm(StaffForm):
    role = RadioField(
        _l("Role"),
        choices=select_choices((role.value, label) for role, label in ROLE_NAMES.items()),
        default=Role.VIEWER.value,
    )
    units = CheckboxesField(_l("Units (none: the whole organisation)"), coerce=int)
    phone_interviewer = BooleanField(
        _l("Phone interviewer"),
        description=_l("Sees the name, number and language of the people to call in their "
                       "units, on the call list and the call screen only."),
    )
    submit = SubmitField(_l("Save"))


class NewAccountForm(AccessForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=320), staff_address])
    submit = SubmitField(_l("Create the account and send the e-mail"))


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)],
        description=_l("At least %(count)s characters.", count=MIN_PASSWORD_LENGTH),
    )
    again = PasswordField(
        _l("The same password again"),
        validators=[DataRequired(), EqualTo("password", _l("The two passwords differ."))],
    )
    submit = SubmitField(_l("Set the password"))
