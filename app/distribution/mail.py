"""Mail backends behind one small interface: ``send(message, invitation_id=...)`` and ``close()``.

``SmtpBackend`` talks to a real mail server; ``FileBackend`` writes each message as an .eml file
(``make run`` needs no mail server, and the admin outbox page lists the files).

Failures come out as our own exceptions so the dispatcher can decide without knowing smtplib:

- ``PermanentMailError``: the server refused this message for good (5xx): retrying cannot help.
- ``TemporaryMailError``: the server refused it for now (4xx): retry with backoff.
- ``MailServerUnavailable`` (a temporary error): no usable connection at all (refused, timed out,
  dropped, TLS or login failed). Nothing is wrong with the message; the whole pass should wait.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import secrets
import smtplib
import socket
import ssl
import tempfile
from collections.abc import Callable
from email.message import Message
from email.utils import getaddresses, parseaddr
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any

from app.distribution.dkim_signing import DkimSigner, dkim_signer
from app.distribution.verp import return_path
from app.logsafe import scrub

log = logging.getLogger(__name__)

EML_NAME_RE = re.compile(r"^(\d{8}T\d{12}Z)-inv(\d+)-([0-9a-f]{8})\.eml$")


class MailError(Exception):
    """A message could not be handed over; ``str()`` is safe to store (no addresses)."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(scrub(message))
        self.code = code


class TemporaryMailError(MailError):
    """Refused for now (4xx): try again later."""


class MailServerUnavailable(TemporaryMailError):
    """No usable connection to the mail server: the whole pass should wait."""


class PermanentMailError(MailError):
    """Refused for good (5xx): the invitation fails with this reason."""


class MailBackend:
    """Hands messages over for delivery. Use as a context manager so connections get closed."""

    def send(self, message: Message, *, invitation_id: int) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release whatever the backend holds open (nothing by default)."""

    def __enter__(self) -> MailBackend:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _reply_text(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {text}".strip()


def _by_code(code: int, text: str) -> MailError:
    if 500 <= code < 600:
        return PermanentMailError(text, code)
    return TemporaryMailError(text, code)


def classify_smtp_error(exc: BaseException) -> MailError:
    """Our exception for anything smtplib or the network raised while sending one message."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()), (451, b"recipient refused"))
        return _by_code(code, _reply_text(code, reply))
    if isinstance(exc, smtplib.SMTPDataError):
        return _by_code(exc.smtp_code, _reply_text(exc.smtp_code, exc.smtp_error))
    if isinstance(exc, smtplib.SMTPSenderRefused):
        # A refused sender is our configuration, not this message: every message would fail.
        return MailServerUnavailable(
            "sender refused: " + _reply_text(exc.smtp_code, exc.smtp_error), exc.smtp_code
        )
    if isinstance(exc, smtplib.SMTPAuthenticationError | smtplib.SMTPHeloError):
        return MailServerUnavailable(_reply_text(exc.smtp_code, exc.smtp_error), exc.smtp_code)
    if isinstance(exc, smtplib.SMTPResponseException):
        return _by_code(exc.smtp_code, _reply_text(exc.smtp_code, exc.smtp_error))
    if isinstance(exc, smtplib.SMTPServerDisconnected | OSError | smtplib.SMTPException):
        return MailServerUnavailable(f"mail server unavailable: {type(exc).__name__}: {exc}")
    return TemporaryMailError(f"{type(exc).__name__}: {exc}")


def wire_bytes(message: Message) -> bytes:
    """The message as SMTP carries it (CRLF line ends)."""
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


@lru_cache(maxsize=64)
def _address(header: str) -> str:
    # Every message of a pass has the same sender: parsed once, not once a message.
    return parseaddr(header)[1]


def plain_envelope(message: Message) -> tuple[str, list[str]] | None:
    """Sender and recipients of a message with ASCII addresses and no Bcc/Resent headers, or
    None: those are left to ``smtplib.send_message``, which knows SMTPUTF8 and the rest."""
    if any(message[name] is not None for name in ("Bcc", "Resent-From", "Resent-To")):
        return None
    sender = _address(str(message["Sender"] or message["From"] or ""))
    recipients = [
        address
        for name in ("To", "Cc")
        for _, address in getaddresses([str(v) for v in message.get_all(name, [])])
        if address
    ]
    if not sender or not recipients or not all(a.isascii() for a in [sender, *recipients]):
        return None
    return sender, recipients


class _HandOverHook:
    """smtplib with two hooks into DATA.

    ``handed_over`` is called when the whole message but its final dot is written, just before
    that dot. The server cannot accept the message before the hook has returned, so whoever
    records the send there has it on record before any copy can be out; if the hook raises,
    the dot is never written and the server drops the message. The dot then goes out as a
    write of its own: a 3-byte segment that Nagle's algorithm would hold back until the server
    acknowledged the body, which it delays by up to 40 ms. Hence TCP_NODELAY (``_no_delay``).

    ``handed_over_ready`` says whether ``handed_over`` would return at once (its work done in
    another thread): then it is called before any of the payload is written, and message and
    dot go out in one write, which spares both ends a wake-up and a segment per message.

    ``written`` is called once the whole message, dot included, is written, while the server
    reads it and before its reply is read: from then on the message may be out."""

    handed_over: Callable[[], None] | None = None
    handed_over_ready: Callable[[], bool] | None = None
    written: Callable[[], None] | None = None

    def send(self, s: bytes | str) -> None:
        # Commands go out as str; only DATA's payload is bytes, and it ends with the dot.
        if not (isinstance(s, bytes) and s.endswith(b"\r\n.\r\n")):
            super().send(s)  # type: ignore[misc]
            return
        before, self.handed_over = self.handed_over, None
        ready, self.handed_over_ready = self.handed_over_ready, None
        after, self.written = self.written, None
        if before and ready is not None and ready():
            before()
        elif before:
            super().send(s[:-3])  # type: ignore[misc]
            before()
            s = s[-3:]
        super().send(s)  # type: ignore[misc]
        if after:
            after()


def _no_delay(smtp: smtplib.SMTP) -> None:
    """Every write goes out at once (see ``_HandOverHook``): an SMTP client waits for a reply
    after each command anyway, so Nagle's batching never saves a packet here."""
    sock = getattr(smtp, "sock", None)
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _Smtp(_HandOverHook, smtplib.SMTP):
    pass


class _SmtpSsl(_HandOverHook, smtplib.SMTP_SSL):
    pass


class SmtpBackend(MailBackend):
    """SMTP with optional STARTTLS (or implicit TLS on port 465) and login.

    One connection is opened on the first send and reused until ``close()``: a dispatch pass
    sends its whole batch over it.
    """

    def __init__(
        self,
        host: str,
        port: int = 25,
        user: str | None = None,
        password: str | None = None,
        tls: bool = False,
        timeout: float = 30,
        signer: DkimSigner | None = None,
        bounces_to: Callable[[int], str] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.tls = tls
        self.timeout = timeout
        self.signer = signer  # DKIM (dkim_signing.py); None: messages go as they are
        # An invitation's envelope sender (verp.py); None: the From address, as for staff mail.
        self.bounces_to = bounces_to
        self._smtp: _Smtp | _SmtpSsl | None = None

    @classmethod
    def from_config(cls, config: Any) -> SmtpBackend:
        return cls(
            host=config.get("MEMNUN_SMTP_HOST") or "localhost",
            port=int(config.get("MEMNUN_SMTP_PORT") or 25),
            user=config.get("MEMNUN_SMTP_USER"),
            password=config.get("MEMNUN_SMTP_PASSWORD"),
            tls=bool(config.get("MEMNUN_SMTP_TLS")),
            timeout=float(config.get("MEMNUN_SMTP_TIMEOUT") or 30),
            signer=dkim_signer(config),
            bounces_to=return_path(config),
        )

    def _connect(self) -> _Smtp | _SmtpSsl:
        context = ssl.create_default_context()
        smtp: _Smtp | _SmtpSsl
        if self.port == 465:
            smtp = _SmtpSsl(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = _Smtp(self.host, self.port, timeout=self.timeout)
            _no_delay(smtp)  # set on the TCP socket; STARTTLS wraps the same one
            if self.tls:
                smtp.starttls(context=context)
        _no_delay(smtp)
        if self.user:
            smtp.login(self.user, self.password or "")
        return smtp

    def _connection(self) -> _Smtp | _SmtpSsl:
        # smtplib closes the socket itself after a 421; then a fresh connection is needed.
        if self._smtp is None or getattr(self._smtp, "sock", None) is None:
            try:
                self._smtp = self._connect()
            except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
                self._smtp = None
                error = classify_smtp_error(exc)
                if not isinstance(error, MailServerUnavailable):
                    error = MailServerUnavailable(f"cannot connect: {error}", error.code)
                raise error from exc
        return self._smtp

    def send(
        self,
        message: Message,
        *,
        invitation_id: int,
        handed_over: Callable[[], None] | None = None,
        written: Callable[[], None] | None = None,
        wire: bytes | None = None,
        handed_over_ready: Callable[[], bool] | None = None,
    ) -> None:
        """Send one message. ``handed_over`` is called when all of the message but its final
        dot is written (not at all when the send fails earlier); if it raises, the dot is not
        sent, the server drops the message, and the session is dropped too. ``written`` is
        called when the whole message is written, before the server's reply is read. ``wire``:
        the message already flattened by ``wire_bytes`` (the dispatcher does it ahead).
        ``handed_over_ready``: True when ``handed_over`` would not wait; it is then called
        before the payload, which goes out with its dot in one write (``_HandOverHook``)."""
        smtp = self._connection()
        smtp.handed_over, smtp.written = handed_over, written
        smtp.handed_over_ready = handed_over_ready
        try:
            envelope = plain_envelope(message)
            # Invitations (id > 0; staff mail passes 0) return their bounces to their own VERP.
            sender = self.bounces_to(invitation_id) if self.bounces_to and invitation_id else None
            if envelope is None:
                # Non-ASCII addresses (SMTPUTF8) or Bcc/Resent headers: smtplib flattens the
                # message itself, so these few go unsigned (docs/design.md, "Mail that arrives").
                smtp.send_message(message, from_addr=sender)
            else:
                # Flattened once, as SMTP wants it: twice as fast as send_message, whose
                # generic path copies and re-flattens the message.
                data = wire or wire_bytes(message)
                if self.signer is not None:
                    data = self.signer.sign(data)  # the very bytes that go on the wire
                smtp.sendmail(sender or envelope[0], envelope[1], data)
        except (smtplib.SMTPException, OSError) as exc:
            error = classify_smtp_error(exc)
            if isinstance(error, MailServerUnavailable):
                self._drop()  # the session is in an unknown state
            raise error from exc
        except BaseException:
            self._drop()  # the hand-over failed inside DATA: this session cannot go on
            raise
        finally:
            smtp.handed_over = smtp.written = smtp.handed_over_ready = None

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            finally:
                self._smtp = None

    def close(self) -> None:
        if self._smtp is None:
            return
        try:
            self._smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            self._drop()


class FileBackend(MailBackend):
    """Writes each message as ``<UTC time>-inv<id>-<random>.eml`` into ``directory``.

    Names sort by time and carry the invitation id but never the address. The file appears
    atomically (written aside, then renamed), so the outbox page never shows half a message.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    @classmethod
    def from_config(cls, config: Any) -> FileBackend:
        return cls(config["MEMNUN_OUTBOX_DIR"])

    def send(self, message: Message, *, invitation_id: int) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
            name = f"{stamp}-inv{int(invitation_id)}-{secrets.token_hex(4)}.eml"
            fd, temp_name = tempfile.mkstemp(prefix=".tmp-", dir=self.directory)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(message.as_bytes())
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temp_name, self.directory / name)
            except BaseException:
                Path(temp_name).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise MailServerUnavailable(f"cannot write to the outbox: {exc.strerror}") from exc


def get_backend(app_config: Any) -> MailBackend:
    """The backend that ``MEMNUN_MAIL_BACKEND`` names: ``smtp`` or ``file``."""
    name = (app_config.get("MEMNUN_MAIL_BACKEND") or "file").strip().lower()
    if name == "smtp":
        return SmtpBackend.from_config(app_config)
    if name == "file":
        return FileBackend.from_config(app_config)
    raise ValueError(f"unknown MEMNUN_MAIL_BACKEND {name!r}: use 'smtp' or 'file'")
