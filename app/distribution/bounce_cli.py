"""``memnun bounces``: the ways bounces come in, all into ``bounces.take_bounce``.

- ``read [--recipient ADDRESS]``: one message on standard input, piped by the MTA that receives
  mail for ``MEMNUN_BOUNCE_ADDRESS``'s domain (Postfix: a ``pipe`` transport or an alias
  ``"|memnun bounces read --recipient ${original_recipient}"``). Exit codes as sysexits: 0
  taken (or ignored: an auto-reply, a delay warning), 67 (EX_NOUSER) not a return path of ours,
  75 (EX_TEMPFAIL) the database could not be reached (the MTA keeps it and tries again).
- ``serve [--host --port --lmtp]``: a small SMTP (or LMTP) server (aiosmtpd) the MTA relays
  ``bounces+*`` to. It refuses every recipient that is not a genuine return path (550, so it
  relays nothing and takes no mail for anyone else), takes each message once it is stored
  (250), and answers 451 when the database is away, so that the MTA tries again.
- ``poll``: one pass over the mailbox of ``MEMNUN_BOUNCE_IMAP_*`` (``bounce_imap``), for mail
  servers that can only deliver to a mailbox; the scheduler runs the same pass every
  ``MEMNUN_BOUNCE_IMAP_INTERVAL_SECONDS``. Exit 0 after a pass, 75 when the mailbox or the
  database could not be reached, 78 (EX_CONFIG) when no mailbox is configured.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import OperationalError

EX_NOUSER = 67
EX_TEMPFAIL = 75
EX_CONFIG = 78
MAX_MESSAGE = 10_000_000  # bytes: a bounce quotes the message, which is small

log = logging.getLogger(__name__)


@click.group("bounces", help="Mail that came back to the invitations' return paths.")
def bounces_group() -> None:
    pass


@bounces_group.command("read")
@click.option("--recipient", "recipients", multiple=True,
              help="The envelope recipient (the return path); default: the message's headers.")
@with_appcontext
def read_command(recipients: tuple[str, ...]) -> None:
    """Take one message on standard input."""
    from app.distribution.bounces import take_bounce

    raw = sys.stdin.buffer.read(MAX_MESSAGE)
    try:
        outcome = take_bounce(raw, recipients)
    except OperationalError as exc:
        click.echo(f"database unavailable, try again later: {type(exc.orig).__name__}", err=True)
        sys.exit(EX_TEMPFAIL)
    if outcome.invitation_id is None:
        click.echo("not sent to a return path of ours: nothing done", err=True)
        sys.exit(EX_NOUSER)
    click.echo(f"invitation {outcome.invitation_id}: {outcome.kind}"
               f"{' bounce taken' if outcome.changed else ''}")


class BounceHandler:
    """aiosmtpd handler: only genuine return paths as recipients; each message into the service
    within an app context of its own (the server's loop runs in its own thread)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        from app.distribution.verp import invitation_of

        if invitation_of(self.app.config, [address]) is None:
            return "550 5.1.1 no such return path"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        from app.distribution.bounces import take_bounce

        raw = envelope.original_content or envelope.content
        try:
            with self.app.app_context():
                take_bounce(raw, envelope.rcpt_tos)
        except OperationalError:
            log.warning("database unavailable: bounce refused for now (451)")
            return "451 4.3.0 try again later"
        except Exception:  # noqa: BLE001 - a message we cannot take must not stop the server
            log.exception("bounce could not be taken")
            return "451 4.3.0 try again later"
        return "250 OK"


def _controller(app: Flask, host: str, port: int, lmtp: bool) -> Any:
    from aiosmtpd.controller import Controller
    from aiosmtpd.lmtp import LMTP

    class LmtpController(Controller):
        def factory(self) -> Any:
            return LMTP(self.handler, **self.SMTP_kwargs)

    kind = LmtpController if lmtp else Controller
    return kind(BounceHandler(app), hostname=host, port=port, data_size_limit=MAX_MESSAGE)


@bounces_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=2525, show_default=True, type=int)
@click.option("--lmtp", is_flag=True, help="Speak LMTP rather than SMTP.")
@with_appcontext
def serve_command(host: str, port: int, lmtp: bool) -> None:
    """Receive bounces over SMTP (or LMTP) until stopped (SIGTERM or Ctrl-C)."""
    from app.logsafe import configure_logging

    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    configure_logging(app.config["MEMNUN_LOG_LEVEL"])
    controller = _controller(app, host, port, lmtp)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    controller.start()
    click.echo(f"taking bounces on {host}:{controller.port} ({'LMTP' if lmtp else 'SMTP'})")
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()



@bounces_group.command("poll")
@with_appcontext
def poll_command() -> None:
    """Take the bounces waiting in the mailbox of MEMNUN_BOUNCE_IMAP_*, once."""
    import imaplib

    from app.distribution.bounce_imap import poll_bounces

    try:
        result = poll_bounces(current_app.config)
    except (OSError, imaplib.IMAP4.error) as exc:
        click.echo(f"mailbox unavailable, try again later: {exc}", err=True)
        sys.exit(EX_TEMPFAIL)
    if result is None:
        click.echo("no mailbox to poll: MEMNUN_BOUNCE_IMAP_HOST is not set", err=True)
        sys.exit(EX_CONFIG)
    click.echo(f"{result.taken} taken, {result.not_ours} not ours, {result.left} left")
    if result.left and not result.taken and not result.not_ours:
        sys.exit(EX_TEMPFAIL)
