"""Redaction of personal data in free text (``app.analytics.redaction``)."""

from __future__ import annotations

import random
import re

import pytest

from app.analytics.redaction import (
    DEFAULT_LABELS,
    NAME,
    NATIONAL_ID,
    PHONE,
    find_personal_data,
    fold,
    redact,
)
from tests.support.personal_data import (
    iban,
    invalid_national_id,
    national_id,
    planted_comments,
)


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def test_every_planted_item_is_removed_from_a_generated_set() -> None:
    planted = planted_comments(600)
    kinds_seen: set[str] = set()
    for p in planted:
        out = redact(p.text, names=[p.name], language="tr")
        for kind, value in p.items.items():
            kinds_seen.add(kind)
            assert value not in out, (kind, p.text, out)
            if kind in ("phone", "national_id", "iban"):
                # No part of the number left behind either (a mask over half of it is none).
                assert _digits(value)[-7:] not in _digits(out), (kind, p.text, out)
            if kind == "name":
                for part in re.findall(r"\w+", fold(value)):
                    if len(part) >= 3:
                        assert not re.search(rf"(?<!\w){part}(?!\w)", fold(out)), (p.text, out)
    assert kinds_seen == {"name", "phone", "national_id", "iban", "plate", "email"}


def test_the_stored_text_is_what_the_caller_keeps() -> None:
    text = "TC 10000000146 ile başvurdum"
    assert redact(text) == "TC [id number] ile başvurdum"
    assert text == "TC 10000000146 ile başvurdum"


@pytest.mark.parametrize("text", [
    "Başvuru numaram 12345678901, hâlâ dönüş yok",     # 11 digits failing the check
    "Sayaç no 00012345678 okunmadı",                   # leading zero: never an id
    "15 kez 100 lira ödedim, 34 gün bekledim",          # numbers and words, not a plate
    "2024 yılında 3 kez aradım, saat 10:30-11:45 arası", # dates and times
    "IBAN TR33 0006 1005 1978 6457 8413 27 yanlış yazılmış",  # fails mod-97
])
def test_numbers_that_identify_no_one_stay(text: str) -> None:
    assert redact(text) == text


def test_eleven_digits_are_masked_exactly_when_the_check_digits_hold() -> None:
    rng = random.Random(3)
    for _ in range(200):
        valid, wrong = national_id(rng), invalid_national_id(rng)
        assert [f.kind for f in find_personal_data(f"no {valid} .")] == [NATIONAL_ID]
        assert not find_personal_data(f"no {wrong} .")


def test_ibans_of_several_countries_spaced_or_not() -> None:
    rng = random.Random(5)
    for country in ("TR", "NL", "EE", "GB"):
        for _ in range(20):
            value = iban(rng, country)
            assert redact(f"hesap {value} lütfen") == f"hesap {DEFAULT_LABELS['iban']} lütfen"


def test_names_whatever_case_letters_and_suffix() -> None:
    names = ["Ayşe Yılmaz"]
    out = redact("AYSE YILMAZ aradı, Yılmaz'a sordum, ayşe hanım bilir, Ayşegül değil",
                 names=names)
    assert out == "[name] aradı, [name] sordum, [name] hanım bilir, Ayşegül değil"
    assert [f.kind for f in find_personal_data("İsmail geldi", names=["ismail Kaya"])] == [NAME]


def test_dutch_and_estonian_national_phone_forms_by_language() -> None:
    assert [f.kind for f in find_personal_data("bel 06-12345678", language="nl")] == [PHONE]
    assert [f.kind for f in find_personal_data("helista 5123 4567", language="et")] == [PHONE]


def test_labels_can_be_translated() -> None:
    assert redact("x@y.com", labels={"email": "[e-posta]"}) == "[e-posta]"
