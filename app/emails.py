"""The one form in which a complainant's e-mail address is stored and by which people are
recognised: intake (API, batch, CSV), fatigue and channel choice, opt-out, erasure and export
all compare stored addresses with ``email_key`` of what they were given, by plain equality.

The form is email_validator's ``normalized`` address (the domain lower-cased and written in
Unicode, ``xn--`` labels decoded; both parts in Unicode NFC) with the ASCII letters of the local
part lower-cased as well: mail servers treat ``Ayse@`` and ``ayse@`` as one mailbox, and Memnun
always has. Non-ASCII letters of the local part keep their case: ``str.lower`` would turn a
Turkish ``İ`` into two characters and could name another mailbox.

Pure Python: the schemas, the services and the data migration that normalised the stored
addresses (migrations/versions/c4e7a2d9b1f3_normalise_complainant_emails.py, which keeps its
own copy of this rule, as migrations must) all follow it.
"""

from __future__ import annotations

import functools
import re

from email_validator import EmailNotValidError, validate_email

__all__ = ["EmailNotValidError", "email_key", "normalise_email"]

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


#: An unquoted ASCII local part (RFC 5322 dot-atom), which email_validator leaves as it is.
DOT_ATOM_RE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
EMAIL_MAX_LENGTH = 254
LOCAL_PART_MAX_LENGTH = 64


def normalise_email(value: str) -> str:
    """The stored form of a valid address; ``EmailNotValidError`` for anything else.

    Most addresses of a batch are plain ASCII at a few domains, and checking the domain is most
    of email_validator's time: such an address takes its domain's normalised form from a cache
    (the same answer email_validator gives); anything else goes through email_validator whole,
    which also words the refusal."""
    value = value.strip()
    local, at, domain = value.rpartition("@")
    if (at and value.isascii() and len(value) <= EMAIL_MAX_LENGTH
            and len(local) <= LOCAL_PART_MAX_LENGTH and DOT_ATOM_RE.fullmatch(local)):
        known = _normalised_domain(domain)
        if known is not None:
            return f"{local.translate(_ASCII_LOWER)}@{known}"
    normalized = validate_email(value, check_deliverability=False).normalized
    local, _, domain = normalized.rpartition("@")
    return f"{local.translate(_ASCII_LOWER)}@{domain}"


@functools.lru_cache(maxsize=4096)
def _normalised_domain(domain: str) -> str | None:
    try:
        return validate_email("x@" + domain, check_deliverability=False).normalized.split("@")[1]
    except EmailNotValidError:
        return None


def email_key(value: str) -> str:
    """What to look a stored address up by: the stored form of ``value``, or, when ``value``
    is no valid address (a typo on the command line, a row from before validation), the value
    trimmed with its ASCII letters lower-cased, which is how such rows were stored."""
    try:
        return normalise_email(value)
    except EmailNotValidError:
        return value.strip().translate(_ASCII_LOWER)
