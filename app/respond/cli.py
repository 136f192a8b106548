"""``memnun unsubscribe read``: an unsubscribe e-mail piped in by the MTA of the mailbox that
``MEMNUN_UNSUBSCRIBE_MAILTO`` names (e.g. a Postfix alias ``"|memnun unsubscribe read"``).

Exit codes as sendmail's sysexits: 0 done, 65 (EX_DATAERR) no genuine unsubscribe code in the
message (the MTA returns it to its sender), 75 (EX_TEMPFAIL) the database could not be reached
(the MTA keeps the message and tries again).
"""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import OperationalError

EX_DATAERR = 65
EX_TEMPFAIL = 75
MAX_MESSAGE = 1_000_000  # bytes read: an unsubscribe request is small


@click.group("unsubscribe", help="Unsubscribe requests that arrive by e-mail.")
def unsubscribe_group() -> None:
    pass


@unsubscribe_group.command("read")
@with_appcontext
def read_command() -> None:
    """Read one e-mail on standard input and opt out the person its code names."""
    from app.respond.unsubscribe_mail import take_unsubscribe_mail

    raw = sys.stdin.buffer.read(MAX_MESSAGE)
    try:
        invitation_id = take_unsubscribe_mail(raw)
    except OperationalError as exc:
        click.echo(f"database unavailable, try again later: {type(exc.orig).__name__}", err=True)
        sys.exit(EX_TEMPFAIL)
    if invitation_id is None:
        click.echo("no genuine unsubscribe code in the message: nothing done", err=True)
        sys.exit(EX_DATAERR)
    click.echo(f"opted out through invitation {invitation_id}")
