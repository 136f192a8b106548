"""Forms of the integration admin pages (CSRF through Flask-WTF)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, SelectMultipleField, StringField, SubmitField, widgets
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.intake.csv_import import ENCODINGS, KINDS
from app.models import ApiScope
from app.webhooks.outbox import EVENT_TYPES

try:  # WTForms 3.3 wants SelectChoice objects; older versions take (value, label) pairs
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover
    SelectChoice = None


def choices(pairs: Iterable[tuple[str, Any]]) -> list[Any]:
    if SelectChoice is None:  # pragma: no cover
        return list(pairs)
    return [SelectChoice(value, label) for value, label in pairs]


SCOPE_NAMES = {
    ApiScope.INTAKE: _l("intake: send complaints and status changes"),
    ApiScope.READ: _l("read: read complaints, responses, figures and rules"),
    ApiScope.ADMIN: _l("admin: everything, personal data and rules included"),
}


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def at_least_one(form: FlaskForm, field: SelectMultipleField) -> None:
    """Like DataRequired, but without the HTML ``required`` flag, which a browser would apply to
    every checkbox of the group (asking for all of them)."""
    if not field.data:
        raise ValidationError(_l("Choose at least one."))


class ApiKeyForm(FlaskForm):
    name = StringField(_l("Name (who uses it)"), validators=[DataRequired(), Length(max=100)])
    scopes = CheckboxesField(
        _l("Scopes"),
        choices=choices((scope.value, label) for scope, label in SCOPE_NAMES.items()),
        default=[ApiScope.INTAKE.value, ApiScope.READ.value],
        validators=[at_least_one],
    )
    submit = SubmitField(_l("Create the key"))


class ConfirmForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class WebhookForm(FlaskForm):
    # A text input (the service checks the URL): the browser's own URL check would reject
    # addresses such as http://intranet:8080/hook with its own message.
    url = StringField(_l("URL that receives the POSTs"),
                      validators=[DataRequired(), Length(max=2000)],
                      render_kw={"inputmode": "url", "autocomplete": "off"})
    secret = StringField(
        _l("Secret (leave empty to have one generated)"),
        validators=[Optional(), Length(min=16, max=200)],
    )
    events = CheckboxesField(
        _l("Events"), choices=choices((name, name) for name in EVENT_TYPES),
        default=list(EVENT_TYPES)[:1], validators=[at_least_one],
    )
    submit = SubmitField(_l("Register the webhook"))


class ImportForm(FlaskForm):
    kind = SelectField(_l("What the file holds"), choices=choices(KINDS.items()))
    encoding = SelectField(_l("Encoding"), choices=choices(ENCODINGS.items()))
    file = FileField(_l("CSV file"), validators=[FileRequired()])
    submit = SubmitField(_l("Import"))
