"""The survey form, built from a version's questions, and the opt-out form.

Each question becomes one field whose HTML name is the question key (``overall=4`` is what a
browser posts, and what the one-click link in the e-mail carries). The Python attribute gets a
``q_`` prefix so that no question key can shadow a form attribute such as ``data``.

Whether a question must be answered depends on ``show_if`` over the other answers, so
"required" is decided after the fields have checked their own values (see ``survey_answers``).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, RadioField, SelectMultipleField, TextAreaField
from wtforms.validators import AnyOf, Length, Optional, ValidationError

from app.questionnaires.expressions import ExpressionError, evaluate
from app.respond.questions import Question
from app.storable import storable

log = logging.getLogger(__name__)

ANSWER_REQUIRED = _l("Please answer this question.")
ANSWER_SOMETHING = _l("Please answer at least one question before sending.")
UNSTORABLE = _l("Your answer held characters that cannot be saved; they have been removed. "
                "Please check your answer and send again.")


class OptOutForm(FlaskForm):
    """Only the CSRF token: the button itself is the answer."""


def field_name(question: Question) -> str:
    return f"q_{question.key}"


def _normalise_newlines(value: Any) -> Any:
    # Browsers send CRLF; the limit the respondent sees counts a line break as one character.
    return value.replace("\r\n", "\n") if isinstance(value, str) else value


def _only_storable_text(form: FlaskForm, field: Field) -> None:
    """Refuse text the database cannot keep (``app.storable``: PostgreSQL refuses NUL and no
    driver encodes a lone surrogate; either would fail the whole submission with a 500 and lose
    every answer typed), and show it again without those characters."""
    if isinstance(field.data, str) and not storable(field.data, multiline=True):
        field.data = "".join(c for c in field.data if storable(c, multiline=True))
        raise ValidationError(UNSTORABLE)


class _AllOf:
    """Every chosen value of a multiple choice is one of the options."""

    def __init__(self, values: list[str]) -> None:
        self.values = set(values)

    def __call__(self, form: FlaskForm, field: Field) -> None:
        if any(value not in self.values for value in field.data or []):
            raise ValidationError(_l("Please choose among the options shown."))


def _field_for(question: Question) -> Any:
    common: dict[str, Any] = {"name": question.key, "id": question.dom_id}
    if question.is_single:
        not_offered = _l("Please choose one of the options.")
        return RadioField(
            question.text,
            validators=[Optional(), AnyOf(question.values, not_offered)],
            choices=[],
            validate_choice=False,
            **common,
        )
    if question.is_multi:
        return SelectMultipleField(
            question.text,
            validators=[Optional(), _AllOf(question.values)],
            choices=[],
            validate_choice=False,
            **common,
        )
    limit = question.max_length or 0
    message = _l("Please shorten your answer to at most %(max)d characters (it has %(length)d).")
    return TextAreaField(
        question.text,
        validators=[Optional(), _only_storable_text, Length(max=limit, message=message)],
        filters=[_normalise_newlines],
        **common,
    )


def build_form(questions: Sequence[Question], **form_arguments: Any) -> FlaskForm:
    """A form for these questions, instantiated with ``form_arguments``.

    Without arguments the form reads the posted data; ``formdata=None, data={...}`` gives an
    unsubmitted form with some answers chosen in advance.
    """
    return _form_class(tuple(questions))(**form_arguments)


@functools.lru_cache(maxsize=256)
def _form_class(questions: tuple[Question, ...]) -> type[FlaskForm]:
    # One class per version and language, made once per process: questions are immutable.
    class SurveyForm(FlaskForm):
        class Meta:
            # The survey's views check CSRF before the view runs (``csrf.protect()``, so that
            # an expired token keeps the typed answers), and the page writes ``csrf_token()``
            # itself: a CSRF field here would only check and sign the token a second time.
            csrf = False

    for question in questions:
        setattr(SurveyForm, field_name(question), _field_for(question))
    return SurveyForm


def chosen_in_link(questions: list[Question], arguments: Any) -> dict[str, str]:
    """Answers chosen in advance by a link such as ``?overall=4`` (the e-mail's one-click links),
    by question key, as the link spells them.

    Only radio-button answers, and only values the question offers: a link can pick an option,
    it can never put words in the respondent's mouth.
    """
    chosen = {}
    for question in questions:
        value = arguments.get(question.key)
        if question.is_single and value in question.values:
            chosen[question.key] = value
    return chosen


def preselected(questions: list[Question], arguments: Any) -> dict[str, str]:
    """``chosen_in_link`` as form data (by field name), for ``build_form(data=...)``."""
    by_key = {question.key: question for question in questions}
    return {
        field_name(by_key[key]): value
        for key, value in chosen_in_link(questions, arguments).items()
    }


def as_form_data(questions: list[Question], answers: dict[str, Any]) -> dict[str, Any]:
    """Stored answers (by question key, as ``survey_answers`` gives them) as form data."""
    data: dict[str, Any] = {}
    for question in questions:
        value = answers.get(question.key)
        if value is None:
            continue
        data[field_name(question)] = value if question.is_multi else str(value)
    return data


def first_answers(questions: list[Question], posted: Any) -> dict[str, Any]:
    """The one-click answer(s) a page posts on its own, as ``survey_answers`` gives answers:
    radio answers with offered values only, ints for scales."""
    by_key = {question.key: question for question in questions}
    return {
        key: int(value) if by_key[key].is_scale else value
        for key, value in chosen_in_link(questions, posted).items()
    }


def _value(question: Question, field: Field) -> Any:
    """The field's answer as the rest of the code speaks it, or None when not answered."""
    data = field.data
    if question.is_single:
        if data in (None, "") or data not in question.values:
            return None
        if question.is_scale:
            return int(data)
        return data
    if question.is_multi:
        chosen = set(data or [])
        return [value for value in question.values if value in chosen] or None
    if not isinstance(data, str) or not data.strip():
        return None
    return data


def _shown(question: Question, answers: dict[str, Any]) -> bool:
    if not question.show_if:
        return True
    try:
        return evaluate(question.show_if, answers)
    except ExpressionError:
        # A published version is validated, so this is a bug; asking too much beats losing data.
        log.warning("show_if of question %s cannot be evaluated; shown", question.key)
        return True


def survey_answers(form: FlaskForm, questions: list[Question]) -> dict[str, Any] | None:
    """Validate the posted survey; return its answers by question key, or None with errors set.

    Questions are read in order, so that ``show_if`` sees the answers given before it. A question
    its condition hides is neither required nor kept, whatever was typed into it. The values are
    ints for scales, ``"yes"``/``"no"`` for yes_no, the option key for a single choice, the list of
    option keys for a multiple choice and the text as typed for text.
    """
    form.validate()
    answers: dict[str, Any] = {}
    for question in questions:
        field = form[field_name(question)]
        if not _shown(question, answers):
            field.errors = []
            continue
        if field.errors:
            continue
        value = _value(question, field)
        if value is not None:
            answers[question.key] = value
        elif question.required:
            field.errors = [ANSWER_REQUIRED]
    if any(field.errors for field in form):
        return None
    if not answers:
        form.form_errors.append(ANSWER_SOMETHING)
        return None
    return answers
