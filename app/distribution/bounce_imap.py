"""Polling a mailbox for bounces: the third way in, for mail servers that can neither pipe nor
relay to Memnun (a hosted mailbox that receives ``MEMNUN_BOUNCE_ADDRESS``'s mail).

One pass (``poll_bounces``; ``memnun bounces poll``, and the scheduler's ``memnun-bounce-poll``
job when ``MEMNUN_BOUNCE_IMAP_HOST`` is set) logs in with imaplib, looks for the unseen messages
of the folder, and gives each to ``bounces.take_bounce`` (the recipient from its
Delivered-To/X-Original-To/To headers, as the MTA wrote them). A message taken (one of our
return paths: a bounce, a delay warning, an auto-reply) is deleted. A message that is not ours
is left in the mailbox marked seen (``MEMNUN_BOUNCE_IMAP_OTHERS=keep``, the default: somebody
may want to read it) or deleted (``delete``). A message that cannot be taken now (the database
is away) stays unseen for the next pass. Messages are read with ``BODY.PEEK`` (reading does not
mark them), held in memory only while taken, never written anywhere; the log names UIDs and
invitation ids, never an address or a line of the text.

Settings (checked by ``check_imap_settings`` when the app starts; a bad one stops it with a
ConfigError naming the variable): ``_HOST``, ``_PORT`` (993 with ``tls``, else 143),
``_SECURITY`` (``tls``, the default; ``starttls``; ``none`` only to a loopback address, where
the password never crosses a network), ``_USER``, ``_PASSWORD`` or ``_PASSWORD_FILE`` (one of
them: a file keeps it out of the environment), ``_FOLDER`` (``INBOX``), ``_OTHERS``,
``_INTERVAL_SECONDS`` (120), all prefixed ``MEMNUN_BOUNCE_IMAP``.
"""

from __future__ import annotations

import contextlib
import imaplib
import ipaddress
import logging
import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError

from app.config import ConfigError

log = logging.getLogger(__name__)

PREFIX = "MEMNUN_BOUNCE_IMAP_"
SECURITY = ("tls", "starttls", "none")
OTHERS = ("keep", "delete")
MAX_MESSAGE = 10_000_000  # bytes, as the other ways in: a bounce quotes a small message
MAX_PER_PASS = 500  # the rest waits for the next pass: a pass stays short
TIMEOUT = 30  # seconds, per network operation
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    security: str
    user: str
    password: str | None
    password_file: str | None
    folder: str
    others: str

    def secret(self) -> str:
        """The password, read from its file at each pass (a rotated secret needs no restart)."""
        if self.password_file:
            return Path(self.password_file).read_text(encoding="utf-8").strip()
        return self.password or ""


@dataclass
class PollResult:
    """One pass: messages taken (and deleted), not ours, left for the next pass."""

    taken: int = 0
    not_ours: int = 0
    left: int = 0


def _setting(config: Any, name: str, default: str = "") -> str:
    return str(config.get(PREFIX + name) or default).strip()


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _port(config: Any, security: str) -> int:
    value = _setting(config, "PORT", "993" if security == "tls" else "143")
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ConfigError(f"{PREFIX}PORT must be a port number (got {value!r})")
    return int(value)


def _password(config: Any) -> tuple[str | None, str | None]:
    password, path = _setting(config, "PASSWORD") or None, _setting(config, "PASSWORD_FILE")
    if bool(password) == bool(path):
        raise ConfigError(f"set one of {PREFIX}PASSWORD and {PREFIX}PASSWORD_FILE")
    if path:
        try:
            if not Path(path).read_text(encoding="utf-8").strip():
                raise ConfigError(f"{PREFIX}PASSWORD_FILE is empty: {path}")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{PREFIX}PASSWORD_FILE cannot be read: {path} "
                              f"({type(exc).__name__})") from exc
    return password, path or None


def imap_settings(config: Any) -> ImapSettings | None:
    """The checked settings, or None when no mailbox is polled (``_HOST`` unset)."""
    host = _setting(config, "HOST")
    if not host:
        return None
    if not (config.get("MEMNUN_BOUNCE_ADDRESS") or "").strip():
        raise ConfigError(f"{PREFIX}HOST needs MEMNUN_BOUNCE_ADDRESS: without return paths no "
                          "message in the mailbox can be told apart")
    security = _setting(config, "SECURITY", "tls").lower()
    if security not in SECURITY:
        raise ConfigError(f"{PREFIX}SECURITY must be one of {', '.join(SECURITY)} "
                          f"(got {security!r})")
    if security == "none" and not _loopback(host):
        raise ConfigError(f"{PREFIX}SECURITY=none is only allowed to a loopback address: "
                          "the password would cross the network in clear")
    user = _setting(config, "USER")
    if not user:
        raise ConfigError(f"{PREFIX}USER must be set with {PREFIX}HOST")
    others = _setting(config, "OTHERS", "keep").lower()
    if others not in OTHERS:
        raise ConfigError(f"{PREFIX}OTHERS must be one of {', '.join(OTHERS)} (got {others!r})")
    password, password_file = _password(config)
    return ImapSettings(host=host, port=_port(config, security), security=security, user=user,
                        password=password, password_file=password_file,
                        folder=_setting(config, "FOLDER", "INBOX"), others=others)


def check_imap_settings(config: Any) -> None:
    """At start-up: a wrong setting stops the app rather than every pass later."""
    imap_settings(config)


def _connect(settings: ImapSettings) -> imaplib.IMAP4:
    if settings.security == "tls":
        return imaplib.IMAP4_SSL(settings.host, settings.port, timeout=TIMEOUT,
                                 ssl_context=ssl.create_default_context())
    client = imaplib.IMAP4(settings.host, settings.port, timeout=TIMEOUT)
    if settings.security == "starttls":
        client.starttls(ssl.create_default_context())
    return client


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _fetch(client: imaplib.IMAP4, uid: bytes) -> bytes | None:
    """The whole message, unmarked (``BODY.PEEK``), or None when it is too large to be ours."""
    status, data = client.uid("FETCH", uid, "(RFC822.SIZE)")
    size = _SIZE.search(data[0] if status == "OK" and isinstance(data[0], bytes) else b"")
    if size is None or int(size.group(1)) > MAX_MESSAGE:
        return None
    status, data = client.uid("FETCH", uid, "(BODY.PEEK[])")
    parts = [item[1] for item in data if isinstance(item, tuple)] if status == "OK" else []
    return parts[0] if parts else None


def _capabilities(client: imaplib.IMAP4) -> set[str]:
    """What the server offers now (after login it may offer more than in its greeting)."""
    status, data = client.capability()
    words = data[0].split() if status == "OK" and data and isinstance(data[0], bytes) else []
    return {word.decode("ascii", "replace").upper() for word in words}


def _take_one(client: imaplib.IMAP4, uid: bytes, settings: ImapSettings,
              result: PollResult) -> bytes | None:
    """Take message ``uid``; the uid when it is to be deleted. ``OperationalError`` (the
    database is away) is raised: the pass ends and the message stays unseen."""
    from app.distribution.bounces import take_bounce
    from app.extensions import db
    from app.logsafe import log_exception

    number = uid.decode("ascii", "replace")
    raw = _fetch(client, uid)
    try:
        outcome = take_bounce(raw) if raw is not None else None
    except OperationalError:
        db.session.rollback()
        raise
    except Exception:  # noqa: BLE001 - one bad message must not stop the others
        db.session.rollback()
        log_exception(log, "mailbox message %s could not be taken: left there, marked seen",
                      number)
        client.uid("STORE", uid, "+FLAGS", "(\\Seen)")
        result.left += 1
        return None
    if outcome is not None and outcome.invitation_id is not None:
        result.taken += 1
        log.info("mailbox message %s: invitation %s, %s", number, outcome.invitation_id,
                 outcome.kind)
        return uid
    result.not_ours += 1
    log.info("mailbox message %s: not sent to a return path of ours (%s)", number,
             "deleted" if settings.others == "delete" else "kept, marked seen")
    if settings.others == "delete":
        return uid
    client.uid("STORE", uid, "+FLAGS", "(\\Seen)")
    return None


def _delete(client: imaplib.IMAP4, uids: list[bytes]) -> None:
    """Delete exactly ``uids``: UID EXPUNGE where the server has UIDPLUS (every current one
    does), else EXPUNGE, which also removes what another client marked deleted."""
    numbers = b",".join(uids).decode("ascii")
    client.uid("STORE", numbers, "+FLAGS.SILENT", "(\\Deleted)")
    if "UIDPLUS" in _capabilities(client):
        client.uid("EXPUNGE", numbers)
    else:
        client.expunge()


def _pass(client: imaplib.IMAP4, settings: ImapSettings) -> PollResult:
    result = PollResult()
    status, _ = client.select(_quoted(settings.folder))
    if status != "OK":
        raise imaplib.IMAP4.error(f"{PREFIX}FOLDER cannot be opened")
    status, data = client.uid("SEARCH", None, "UNSEEN")
    uids = data[0].split()[:MAX_PER_PASS] if status == "OK" and data and data[0] else []
    done: list[bytes] = []
    try:
        for index, uid in enumerate(uids):
            try:
                taken = _take_one(client, uid, settings, result)
            except OperationalError:
                result.left += len(uids) - index
                log.warning("database unavailable: %s mailbox messages left for the next pass",
                            len(uids) - index)
                break
            if taken is not None:
                done.append(taken)
    finally:
        if done:
            _delete(client, done)
    return result


def poll_bounces(config: Any) -> PollResult | None:
    """One pass over the mailbox (in an app context); None when no mailbox is polled. An
    unreachable or refusing server raises ``OSError`` or ``imaplib.IMAP4.error``."""
    settings = imap_settings(config)
    if settings is None:
        return None
    client = _connect(settings)
    try:
        client.login(settings.user, settings.secret())
        result = _pass(client, settings)
    finally:
        # The pass's own error, if any, is the one that matters.
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            client.logout()
    log.info("mailbox pass: %s taken, %s not ours, %s left", result.taken, result.not_ours,
             result.left)
    return result
