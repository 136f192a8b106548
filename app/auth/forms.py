from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SubmitField
from wtforms.validators import DataRequired, Length, ValidationError

from app.auth.services import UserError, staff_email


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
