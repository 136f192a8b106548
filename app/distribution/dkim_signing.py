"""DKIM signatures (RFC 6376) on outgoing mail, for organisations whose relay does not sign.

Off unless ``MEMNUN_DKIM_SELECTOR``, ``MEMNUN_DKIM_DOMAIN`` and ``MEMNUN_DKIM_KEY_FILE`` (a PEM
RSA or Ed25519 private key) are all set; some but not all of them, or a key that cannot be read,
stops the app at start-up with a message naming the variable (``check_dkim_settings``).

The SMTP backend signs the exact bytes it hands to the server (``SmtpBackend.send``: the message
as flattened by ``wire_bytes``, with the DKIM-Signature header put in front), so nothing after
the signature can change what was signed. With DKIM off the backend holds no signer and the send
path does nothing more than before. Signed by dkimpy, relaxed/relaxed canonicalisation (survives
relays that re-fold headers or re-wrap line ends), covering the headers dkimpy recommends plus
the ones RFC 8058 requires of one-click unsubscribe (``List-Unsubscribe``,
``List-Unsubscribe-Post``) and ``Auto-Submitted``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dkim

from app.config import ConfigError

SETTINGS = ("MEMNUN_DKIM_SELECTOR", "MEMNUN_DKIM_DOMAIN", "MEMNUN_DKIM_KEY_FILE")
SIGNED_HEADERS = (
    *dkim.DKIM.SHOULD,
    b"list-unsubscribe-post",
    b"auto-submitted",
    b"content-language",
)
_PROBE = b"From: probe@example.org\r\nSubject: probe\r\n\r\nprobe\r\n"


@dataclass(frozen=True)
class DkimSigner:
    selector: bytes
    domain: bytes
    key: bytes

    def sign(self, wire: bytes) -> bytes:
        """``wire`` (a whole message, CRLF line ends) with its DKIM-Signature header in front."""
        signature = dkim.sign(
            wire, self.selector, self.domain, self.key,
            canonicalize=(b"relaxed", b"relaxed"), include_headers=list(SIGNED_HEADERS),
        )
        return signature + wire


def dkim_signer(config: Any) -> DkimSigner | None:
    """The signer the settings describe, or None when DKIM is off. Raises ConfigError for
    settings that are half there, a key file that cannot be read, or a key dkimpy refuses."""
    values = {name: (config.get(name) or "").strip() for name in SETTINGS}
    given = [name for name, value in values.items() if value]
    if not given:
        return None
    missing = [name for name in SETTINGS if not values[name]]
    if missing:
        raise ConfigError(
            f"DKIM signing needs {', '.join(SETTINGS)}; {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not set"
        )
    path = Path(values["MEMNUN_DKIM_KEY_FILE"])
    try:
        key = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"MEMNUN_DKIM_KEY_FILE={str(path)!r} cannot be read: {exc.strerror}"
        ) from exc
    try:
        selector = values["MEMNUN_DKIM_SELECTOR"].encode("ascii")
    except UnicodeError as exc:
        raise ConfigError("MEMNUN_DKIM_SELECTOR must be plain ASCII (a DNS label)") from exc
    try:
        domain = values["MEMNUN_DKIM_DOMAIN"].encode("idna")
    except UnicodeError as exc:
        raise ConfigError("MEMNUN_DKIM_DOMAIN is not a domain name") from exc
    signer = DkimSigner(selector=selector, domain=domain, key=key)
    try:
        signer.sign(_PROBE)
    except dkim.DKIMException as exc:
        raise ConfigError(
            f"MEMNUN_DKIM_KEY_FILE={str(path)!r} holds no private key DKIM can sign with "
            f"(a PEM RSA or Ed25519 key): {exc}"
        ) from exc
    return signer


def check_dkim_settings(config: Any) -> None:
    """At start-up: stop with a clear message rather than fail at the first send (the bounce
    address too: it is the envelope sender of every invitation)."""
    from app.distribution.verp import bounce_address

    dkim_signer(config)
    bounce_address(config)
