"""``memnun alerts``: see the alerts and send the digest by hand."""

from __future__ import annotations

import datetime as dt

import click
from flask.cli import with_appcontext


@click.group("alerts", help="Alerts on targets, drops and control charts.")
def alerts_group() -> None:
    pass


def _day(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("use the form YYYY-MM-DD") from exc


@alerts_group.command("list", help="Print the alerts of the month to date.")
@click.option("--period-end", help="Last day included (YYYY-MM-DD); default: yesterday.")
@with_appcontext
def list_alerts_command(period_end: str | None) -> None:
    from app.reports.alerts import current_alerts
    from app.reports.digest import default_period_end

    day = _day(period_end) or default_period_end()
    alerts = current_alerts(day)
    for alert in alerts:
        click.echo(f"[{alert.kind.value}] {alert.message()}")
    click.echo(f"{len(alerts)} alert(s) for {day.replace(day=1).isoformat()} to {day.isoformat()}")


@alerts_group.command("send-digest", help="E-mail each unit's managers their alerts now.")
@click.option("--dry-run", is_flag=True, help="Only print who would get how many alerts.")
@click.option("--period-end", help="Last day included (YYYY-MM-DD); default: yesterday.")
@with_appcontext
def send_digest_command(dry_run: bool, period_end: str | None) -> None:
    from app.distribution.mail import MailServerUnavailable
    from app.reports.digest import send_alert_digest

    try:
        result = send_alert_digest(_day(period_end), dry_run=dry_run)
    except MailServerUnavailable as exc:
        raise click.ClickException(f"the mail server cannot be reached: {exc}") from exc
    if dry_run:
        for email, count in sorted(result.recipients.items()):
            click.echo(f"{email}: {count} alert(s)")
    click.echo(result.summary())
