"""The message catalogues under app/translations.

Staff pages, e-mails and dashboards are read in Turkish first (the first users are Turkish
municipalities), then in Dutch and Estonian; English is the source language, so its catalogue
may leave messages empty. These tests keep that true as strings are added:

- every catalogue compiles (Babel's checks included) and the compiled file can be loaded;
- messages.pot holds every message the code and templates mark for translation, and every one
  of them is translated, and not fuzzy, in tr, nl and et;
- a translation keeps its message's placeholders, and formats where the message formats;
- plural forms: "3 yanıt", "3 antwoorden", "3 vastust", never the singular for three;
- a page rendered for a Turkish browser is in Turkish.

When a test here fails after new strings were added, run
``.venv/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o app/translations/messages.pot .``
and ``.venv/bin/pybabel update -i app/translations/messages.pot -d app/translations``, then
translate the new messages.
"""

from __future__ import annotations

import re
from gettext import GNUTranslations
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

from tests.support.catalogues import ROOT, TRANSLATIONS, compile_catalogues

LANGUAGES = ("tr", "en", "nl", "et")
TRANSLATED = ("tr", "nl", "et")  # English is the source: its msgstr may stay empty
TEMPLATE = TRANSLATIONS / "messages.pot"
# The keywords of the extract command in the module docstring (and the Makefile's).
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
# %(name)s style, as flask-babel formats with keyword arguments; {name} in case one appears.
NAMED = re.compile(r"%\((\w+)\)[#0\- +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|\{(\w+)\}")


def catalogue(language: str) -> Catalog:
    path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as source:
        return read_po(source, locale=language)


def template() -> Catalog:
    with TEMPLATE.open("rb") as source:
        return read_po(source)


def forms(message: Message) -> tuple[str, ...]:
    string = message.string
    return tuple(string) if isinstance(string, (list, tuple)) else (string,)


def ids(message: Message) -> tuple[str, ...]:
    return tuple(message.id) if isinstance(message.id, (list, tuple)) else (message.id,)


def placeholders(text: str) -> set[str]:
    return {a or b for a, b in NAMED.findall(text)}


def formatted(text: str) -> str | None:
    """``text`` as gettext's callers format it, or None when it is shown as it is.

    flask-babel formats with ``%`` when a message has named placeholders, and Jinja formats
    every template message, so there ``%%`` stands for one percent sign. A message that does
    not format (a bare "95% interval" in Python code) is shown unformatted."""
    try:
        return text % {name: "x" for name in placeholders(text)}
    except (TypeError, ValueError, KeyError):
        return None


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_compiles_without_errors(language: str, tmp_path: Path) -> None:
    messages = catalogue(language)
    errors = [f"{message.id!r}: {error}" for message, found in messages.check() for error in found]
    assert errors == []
    assert messages.num_plurals == 2
    assert messages.plural_expr == "(n != 1)"

    compiled = tmp_path / language / "LC_MESSAGES" / "messages.mo"
    compiled.parent.mkdir(parents=True)
    with compiled.open("wb") as target:
        write_mo(target, messages)
    with compiled.open("rb") as source:
        loaded = GNUTranslations(source)
    expected = {"tr": "Giriş yap", "en": "Log in", "nl": "Inloggen", "et": "Logi sisse"}
    assert loaded.gettext("Log in") == expected[language]


@pytest.mark.parametrize(
    ("language", "one", "three"),
    [
        ("tr", "1 yanıt", "3 yanıt"),
        ("en", "1 response", "3 responses"),
        ("nl", "1 antwoord", "3 antwoorden"),
        ("et", "1 vastus", "3 vastust"),
    ],
)
def test_plural_forms_follow_the_number(
    language: str, one: str, three: str, tmp_path: Path
) -> None:
    compiled = tmp_path / "messages.mo"
    with compiled.open("wb") as target:
        write_mo(target, catalogue(language))
    with compiled.open("rb") as source:
        loaded = GNUTranslations(source)
    for count, expected in ((1, one), (3, three)):
        text = loaded.ngettext("%(num)d response", "%(num)d responses", count)
        assert text % {"num": count} == expected


def test_template_holds_every_message_of_the_code() -> None:
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    extracted = {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS
        )
    }
    listed = {message.id if isinstance(message.id, str) else message.id[0]
              for message in template() if message.id}
    missing = sorted(extracted - listed)
    assert missing == [], "messages.pot is out of date: run pybabel extract and update"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated(language: str) -> None:
    translations = catalogue(language)
    untranslated = []
    for message in template():
        if not message.id:
            continue
        found = translations.get(message.id, message.context)
        if found is None or found.fuzzy or not all(s.strip() for s in forms(found)):
            untranslated.append(ids(message)[0])
    assert untranslated == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_the_placeholders(language: str) -> None:
    wrong = []
    for message in catalogue(language):
        if not message.id or not any(forms(message)):
            continue
        sources = ids(message)
        for index, text in enumerate(forms(message)):
            # A plural form follows msgid_plural; the first may follow the singular msgid.
            source = sources[min(index, len(sources) - 1)]
            allowed = [placeholders(source)] + ([placeholders(sources[0])] if index == 0 else [])
            if placeholders(text) not in allowed:
                wrong.append((source, text))
                continue
            # Where the message is formatted, the translation must format too (a lone % in a
            # Jinja message breaks the page), and show as many percent signs as the source.
            shown_source, shown_text = formatted(source), formatted(text)
            breaks = shown_source is not None and shown_text is None
            if breaks or (shown_source or source).count("%") != (shown_text or text).count("%"):
                wrong.append((source, text))
    assert wrong == []


@pytest.fixture
def catalogues() -> None:
    compile_catalogues()  # the app reads app/translations/*/LC_MESSAGES/messages.mo


@pytest.mark.usefixtures("catalogues")
@pytest.mark.parametrize(
    ("accept", "expected"),
    [("tr", "Giriş yap"), ("tr-TR,tr;q=0.9,en;q=0.5", "Parola"), ("nl", "Inloggen"),
     ("et", "Logi sisse"), ("en", "Log in")],
)
def test_login_page_speaks_the_browsers_language(
    client: FlaskClient, accept: str, expected: str
) -> None:
    page = client.get("/auth/login", headers={"Accept-Language": accept})
    assert page.status_code == 200
    assert expected in page.get_data(as_text=True)


@pytest.mark.usefixtures("catalogues")
def test_admin_pages_are_in_turkish(admin_client: FlaskClient) -> None:
    headers = {"Accept-Language": "tr"}
    integration = admin_client.get("/admin/integration", headers=headers).get_data(as_text=True)
    assert "Entegrasyon" in integration
    assert "API anahtarları" in integration
    assert "Log out" not in integration and "Çıkış yap" in integration
    targets = admin_client.get("/reports/targets", headers=headers).get_data(as_text=True)
    assert "Hedef belirle" in targets
    english = admin_client.get("/admin/integration", headers={"Accept-Language": "en"})
    assert "API keys" in english.get_data(as_text=True)
