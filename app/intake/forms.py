"""The CSV upload form (CSRF through Flask-WTF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, SubmitField

from app.forms import StaffForm, select_choices
from app.intake.csv_import import ENCODINGS, KINDS


class ImportForm(StaffForm):
    kind = SelectField(_l("What the file holds"), choices=select_choices(KINDS.items()))
    encoding = SelectField(_l("Encoding"), choices=select_choices(ENCODINGS.items()))
    file = FileField(_l("CSV file"), validators=[FileRequired()])
    submit = SubmitField(_l("Import"))
