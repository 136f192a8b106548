"""Real SMTP servers (aiosmtpd) on 127.0.0.1 that keep what they receive.

- ``SmtpSink``: what the ``smtp_server`` fixture of tests/conftest.py serves; it can refuse.
- ``timed_smtp_server``: also notes the arrival time of every message (``time.time()``, taken
  before the 250 reply), for tests that order a send against something else, and usable outside
  pytest (the benchmarks).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from tests.support.server import free_port


@dataclass
class SmtpSink:
    """A real SMTP server on localhost that keeps what it receives."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    reply: str | None = None  # set to e.g. "451 try later" to refuse messages
    raw: list[bytes] = field(default_factory=list)  # each message exactly as received
    senders: list[str] = field(default_factory=list)  # each message's MAIL FROM

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.reply:
            return self.reply
        self.raw.append(envelope.original_content or envelope.content)
        self.senders.append(envelope.mail_from)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@dataclass
class TimedSink:
    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.times.append(time.time())
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"

    def arrivals(self) -> list[tuple[float, str]]:
        """(arrival time, Message-ID) of every message so far."""
        with self.lock:
            return [(t, str(m["Message-ID"])) for t, m in zip(self.times, self.messages,
                                                             strict=True)]


@contextmanager
def timed_smtp_server() -> Iterator[TimedSink]:
    from aiosmtpd.controller import Controller

    sink = TimedSink("127.0.0.1", free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
