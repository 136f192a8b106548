"""Where a webhook may point: public hosts only, checked at registration and before every POST.

A webhook makes Memnun's server send a request where an admin says. Without a check, a URL to
``127.0.0.1:5432``, ``0x7f000001``, ``[::1]`` or the cloud metadata address ``169.254.169.254``
reaches what only the server can reach, and the delivery errors tell open ports from closed
ones. So the host is resolved and every address it resolves to must be a public one: not
loopback, private, link-local (the metadata address is one), multicast, reserved or unspecified.
Resolving again before every POST means a name that pointed somewhere public at registration
and is re-pointed inward later (DNS rebinding) is refused then.

A receiver on the organisation's own network is allowed by name in
``MEMNUN_WEBHOOK_ALLOWED_PRIVATE_HOSTS`` (comma-separated host names or addresses, as written in
the URL).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit


class ForbiddenAddress(ValueError):
    """The URL's host is not a public address (or cannot be resolved)."""


def allowed_private_hosts(config: object) -> frozenset[str]:
    """The host names an operator allows on the private network, lower case."""
    raw = getattr(config, "get", lambda *_: "")("MEMNUN_WEBHOOK_ALLOWED_PRIVATE_HOSTS", "")
    names = raw.split(",") if isinstance(raw, str) else list(raw or [])
    return frozenset(name.strip().lower() for name in names if name.strip())


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone id is not part of it
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _addresses(host: str, port: int) -> Iterable[str]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise ForbiddenAddress(host) from exc
    return [str(info[4][0]) for info in infos]


def check_receiver(url: str, allowed: frozenset[str]) -> None:
    """Raise ``ForbiddenAddress`` unless every address ``url``'s host resolves to is public, or
    the host is one of ``allowed``."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host:
        raise ForbiddenAddress(url)
    if host in allowed:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = list(_addresses(host, port))
    if not addresses or not all(_public(address) for address in addresses):
        raise ForbiddenAddress(host)
