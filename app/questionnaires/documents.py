"""Questionnaire documents: load YAML or JSON, validate, and normalise.

The format is a contract (docs/design.md, "The questionnaire format"). Validation
collects every problem it finds, not only the first, and names the line (when the text came from
YAML or JSON) and the question key and field, so a designer can fix a file in one pass.

YAML is read with PyYAML's SafeLoader (what ``yaml.safe_load`` uses), but in two steps: compose
the node tree first, which knows the line of every key, then construct the data from it. Aliases
are allowed (designers reuse scale labels with ``&`` / ``*``), but their expansion is bounded so
that a "billion laughs" document is refused instead of eating memory.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml
from flask_babel import gettext as _

from app.languages import language_name
from app.questionnaires import expressions

QUESTION_TYPES = (
    "rating",
    "nps",
    "effort",
    "likert",
    "yes_no",
    "single_choice",
    "multi_choice",
    "text",
    "importance",
)
#: Numeric scales by type, (lowest, highest); fixed by the contract so trends stay comparable.
SCALES: dict[str, tuple[int, int]] = {
    "rating": (1, 5),
    "likert": (1, 5),
    "importance": (1, 5),
    "effort": (1, 7),
    "nps": (0, 10),
}
CHOICE_TYPES = frozenset({"single_choice", "multi_choice"})
#: yes_no is stored as the choice yes/no (and the number 1/0).
YES_NO_OPTIONS = ("yes", "no")
EMBEDDABLE_TYPES = frozenset({"rating", "nps"})
#: Types an importance question can be paired with (the "performance" half of the pair).
PERFORMANCE_TYPES = frozenset({"rating", "likert"})

DOCUMENT_FIELDS = ("key", "languages", "title", "intro", "thanks", "questions")
QUESTION_FIELDS = (
    "key",
    "type",
    "text",
    "required",
    "attribute",
    "labels",
    "options",
    "max_length",
    "email_embed",
    "show_if",
)
LABEL_FIELDS = ("low", "high")
OPTION_FIELDS = ("key", "label")

DEFAULT_MAX_LENGTH = 1000
MAX_MAX_LENGTH = 10000
MAX_DOCUMENT_CHARS = 500_000
MAX_NODES = 50_000
MAX_NESTING = 20

KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,63}\Z")
QUESTIONNAIRE_KEY_RE = re.compile(r"[a-z][a-z0-9_-]{0,63}\Z")
OPTION_KEY_RE = re.compile(r"[a-z0-9][a-z0-9_]{0,63}\Z")
LANGUAGE_RE = re.compile(r"[a-z]{2,3}\Z")

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document, with where it is."""

    message: str
    line: int | None = None
    question: str | None = None  # the question's key, or "#3" when it has no usable key
    field: str | None = None
    option: int | None = None  # the option's place (1-based) within its question

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(_("line %(line)d", line=self.line))
        if self.question is not None:
            where.append(_("question '%(key)s'", key=self.question))
        if self.option is not None:
            where.append(_("option %(n)d", n=self.option))
        elif self.field is not None:
            where.append(_("field '%(field)s'", field=self.field))
        return ", ".join(where) + ": " + self.message if where else self.message


class QuestionnaireError(ValueError):
    """A questionnaire document is not valid. ``errors`` has one message per problem."""

    def __init__(self, problems: list[Problem], source: str = "<string>") -> None:
        self.problems = problems
        self.source = source
        self.errors = [str(problem) for problem in problems]
        super().__init__(f"{source}:\n" + "\n".join(f"  {e}" for e in self.errors))


def parse_questionnaire(text: str, source: str = "<string>") -> dict[str, Any]:
    """Load a YAML or JSON questionnaire and return its normalised definition.

    Raises :class:`QuestionnaireError` listing every problem found.
    """
    data, lines, problems = _load(text)
    if data is None and problems:
        raise QuestionnaireError(problems, source)
    checker = _Checker(lines)
    checker.problems.extend(problems)
    definition = checker.document(data)
    if checker.problems:
        raise QuestionnaireError(sorted(checker.problems, key=_line_order), source)
    return definition


def normalise_definition(data: Any, source: str = "<definition>") -> dict[str, Any]:
    """Validate an already loaded document (a stored definition, an edited form) likewise."""
    checker = _Checker({})
    definition = checker.document(data)
    if checker.problems:
        raise QuestionnaireError(checker.problems, source)
    return definition


def dump_questionnaire(definition: dict[str, Any]) -> str:
    """The definition as YAML for export, leaving out fields that only hold their default."""
    defaults = {"required": False, "email_embed": False}
    questions = [
        {
            name: value
            for name, value in question.items()
            if value is not None and defaults.get(name, object()) != value
        }
        for question in definition["questions"]
    ]
    document = {**definition, "questions": questions}
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)


def _line_order(problem: Problem) -> tuple[int, int]:
    return (0, problem.line) if problem.line is not None else (1, 0)


# --- loading ----------------------------------------------------------------------------------

def _load(text: str) -> tuple[Any, dict[Path_, int], list[Problem]]:
    """Return (data, line of each path, problems). ``data`` is None when nothing could be read."""
    if not isinstance(text, str):
        return None, {}, [Problem(_("the document must be text"))]
    if len(text) > MAX_DOCUMENT_CHARS:
        message = _("the document is longer than %(n)d characters", n=MAX_DOCUMENT_CHARS)
        return None, {}, [Problem(message)]
    if text.lstrip().startswith(("{", "[")):
        data, lines, problems = _load_json(text)
        if data is None and problems:
            # Not JSON; maybe YAML in flow style ({key: x, ...}). If not that either, the JSON
            # error is the one to show.
            as_yaml = _load_yaml(text)
            if as_yaml[0] is not None:
                return as_yaml
        return data, lines, problems
    return _load_yaml(text)


def _load_yaml(text: str) -> tuple[Any, dict[Path_, int], list[Problem]]:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}, [Problem(_("the document is empty"))]
        lines: dict[Path_, int] = {}
        problems = _map_lines(node, lines)
        if any(p.line is None for p in problems):  # too big or too deep: do not construct it
            return None, {}, problems
        return loader.construct_document(node), lines, problems
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        reason = " ".join(filter(None, [exc.context, exc.problem]))
        return None, {}, [Problem(_("not valid YAML: %(reason)s", reason=reason), line)]
    except yaml.YAMLError as exc:
        return None, {}, [Problem(_("not valid YAML: %(reason)s", reason=str(exc)))]
    except RecursionError:
        return None, {}, [Problem(_("the document is nested too deeply"))]
    finally:
        loader.dispose()


def _load_json(text: str) -> tuple[Any, dict[Path_, int], list[Problem]]:
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for name, value in items:
            if name in result:
                duplicates.append(name)
            result[name] = value
        return result

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        return None, {}, [Problem(_("not valid JSON: %(reason)s", reason=exc.msg), exc.lineno)]
    except RecursionError:
        return None, {}, [Problem(_("the document is nested too deeply"))]
    # JSON is (nearly) YAML: compose it for line numbers; JSON forbids raw tabs inside strings,
    # so turning them into spaces changes only the layout YAML would choke on.
    lines: dict[Path_, int] = {}
    try:
        node = yaml.compose(text.replace("\t", " "), Loader=yaml.SafeLoader)
        problems = _map_lines(node, lines) if node is not None else []
    except (yaml.YAMLError, RecursionError):
        lines.clear()
        problems = [Problem(_("duplicate entry '%(name)s'", name=name)) for name in duplicates]
    return data, lines, problems


class _TooBig(Exception):
    pass


def _map_lines(root: yaml.Node, lines: dict[Path_, int]) -> list[Problem]:
    """Record the line of every path and report duplicate keys, bounding alias expansion."""
    problems: list[Problem] = []
    count = 0

    def walk(node: yaml.Node, path: Path_) -> None:
        nonlocal count
        count += 1
        if count > MAX_NODES:
            raise _TooBig(_("the document has more than %(n)d elements", n=MAX_NODES))
        if len(path) > MAX_NESTING:
            raise _TooBig(_("the document is nested more than %(n)d levels", n=MAX_NESTING))
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            first_seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue
                name, line = key_node.value, key_node.start_mark.line + 1
                if name in first_seen:
                    message = _(
                        "duplicate entry '%(name)s' (first on line %(first)d)",
                        name=name,
                        first=first_seen[name],
                    )
                    problems.append(Problem(message, line))
                    continue
                first_seen[name] = line
                lines[(*path, name)] = line
                walk(value_node, (*path, name))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*path, index))

    try:
        walk(root, ())
    except _TooBig as exc:
        return [Problem(str(exc))]
    return problems


# --- validation -------------------------------------------------------------------------------

@dataclass
class _Checker:
    """Walks a loaded document, collecting problems and building the normalised definition."""

    lines: dict[Path_, int]
    problems: list[Problem] = field(default_factory=list)

    def error(
        self, message: str, path: Path_ = (), question: str | None = None, name: str | None = None
    ) -> None:
        option = None
        if len(path) > 3 and path[0] == "questions" and path[2] == "options" and isinstance(
                path[3], int):
            option = path[3] + 1
        problem = Problem(message, self.line_of(path), question, name, option)
        if problem not in self.problems:  # one problem is said once
            self.problems.append(problem)

    def line_of(self, path: Path_) -> int | None:
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = path[:-1]

    def unknown_fields(
        self, data: dict[Any, Any], allowed: Iterable[str], path: Path_, question: str | None
    ) -> None:
        allowed = tuple(allowed)
        for name in data:
            if name in allowed:
                continue
            close = difflib.get_close_matches(str(name), allowed, n=1)
            hint = _("; did you mean '%(name)s'?", name=close[0]) if close else ""
            message = _("unknown field '%(name)s'", name=name) + hint
            self.error(message, (*path, str(name)), question)

    # The document ---------------------------------------------------------------------------

    def document(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.error(_("the document must be a mapping with the fields %(fields)s",
                         fields=", ".join(DOCUMENT_FIELDS)))
            return {}
        self.unknown_fields(data, DOCUMENT_FIELDS, (), None)
        for name in DOCUMENT_FIELDS:
            if name not in data:
                self.error(_("missing field '%(name)s'", name=name))
        key = self.questionnaire_key(data.get("key"))
        languages = self.languages(data.get("languages"))
        definition: dict[str, Any] = {"key": key, "languages": languages or []}
        for name in ("title", "intro", "thanks"):
            if name in data:
                definition[name] = self.translated(data[name], (name,), languages, None, name)
        definition["questions"] = self.questions(data.get("questions"), languages)
        return definition

    def questionnaire_key(self, key: Any) -> str | None:
        if key is None:
            return None
        if not isinstance(key, str) or not QUESTIONNAIRE_KEY_RE.match(key):
            self.error(
                _("the key %(key)r must be lower-case letters, digits, _ or -, starting with a "
                  "letter, at most 64 characters", key=key),
                ("key",),
            )
            return None
        return key

    def languages(self, value: Any) -> list[str] | None:
        """The declared languages, or None when they are unusable (then translations are not
        checked against them, to avoid a flood of follow-on errors)."""
        if value is None:
            return None
        if not isinstance(value, list) or not value:
            # One language is enough: a Turkish-only questionnaire is sent in Turkish to all.
            self.error(_("languages must list at least one language, such as [tr] or [tr, en]"),
                       ("languages",))
            return None
        languages: list[str] = []
        for index, language in enumerate(value):
            if not isinstance(language, str) or not LANGUAGE_RE.match(language):
                self.error(_("%(value)r is not a language code such as tr or en", value=language),
                           ("languages", index))
            elif language in languages:
                self.error(_("language '%(code)s' is listed twice", code=language),
                           ("languages", index))
            else:
                languages.append(language)
        return languages

    def translated(
        self,
        value: Any,
        path: Path_,
        languages: list[str] | None,
        question: str | None,
        name: str,
    ) -> dict[str, str]:
        """A mapping language -> text with every declared language, and no other."""
        if not isinstance(value, dict):
            self.error(
                _("needs one text per language (%(languages)s), as a mapping such as tr: ...",
                  languages=", ".join(languages or ["tr"])),
                path, question, name,
            )
            return {}
        texts: dict[str, str] = {}
        for language in languages or []:
            text = value.get(language)
            if text is None:
                self.error(_("missing the %(language)s text", language=language_name(language)),
                           path, question, name)
            elif not isinstance(text, str) or not text.strip():
                self.error(_("the '%(code)s' translation must be non-empty text", code=language),
                           (*path, language), question, name)
            else:
                texts[language] = text.strip()
        if languages is not None:
            for language in value:
                if language not in languages:
                    self.error(
                        _("translation for '%(code)s', which is not in languages",
                          code=language),
                        (*path, str(language)), question, name,
                    )
        return texts

    # Questions --------------------------------------------------------------------------------

    def questions(self, value: Any, languages: list[str] | None) -> list[dict[str, Any]]:
        if value is None:
            return []
        if not isinstance(value, list) or not value:
            self.error(_("questions must be a non-empty list"), ("questions",))
            return []
        questions = [
            self.question(item, index, languages) for index, item in enumerate(value)
        ]
        valid = [q for q in questions if q is not None]
        self.check_keys_unique(valid)
        self.check_email_embed(valid)
        self.check_show_if(valid)
        self.check_importance_pairs(valid)
        for question in valid:
            question.pop("_path")
            question.pop("_label")
        return valid

    def question(self, item: Any, index: int, languages: list[str] | None) -> dict[str, Any] | None:
        path: Path_ = ("questions", index)
        if not isinstance(item, dict):
            self.error(_("question %(n)d must be a mapping", n=index + 1), path)
            return None
        key = item.get("key")
        label = key if isinstance(key, str) and KEY_RE.match(key) else f"#{index + 1}"
        self.unknown_fields(item, QUESTION_FIELDS, path, label)
        for name in ("key", "type", "text"):
            if name not in item:
                self.error(_("missing field '%(name)s'", name=name), path, label)
        if "key" in item and label.startswith("#"):
            self.error(
                _("the key %(key)r must be lower-case letters, digits and _, starting with a "
                  "letter, at most 64 characters", key=key),
                (*path, "key"), label, "key",
            )
        kind = item.get("type")
        if "type" in item and kind not in QUESTION_TYPES:
            self.error(_("unknown type %(type)r; use one of %(types)s", type=kind,
                         types=", ".join(QUESTION_TYPES)), (*path, "type"), label, "type")
            kind = None
        question: dict[str, Any] = {
            "key": key if not label.startswith("#") else None,
            "type": kind,
            "text": {},
            "required": self.flag(item, "required", path, label),
            "attribute": self.attribute(item, kind, path, label),
            "labels": self.labels(item, kind, path, label, languages),
            "options": self.options(item, kind, path, label, languages),
            "max_length": self.max_length(item, kind, path, label),
            "email_embed": self.flag(item, "email_embed", path, label),
            "show_if": self.show_if(item, path, label),
            "_path": path,
            "_label": label,
        }
        if "text" in item:
            question["text"] = self.translated(item["text"], (*path, "text"), languages,
                                               label, "text")
        return question

    def flag(self, item: dict[str, Any], name: str, path: Path_, label: str) -> bool:
        value = item.get(name, False)
        if not isinstance(value, bool):
            self.error(_("must be true or false"), (*path, name), label, name)
            return False
        return value

    def attribute(self, item: dict[str, Any], kind: str | None, path: Path_,
                  label: str) -> str | None:
        value = item.get("attribute")
        if value is None:
            if kind == "importance":
                self.error(_("an importance question needs the attribute it weighs"),
                           path, label, "attribute")
            return None
        if not isinstance(value, str) or not KEY_RE.match(value):
            self.error(_("%(value)r is not an attribute name (lower-case letters, digits and _)",
                         value=value), (*path, "attribute"), label, "attribute")
            return None
        return value

    def labels(self, item: dict[str, Any], kind: str | None, path: Path_, label: str,
               languages: list[str] | None) -> dict[str, dict[str, str]] | None:
        value = item.get("labels")
        if value is None:
            return None
        here = (*path, "labels")
        if kind is not None and kind not in SCALES:
            self.error(_("only scale questions (%(types)s) have labels",
                         types=", ".join(SCALES)), here, label, "labels")
            return None
        if not isinstance(value, dict):
            self.error(_("labels must be a mapping with low and high"), here, label, "labels")
            return None
        self.unknown_fields(value, LABEL_FIELDS, here, label)
        labels: dict[str, dict[str, str]] = {}
        for end in LABEL_FIELDS:
            if end not in value:
                self.error(_("missing '%(end)s'", end=end), here, label, "labels")
            else:
                labels[end] = self.translated(value[end], (*here, end), languages, label,
                                              f"labels.{end}")
        return labels

    def options(self, item: dict[str, Any], kind: str | None, path: Path_, label: str,
                languages: list[str] | None) -> list[dict[str, Any]] | None:
        value = item.get("options")
        here = (*path, "options")
        if kind is not None and kind not in CHOICE_TYPES:
            if value is not None:
                self.error(_("only single_choice and multi_choice questions have options"),
                           here, label, "options")
            return None
        if value is None or value == []:
            if kind is not None:
                self.error(_("a choice question needs options"), here, label, "options")
            return None
        if not isinstance(value, list):
            self.error(_("options must be a list of {key, label}"), here, label, "options")
            return None
        if len(value) < 2:
            self.error(_("a choice question needs at least two options"), here, label, "options")
        options: list[dict[str, Any]] = []
        seen: set[str] = set()
        for index, option in enumerate(value):
            option_path = (*here, index)
            if not isinstance(option, dict):
                self.error(_("must be a mapping with key and label"),
                           option_path, label, "options")
                continue
            self.unknown_fields(option, OPTION_FIELDS, option_path, label)
            option_key = option.get("key")
            if not isinstance(option_key, str) or not OPTION_KEY_RE.match(option_key):
                hint = _(" (YAML reads yes/no/on/off as true/false: put the key in quotes)")
                self.error(
                    _("the key %(key)r must be lower-case letters, digits and _",
                      key=option_key) + (hint if isinstance(option_key, bool) else ""),
                    (*option_path, "key"), label, "options",
                )
                option_key = None
            elif option_key in seen:
                self.error(_("duplicate option key '%(key)s'", key=option_key),
                           (*option_path, "key"), label, "options")
            seen.add(option_key or "")
            if "label" not in option:
                self.error(_("has no label"), option_path, label,
                           "options")
                continue
            texts = self.translated(option["label"], (*option_path, "label"), languages, label,
                                    "options.label")
            options.append({"key": option_key, "label": texts})
        return options

    def max_length(self, item: dict[str, Any], kind: str | None, path: Path_,
                   label: str) -> int | None:
        value = item.get("max_length")
        if kind != "text":
            if value is not None and kind is not None:
                self.error(_("only text questions have max_length"), (*path, "max_length"),
                           label, "max_length")
            return None
        if value is None:
            return DEFAULT_MAX_LENGTH
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_MAX_LENGTH:
            self.error(_("max_length must be a whole number from 1 to %(n)d", n=MAX_MAX_LENGTH),
                       (*path, "max_length"), label, "max_length")
            return DEFAULT_MAX_LENGTH
        return value

    def show_if(self, item: dict[str, Any], path: Path_, label: str) -> str | None:
        value = item.get("show_if")
        if value is None:
            return None
        if not isinstance(value, str):
            self.error(_('show_if must be an expression in text, such as overall <= 2'),
                       (*path, "show_if"), label, "show_if")
            return None
        try:
            expressions.parse(value.strip())
        except expressions.ExpressionError as exc:
            self.error(str(exc), (*path, "show_if"), label, "show_if")
            return None
        return value.strip()

    # Checks across questions ------------------------------------------------------------------

    def check_keys_unique(self, questions: list[dict[str, Any]]) -> None:
        first: dict[str, int] = {}
        for number, question in enumerate(questions, start=1):
            key = question["key"]
            if key is None:
                continue
            if key in first:
                self.error(_("duplicate question key '%(key)s' (first used by question %(n)d)",
                             key=key, n=first[key]),
                           (*question["_path"], "key"), key, "key")
            else:
                first[key] = number

    def check_email_embed(self, questions: list[dict[str, Any]]) -> None:
        embedded: str | None = None
        for question in questions:
            if not question["email_embed"]:
                continue
            here, label = (*question["_path"], "email_embed"), question["_label"]
            if question["type"] is not None and question["type"] not in EMBEDDABLE_TYPES:
                self.error(_("email_embed is only for a rating or nps question"),
                           here, label, "email_embed")
            if question["show_if"] is not None:
                self.error(_("a question embedded in the e-mail cannot have show_if"),
                           here, label, "email_embed")
            if embedded is not None:
                self.error(_("only one question may have email_embed; '%(key)s' already has it",
                             key=embedded), here, label, "email_embed")
            else:
                embedded = label

    def check_show_if(self, questions: list[dict[str, Any]]) -> None:
        position: dict[str, int] = {}
        for index, question in enumerate(questions):
            if question["key"] is not None:
                position.setdefault(question["key"], index)
        for index, question in enumerate(questions):
            if question["show_if"] is None:
                continue
            here, label = (*question["_path"], "show_if"), question["_label"]
            expr = expressions.parse(question["show_if"])
            for key in sorted(expressions.referenced_keys(expr)):
                if key not in position:
                    self.error(_("show_if reads '%(key)s', which is not a question key", key=key),
                               here, label, "show_if")
                elif key == question["key"]:
                    self.error(_("show_if cannot read the answer to its own question"),
                               here, label, "show_if")
                elif position[key] > index:
                    self.error(_("show_if reads '%(key)s', which is asked later; only earlier "
                                 "answers are known", key=key), here, label, "show_if")
            for comparison in expressions.comparisons(expr):
                self.check_comparison(comparison, questions, position, here, label)

    def check_comparison(self, comparison: expressions.Compare, questions: list[dict[str, Any]],
                         position: dict[str, int], here: Path_, label: str) -> None:
        """Catch comparisons that can never be true: text against a scale, unknown options."""
        pairs = [(comparison.left, comparison.right), (comparison.right, comparison.left)]
        for side, other in pairs:
            if not isinstance(side, expressions.Key) or side.name not in position:
                continue
            if not isinstance(other, expressions.Literal):
                continue
            target = questions[position[side.name]]
            kind, value = target["type"], other.value
            if kind in SCALES and isinstance(value, str):
                self.error(_("show_if compares '%(key)s', answered with a number, with the text "
                             "%(value)r", key=side.name, value=value), here, label, "show_if")
            elif kind == "yes_no" or kind in CHOICE_TYPES:
                allowed = YES_NO_OPTIONS if kind == "yes_no" else [
                    o["key"] for o in target["options"] or [] if o["key"]
                ]
                if not isinstance(value, str):
                    self.error(_("show_if compares '%(key)s', answered with an option, with the "
                                 "number %(value)s; compare with one of %(options)s",
                                 key=side.name, value=value, options=", ".join(allowed)),
                               here, label, "show_if")
                elif value not in allowed:
                    self.error(_("'%(key)s' has no option %(value)r", key=side.name, value=value),
                               here, label, "show_if")

    def check_importance_pairs(self, questions: list[dict[str, Any]]) -> None:
        rated = {q["attribute"] for q in questions if q["type"] in PERFORMANCE_TYPES}
        weighed: set[str] = set()
        for question in questions:
            attribute = question["attribute"]
            if question["type"] != "importance" or attribute is None:
                continue
            here, label = (*question["_path"], "attribute"), question["_label"]
            if attribute not in rated:
                self.error(_("no rating or likert question has the attribute '%(name)s' to pair "
                             "this importance question with", name=attribute),
                           here, label, "attribute")
            if attribute in weighed:
                self.error(_("another importance question already weighs '%(name)s'",
                             name=attribute), here, label, "attribute")
            weighed.add(attribute)


def question_index(definition: dict[str, Any], key: str) -> int | None:
    for index, question in enumerate(definition.get("questions") or []):
        if question.get("key") == key:
            return index
    return None
