"""``memnun privacy``: erase or export one person's data, purge expired contact data."""

from __future__ import annotations

import json
from typing import TextIO

import click
from flask.cli import with_appcontext


@click.group("privacy", help="A complainant's personal data: erase, export, retention purge.")
def privacy_group() -> None:
    pass


@privacy_group.command("erase")
@click.option("--email", required=True, help="The person's e-mail address (any case).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def erase_command(email: str, yes: bool) -> None:
    """Erase the person's personal data everywhere; their scores stay, anonymous."""
    from app.privacy.services import complainants_with_email, erase_person

    if not complainants_with_email(email):
        click.echo("No complainant has that e-mail address; nothing to erase.")
        return
    if not yes:
        click.confirm("Erase this person's personal data? This cannot be undone", abort=True)
    erasure = erase_person(email, actor="cli")
    click.echo(f"Erased: {erasure.summary()}.")


@privacy_group.command("export")
@click.option("--email", required=True, help="The person's e-mail address (any case).")
@click.option("--output", type=click.File("w", encoding="utf-8"), default="-",
              show_default=True, help="Where to write the JSON ('-': standard output).")
@with_appcontext
def export_command(email: str, output: TextIO) -> None:
    """Everything held about the person, as JSON."""
    from app.privacy.services import export_person

    json.dump(export_person(email, actor="cli"), output, ensure_ascii=False, indent=2)
    output.write("\n")


@privacy_group.command("purge")
@click.option("--days", type=click.IntRange(min=0), default=None,
              help="Retention in days (default: MEMNUN_RETENTION_DAYS).")
@with_appcontext
def purge_command(days: int | None) -> None:
    """Purge contact data of complainants whose surveys closed longer ago than the retention."""
    from app.privacy.services import purge_expired_contacts
    from app.progress import show_progress

    with show_progress("Purging contact data", None) as advance:
        purged = purge_expired_contacts(days=days, progress=advance)
    click.echo(f"Purged the contact data of {purged} complainant record(s).")
