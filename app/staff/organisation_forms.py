"""The organisation settings form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from app.forms import StaffForm, select_choices

LANGUAGE_NAMES = {"tr": "Türkçe", "en": "English", "nl": "Nederlands", "et": "Eesti"}


class SettingsForm(StaffForm):
    name = StringField(_l("Name of the organisation"), validators=[DataRequired(), Length(max=200)])
    short_name = StringField(
        _l("Short name (for narrow places)"), validators=[Optional(), Length(max=60)]
    )
    sender_name = StringField(
        _l("Sender name of e-mails"), validators=[DataRequired(), Length(max=200)]
    )
    # A From address must be writable in a plain header: no SMTPUTF8 local part (an
    # internationalised domain is written in its IDNA form, ``OrganisationSettings.mail_from``).
    sender_address = EmailField(
        _l("Sender address of e-mails"),
        validators=[DataRequired(), Email(allow_smtputf8=False), Length(max=320)],
    )
    default_language = SelectField(
        _l("Default language"), choices=select_choices(LANGUAGE_NAMES.items())
    )
    timezone = StringField(
        _l("Time zone"),
        validators=[DataRequired(), Length(max=64)],
        description=_l("As the IANA database names it, e.g. Europe/Istanbul."),
    )
    controller_name = StringField(
        _l("Data controller (named in the privacy notice)"),
        validators=[DataRequired(), Length(max=200)],
    )
    controller_contact = TextAreaField(
        _l("How people reach the data controller"),
        validators=[Optional(), Length(max=500)],
        description=_l("An address, e-mail or web page, shown in the survey's privacy notice."),
    )
    submit = SubmitField(_l("Save the settings"))


class LogoForm(StaffForm):
    logo = FileField(_l("Logo (PNG, JPEG or WebP, at most 200 KB)"))
    remove = BooleanField(_l("Remove the logo"))
    submit = SubmitField(_l("Save the logo"))
