"""Forms of the API keys page (CSRF through Flask-WTF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from app.forms import CheckboxesField, StaffForm, at_least_one, select_choices
from app.models import ApiScope

SCOPE_NAMES = {
    ApiScope.INTAKE: _l("intake: send complaints and status changes"),
    ApiScope.READ: _l("read: read complaints, responses, figures and rules"),
    ApiScope.ADMIN: _l("admin: everything, personal data and rules included"),
}


class ApiKeyForm(StaffForm):
    name = StringField(_l("Name (who uses it)"), validators=[DataRequired(), Length(max=100)])
    scopes = CheckboxesField(
        _l("Scopes"),
        choices=select_choices((scope.value, label) for scope, label in SCOPE_NAMES.items()),
        default=[ApiScope.INTAKE.value, ApiScope.READ.value],
        validators=[at_least_one],
    )
    submit = SubmitField(_l("Create the key"))
