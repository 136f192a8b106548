"""The per-invitation return path (VERP) that bounces come back to.

With ``MEMNUN_BOUNCE_ADDRESS`` (say ``bounces@mail.example.org``) an invitation's SMTP envelope
sender (MAIL FROM, which receiving servers send bounces to) is
``bounces+<invitation id>-<mac>@mail.example.org``, ``mac`` the first 16 hex digits of
HMAC-SHA256(secret key, "bounce:<id>"). A bounce then names its invitation by the address it
was sent to, whatever the bouncing server writes in it, and nobody can forge a bounce for an
invitation whose address they have not seen: ``invitation_of`` checks the mac in constant time.
The mail server that receives mail for that domain must hand ``bounces+*`` to ``memnun bounces
serve`` or ``memnun bounces read`` (docs/design.md, "Mail that arrives").
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from typing import Any

from app.config import ConfigError

MAC_LENGTH = 16


def _mac(secret_key: str, invitation_id: int) -> str:
    digest = hmac.new(secret_key.encode(), f"bounce:{int(invitation_id)}".encode(),
                      hashlib.sha256)
    return digest.hexdigest()[:MAC_LENGTH]


def bounce_address(config: Any) -> tuple[str, str] | None:
    """(local part, domain) of ``MEMNUN_BOUNCE_ADDRESS``, or None when bounces are not handled."""
    value = (config.get("MEMNUN_BOUNCE_ADDRESS") or "").strip()
    if not value:
        return None
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain or "+" in local or not value.isascii() or " " in value:
        raise ConfigError("MEMNUN_BOUNCE_ADDRESS must be a plain address like "
                          f"bounces@mail.example.org (got {value!r})")
    return local, domain.lower()


def verp_address(secret_key: str, base: tuple[str, str], invitation_id: int) -> str:
    local, domain = base
    return f"{local}+{int(invitation_id)}-{_mac(secret_key, invitation_id)}@{domain}"


def return_path(config: Any) -> Callable[[int], str] | None:
    """The function giving an invitation's envelope sender, or None without bounce handling."""
    base = bounce_address(config)
    if base is None:
        return None
    key = str(config["SECRET_KEY"])
    return lambda invitation_id: verp_address(key, base, invitation_id)


def invitation_of(config: Any, addresses: Iterable[str]) -> int | None:
    """The invitation the first genuine return path among ``addresses`` names, or None."""
    base = bounce_address(config)
    if base is None:
        return None
    local, domain = base
    key = str(config["SECRET_KEY"])
    for address in addresses:
        mailbox, _, host = address.strip().strip("<>").rpartition("@")
        prefix, plus, tag = mailbox.partition("+")
        if not plus or prefix.lower() != local.lower() or host.lower() != domain:
            continue
        number, _, mac = tag.partition("-")
        if number.isdigit() and len(number) <= 18 and hmac.compare_digest(
                mac.lower().encode(), _mac(key, int(number)).encode()):
            return int(number)
    return None
