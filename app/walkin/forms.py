"""The staff forms of the walk-in pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from app.forms import StaffForm


class ServicePointForm(StaffForm):
    unit = SelectField(_l("Unit"), coerce=int, validators=[DataRequired()])
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=64)])
    name = StringField(_l("Name shown on the poster"), validators=[DataRequired(),
                                                                   Length(max=200)])
    questionnaire = SelectField(_l("Questionnaire"), coerce=int, validators=[DataRequired()])
    submit = SubmitField(_l("Create the service point"))
