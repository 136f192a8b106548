"""The respondent's pages speak Turkish, English, Dutch and Estonian: every word of ours is in
each catalogue, and each page shows it, the privacy notice (KVKK in Turkish, GDPR otherwise)
included."""

from __future__ import annotations

import re
from typing import Any

import pytest
from babel.messages.pofile import read_po

from app.models import InvitationState
from tests.support.catalogues import TRANSLATIONS
from tests.support.respond import invite, open_link

pytestmark = pytest.mark.usefixtures("compiled_catalogues")

LANGUAGES = ["tr", "en", "nl", "et"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _ours(location: str) -> bool:
    return location.startswith(("app/templates/respond/", "app/respond/"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_of_the_respondent_pages_is_translated(language: str) -> None:
    po = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as handle:
        catalogue = read_po(handle, locale=language)
    ours = [m for m in catalogue if m.id and any(_ours(f) for f, _ in m.locations)]
    assert len(ours) >= 50, "the catalogue lacks the respondent's messages: run pybabel update"
    for message in ours:
        assert message.string, f"{language}: untranslated {message.id!r}"
        assert not message.fuzzy, f"{language}: fuzzy {message.id!r}"
        assert sorted(PLACEHOLDER.findall(message.id)) == sorted(
            PLACEHOLDER.findall(message.string)
        ), f"{language}: placeholders differ in {message.id!r}"
    # Every message of our templates is in the extracted catalogue template.
    with (TRANSLATIONS / "messages.pot").open("rb") as handle:
        extracted = {m.id for m in read_po(handle) if m.id}
    for path in sorted((TRANSLATIONS.parent / "templates" / "respond").glob("*.html")):
        for text in re.findall(r"_\('([^']+)'", path.read_text()):
            assert text in extracted, f"{path.name}: {text!r} is not in messages.pot"


FOUR_LANGUAGES: dict[str, Any] = {
    "key": "respond-i18n",
    "languages": LANGUAGES,
    "title": {"tr": "Anket", "en": "Survey", "nl": "Enquête", "et": "Küsitlus"},
    "intro": {"tr": "Kısa.", "en": "Short.", "nl": "Kort.", "et": "Lühike."},
    "thanks": {"tr": "Sağ olun.", "en": "Thanks.", "nl": "Bedankt.", "et": "Tänan."},
    "questions": [
        {
            "key": "overall",
            "type": "rating",
            "required": True,
            "attribute": "overall",
            "text": {"tr": "Memnun musunuz?", "en": "Satisfied?", "nl": "Tevreden?",
                     "et": "Kas olete rahul?"},
        },
        {
            "key": "resolved",
            "type": "yes_no",
            "attribute": "resolution",
            "show_if": "overall <= 2",
            "text": {"tr": "Çözüldü mü?", "en": "Solved?", "nl": "Opgelost?", "et": "Lahendatud?"},
        },
    ],
}

# Words of ours each page must show, per language.
EXPECTED = {
    "tr": ["Gönder", "Kişisel verileriniz", "6698 sayılı", "KVKK", "Saklama süresi: 90 gün",
           "en az 5 kişilik", "Evet", "Hayır", "Yalnızca şu durumda yanıtlayın: 1. soru ≤ 2",
           "numaralı şikâyetiniz hakkında", "Artık anket almak istemiyorum"],
    "en": ["Send", "Your privacy", "GDPR", "For how long: 90 days", "at least 5 people", "Yes",
           "Answer only if: question 1 ≤ 2", "About your complaint", "I do not want any more"],
    "nl": ["Verzenden", "Uw privacy", "(AVG)", "Hoe lang: 90 dagen", "ten minste 5 personen",
           "Ja", "Nee", "Alleen beantwoorden als: vraag 1 ≤ 2", "Over uw klacht",
           "Ik wil geen enquêtes meer ontvangen"],
    "et": ["Saada", "Teie privaatsus", "(IKÜM)", "Kui kaua: 90 päeva", "vähemalt 5 inimesest",
           "Jah", "Ei", "Vastake ainult siis, kui: 1. küsimus ≤ 2", "kaebuse CMP-2026-0001 kohta",
           "Ma ei soovi enam küsitlusi"],
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_survey_page_in_each_language_with_its_privacy_notice(make_app, language) -> None:
    app = make_app(MEMNUN_RETENTION_DAYS=90)
    invited = invite(app, language=language, definition=FOUR_LANGUAGES)
    client = app.test_client()
    page = open_link(client, invited.token).get_data(as_text=True)
    assert f'<html lang="{language}">' in page
    for words in EXPECTED[language]:
        assert words in page, f"{language}: {words!r} missing"
    assert ("KVKK" in page) == (language == "tr")  # Turkish law in Turkish, the GDPR otherwise
    for other in set(LANGUAGES) - {language}:  # the language switch names each in its own words
        assert f'href="/s/survey?lang={other}"' in page

    opt_out = client.get(f"/s/{invited.token}/opt-out", follow_redirects=True)
    assert f'<html lang="{language}">' in opt_out.get_data(as_text=True)


OTHER_PAGES = {
    "nl": ["U hebt al geantwoord", "Deze enquête is gesloten", "We konden deze enquête niet vinden",
           "Geen enquêtes meer"],
    "et": ["Olete juba vastanud", "See küsitlus on suletud", "Me ei leidnud seda küsitlust",
           "Loobu küsitlustest"],
}


@pytest.mark.parametrize("language", ["nl", "et"])
def test_the_other_pages_in_dutch_and_estonian(app, language) -> None:
    answered = invite(app, language=language, definition=FOUR_LANGUAGES,
                      state=InvitationState.RESPONDED, external_id="A")
    closed = invite(app, language=language, definition=FOUR_LANGUAGES,
                    state=InvitationState.EXPIRED, external_id="B")
    client = app.test_client()
    words = OTHER_PAGES[language]
    assert words[0] in open_link(client, answered.token).get_data(as_text=True)
    assert words[1] in open_link(client, closed.token).get_data(as_text=True)
    unknown = client.get(f"/s/{'U' * 43}", headers={"Accept-Language": f"{language},en;q=0.5"})
    assert words[2] in unknown.get_data(as_text=True)
    assert f'<html lang="{language}">' in unknown.get_data(as_text=True)
    opt_out = client.get(f"/s/{closed.token}/opt-out", follow_redirects=True)
    assert words[3] in opt_out.get_data(as_text=True)
