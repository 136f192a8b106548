"""Forms of the webhooks page (CSRF through Flask-WTF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from app.forms import CheckboxesField, StaffForm, at_least_one, select_choices
from app.webhooks.outbox import EVENT_TYPES


class WebhookForm(StaffForm):
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
        _l("Events"), choices=select_choices((name, name) for name in EVENT_TYPES),
        default=list(EVENT_TYPES)[:1], validators=[at_least_one],
    )
    submit = SubmitField(_l("Register the webhook"))
