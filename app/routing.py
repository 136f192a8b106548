"""URL converters that refuse, with a 404, path values no query can take.

Werkzeug's ``int`` converter accepts any number of digits, and its string and path converters
any character: 10^20 overflows an integer column (an error on PostgreSQL and on SQLite), and NUL
is refused by PostgreSQL. Checked here, once, every route answers 404 for them, like for any
other id or key that does not exist.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter, PathConverter, UnicodeConverter, ValidationError

from app.storable import storable

# The ids and version numbers are INTEGER columns (Mapped[int]): 32 bits on PostgreSQL.
MAX_INTEGER = 2**31 - 1


class BoundedIntegerConverter(IntegerConverter):
    """``<int:...>`` up to the largest value an INTEGER column holds."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_INTEGER)
        super().__init__(map, *args, **kwargs)


class StorableStringConverter(UnicodeConverter):
    """``<key>``, ``<string:key>``: no NUL, control characters or lone surrogates."""

    def to_python(self, value: str) -> str:
        if not storable(value):
            raise ValidationError()
        return value


class StorablePathConverter(PathConverter):
    """``<path:...>``: like the string converter, slashes allowed."""

    def to_python(self, value: str) -> str:
        if not storable(value):
            raise ValidationError()
        return value


class SentCodeConverter(UnicodeConverter):
    """``<sent:code>``: a code the REST API names in its path and checks itself, so that a bad
    one is a 422 naming the field (the API's contract), not a 404. Its view must check it."""


def register_converters(app: Flask) -> None:
    """Replace Werkzeug's converters; before any route is added, as rules bind them then."""
    app.url_map.converters.update(
        int=BoundedIntegerConverter, default=StorableStringConverter,
        string=StorableStringConverter, path=StorablePathConverter, sent=SentCodeConverter,
    )
