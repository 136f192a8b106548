"""The designer's forms, and the translation between a question form and a question document.

A questionnaire declares its own languages, so the translation fields (one per language, side
by side) are added to the form classes when a page is built. The forms check only what a form
can (a number is a number, a file was sent); everything about the questionnaire itself is left to
documents.normalise_definition, whose problems are then put next to the fields they concern
(``sort_problems``), so the rules live in one place.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from app.forms import StaffForm, select_choices
from app.languages import LANGUAGE_NAMES, language_name
from app.questionnaires.documents import (
    CHOICE_TYPES,
    KEY_RE,
    QUESTION_TYPES,
    QUESTIONNAIRE_KEY_RE,
    SCALES,
    Problem,
)

TYPE_NAMES = {
    "rating": _l("Rating (1-5)"),
    "nps": _l("Likelihood to recommend (0-10)"),
    "effort": _l("Effort (1-7)"),
    "likert": _l("Agreement (1-5)"),
    "yes_no": _l("Yes or no"),
    "single_choice": _l("One choice"),
    "multi_choice": _l("Several choices"),
    "text": _l("Open text"),
    "importance": _l("Importance (1-5)"),
}
#: What the shipped templates measure; offered as suggestions, any attribute name is allowed.
ATTRIBUTE_SUGGESTIONS = (
    "overall", "resolution", "timeliness", "courtesy", "clarity", "outcome", "effort",
    "loyalty", "accessibility", "responsiveness", "objectivity", "confidentiality",
    "customer_focus",
)
#: Form parts a problem can be shown next to; problem.field "labels.low" belongs to "labels".
QUESTION_PARTS = (
    "key", "type", "text", "required", "attribute", "labels", "options", "max_length",
    "email_embed", "show_if",
)
QUESTION_GROUPS = frozenset(QUESTION_PARTS)
TEXT_GROUPS = ("title", "intro", "thanks")
EXTRA_OPTION_ROWS = 2
TITLE_LENGTH = 200


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class ButtonForm(StaffForm):
    """Only the CSRF token: for buttons that act (move, remove, publish, start a draft)."""


class PublishForm(StaffForm):
    publish = SubmitField(_l("Publish"))


class NewQuestionnaireForm(StaffForm):
    template = SelectField(_l("Start from the template"), choices=[])
    key = StringField(
        _l("Key"),
        filters=[_strip],
        validators=[
            InputRequired(),
            Regexp(QUESTIONNAIRE_KEY_RE, message=_l(
                "Use lower-case letters, digits, _ or -, starting with a letter (at most 64).")),
        ],
        description=_l("Names the questionnaire in rules, exports and the API; it cannot change "
                       "later. Example: after-care"),
    )
    languages = SelectMultipleField(
        _l("Languages"), choices=select_choices(LANGUAGE_NAMES.items()), default=["tr", "en"],
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
        description=_l("The survey is written, sent and answered in these languages only; "
                       "someone who speaks none of them gets the first one."),
    )
    title_tr = StringField(_l("Title in Turkish"), filters=[_strip],
                           validators=[Length(max=TITLE_LENGTH)])
    title_en = StringField(_l("Title in English"), filters=[_strip],
                           validators=[Length(max=TITLE_LENGTH)])
    title_nl = StringField(_l("Title in Dutch"), filters=[_strip],
                           validators=[Length(max=TITLE_LENGTH)])
    title_et = StringField(_l("Title in Estonian"), filters=[_strip],
                           validators=[Length(max=TITLE_LENGTH)])
    create = SubmitField(_l("Create the draft"))

    def validate(self, extra_validators: Any = None) -> bool:
        """A title in each chosen language, and none in a language that is not chosen (it would
        be thrown away without a word)."""
        valid = super().validate(extra_validators)
        chosen = self.languages.data or []
        if not chosen:
            self.languages.errors = [*self.languages.errors, _l("Choose at least one language.")]
            valid = False
        for code in LANGUAGE_NAMES:
            field = self[f"title_{code}"]
            if code in chosen and not field.data:
                field.errors = [*field.errors, _l("Give the title in this language, or untick it "
                                                  "above.")]
                valid = False
            elif code not in chosen and field.data:
                field.errors = [*field.errors, _l("This language is not chosen above: tick it, "
                                                  "or leave its title empty.")]
                valid = False
        return valid

    def titles(self) -> dict[str, str]:
        return {code: self[f"title_{code}"].data for code in self.languages.data or []}


class ImportForm(StaffForm):
    document = FileField(
        _l("Questionnaire file (YAML or JSON)"),
        validators=[
            FileRequired(_l("Choose a file to import.")),
            FileAllowed(["yaml", "yml", "json"], _l("Only .yaml, .yml or .json files.")),
        ],
    )
    replace_draft = BooleanField(_l("Replace the questionnaire's current draft, if it has one"))
    upload = SubmitField(_l("Import as a draft"))


# --- questionnaire texts (title, intro, thanks) -----------------------------------------------

def texts_form(languages: list[str], **arguments: Any) -> FlaskForm:
    class TextsForm(StaffForm):
        save = SubmitField(_l("Save texts"))

    for group in TEXT_GROUPS:
        for code in languages:
            kind = StringField if group == "title" else TextAreaField
            setattr(TextsForm, f"{group}_{code}", kind(language_name(code), filters=[_strip]))
    return TextsForm(**arguments)


def texts_data(definition: dict[str, Any], languages: list[str]) -> dict[str, str]:
    return {
        f"{group}_{code}": (definition.get(group) or {}).get(code, "")
        for group in TEXT_GROUPS
        for code in languages
    }


def texts_from_form(form: FlaskForm, languages: list[str]) -> dict[str, dict[str, str]]:
    return {group: _translations(form, group, languages) for group in TEXT_GROUPS}


# --- one question ---------------------------------------------------------------------------

class QuestionFormBase(StaffForm):
    key = StringField(
        _l("Key"),
        filters=[_strip],
        description=_l("Links the answers across versions: keep it when you reword a question, "
                       "change it only for a new question. Lower-case letters, digits and _."),
    )
    type = SelectField(
        _l("Type"), choices=select_choices((kind, TYPE_NAMES[kind]) for kind in QUESTION_TYPES)
    )
    required = BooleanField(_l("An answer is required"))
    attribute = StringField(
        _l("Measures (attribute)"),
        filters=[_strip],
        description=_l("What the question measures, e.g. timeliness or courtesy. An importance "
                       "question weighs the rating question with the same attribute."),
    )
    max_length = IntegerField(
        _l("Longest answer (characters)"), validators=[Optional()],
        description=_l("Open text only; 1000 when left empty."),
    )
    email_embed = BooleanField(
        _l("Ask it in the invitation e-mail as one-click links"),
        description=_l("At most one rating or nps question, and not a conditional one."),
    )
    show_if = StringField(
        _l("Show only if"),
        filters=[_strip],
        description=_l('Leave empty to always ask. Examples: overall <= 2, resolved == "no" and '
                       'recommend < 7'),
    )
    more_options = SubmitField(_l("More option rows"))
    save = SubmitField(_l("Save question"))


def question_form(languages: list[str], option_rows: int, **arguments: Any) -> QuestionFormBase:
    """The form for one question with translation fields for ``languages`` and at least
    ``option_rows`` rows of options (an empty row is ignored)."""

    class OptionRow(Form):  # a sub-form: the outer form carries the CSRF token
        key = StringField(_l("Option key"), filters=[_strip])

    class QuestionForm(QuestionFormBase):
        pass

    for code in languages:
        setattr(OptionRow, f"label_{code}", StringField(language_name(code), filters=[_strip]))
        setattr(QuestionForm, f"text_{code}", TextAreaField(language_name(code), filters=[_strip]))
        setattr(QuestionForm, f"low_{code}", StringField(language_name(code), filters=[_strip]))
        setattr(QuestionForm, f"high_{code}", StringField(language_name(code), filters=[_strip]))
    QuestionForm.options = FieldList(FormField(OptionRow), min_entries=option_rows)
    return QuestionForm(**arguments)


def question_data(question: dict[str, Any], languages: list[str]) -> dict[str, Any]:
    """A stored question as the form's initial data."""
    labels = question.get("labels") or {}
    data: dict[str, Any] = {
        "key": question.get("key") or "",
        "type": question.get("type") or "rating",
        "required": bool(question.get("required")),
        "attribute": question.get("attribute") or "",
        "max_length": question.get("max_length"),
        "email_embed": bool(question.get("email_embed")),
        "show_if": question.get("show_if") or "",
        "options": [
            {"key": option.get("key") or "",
             **{f"label_{code}": (option.get("label") or {}).get(code, "") for code in languages}}
            for option in question.get("options") or []
        ],
    }
    for code in languages:
        data[f"text_{code}"] = (question.get("text") or {}).get(code, "")
        data[f"low_{code}"] = (labels.get("low") or {}).get(code, "")
        data[f"high_{code}"] = (labels.get("high") or {}).get(code, "")
    return data


def question_from_form(form: QuestionFormBase, languages: list[str]) -> dict[str, Any]:
    """The question document the form describes, for normalise_definition to judge.

    Parts that do not belong to the chosen type are left out (scale labels for a scale, options
    for a choice, a length for open text), so changing a question's type just works; empty
    translations are left out too, so that a missing one is reported as missing.
    """
    kind = form.type.data
    question: dict[str, Any] = {
        "key": form.key.data or "",
        "type": kind,
        "text": _translations(form, "text", languages),
        "required": bool(form.required.data),
        "email_embed": bool(form.email_embed.data),
    }
    if form.attribute.data:
        question["attribute"] = form.attribute.data
    if form.show_if.data:
        question["show_if"] = form.show_if.data
    if kind in SCALES:
        ends = {end: _translations(form, end, languages) for end in ("low", "high")}
        if any(ends.values()):
            question["labels"] = {end: texts for end, texts in ends.items() if texts}
    if kind in CHOICE_TYPES:
        question["options"] = [
            {"key": row.key.data or "", "label": _translations(row, "label", languages)}
            for row in form.options
            if row.key.data or _translations(row, "label", languages)
        ]
    if kind == "text" and form.max_length.data is not None:
        question["max_length"] = form.max_length.data
    return question


def question_label(question: dict[str, Any], position: int) -> str:
    """How the validator names the question at ``position`` (0-based) in its problems."""
    key = question.get("key")
    return key if isinstance(key, str) and KEY_RE.match(key) else f"#{position + 1}"


def sort_problems(
    problems: list[Problem], label: str | None, groups: frozenset[str] | tuple[str, ...]
) -> tuple[dict[str, list[str]], list[str]]:
    """Split validation problems into those of the form's own fields and the rest.

    ``label`` names the edited question as the validator does (None for the questionnaire's own
    texts). Returns (messages by form part, with "" for the form as a whole; problems elsewhere
    in the questionnaire, each saying where).
    """
    mine: dict[str, list[str]] = defaultdict(list)
    elsewhere: list[str] = []
    for problem in problems:
        if problem.question != label:
            elsewhere.append(str(problem))
            continue
        group = (problem.field or "").split(".")[0]
        mine[group if group in groups else ""].append(problem.message)
    return dict(mine), elsewhere


def errors_by_part(form: FlaskForm, errors: dict[str, list[str]],
                   parts: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    """Every error on the page by form part, in page order ("" first: the form as a whole):
    the form's own checks and the validator's, for the summary at the top."""
    listed = []
    for part in ("", *parts):
        field = form._fields.get(part) if part else None
        own = [] if field is None or isinstance(field, FieldList) else list(field.errors)
        found = [str(message) for message in [*own, *errors.get(part, [])]]
        if found:
            listed.append((part, found))
    return listed


def _translations(form: Any, prefix: str, languages: list[str]) -> dict[str, str]:
    texts = {}
    for code in languages:
        value = form[f"{prefix}_{code}"].data
        if isinstance(value, str) and value.strip():
            texts[code] = value.strip()
    return texts
