"""Names in the order people look for them: "Çağrı Merkezi" among the C's and "İmar" among
the I's, not after "Zabıta" as code-point order puts them.

The key folds case (Turkish dotted and dotless i included) and sorts letters with their marks
(ç ğ ı ö ş ü, and the Dutch and Estonian ones) with their base letter, then breaks ties by the
marked form, so "Cadde" < "Çağrı" < "Cevre" < "Çevre" < "D...". Full Turkish tailoring
(Ç as a letter of its own after C) needs ICU; for pickers of a few hundred names this key
puts every name where a reader of any of the four languages finds it.
"""

from __future__ import annotations

import unicodedata

#: Letters with no decomposition into a base letter and a mark.
_BASE = str.maketrans({"ı": "i", "ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "đ": "d",
                       "ł": "l"})


def name_key(name: str) -> tuple[str, str]:
    """A sort key for a name: its letters without marks, then the name itself (case-folded)."""
    folded = name.replace("I", "ı").replace("İ", "i").casefold()
    bare = "".join(ch for ch in unicodedata.normalize("NFD", folded)
                   if not unicodedata.combining(ch)).translate(_BASE)
    return bare, folded
