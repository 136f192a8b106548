"""Form pieces every staff page uses (CSRF through Flask-WTF)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    Field,
    FieldList,
    FormField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.form import BaseForm
from wtforms.validators import StopValidation, ValidationError

from app.storable import storable

UNSTORABLE_MESSAGE = _l("must not contain control characters")  # NUL included


def select_choices(pairs: Iterable[tuple[Any, Any]]) -> list[Any]:
    """(value, label) pairs as SelectField choices: SelectChoice where WTForms has it (3.3
    deprecates tuples), plain tuples on older versions."""
    try:
        from wtforms.fields.choices import SelectChoice
    except ImportError:  # WTForms < 3.3
        return list(pairs)
    return [SelectChoice(value, label) for value, label in pairs]


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def at_least_one(form: FlaskForm, field: SelectMultipleField) -> None:
    """Like DataRequired, but without the HTML ``required`` flag, which a browser would apply to
    every checkbox of the group (asking for all of them)."""
    if not field.data:
        raise ValidationError(_l("Choose at least one."))


def _text_fields(fields: Iterable[Field]) -> Iterator[StringField]:
    """Every text field, those inside FormField and FieldList included."""
    for field in fields:
        if isinstance(field, FormField):
            yield from _text_fields(field.form)
        elif isinstance(field, FieldList):
            yield from _text_fields(field.entries)
        elif isinstance(field, StringField):
            yield field


def refuse_unstorable(form: BaseForm) -> bool:
    """Give every text field holding NUL, another control character (line breaks and tabs
    allowed in a text area) or a lone surrogate an error; False when one did. PostgreSQL refuses
    NUL in text and no driver encodes a lone surrogate: stored, they would be 500s."""
    clean = True
    for field in _text_fields(form):
        if isinstance(field.data, str) and not storable(
                field.data, multiline=isinstance(field, TextAreaField)):
            field.errors = [*field.errors, UNSTORABLE_MESSAGE]
            clean = False
    return clean


def finite(form: BaseForm, field: Field) -> None:
    """Refuse NaN and the infinities, which DecimalField reads ("NaN", "Infinity"): NaN cannot
    even be compared with a range (Decimal raises InvalidOperation, a 500). Put it before
    NumberRange."""
    if isinstance(field.data, Decimal) and not field.data.is_finite():
        field.data = None
        raise StopValidation(field.gettext("Not a valid decimal value."))


class StaffForm(FlaskForm):
    """The base of every staff form: CSRF, and no text that cannot be stored (see
    ``refuse_unstorable``), checked for every text field without each form listing it.

    Element ids: a page may hold several forms, so the hidden CSRF field gets no id (nothing
    labels it), and ``id_prefix`` gives every other field of one form ids of its own
    ("export-start") while the names the server reads stay the same."""

    def __init__(self, *args: Any, id_prefix: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self:
            if field.type == "CSRFTokenField":
                field.id = False  # rendered without an id attribute
            elif id_prefix:
                field.id = f"{id_prefix}-{field.id}"
                field.label.field_id = field.id

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        return refuse_unstorable(self) and valid


class ConfirmForm(StaffForm):
    """A button that changes something: only the CSRF token."""
