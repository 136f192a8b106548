"""Loading and validating questionnaire documents: good files, bad files, every message."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml

from app.questionnaires.documents import (
    DEFAULT_MAX_LENGTH,
    QuestionnaireError,
    dump_questionnaire,
    normalise_definition,
    parse_questionnaire,
)

TEMPLATES = Path(__file__).resolve().parents[2] / "survey_templates"

GOOD = """\
key: short
languages: [tr, en]
title: {tr: Kısa anket, en: Short survey}
intro: {tr: Giriş, en: Intro}
thanks: {tr: Teşekkürler, en: Thanks}
questions:
  - key: overall
    type: rating
    attribute: overall
    required: true
    email_embed: true
    text: {tr: "Memnun musunuz?", en: "Are you satisfied?"}
    labels:
      low: {tr: Hiç, en: Not at all}
      high: {tr: Çok, en: Very}
  - key: channel
    type: single_choice
    text: {tr: Kanal, en: Channel}
    options:
      - {key: web, label: {tr: İnternet, en: Web}}
      - {key: phone, label: {tr: Telefon, en: Phone}}
  - key: why
    type: text
    show_if: overall <= 2 or channel == "phone"
    text: {tr: "Neden?", en: "Why?"}
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(text, "test.yaml")
    return caught.value.errors


def doc(body: str) -> str:
    """A document with a valid head and the given questions (YAML, indented freely)."""
    head = "\n".join(GOOD.splitlines()[:5])  # questions: comes on line 7, the first on line 8
    return head + "\n# the questions under test\n" + textwrap.dedent(body)


# --- good documents ---------------------------------------------------------------------------

def test_a_good_document_is_normalised_with_defaults() -> None:
    definition = parse_questionnaire(GOOD)
    assert definition["key"] == "short"
    assert definition["languages"] == ["tr", "en"]
    assert definition["title"] == {"tr": "Kısa anket", "en": "Short survey"}
    overall, channel, why = definition["questions"]
    assert overall == {
        "key": "overall",
        "type": "rating",
        "text": {"tr": "Memnun musunuz?", "en": "Are you satisfied?"},
        "required": True,
        "attribute": "overall",
        "labels": {"low": {"tr": "Hiç", "en": "Not at all"}, "high": {"tr": "Çok", "en": "Very"}},
        "options": None,
        "max_length": None,
        "email_embed": True,
        "show_if": None,
    }
    assert channel["required"] is False
    assert channel["email_embed"] is False
    assert channel["attribute"] is None
    assert channel["options"] == [
        {"key": "web", "label": {"tr": "İnternet", "en": "Web"}},
        {"key": "phone", "label": {"tr": "Telefon", "en": "Phone"}},
    ]
    assert why["max_length"] == DEFAULT_MAX_LENGTH == 1000
    assert why["show_if"] == 'overall <= 2 or channel == "phone"'
    # The definition goes into a JSON column as it is.
    assert json.loads(json.dumps(definition)) == definition


def test_json_gives_the_same_definition_as_yaml() -> None:
    definition = parse_questionnaire(GOOD)
    as_json = json.dumps(yaml.safe_load(GOOD), ensure_ascii=False, indent="\t")
    assert parse_questionnaire(as_json, "short.json") == definition


def test_export_and_import_round_trip() -> None:
    definition = parse_questionnaire(GOOD)
    exported = dump_questionnaire(definition)
    assert "email_embed: true" in exported
    assert "required: false" not in exported  # defaults are left out
    assert parse_questionnaire(exported) == definition


def test_normalise_definition_checks_loaded_data_too() -> None:
    definition = parse_questionnaire(GOOD)
    assert normalise_definition(definition) == definition
    broken = {**definition, "languages": ["tr", "en", "nl"]}
    with pytest.raises(QuestionnaireError) as caught:
        normalise_definition(broken)
    assert "field 'title': missing the Nederlands text" in caught.value.errors


def test_yaml_aliases_may_reuse_labels() -> None:
    text = doc("""\
    questions:
      - key: a
        type: rating
        text: {tr: A, en: A}
        labels: &scale
          low: {tr: Az, en: Low}
          high: {tr: Çok, en: High}
      - key: b
        type: rating
        text: {tr: B, en: B}
        labels: *scale
    """)
    first, second = parse_questionnaire(text)["questions"]
    assert first["labels"] == second["labels"] == {
        "low": {"tr": "Az", "en": "Low"},
        "high": {"tr": "Çok", "en": "High"},
    }


# --- the shipped templates --------------------------------------------------------------------

SHIPPED = ["post-resolution.yaml", "nps-relationship.yaml", "ces.yaml", "iso10004-full.yaml",
           "walk-in.yaml"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_templates_are_valid_in_four_languages(name: str) -> None:
    definition = parse_questionnaire((TEMPLATES / name).read_text(encoding="utf-8"), name)
    assert definition["key"] == name.removesuffix(".yaml")
    assert definition["languages"] == ["tr", "en", "nl", "et"]
    embedded = [q for q in definition["questions"] if q["email_embed"]]
    assert len(embedded) <= 1


def test_post_resolution_template_asks_what_the_issue_says() -> None:
    text = (TEMPLATES / "post-resolution.yaml").read_text(encoding="utf-8")
    definition = parse_questionnaire(text)
    questions = {q["key"]: q for q in definition["questions"]}
    summary = {k: (q["type"], q["attribute"], q["required"]) for k, q in questions.items()}
    assert summary == {
        "overall": ("rating", "overall", True),
        "resolved": ("yes_no", "resolution", False),
        "timeliness": ("rating", "timeliness", False),
        "courtesy": ("rating", "courtesy", False),
        "clarity": ("rating", "clarity", False),
        "recommend": ("nps", "loyalty", False),
        "improve": ("text", None, False),
    }
    assert [k for k, q in questions.items() if q["email_embed"]] == ["overall"]
    assert questions["improve"]["show_if"] == 'overall <= 2 or resolved == "no"'
    assert questions["improve"]["max_length"] == 1000
    for key in ("overall", "timeliness", "courtesy", "clarity", "recommend"):
        assert set(questions[key]["labels"]) == {"low", "high"}
    assert questions["overall"]["text"]["tr"].endswith("ne kadar memnun kaldınız?")
    assert questions["overall"]["labels"]["high"]["nl"] == "Zeer tevreden"


def test_iso10004_template_pairs_importance_with_performance() -> None:
    text = (TEMPLATES / "iso10004-full.yaml").read_text(encoding="utf-8")
    questions = parse_questionnaire(text)["questions"]
    attributes = ["accessibility", "responsiveness", "objectivity", "confidentiality",
                  "customer_focus"]
    for attribute in attributes:
        kinds = sorted(q["type"] for q in questions if q["attribute"] == attribute)
        assert kinds == ["importance", "rating"], attribute
    assert {q["attribute"] for q in questions} >= {"overall", "loyalty"}


def test_ces_template_uses_the_effort_scale() -> None:
    questions = parse_questionnaire((TEMPLATES / "ces.yaml").read_text(encoding="utf-8"))[
        "questions"
    ]
    assert questions[0]["type"] == "effort"
    assert questions[1]["show_if"] == "effort <= 3"


# --- bad documents: every message -------------------------------------------------------------

def test_every_problem_is_reported_at_once_with_its_line() -> None:
    text = textwrap.dedent("""\
    key: Bad Key
    languages: [tr, en]
    title: {tr: Başlık, en: Title, de: Titel}
    intro: {tr: Giriş}
    thanks: Thanks
    colour: blue
    questions:
      - key: overall
        type: rating
        text: {tr: Genel, en: Overall}
        requird: true
      - key: overall
        type: stars
        text: {tr: X, en: X}
    """)
    assert errors_of(text) == [
        "line 1: the key 'Bad Key' must be lower-case letters, digits, _ or -, starting with a "
        "letter, at most 64 characters",
        "line 3, field 'title': translation for 'de', which is not in languages",
        "line 4, field 'intro': missing the English text",
        "line 5, field 'thanks': needs one text per language (tr, en), as a mapping such as "
        "tr: ...",
        "line 6: unknown field 'colour'",
        "line 11, question 'overall': unknown field 'requird'; did you mean 'required'?",
        "line 12, question 'overall', field 'key': duplicate question key 'overall' (first used "
        "by question 1)",
        "line 13, question 'overall', field 'type': unknown type 'stars'; use one of rating, nps, "
        "effort, likert, yes_no, single_choice, multi_choice, text, importance",
    ]


def test_missing_fields() -> None:
    assert errors_of("key: x\nlanguages: [tr, en]\n") == [
        "line 1: missing field 'title'",
        "line 1: missing field 'intro'",
        "line 1: missing field 'thanks'",
        "line 1: missing field 'questions'",
    ]
    assert errors_of(doc("questions:\n  - {key: a}\n")) == [
        "line 8, question 'a': missing field 'type'",
        "line 8, question 'a': missing field 'text'",
    ]


def test_languages_must_be_codes_listed_once() -> None:
    text = GOOD.replace("languages: [tr, en]", "languages: [en, EN, en, 7]")
    assert errors_of(text) == [
        "line 2: 'EN' is not a language code such as tr or en",
        "line 2: language 'en' is listed twice",
        "line 2: 7 is not a language code such as tr or en",
        "line 3, field 'title': translation for 'tr', which is not in languages",
        "line 4, field 'intro': translation for 'tr', which is not in languages",
        "line 5, field 'thanks': translation for 'tr', which is not in languages",
        "line 12, question 'overall', field 'text': translation for 'tr', which is not in "
        "languages",
        "line 14, question 'overall', field 'labels.low': translation for 'tr', which is not in "
        "languages",
        "line 15, question 'overall', field 'labels.high': translation for 'tr', which is not in "
        "languages",
        "line 18, question 'channel', field 'text': translation for 'tr', which is not in "
        "languages",
        "line 20, question 'channel', option 1: translation for 'tr', which is not in languages",
        "line 21, question 'channel', option 2: translation for 'tr', which is not in languages",
        "line 25, question 'why', field 'text': translation for 'tr', which is not in languages",
    ]


def test_missing_translations_are_named_for_every_translated_field() -> None:
    text = GOOD.replace("languages: [tr, en]", "languages: [tr, en, nl]")
    errors = errors_of(text)
    assert errors == [
        "line 3, field 'title': missing the Nederlands text",
        "line 4, field 'intro': missing the Nederlands text",
        "line 5, field 'thanks': missing the Nederlands text",
        "line 12, question 'overall', field 'text': missing the Nederlands text",
        "line 14, question 'overall', field 'labels.low': missing the Nederlands text",
        "line 15, question 'overall', field 'labels.high': missing the Nederlands text",
        "line 18, question 'channel', field 'text': missing the Nederlands text",
        "line 20, question 'channel', option 1: missing the Nederlands text",
        "line 21, question 'channel', option 2: missing the Nederlands text",
        "line 25, question 'why', field 'text': missing the Nederlands text",
    ]


def test_empty_translation_is_an_error() -> None:
    text = doc("""\
    questions:
      - key: a
        type: yes_no
        text: {tr: "  ", en: 5}
    """)
    assert errors_of(text) == [
        "line 10, question 'a', field 'text': the 'tr' translation must be non-empty text",
        "line 10, question 'a', field 'text': the 'en' translation must be non-empty text",
    ]


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("Overall", "the key 'Overall' must be"),
        ("1st", "the key '1st' must be"),
        ("over-all", "the key 'over-all' must be"),
        ("a" * 65, "the key 'aaaa"),
        ("[a]", "the key ['a'] must be"),
    ],
)
def test_bad_question_key_pattern(key: str, message: str) -> None:
    text = doc(f"""\
    questions:
      - key: {key}
        type: yes_no
        text: {{tr: A, en: A}}
    """)
    (error,) = errors_of(text)
    assert error.startswith(f"line 8, question '#1', field 'key': {message}")
    assert error.endswith("must be lower-case letters, digits and _, starting with a letter, "
                          "at most 64 characters")


def test_duplicate_yaml_entries_are_caught() -> None:
    text = doc("""\
    questions:
      - key: a
        type: yes_no
        text: {tr: A, en: A}
        text: {tr: B, en: B}
    """)
    assert errors_of(text) == ["line 11: duplicate entry 'text' (first on line 10)"]


def test_json_duplicates_and_syntax_errors_have_lines() -> None:
    as_json = json.dumps(yaml.safe_load(GOOD), indent=1)
    duplicated = as_json.replace('"key": "short",', '"key": "short",\n "key": "other",')
    assert errors_of(duplicated) == ["line 3: duplicate entry 'key' (first on line 2)"]
    assert errors_of('{"key": "x",\n "languages": ["tr" "en"]}') == [
        "line 2: not valid JSON: Expecting ',' delimiter"
    ]


def test_yaml_in_flow_style_is_not_mistaken_for_json() -> None:
    flow = "{" + ", ".join(GOOD_FLOW) + "}"
    assert parse_questionnaire(flow) == parse_questionnaire(GOOD)


GOOD_FLOW = [
    "key: short",
    "languages: [tr, en]",
    "title: {tr: Kısa anket, en: Short survey}",
    "intro: {tr: Giriş, en: Intro}",
    "thanks: {tr: Teşekkürler, en: Thanks}",
    "questions: [{key: overall, type: rating, attribute: overall, required: true, "
    "email_embed: true, text: {tr: 'Memnun musunuz?', en: 'Are you satisfied?'}, "
    "labels: {low: {tr: Hiç, en: Not at all}, high: {tr: Çok, en: Very}}}, "
    "{key: channel, type: single_choice, text: {tr: Kanal, en: Channel}, options: ["
    "{key: web, label: {tr: İnternet, en: Web}}, {key: phone, label: {tr: Telefon, en: Phone}}]},"
    " {key: why, type: text, show_if: 'overall <= 2 or channel == \"phone\"', "
    "text: {tr: 'Neden?', en: 'Why?'}}]",
]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("key: [", "line 1: not valid YAML: while parsing a flow node expected the node "
                   "content, but found '<stream end>'"),
        ("key: x\n  bad: indent\n", "line 2: not valid YAML: mapping values are not allowed "
                                    "here"),
        ("key: x\n---\nkey: y\n", "line 2: not valid YAML: expected a single document in the "
                                  "stream but found another document"),
        ("", "the document is empty"),
        ("# only a comment\n", "the document is empty"),
        ("just text", "line 1: the document must be a mapping with the fields key, languages, "
                      "title, intro, thanks, questions"),
        ("- a\n- b\n", "line 1: the document must be a mapping with the fields key, languages, "
                       "title, intro, thanks, questions"),
        ("x: !!python/object/apply:os.system [ls]", "line 1: not valid YAML: could not "
         "determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'"),
    ],
)
def test_unreadable_documents(text: str, message: str) -> None:
    assert errors_of(text) == [message]


def test_alias_bombs_are_refused() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for name, previous in zip("bcdefg", "abcdef", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 10) + "]")
    assert errors_of("\n".join(lines)) == ["the document has more than 50000 elements"]


def test_deep_nesting_is_refused() -> None:
    assert errors_of("[" * 50_000) == ["the document is nested too deeply"]  # read as JSON
    assert errors_of("a: " + "[" * 50_000) == ["the document is nested too deeply"]  # YAML
    assert errors_of("a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 30))) == [
        "the document is nested more than 20 levels"
    ]


def test_email_embed_rules() -> None:
    text = doc("""\
    questions:
      - key: first
        type: rating
        email_embed: true
        text: {tr: A, en: A}
      - key: second
        type: nps
        email_embed: true
        text: {tr: B, en: B}
      - key: third
        type: yes_no
        email_embed: true
        show_if: first == 1
        text: {tr: C, en: C}
      - key: fourth
        type: rating
        email_embed: "yes"
        text: {tr: D, en: D}
    """)
    assert errors_of(text) == [
        "line 14, question 'second', field 'email_embed': only one question may have "
        "email_embed; 'first' already has it",
        "line 18, question 'third', field 'email_embed': email_embed is only for a rating or nps "
        "question",
        "line 18, question 'third', field 'email_embed': a question embedded in the e-mail "
        "cannot have show_if",
        "line 18, question 'third', field 'email_embed': only one question may have "
        "email_embed; 'first' already has it",
        "line 23, question 'fourth', field 'email_embed': must be true or false",
    ]


def test_choice_question_rules() -> None:
    text = doc("""\
    questions:
      - key: none
        type: single_choice
        text: {tr: A, en: A}
      - key: one
        type: multi_choice
        text: {tr: B, en: B}
        options:
          - {key: only, label: {tr: T, en: O}}
      - key: dup
        type: single_choice
        text: {tr: C, en: C}
        options:
          - {key: same, label: {tr: A, en: A}}
          - {key: same, label: {tr: B, en: B}}
          - {key: no, label: {tr: H, en: N}}
          - {key: x, colour: red}
      - key: misplaced
        type: rating
        text: {tr: D, en: D}
        options:
          - {key: a, label: {tr: A, en: A}}
        max_length: 10
    """)
    assert errors_of(text) == [
        "line 8, question 'none', field 'options': a choice question needs options",
        "line 14, question 'one', field 'options': a choice question needs at least two options",
        "line 21, question 'dup', option 2: duplicate option key 'same'",
        "line 22, question 'dup', option 3: the key False must be lower-case "
        "letters, digits and _ (YAML reads yes/no/on/off as true/false: put the key in quotes)",
        "line 23, question 'dup', option 4: unknown field 'colour'",
        "line 23, question 'dup', option 4: has no label",
        "line 27, question 'misplaced', field 'options': only single_choice and multi_choice "
        "questions have options",
        "line 29, question 'misplaced', field 'max_length': only text questions have max_length",
    ]


@pytest.mark.parametrize("value", ["0", "-5", "1.5", "true", "'100'", "10001"])
def test_max_length_must_be_positive_and_bounded(value: str) -> None:
    text = doc(f"""\
    questions:
      - key: note
        type: text
        max_length: {value}
        text: {{tr: A, en: A}}
    """)
    assert errors_of(text) == [
        "line 10, question 'note', field 'max_length': max_length must be a whole number from 1 "
        "to 10000"
    ]


def test_max_length_is_kept_when_valid() -> None:
    text = doc("""\
    questions:
      - {key: note, type: text, max_length: 250, text: {tr: A, en: A}}
    """)
    assert parse_questionnaire(text)["questions"][0]["max_length"] == 250


def test_labels_rules() -> None:
    text = doc("""\
    questions:
      - key: a
        type: rating
        text: {tr: A, en: A}
        labels: {low: {tr: Az, en: Low}, middle: {tr: O, en: M}}
      - key: b
        type: yes_no
        text: {tr: B, en: B}
        labels: {low: {tr: Az, en: Low}, high: {tr: Çok, en: High}}
      - key: c
        type: nps
        text: {tr: C, en: C}
        labels: low and high
    """)
    assert errors_of(text) == [
        "line 11, question 'a': unknown field 'middle'",
        "line 11, question 'a', field 'labels': missing 'high'",
        "line 15, question 'b', field 'labels': only scale questions (rating, likert, "
        "importance, effort, nps) have labels",
        "line 19, question 'c', field 'labels': labels must be a mapping with low and high",
    ]


def test_show_if_rules() -> None:
    text = doc("""\
    questions:
      - key: first
        type: rating
        show_if: first >= 3
        text: {tr: A, en: A}
      - key: second
        type: yes_no
        show_if: later == 1 or nowhere > 2
        text: {tr: B, en: B}
      - key: third
        type: text
        show_if: first <= 2 and
        text: {tr: C, en: C}
      - key: later
        type: rating
        show_if: first == "good" or second == 1 or second == "maybe"
        text: {tr: D, en: D}
      - key: fifth
        type: text
        show_if: 3
        text: {tr: E, en: E}
    """)
    assert errors_of(text) == [
        "line 10, question 'first', field 'show_if': show_if cannot read the answer to its own "
        "question",
        "line 14, question 'second', field 'show_if': show_if reads 'later', which is asked "
        "later; only earlier answers are known",
        "line 14, question 'second', field 'show_if': show_if reads 'nowhere', which is not a "
        "question key",
        "line 18, question 'third', field 'show_if': expected a value, found the end of the "
        "expression (at position 15)",
        "line 22, question 'later', field 'show_if': show_if compares 'first', answered with a "
        "number, with the text 'good'",
        "line 22, question 'later', field 'show_if': show_if compares 'second', answered with an "
        "option, with the number 1; compare with one of yes, no",
        "line 22, question 'later', field 'show_if': 'second' has no option 'maybe'",
        "line 26, question 'fifth', field 'show_if': show_if must be an expression in text, "
        "such as overall <= 2",
    ]


def test_show_if_checks_choice_options() -> None:
    text = GOOD.replace('channel == "phone"', 'channel == "fax"')
    assert errors_of(text) == [
        "line 24, question 'why', field 'show_if': 'channel' has no option 'fax'"
    ]


def test_importance_needs_an_attribute_and_a_pair() -> None:
    text = doc("""\
    questions:
      - key: speed
        type: rating
        attribute: speed
        text: {tr: A, en: A}
      - key: speed_importance
        type: importance
        attribute: speed
        text: {tr: B, en: B}
      - key: speed_importance_again
        type: importance
        attribute: speed
        text: {tr: C, en: C}
      - key: unpaired
        type: importance
        attribute: courtesy
        text: {tr: D, en: D}
      - key: loose
        type: importance
        text: {tr: E, en: E}
      - key: odd
        type: likert
        attribute: Odd Name
        text: {tr: F, en: F}
    """)
    assert errors_of(text) == [
        "line 18, question 'speed_importance_again', field 'attribute': another importance "
        "question already weighs 'speed'",
        "line 22, question 'unpaired', field 'attribute': no rating or likert question has the "
        "attribute 'courtesy' to pair this importance question with",
        "line 24, question 'loose', field 'attribute': an importance question needs the "
        "attribute it weighs",
        "line 29, question 'odd', field 'attribute': 'Odd Name' is not an attribute name "
        "(lower-case letters, digits and _)",
    ]


def test_questions_must_be_a_list_of_mappings() -> None:
    assert errors_of(doc("questions: []\n")) == [
        "line 7: questions must be a non-empty list"
    ]
    assert errors_of(doc("questions:\n  - just text\n")) == [
        "line 8: question 1 must be a mapping"
    ]


def test_error_text_names_the_source() -> None:
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire("key: [", "mine.yaml")
    assert str(caught.value).startswith("mine.yaml:\n  line 1: not valid YAML")
    assert caught.value.problems[0].line == 1


def test_problems_know_question_and_field_for_the_editor() -> None:
    text = GOOD.replace("type: text", "type: text\n    max_length: 0")
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(text)
    (problem,) = caught.value.problems
    assert (problem.question, problem.field, problem.line) == ("why", "max_length", 24)


def test_one_language_is_enough() -> None:
    """A Turkish-only questionnaire is valid: every text in Turkish, and only in Turkish."""
    turkish_only = yaml.safe_load(GOOD)
    turkish_only["languages"] = ["tr"]

    def keep_turkish(node):
        if isinstance(node, dict):
            if "tr" in node and "en" in node:
                return {"tr": node["tr"]}
            return {key: keep_turkish(value) for key, value in node.items()}
        if isinstance(node, list):
            return [keep_turkish(item) for item in node]
        return node

    definition = normalise_definition(keep_turkish(turkish_only))
    assert definition["languages"] == ["tr"]
    assert set(definition["title"]) == {"tr"}


def test_no_language_at_all_is_refused() -> None:
    assert errors_of(GOOD.replace("languages: [tr, en]", "languages: []"))[0] == (
        "line 2: languages must list at least one language, such as [tr] or [tr, en]")


def test_a_missing_option_text_names_the_question_the_option_and_the_language_once() -> None:
    text = GOOD.replace("languages: [tr, en]", "languages: [tr, en, nl]")
    options = [e for e in errors_of(text) if "option" in e]
    assert options == [
        "line 20, question 'channel', option 1: missing the Nederlands text",
        "line 21, question 'channel', option 2: missing the Nederlands text",
    ]
