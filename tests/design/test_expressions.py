"""The show_if language: what it means, and that hostile text can do nothing but fail."""

from __future__ import annotations

import pytest

from app.questionnaires.expressions import (
    MAX_LENGTH,
    And,
    Compare,
    ExpressionError,
    Key,
    Literal,
    Not,
    Or,
    evaluate,
    parse,
    referenced_keys,
)

ANSWERS = {"overall": 2, "resolved": "no", "recommend": 9, "reasons": ["slow", "rude"]}


def test_parse_builds_the_tree() -> None:
    tree = parse('overall <= 2 or resolved == "no" and not recommend > 8')
    assert tree == Or(
        (
            Compare("<=", Key("overall", 1), Literal(2, 12), 1),
            And(
                (
                    Compare("==", Key("resolved", 17), Literal("no", 29), 17),
                    Not(Compare(">", Key("recommend", 42), Literal(8, 54), 42), 38),
                ),
                17,
            ),
        ),
        1,
    )


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("overall <= 2", True),
        ("overall < 2", False),
        ("overall == 2", True),
        ("overall != 2", False),
        ("overall >= 2.5", False),
        ("overall > 1", True),
        ('resolved == "no"', True),
        ('resolved != "no"', False),
        ('"no" == resolved', True),
        ("2 >= overall", True),
        ('overall <= 2 or resolved == "yes"', True),
        ('overall <= 1 or resolved == "yes"', False),
        ('resolved == "no" and recommend < 7', False),
        ('resolved == "no" and recommend >= 7', True),
        ("not overall <= 2", False),
        ("not not overall <= 2", True),
        # and binds tighter than or; parentheses change that
        ("overall == 1 and recommend == 9 or recommend == 9", True),
        ("overall == 1 and (recommend == 9 or recommend == 9)", False),
        ("(overall == 2)", True),
        ("((overall == 2) and (recommend == 9))", True),
        ("overall==2 and recommend==9", True),
        ("1 == 1", True),
        ("-1 < 0", True),
        # a multiple choice: == means "was chosen"
        ('reasons == "slow"', True),
        ('reasons == "other"', False),
        ('reasons != "other"', True),
        ('reasons != "rude"', False),
        ("reasons > 1", False),
        # different kinds of value never match
        ('overall == "2x"', False),
        ('resolved == 0', False),
    ],
)
def test_evaluate(expression: str, expected: bool) -> None:
    assert evaluate(expression, ANSWERS) is expected
    assert evaluate(parse(expression), ANSWERS) is expected


@pytest.mark.parametrize("operator", ["==", "!=", "<", "<=", ">", ">="])
@pytest.mark.parametrize("unanswered", [{}, {"nps": None}, {"nps": ""}, {"nps": []}])
def test_an_unanswered_question_makes_every_comparison_false(
    operator: str, unanswered: dict[str, object]
) -> None:
    assert evaluate(f"nps {operator} 5", unanswered) is False
    # ... which `not` can turn round, deliberately: "not (nps >= 7)" shows to the unanswered
    assert evaluate(f"not nps {operator} 5", unanswered) is True


def test_form_values_given_as_text_compare_as_numbers() -> None:
    assert evaluate("overall <= 2", {"overall": "2"}) is True
    assert evaluate("overall <= 2", {"overall": "3"}) is False
    assert evaluate("overall == 2.5", {"overall": "2.5"}) is True
    assert evaluate('overall == "2"', {"overall": "2"}) is True


def test_strings_with_escapes() -> None:
    assert evaluate(r'answer == "say \"hi\" \\ bye"', {"answer": 'say "hi" \\ bye'}) is True
    assert evaluate('answer == "ş ğ İ ı"', {"answer": "ş ğ İ ı"}) is True


def test_referenced_keys() -> None:
    assert referenced_keys('overall <= 2 or resolved == "no"') == {"overall", "resolved"}
    assert referenced_keys(parse("not (a == 1 and (b != c or 1 < d))")) == {"a", "b", "c", "d"}
    assert referenced_keys("1 == 1") == set()


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os')", "text goes in double quotes (\"no\"), not single quotes "
                             "(at position 12)"),
        ('__import__("os").system("ls")', "unexpected character '.' (at position 17)"),
        ('__import__("os") == 1', "'__import__' is not a question key (lower-case letters, "
                                  "digits and _, starting with a letter) (at position 1)"),
        ("overall.__class__ == 1", "unexpected character '.' (at position 8)"),
        ("answers.get(\"x\") == 1", "unexpected character '.' (at position 8)"),
        ('open("/etc/passwd") == 1', "expected a comparison (==, !=, <, <=, >, >=) after "
                                     "'open', found '(' (at position 5)"),
        ("len(overall) > 1", "expected a comparison (==, !=, <, <=, >, >=) after 'len', "
                             "found '(' (at position 4)"),
        ("overall[0] == 1", "unexpected character '[' (at position 8)"),
        ("lambda: 1", "unexpected character ':' (at position 7)"),
        ("overall + 1 > 2", "unexpected character '+' (at position 9)"),
        ("overall = 2", "a single '=' is not a comparison; write '==' (at position 9)"),
        ("overall == 1 == 2", "unexpected '==' (at position 14)"),
        ('overall < "x"', "text can only be compared with == or !=, not '<' (at position 11)"),
        ("overall", "expected a comparison (==, !=, <, <=, >, >=) after 'overall', found "
                    "the end of the expression (at position 8)"),
        ("overall and resolved", "expected a comparison (==, !=, <, <=, >, >=) after "
                                 "'overall', found 'and' (at position 9)"),
        ("(overall) == 2", "expected a comparison (==, !=, <, <=, >, >=) after 'overall', "
                           "found ')' (at position 9)"),
        ("(overall == 2) == 1", "a condition cannot be compared with '==' (at position 16)"),
        ("(overall == 2", "expected ')' to close the '(' at position 1, found the end of the "
                          "expression (at position 14)"),
        ("overall == 2)", "unexpected ')' (at position 13)"),
        ('resolved == "no', "a string is not closed with '\"' (at position 13)"),
        ("overall <=", "expected a value, found the end of the expression (at position 11)"),
        ("and == 1", "expected a value, found 'and' (at position 1)"),
        ("Overall == 1", "'Overall' is not a question key (lower-case letters, digits and _, "
                         "starting with a letter) (at position 1)"),
        ("True == 1", "'True' is not a question key (lower-case letters, digits and _, "
                      "starting with a letter) (at position 1)"),
        ("", "the expression is empty"),
        ("   ", "the expression is empty"),
        ("x == 1\x00", "unexpected character '\\x00' (at position 7)"),
    ],
)
def test_errors_say_what_and_where(expression: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(expression)
    assert str(caught.value) == message


def test_error_position_is_kept() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse("overall == 2 or resolved ! 3")
    assert caught.value.position == 26
    assert caught.value.reason == "unexpected character '!'"


def test_very_long_input_is_refused_before_parsing() -> None:
    long = " or ".join(["overall == 1"] * 1000)
    with pytest.raises(ExpressionError, match=f"longer than {MAX_LENGTH} characters"):
        parse(long)
    with pytest.raises(ExpressionError, match="longer than"):
        evaluate("a" * 10_000_000, {})


@pytest.mark.parametrize(
    "expression",
    ["(" * 200 + "a == 1" + ")" * 200, "not " * 100 + "a == 1"],
)
def test_deep_nesting_fails_cleanly(expression: str) -> None:
    with pytest.raises(ExpressionError, match="nested more than 32 levels deep"):
        parse(expression)


def test_moderate_nesting_is_fine() -> None:
    assert evaluate("(" * 30 + "a == 1" + ")" * 30, {"a": 1}) is True


@pytest.mark.parametrize("value", [None, 42, ["overall == 1"], b"overall == 1"])
def test_only_text_is_an_expression(value: object) -> None:
    with pytest.raises(ExpressionError, match="an expression must be text"):
        parse(value)  # type: ignore[arg-type]


def test_evaluation_reads_answers_and_nothing_else() -> None:
    calls: list[str] = []

    class Sneaky:
        """An answer that records any attempt to use it as more than a value."""

        def __call__(self, *args: object) -> bool:
            calls.append("call")
            return True

        def __getattr__(self, name: str) -> object:
            calls.append(name)
            raise AttributeError(name)

    answers = {"overall": Sneaky()}
    for op in ["==", "!=", "<", "<=", ">", ">="]:
        assert evaluate(f"overall {op} 1", answers) is False
    assert calls == []
    # Names a Python expression would find are not there: only the answers dict is read.
    assert evaluate("x_builtins == 1", {}) is False
    assert evaluate("evaluate == 1", {}) is False
    assert evaluate("answers == 1", {}) is False


def test_an_answer_that_is_not_a_mapping_key_is_unanswered() -> None:
    class Recording(dict[str, object]):
        seen: list[str] = []

        def get(self, key: str, default: object = None) -> object:
            self.seen.append(key)
            return super().get(key, default)

    answers = Recording(overall=3)
    assert evaluate('overall == 3 and resolved == "yes"', answers) is False
    assert answers.seen == ["overall", "resolved"]
