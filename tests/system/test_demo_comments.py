"""The demo's comments (``app.demo.comments``): many distinct texts per language, about every
category the demo has, Turkish ones sometimes typed as on a phone."""

from __future__ import annotations

import random

from app.demo import catalogue as cat
from app.demo.comments import REASONS, TOPICS, as_on_a_phone, compose
from app.wordforms import fold

UNHAPPY = ("unresolved", "late", "courtesy", "clarity", "other")


def _written(language: str, n: int = 6000) -> set[str]:
    rng = random.Random(7)
    codes = [c.code for c in cat.CATEGORIES if c.subjects]
    return {compose(rng, language, rng.choice(codes), rng.choice([*UNHAPPY, "praise"]), "x")
            for _ in range(n)}


def test_hundreds_of_distinct_comments_in_every_language() -> None:
    for language, least in (("tr", 1000), ("en", 300), ("nl", 300), ("et", 300)):
        assert len(_written(language)) >= least, language


def test_every_category_and_reason_has_words_in_every_language() -> None:
    codes = {c.code for c in cat.CATEGORIES if c.subjects}
    for language in ("tr", "en", "nl", "et"):
        assert codes <= set(TOPICS[language]), (language, codes - set(TOPICS[language]))
        assert set(REASONS[language]) == {*UNHAPPY, "praise"}


def test_turkish_typed_on_a_phone_and_with_its_letters() -> None:
    texts = _written("tr")
    assert any(set("çğıöşü") & set(t) for t in texts)
    assert any(t == t.lower() and not set("çğıöşüÇĞİÖŞÜ") & set(t) for t in texts)
    assert as_on_a_phone(random.Random(1), "Çöpler ŞİŞLİ'de alınmadı.").translate(
        str.maketrans("", "", ".!")).lower() == "copler sisli'de alinmadi"


def test_the_same_seed_writes_the_same_comment() -> None:
    first = compose(random.Random(5), "tr", "cop-toplama", "late", "x")
    assert first == compose(random.Random(5), "tr", "cop-toplama", "late", "x")
    # About the category it was asked about, however it was typed.
    assert any(fold(first).startswith(fold(topic)) for topic in TOPICS["tr"]["cop-toplama"])
