"""The questions of a questionnaire version, in one language, as the survey page shows them.

Call these inside ``force_locale(<page language>)``: the few words that come from our own
catalogue (Yes, No, "question 3") are translated when the questions are built.

A version's definition is a questionnaire document (docs/design.md, "The questionnaire format";
JSON in ``QuestionnaireVersion.definition``). This module turns it into plain, typed objects
once, so the form, the template and the answer rows all read the same thing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

# Numeric scales: question type -> (lowest, highest) value.
SCALES: dict[str, tuple[int, int]] = {
    "rating": (1, 5),
    "likert": (1, 5),
    "importance": (1, 5),
    "effort": (1, 7),
    "nps": (0, 10),
}
YES_NO = "yes_no"
SINGLE_CHOICE = "single_choice"
MULTI_CHOICE = "multi_choice"
TEXT = "text"
# A text question without its own limit still gets one: nobody needs more to tell us something.
DEFAULT_TEXT_LIMIT = 5000


def translated(value: Any, language: str, fallback: str | None = None) -> str:
    """The text of ``value`` (a mapping language -> text, or a plain string) in ``language``.

    Falls back to ``fallback`` (the questionnaire's first language), then to any text at all:
    a page with one untranslated sentence is better than a page that fails.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for candidate in (language, fallback):
            if candidate and value.get(candidate):
                return str(value[candidate])
        return next((str(text) for text in value.values() if text), "")
    return str(value)


@dataclass(frozen=True)
class Option:
    """One answer a respondent can choose: ``value`` is what is posted and stored."""

    value: str
    label: str


@dataclass(frozen=True)
class Question:
    """One question of the survey page, already in the page's language."""

    number: int
    key: str
    type: str
    text: str
    required: bool
    attribute: str | None
    show_if: str | None
    options: tuple[Option, ...]
    low_label: str = ""
    high_label: str = ""
    max_length: int | None = None

    @property
    def is_scale(self) -> bool:
        return self.type in SCALES

    @property
    def is_single(self) -> bool:
        """Answered by one radio button: scales, yes/no and single choice."""
        return self.is_scale or self.type in (YES_NO, SINGLE_CHOICE)

    @property
    def is_multi(self) -> bool:
        return self.type == MULTI_CHOICE

    @property
    def is_text(self) -> bool:
        return self.type == TEXT

    @property
    def dom_id(self) -> str:
        return f"q-{self.key}"

    @property
    def anchor(self) -> str:
        """The id of the first control, where an error message's link takes the keyboard."""
        return self.dom_id if self.is_text else f"{self.dom_id}-0"

    @property
    def values(self) -> list[str]:
        return [option.value for option in self.options]


def _options(question: dict[str, Any], language: str, fallback: str) -> tuple[Option, ...]:
    kind = question.get("type")
    if kind in SCALES:
        low, high = SCALES[kind]
        return tuple(Option(str(n), str(n)) for n in range(low, high + 1))
    if kind == YES_NO:
        return (Option("yes", _("Yes")), Option("no", _("No")))
    if kind in (SINGLE_CHOICE, MULTI_CHOICE):
        return tuple(
            Option(str(option["key"]), translated(option.get("label"), language, fallback))
            for option in question.get("options") or []
        )
    return ()


def version_languages(definition: dict[str, Any]) -> list[str]:
    """The languages a version is written in; the first is its default."""
    return [str(code) for code in definition.get("languages") or []] or ["tr"]


def questions_in(definition: dict[str, Any], language: str) -> list[Question]:
    """Every question of a version definition, in order, with its text in ``language``."""
    fallback = version_languages(definition)[0]
    questions = []
    for number, raw in enumerate(definition.get("questions") or [], start=1):
        labels = raw.get("labels") or {}
        max_length = raw.get("max_length")
        if raw.get("type") == TEXT and not max_length:
            max_length = DEFAULT_TEXT_LIMIT
        questions.append(
            Question(
                number=number,
                key=str(raw["key"]),
                type=str(raw.get("type")),
                text=translated(raw.get("text"), language, fallback),
                required=bool(raw.get("required", False)),
                attribute=raw.get("attribute"),
                show_if=(raw.get("show_if") or None),
                options=_options(raw, language, fallback),
                low_label=translated(labels.get("low"), language, fallback),
                high_label=translated(labels.get("high"), language, fallback),
                max_length=int(max_length) if max_length else None,
            )
        )
    return questions


_CONDITION_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>-?\d+(?:\.\d+)?)
      | (?P<string>"[^"\\]*")
      | (?P<operator><=|>=|==|!=|<|>|\(|\))
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
_OPERATOR_SIGNS = {"==": "=", "!=": "≠", "<=": "≤", ">=": "≥", "<": "<", ">": ">"}


def _condition_word(name: str, by_key: dict[str, Question]) -> str | None:
    words = {"and": _("and"), "or": _("or"), "not": _("not")}
    if name in words:
        return words[name]
    if name in by_key:
        return _("question %(number)d", number=by_key[name].number)
    return None


def describe_condition(expression: str, questions: list[Question]) -> str | None:
    """``show_if`` in words a respondent can follow with scripts off, e.g. 'question 1 ≤ 2'.

    Question keys become question numbers, choice keys their labels, operators signs that need
    no translation. Returns None when the expression holds anything else; the page then shows a
    general note instead of a half-understood one.
    """
    by_key = {question.key: question for question in questions}
    parts: list[str] = []
    last_question: Question | None = None
    position = 0
    while position < len(expression.rstrip()):
        match = _CONDITION_TOKEN.match(expression, position)
        if match is None:
            return None
        position = match.end()
        if match.group("number"):
            parts.append(match.group("number"))
        elif match.group("string"):
            value = match.group("string")[1:-1]
            labels = {o.value: o.label for o in (last_question.options if last_question else ())}
            parts.append(f"“{labels.get(value, value)}”")
        elif match.group("operator"):
            parts.append(_OPERATOR_SIGNS.get(match.group("operator"), match.group("operator")))
        else:
            word = _condition_word(match.group("name"), by_key)
            if word is None:
                return None
            last_question = by_key.get(match.group("name"), last_question)
            parts.append(word)
    text = " ".join(parts)
    return text.replace("( ", "(").replace(" )", ")") or None


@dataclass(frozen=True)
class AnswerLine:
    """One answered question as staff read it: the wording and the answer's label."""

    number: int
    key: str
    question: str
    answer: str
    is_text: bool


def _scale_label(question: Question, value: float) -> str:
    low, high = SCALES[question.type]
    number = int(value) if float(value).is_integer() else value
    shown = f"{number} / {high}"
    if number == low and question.low_label:
        return f"{shown} ({question.low_label})"
    if number == high and question.high_label:
        return f"{shown} ({question.high_label})"
    return shown


def _answer_label(question: Question | None, rows: list[Any]) -> str:
    if question is None:  # a key the version does not have: show what is stored
        return ", ".join(
            str(r.value_choice or r.value_text or _plain(r.value_number)) for r in rows
        )
    if question.is_text:
        return "\n".join(r.value_text or "" for r in rows)
    if question.is_scale and rows[0].value_number is not None:
        return _scale_label(question, rows[0].value_number)
    labels = {option.value: option.label for option in question.options}
    return ", ".join(labels.get(r.value_choice or "", r.value_choice or "") for r in rows)


def _plain(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def answer_lines(definition: dict[str, Any], answers: list[Any], language: str) -> list[AnswerLine]:
    """``answers`` (rows with ``question_key``, ``value_number``, ``value_choice``,
    ``value_text``) as the question's wording in ``language`` and the answer's label (the
    option's text, the scale with its end label), in the questionnaire's order. Call it inside
    the reader's locale: Yes and No come from the catalogue."""
    questions = {q.key: q for q in questions_in(definition, language)}
    grouped: dict[str, list[Any]] = {}
    for row in answers:
        grouped.setdefault(row.question_key, []).append(row)
    lines = []
    for key, rows in grouped.items():
        question = questions.get(key)
        lines.append(
            AnswerLine(
                number=question.number if question else len(questions) + 1,
                key=key,
                question=question.text if question else key,
                answer=_answer_label(question, rows),
                is_text=question.is_text if question else rows[0].value_text is not None,
            )
        )
    return sorted(lines, key=lambda line: (line.number, line.key))
