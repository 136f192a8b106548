"""Personal data masked out of free text before it is shown to those who may not read it.

People write their phone number, e-mail, national id, IBAN, plate and name into a comment
("beni 0532 123 45 67'den arayın, TC 10000000146"). The stored answer stays as typed; what a
page, an export, the review pack or a webhook shows is ``redact(text, names=...)``. Pure: no
database, no request; the caller passes the names the complainant record holds.

What is masked, and why each rule is as strict as it is:

- e-mail addresses: anything shaped ``local@domain.tld``;
- phone numbers: what Google's libphonenumber (the ``phonenumbers`` package) finds as a *valid*
  number in text, read as Turkish (0532 123 45 67, +90 (532) 123-4567, 0212 555 12 34,
  5321234567) and, when the comment's language says so, as Dutch (06-12345678) or Estonian;
  international forms (+31 6 1234 5678, +372 5123 4567) are found whatever the region, and
  with a country code even where the numbering plan calls the number merely *possible*;
- Turkish national id numbers (T.C. Kimlik No): eleven digits that pass the register's two check
  digits (``stdnum.tr.tckimlik``). Eleven digits that fail them are left as typed: such a number
  identifies no one in the register, and comments are full of numbers staff need to read
  (application, subscriber and meter numbers, the complaint's own reference), which a
  digits-only rule would wipe out. About one in a hundred random 11-digit numbers passes the
  check and is masked: the price of catching every real one;
- IBANs: a country code, two check digits and the account, spaced or not, that pass ISO 13616's
  mod-97 check (``stdnum.iban``); a failing one is a mistyped number and left, as above;
- Turkish plates: a province code 01-81, one to three letters and two to four digits in the
  forms the traffic register issues (34 A 1234, 34 AB 123(4), 34 ABC 12(3)). Letters must be
  capitals when spaced ("15 kez 100" is a sentence, not a plate); written together
  ("34abc123") any case;
- names from the complainant record: the full name and each part of it of three letters or
  more, as a whole word, whatever the case and whether typed with or without Turkish letters
  ("Yilmaz" for "Yılmaz"), with the suffix after an apostrophe ("Ayşe'nin").

Each kind has a label (``DEFAULT_LABELS``); the caller may pass translated ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import phonenumbers
from stdnum import iban as _iban
from stdnum.tr import tckimlik

from app.wordforms import fold  # one folding for search and for finding names

EMAIL = "email"
PHONE = "phone"
NATIONAL_ID = "national_id"
IBAN = "iban"
PLATE = "plate"
NAME = "name"

#: The kinds in the order they win when two findings overlap.
KINDS = (EMAIL, IBAN, NATIONAL_ID, PHONE, PLATE, NAME)

DEFAULT_LABELS: dict[str, str] = {
    EMAIL: "[e-mail]", PHONE: "[phone]", NATIONAL_ID: "[id number]", IBAN: "[IBAN]",
    PLATE: "[plate]", NAME: "[name]",
}

#: The regions whose national phone formats are read, by the comment's language.
PHONE_REGIONS = {"tr": ("TR",), "en": ("TR", "GB"), "nl": ("TR", "NL"), "et": ("TR", "EE")}

_COUNTRY_CODE = re.compile(r"\(?(?:\+|00[1-9])")
_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}")
_NATIONAL_ID = re.compile(r"(?<![\d])[1-9]\d{10}(?![\d])")
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}", re.IGNORECASE)
_PROVINCE = r"(?:0[1-9]|[1-7]\d|8[01])"
_PLATE_SPACED = re.compile(
    rf"(?<![\w]){_PROVINCE}[ -]?"
    rf"(?:[A-Z][ -]?\d{{4,5}}|[A-Z]{{2}}[ -]?\d{{3,4}}|[A-Z]{{3}}[ -]?\d{{2,3}})(?![\w])")
_PLATE_TOGETHER = re.compile(
    rf"(?<![\w]){_PROVINCE}(?:[a-z]\d{{4,5}}|[a-z]{{2}}\d{{3,4}}|[a-z]{{3}}\d{{2,3}})(?![\w])",
    re.IGNORECASE)


@dataclass(frozen=True, order=True)
class Finding:
    start: int
    end: int
    kind: str


def _emails(text: str) -> Iterable[Finding]:
    for m in _EMAIL.finditer(text):
        yield Finding(m.start(), m.end(), EMAIL)


def _ibans(text: str) -> Iterable[Finding]:
    for m in _IBAN.finditer(text):
        candidate = m.group()
        # The greedy match may run into the next word ("TR33 ... 26 nolu"): the longest
        # prefix that passes the mod-97 check is the IBAN.
        for end in range(len(candidate), 14, -1):
            piece = candidate[:end].rstrip()
            if piece[-1:].isalnum() and _iban.is_valid(piece.upper()):
                yield Finding(m.start(), m.start() + len(piece), IBAN)
                break


def _national_ids(text: str) -> Iterable[Finding]:
    for m in _NATIONAL_ID.finditer(text):
        if tckimlik.is_valid(m.group()):
            yield Finding(m.start(), m.end(), NATIONAL_ID)


def _phones(text: str, language: str | None) -> Iterable[Finding]:
    for region in PHONE_REGIONS.get(language or "tr", ("TR",)):
        for m in phonenumbers.PhoneNumberMatcher(text, region,
                                                 leniency=phonenumbers.Leniency.VALID):
            yield Finding(m.start, m.end, PHONE)
    # Written with its country code, a number of a plausible length is a phone number even where
    # the numbering plan is not known to libphonenumber (new ranges, mistypes by a digit).
    for m in phonenumbers.PhoneNumberMatcher(text, "TR", leniency=phonenumbers.Leniency.POSSIBLE):
        if _COUNTRY_CODE.match(m.raw_string):
            yield Finding(m.start, m.end, PHONE)


def _plates(text: str) -> Iterable[Finding]:
    for pattern in (_PLATE_SPACED, _PLATE_TOGETHER):
        for m in pattern.finditer(text):
            yield Finding(m.start(), m.end(), PLATE)


def _name_patterns(names: Iterable[str]) -> list[re.Pattern[str]]:
    wholes, parts = set(), set()
    for name in names:
        if not name:
            continue
        words = re.findall(r"[^\W\d_]+", fold(name))
        if not words:
            continue
        if len(words) > 1:
            wholes.add(r"\s+".join(map(re.escape, words)))
        parts.update(re.escape(w) for w in words if len(w) >= 3)
    # The whole name first, so that "Ayşe Yılmaz" is one mask, not two.
    alternatives = sorted(wholes, key=len, reverse=True) + sorted(parts, key=len, reverse=True)
    if not alternatives:
        return []
    return [re.compile(rf"(?<![\w])(?:{'|'.join(alternatives)})(?:['’]\w*)?(?![\w])")]


def _names(text: str, names: Iterable[str]) -> Iterable[Finding]:
    folded = fold(text)
    for pattern in _name_patterns(names):
        for m in pattern.finditer(folded):
            yield Finding(m.start(), m.end(), NAME)


def find_personal_data(text: str, names: Iterable[str] = (),
                       language: str | None = None) -> list[Finding]:
    """The personal data in ``text`` (see the module for the rules), without overlaps: where
    two findings overlap, the one of the earlier kind in ``KINDS`` wins, then the longer."""
    found = [*_emails(text), *_ibans(text), *_national_ids(text), *_phones(text, language),
             *_plates(text), *_names(text, names)]
    rank = {kind: i for i, kind in enumerate(KINDS)}
    found.sort(key=lambda f: (rank[f.kind], -(f.end - f.start), f.start))
    kept: list[Finding] = []
    for f in found:
        if all(f.end <= k.start or f.start >= k.end for k in kept):
            kept.append(f)
    return sorted(kept)


def redact(text: str | None, names: Iterable[str] = (), language: str | None = None,
           labels: Mapping[str, str] | None = None) -> str:
    """``text`` with every finding of ``find_personal_data`` replaced by its kind's label."""
    if not text:
        return text or ""
    labels = {**DEFAULT_LABELS, **(labels or {})}
    pieces, at = [], 0
    for f in find_personal_data(text, names, language):
        pieces += [text[at:f.start], labels[f.kind]]
        at = f.end
    pieces.append(text[at:])
    return "".join(pieces)
