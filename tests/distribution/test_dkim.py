"""DKIM: with the MEMNUN_DKIM_* settings the dispatcher's invitations arrive signed, and dkimpy
verifies the signature of the bytes the SMTP server received against the public key; without
them nothing is signed; half the settings, or a bad key, stop the app at start-up."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app import create_app
from app.config import ConfigError
from app.distribution.dispatcher import dispatch_due
from tests.support.distribution import planned_invitation, smtp_config

NOW = dt.datetime(2024, 5, 15, 10, 0, tzinfo=dt.UTC)


def _key_pair(tmp_path: Path) -> tuple[Path, bytes]:
    """A fresh 2048-bit RSA key in a PEM file, and the DNS TXT record that publishes it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "dkim.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return path, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def _dns(record: bytes) -> Any:
    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == b"mail2026._domainkey.memnun.example." else None

    return lookup


def test_invitations_arrive_signed_and_the_signature_verifies(
    make_app: Any, smtp_server: Any, tmp_path: Path
) -> None:
    key_file, record = _key_pair(tmp_path)
    app = make_app(**smtp_config(smtp_server), MEMNUN_DKIM_SELECTOR="mail2026",
                   MEMNUN_DKIM_DOMAIN="memnun.example", MEMNUN_DKIM_KEY_FILE=str(key_file),
                   MEMNUN_UNSUBSCRIBE_MAILTO="unsubscribe@memnun.example")
    with app.app_context():
        for number in range(3):
            planned_invitation(app, NOW - dt.timedelta(minutes=1), external_id=f"CMP-DK-{number}")
        assert dispatch_due(now=NOW).sent == 3
    assert len(smtp_server.raw) == 3
    for raw in smtp_server.raw:
        assert raw.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; "
                              b"d=memnun.example;")
        assert dkim.verify(raw, dnsfunc=_dns(record))
        header = raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n ", b" ").split(b"\r\n")[0]
        tags = dkim.util.parse_tag_value(header.split(b":", 1)[1].strip())
        signed = {name.strip().lower() for name in tags[b"h"].split(b":")}
        # RFC 8058 wants the one-click headers under the signature.
        assert {b"from", b"to", b"subject", b"message-id", b"list-unsubscribe",
                b"list-unsubscribe-post"} <= signed
        # Anything changed on the way (a header or the body) breaks it.
        assert not dkim.verify(raw.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click",
                                           b"List-Unsubscribe-Post: nothing"), dnsfunc=_dns(record))
        assert not dkim.verify(raw.replace(b"/opt-out", b"/opt-in", 1), dnsfunc=_dns(record))


def test_without_the_settings_nothing_is_signed(make_app: Any, smtp_server: Any) -> None:
    app = make_app(**smtp_config(smtp_server))
    with app.app_context():
        planned_invitation(app, NOW - dt.timedelta(minutes=1))
        assert dispatch_due(now=NOW).sent == 1
    assert b"DKIM-Signature" not in smtp_server.raw[0]


def test_half_the_settings_or_a_bad_key_stop_the_app(tmp_path: Path) -> None:
    key_file, _ = _key_pair(tmp_path)
    with pytest.raises(ConfigError, match="MEMNUN_DKIM_KEY_FILE is not set"):
        create_app({"MEMNUN_DKIM_SELECTOR": "s", "MEMNUN_DKIM_DOMAIN": "memnun.example"})
    with pytest.raises(ConfigError, match="cannot be read"):
        create_app({"MEMNUN_DKIM_SELECTOR": "s", "MEMNUN_DKIM_DOMAIN": "memnun.example",
                    "MEMNUN_DKIM_KEY_FILE": str(tmp_path / "missing.pem")})
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ConfigError, match="holds no private key"):
        create_app({"MEMNUN_DKIM_SELECTOR": "s", "MEMNUN_DKIM_DOMAIN": "memnun.example",
                    "MEMNUN_DKIM_KEY_FILE": str(junk)})
    assert create_app({"MEMNUN_DKIM_SELECTOR": "s", "MEMNUN_DKIM_DOMAIN": "memnun.example",
                       "MEMNUN_DKIM_KEY_FILE": str(key_file)})
