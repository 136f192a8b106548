"""``memnun templates``: install and check the shipped questionnaire templates."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from app.questionnaires.documents import QuestionnaireError, parse_questionnaire

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group("templates", help="Questionnaire templates (survey_templates/).")
def templates_group() -> None:
    pass


@templates_group.command("install")
@click.argument("files", nargs=-1, type=FILE)
@with_appcontext
def install_command(files: tuple[Path, ...]) -> None:
    """Install FILES, or every template in survey_templates/, as published questionnaires.

    A questionnaire that already exists (same key) is left as it is, so this is safe to re-run.
    """
    from app.design.services import install_template_file, template_paths

    failed = False
    for path in files or template_paths():
        try:
            questionnaire, created = install_template_file(path)
        except QuestionnaireError as exc:
            click.echo(str(exc), err=True)
            failed = True
            continue
        state = "installed as version 1" if created else "already installed, left unchanged"
        click.echo(f"{questionnaire.key}: {state} ({path.name})")
    if failed:
        raise click.exceptions.Exit(1)


@templates_group.command("check")
@click.argument("files", nargs=-1, type=FILE, required=True)
def check_command(files: tuple[Path, ...]) -> None:
    """Validate questionnaire files without touching the database."""
    failed = False
    for path in files:
        try:
            definition = parse_questionnaire(path.read_text(encoding="utf-8"), source=path.name)
        except QuestionnaireError as exc:
            click.echo(str(exc), err=True)
            failed = True
            continue
        click.echo(f"{path.name}: valid ({definition['key']}, "
                   f"{len(definition['questions'])} questions)")
    if failed:
        raise click.exceptions.Exit(1)
