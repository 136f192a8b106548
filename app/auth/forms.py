from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, ValidationError

from app.auth.services import UserError, staff_email
from app.forms import StaffForm


def staff_address(form: FlaskForm, field: EmailField) -> None:
    """The address rule of ``app.auth.services.staff_email``, which the admin pages and the CLI
    apply too; stores the normalised address in the field."""
    try:
        field.data = staff_email(field.data or "")
    except UserError:
        raise ValidationError(_l("Not a valid e-mail address.")) from None


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=320), staff_address])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Log in"))


class LoginCodeForm(StaffForm):
    """The second step of a login: a code of the app, or a recovery code."""

    code = StringField(
        _l("Code from the app, or a recovery code"), validators=[DataRequired(), Length(max=40)]
    )
    submit = SubmitField(_l("Continue"))


class EnrolForm(StaffForm):
    """The first code of the app, which proves it was set up right before two-factor is on."""

    code = StringField(_l("Code from the app"), validators=[DataRequired(), Length(max=40)])
    submit = SubmitField(_l("Switch on two-factor login"))


class IdentityForm(StaffForm):
    """Asked before switching two-factor login off or making new recovery codes."""

    answer = PasswordField(
        _l("Your password, or a code from your app"), validators=[DataRequired(), Length(max=200)]
    )
