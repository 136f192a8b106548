"""Form pieces every staff page uses (CSRF through Flask-WTF)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, widgets
from wtforms.validators import ValidationError


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


class ConfirmForm(FlaskForm):
    """A button that changes something: only the CSRF token."""
