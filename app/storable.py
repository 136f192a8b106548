"""Whether a piece of text can be stored: the one check behind the URL converters, the staff
forms and the dashboards' query parsing.

PostgreSQL refuses NUL in text and no database driver encodes a lone surrogate, so either one
reaching a query is a server error; other control characters are never part of a name, key or
note anyone types. Line breaks and tabs are allowed where the caller says so (a note or a
description spans lines). Pure Python: analytics, dashboards and the web layer all use it.
"""

from __future__ import annotations

import re

# C0 controls except tab, LF and CR; DEL and the C1 controls; lone UTF-16 surrogates.
_UNSTORABLE_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_UNSTORABLE_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def storable(value: str, *, multiline: bool = False) -> bool:
    """False when ``value`` holds NUL, another control character (tab, LF and CR allowed only
    when ``multiline``) or a lone surrogate."""
    pattern = _UNSTORABLE_IN_TEXT if multiline else _UNSTORABLE_IN_LINE
    return pattern.search(value) is None
