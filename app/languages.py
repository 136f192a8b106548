"""The languages Memnun speaks, each by its own name, so a reader finds theirs whatever the page
language is (the switch on every staff page and dashboard, the designer's language choices)."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError

LANGUAGE_NAMES = {"tr": "Türkçe", "en": "English", "nl": "Nederlands", "et": "Eesti"}


def language_name(code: str) -> str:
    """The language's own name (Türkçe, English), so it reads right whatever the page language."""
    if code in LANGUAGE_NAMES:
        return LANGUAGE_NAMES[code]
    try:
        name = Locale.parse(code).get_display_name(code) or code
    except (ValueError, UnknownLocaleError):
        return code
    return name[:1].upper() + name[1:]
