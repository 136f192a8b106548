"""Word forms: the stems under which a comment is found, in Turkish, Dutch, English and
Estonian, so that "çöpler" finds "çöp" and "containers" finds "container".

One implementation for both databases: the Snowball stemmers (``snowballstemmer``, the same
algorithms PostgreSQL's text search configurations use) stem a comment once, when it is stored,
into ``answer.search_terms``, a space-separated list of its stems; a search stems its words the
same way and asks for each stem (PostgreSQL: ``@@`` on a GIN index of that list; SQLite: LIKE).
Stemming in Python rather than with PostgreSQL's ``to_tsvector('turkish', ...)`` gives the same
answer on SQLite and PostgreSQL, and covers Estonian, for which PostgreSQL has no configuration.

Every stem is kept also without its marks ("cop" for "çöp"), and a search's words are stemmed in
each of the four languages, because people type Turkish without Turkish letters and search in a
language other than the comment's.
"""

from __future__ import annotations

import re
import threading
import unicodedata

import snowballstemmer

#: The stemmer of each language the surveys are answered in.
STEMMERS = {"tr": "turkish", "en": "english", "nl": "dutch", "et": "estonian"}
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_local = threading.local()  # a Snowball stemmer keeps state between calls: one per thread


def _stemmer(language: str) -> snowballstemmer.stemmer:
    cache = getattr(_local, "stemmers", None)
    if cache is None:
        cache = _local.stemmers = {}
    if language not in cache:
        cache[language] = snowballstemmer.stemmer(STEMMERS.get(language, "turkish"))
    return cache[language]


def lower(text: str, language: str | None = "tr") -> str:
    """``text`` lower-cased, Turkish I and İ as Turkish has them (I -> ı, İ -> i) for Turkish
    (and for any language when unknown, since the İ of a Turkish name is the common case)."""
    text = unicodedata.normalize("NFC", text)  # "c" + cedilla typed apart is "ç"
    if language in (None, "tr"):
        text = text.replace("I", "ı").replace("İ", "i")
    return text.lower().replace("i̇", "i")


def fold(text: str) -> str:
    """``text`` lower-cased without marks, one character for one, so that positions in the
    folded text are positions in the text: Turkish I/İ/ı/i all become i, ç c, ş s, ü u."""
    out = []
    for ch in text:
        if ch in "Iİı":
            out.append("i")
            continue
        lowered = ch.lower()
        if len(lowered) != 1:
            lowered = ch
        base = unicodedata.normalize("NFD", lowered)[:1] or lowered
        out.append(base if base.isalpha() or base.isdigit() else lowered)
    return "".join(out)


def words(text: str, language: str | None = "tr") -> list[str]:
    """The words of ``text``, lower-cased; a Turkish suffix after an apostrophe ("Ankara'da")
    is dropped, as the stemmer would; elsewhere the apostrophe is ("don't": "dont")."""
    found = [w.replace("’", "'") for w in _WORD.findall(lower(text, language))]
    if language in (None, "tr"):
        return [w.split("'")[0] for w in found]
    return [w.replace("'", "") for w in found]


def stems(text: str, language: str) -> set[str]:
    """The stems of ``text``'s words in ``language``, each also without its marks."""
    found = set(_stemmer(language).stemWords([w for w in words(text, language) if w]))
    return {s for s in found if s} | {fold(s) for s in found if s}


def search_terms(text: str | None, language: str) -> str | None:
    """What ``answer.search_terms`` holds for a comment: its stems, space-separated with a space
    at either end (so that SQLite finds a stem with LIKE '% stem %'); None for no text."""
    if not text:
        return None
    return " " + " ".join(sorted(stems(text, language))) + " "


def query_stems(query: str) -> list[set[str]]:
    """For each word of a search, the stems it may stand for: its stem in each language,
    with and without marks. A comment matches a word when it holds any of them."""
    wanted = []
    for word in words(query, None):
        forms = {fold(word)}
        for language in STEMMERS:
            forms |= stems(word, language)
        wanted.append({f for f in forms if f})
    return wanted
