"""The ``show_if`` language: a small, safe expression over earlier answers.

Grammar (``or`` binds loosest)::

    expression := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison | "(" expression ")"
    comparison := value ("==" | "!=" | "<" | "<=" | ">" | ">=") value
    value      := NUMBER | STRING | KEY

Examples: ``overall <= 2``, ``resolved == "no" and recommend < 7``, ``not (overall >= 4)``.

The text is tokenised and parsed here into a tree of the classes below, and the tree is
evaluated here too: nothing is ever handed to ``eval``/``exec``/``compile``, there are no
attribute look-ups and no calls, so a questionnaire can read nothing but the answers it is
given. Length and nesting are bounded so that hostile text cannot exhaust the stack.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import gettext as _

MAX_LENGTH = 500
MAX_DEPTH = 32
KEY_RE = re.compile(r"[a-z][a-z0-9_]*\Z")
KEYWORDS = frozenset({"and", "or", "not"})
OPERATORS = ("==", "!=", "<=", ">=", "<", ">")
ORDERING = frozenset({"<", "<=", ">", ">="})


class ExpressionError(ValueError):
    """The expression cannot be parsed; ``position`` is the 1-based character it stumbled on."""

    def __init__(self, message: str, position: int | None = None) -> None:
        self.reason = message
        self.position = position
        if position is not None:
            message = _("%(message)s (at position %(n)d)", message=message, n=position)
        super().__init__(message)


class Expr:
    """A node of a parsed expression."""

    position: int


@dataclass(frozen=True)
class Literal(Expr):
    value: float | int | str
    position: int


@dataclass(frozen=True)
class Key(Expr):
    """The answer to the question with this key."""

    name: str
    position: int


@dataclass(frozen=True)
class Compare(Expr):
    op: str
    left: Literal | Key
    right: Literal | Key
    position: int


@dataclass(frozen=True)
class Not(Expr):
    operand: Expr
    position: int


@dataclass(frozen=True)
class And(Expr):
    operands: tuple[Expr, ...]
    position: int


@dataclass(frozen=True)
class Or(Expr):
    operands: tuple[Expr, ...]
    position: int


# --- tokens -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Token:
    kind: str  # "number", "string", "name", "op", "(", ")", "end"
    text: str
    position: int  # 1-based
    value: float | int | str | None = None


_NUMBER_RE = re.compile(r"-?\d+(\.\d+)?")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char in " \t\r\n":
            i += 1
        elif char in "()":
            tokens.append(Token(char, char, i + 1))
            i += 1
        elif text.startswith(OPERATORS, i):
            op = next(o for o in OPERATORS if text.startswith(o, i))
            tokens.append(Token("op", op, i + 1))
            i += len(op)
        elif char == "=":
            raise ExpressionError(_("a single '=' is not a comparison; write '=='"), i + 1)
        elif char == '"':
            token, i = _read_string(text, i)
            tokens.append(token)
        elif number := _NUMBER_RE.match(text, i):
            literal = number.group()
            value = float(literal) if number.group(1) else int(literal)
            tokens.append(Token("number", literal, i + 1, value))
            i = number.end()
        elif name := _NAME_RE.match(text, i):
            tokens.append(Token("name", name.group(), i + 1))
            i = name.end()
        elif char == "'":
            raise ExpressionError(_('text goes in double quotes ("no"), not single quotes'), i + 1)
        else:
            raise ExpressionError(_("unexpected character %(char)r", char=char), i + 1)
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


def _read_string(text: str, start: int) -> tuple[Token, int]:
    """Read a double-quoted string; only \\" and \\\\ are escapes."""
    chars: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == '"':
            return Token("string", text[start : i + 1], start + 1, "".join(chars)), i + 1
        if char == "\\" and i + 1 < len(text) and text[i + 1] in '"\\':
            chars.append(text[i + 1])
            i += 2
            continue
        if char == "\n":
            break
        chars.append(char)
        i += 1
    raise ExpressionError(_("a string is not closed with '\"'"), start + 1)


# --- parser -----------------------------------------------------------------------------------

class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def is_keyword(self, word: str) -> bool:
        return self.current.kind == "name" and self.current.text == word

    def nest(self, position: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(_("nested more than %(n)d levels deep", n=MAX_DEPTH), position)

    def parse(self) -> Expr:
        expr = self.parse_or()
        if self.current.kind != "end":
            raise ExpressionError(
                _("unexpected %(found)s", found=_describe(self.current)), self.current.position
            )
        return expr

    def parse_or(self) -> Expr:
        first = self.parse_and()
        operands = [first]
        while self.is_keyword("or"):
            self.advance()
            operands.append(self.parse_and())
        return first if len(operands) == 1 else Or(tuple(operands), first.position)

    def parse_and(self) -> Expr:
        first = self.parse_not()
        operands = [first]
        while self.is_keyword("and"):
            self.advance()
            operands.append(self.parse_not())
        return first if len(operands) == 1 else And(tuple(operands), first.position)

    def parse_not(self) -> Expr:
        if self.is_keyword("not"):
            token = self.advance()
            self.nest(token.position)
            operand = self.parse_not()
            self.depth -= 1
            return Not(operand, token.position)
        return self.parse_comparison()

    def parse_comparison(self) -> Expr:
        left = self.parse_operand()
        if not isinstance(left, Literal | Key):
            if self.current.kind == "op":
                raise ExpressionError(
                    _("a condition cannot be compared with '%(op)s'", op=self.current.text),
                    self.current.position,
                )
            return left  # a parenthesised condition
        op = self.current
        if op.kind != "op":
            raise ExpressionError(
                _(
                    "expected a comparison (==, !=, <, <=, >, >=) after %(value)s, found %(found)s",
                    value=_describe_node(left),
                    found=_describe(op),
                ),
                op.position,
            )
        self.advance()
        right = self.parse_operand()
        if not isinstance(right, Literal | Key):
            raise ExpressionError(_("a condition cannot be compared"), right.position)
        for side in (left, right):
            if op.text in ORDERING and isinstance(side, Literal) and isinstance(side.value, str):
                raise ExpressionError(
                    _("text can only be compared with == or !=, not '%(op)s'", op=op.text),
                    side.position,
                )
        return Compare(op.text, left, right, left.position)

    def parse_operand(self) -> Expr:
        """A value, or a parenthesised condition."""
        token = self.current
        if token.kind == "(":
            self.advance()
            self.nest(token.position)
            inner = self.parse_or()
            self.depth -= 1
            if self.current.kind != ")":
                raise ExpressionError(
                    _(
                        "expected ')' to close the '(' at position %(open)d, found %(found)s",
                        open=token.position,
                        found=_describe(self.current),
                    ),
                    self.current.position,
                )
            self.advance()
            return inner
        if token.kind in ("number", "string"):
            self.advance()
            assert token.value is not None
            return Literal(token.value, token.position)
        if token.kind == "name":
            if token.text in KEYWORDS:
                raise ExpressionError(
                    _("expected a value, found '%(word)s'", word=token.text), token.position
                )
            if not KEY_RE.match(token.text):
                raise ExpressionError(
                    _(
                        "'%(name)s' is not a question key (lower-case letters, digits and _, "
                        "starting with a letter)",
                        name=token.text,
                    ),
                    token.position,
                )
            self.advance()
            return Key(token.text, token.position)
        raise ExpressionError(
            _("expected a value, found %(found)s", found=_describe(token)), token.position
        )


def _describe(token: Token) -> str:
    if token.kind == "end":
        return _("the end of the expression")
    return f"'{token.text}'"


def _describe_node(node: Literal | Key) -> str:
    return f"'{node.name}'" if isinstance(node, Key) else repr(node.value)


# --- public API -------------------------------------------------------------------------------

def parse(text: str) -> Expr:
    """Parse ``text`` into a tree, or raise :class:`ExpressionError` saying where and why."""
    if not isinstance(text, str):
        raise ExpressionError(_("an expression must be text"))
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            _("the expression is longer than %(n)d characters", n=MAX_LENGTH)
        )
    if not text.strip():
        raise ExpressionError(_("the expression is empty"))
    return _parse_cached(text)


@functools.lru_cache(maxsize=512)
def _parse_cached(text: str) -> Expr:
    # Respondent pages evaluate the same few conditions over and over; trees are immutable.
    return _Parser(text).parse()


def referenced_keys(expr: Expr | str) -> set[str]:
    """Every question key the expression reads."""
    node = parse(expr) if isinstance(expr, str) else expr
    if isinstance(node, Key):
        return {node.name}
    if isinstance(node, Compare):
        return referenced_keys(node.left) | referenced_keys(node.right)
    if isinstance(node, Not):
        return referenced_keys(node.operand)
    if isinstance(node, And | Or):
        return set().union(*(referenced_keys(o) for o in node.operands))
    return set()


def comparisons(expr: Expr) -> list[Compare]:
    """Every comparison in the tree, in reading order (used to check them against questions)."""
    if isinstance(expr, Compare):
        return [expr]
    if isinstance(expr, Not):
        return comparisons(expr.operand)
    if isinstance(expr, And | Or):
        return [c for operand in expr.operands for c in comparisons(operand)]
    return []


_MISSING = object()


def evaluate(expr: Expr | str, answers: Mapping[str, object]) -> bool:
    """Evaluate against ``answers`` (question key -> answer).

    Answers are numbers for scales, option keys for choices (``"yes"``/``"no"`` for yes_no) and
    a list of option keys for multi_choice, where ``==`` means "was chosen". A comparison that
    reads an unanswered question (absent, None, empty) is false, whatever its operator; numbers
    given as text (as they come from a form) compare as numbers.
    """
    node = parse(expr) if isinstance(expr, str) else expr
    return _evaluate(node, answers)


def _evaluate(node: Expr, answers: Mapping[str, object]) -> bool:
    if isinstance(node, Compare):
        return _compare(node.op, _value(node.left, answers), _value(node.right, answers))
    if isinstance(node, Not):
        return not _evaluate(node.operand, answers)
    if isinstance(node, And):
        return all(_evaluate(operand, answers) for operand in node.operands)
    if isinstance(node, Or):
        return any(_evaluate(operand, answers) for operand in node.operands)
    raise ExpressionError(_("a value on its own is not a condition"), node.position)


def _value(node: Literal | Key, answers: Mapping[str, object]) -> object:
    if isinstance(node, Literal):
        return node.value
    value = answers.get(node.name, _MISSING)
    if value is None or value == "" or (isinstance(value, list | tuple | set) and not value):
        return _MISSING
    return value


def _compare(op: str, left: object, right: object) -> bool:
    if left is _MISSING or right is _MISSING:
        return False
    if isinstance(left, list | tuple | set | frozenset):
        return _compare_chosen(op, left, right)
    if isinstance(right, list | tuple | set | frozenset):
        return _compare_chosen(op, right, left)
    left, right = _as_number(left, right), _as_number(right, left)
    if _is_number(left) and _is_number(right):
        return _ORDER[op](left, right)
    if isinstance(left, str) and isinstance(right, str) and op in ("==", "!="):
        return (left == right) == (op == "==")
    return False  # different kinds of value (or ordering text) never match


def _compare_chosen(op: str, chosen: object, value: object) -> bool:
    if op not in ("==", "!=") or not isinstance(value, str):
        return False
    assert isinstance(chosen, list | tuple | set | frozenset)
    return (value in chosen) == (op == "==")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_number(value: object, other: object) -> object:
    """Form values arrive as text: read "3" as 3 when it is compared with a number."""
    if isinstance(value, str) and _is_number(other) and _NUMBER_RE.fullmatch(value.strip()):
        text = value.strip()
        return float(text) if "." in text else int(text)
    return value


_ORDER = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
