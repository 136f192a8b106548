"""The weekly alert digest: each unit's managers get that unit's alerts by e-mail.

Who gets what: a member of staff whose ``units`` include a unit (or a unit above it: a manager
of a directorate manages its departments) gets the alerts about it; admins also get the
organisation-wide ones. One message per person, holding only their alerts, so no one sees who
else manages what. Staff with no alerts get no message.

When: the scheduler (``app.scheduler``) calls ``run_weekly_digest`` every hour; from Monday 07:00 in
the organisation's time zone (``MEMNUN_ALERT_DIGEST_WEEKDAY``/``_HOUR`` may change it) the first
tick of the ISO week claims that week in ``alert_digest_run`` and sends; every later tick, in this
process or in another scheduler process, finds the week claimed and does nothing. A scheduler that
was down on Monday sends when it comes back during the week. ``memnun alerts send-digest`` sends at
once, whatever was sent before (for a manual run, or cron without the scheduler).

The alerts cover the month to date that ends the day before (``app.reports.alerts``); in the
first week of a month, the whole month just ended (``default_period_end``).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app.analytics.tree import unit_tree
from app.auth.scope import units_in_scope
from app.distribution.mail import MailError, MailServerUnavailable, get_backend
from app.extensions import db
from app.models import AlertDigestRun, Role, User
from app.models.types import utcnow
from app.organisation.settings import organisation_settings
from app.reports.alerts import Alert, current_alerts
from app.timefmt import organisation_zone

log = logging.getLogger(__name__)

DEFAULT_WEEKDAY = 0  # Monday
DEFAULT_HOUR = 7
MIN_MONTH_DAYS = 7  # days of a month to date before the digest reports on it


@dataclass
class DigestResult:
    period_end: dt.date
    alerts: int = 0
    recipients: dict[str, int] = field(default_factory=dict)  # e-mail -> alerts in it
    sent: int = 0
    failed: int = 0
    dry_run: bool = False

    def summary(self) -> str:
        verb = "would send" if self.dry_run else "sent"
        return (f"alert digest to {self.period_end.isoformat()}: {self.alerts} alert(s), "
                f"{verb} {len(self.recipients) if self.dry_run else self.sent} message(s)"
                + (f", {self.failed} failed" if self.failed else ""))


def digest_recipients(alerts: Iterable[Alert], users: Iterable[User] | None = None
                      ) -> dict[User, list[Alert]]:
    """Each active member of staff with the alerts meant for them (see the module)."""
    alerts = list(alerts)
    if users is None:
        users = db.session.scalars(select(User).where(User.active.is_(True))).all()
    tree = unit_tree()
    result: dict[User, list[Alert]] = {}
    for user in users:
        managed = units_in_scope(user, tree) or frozenset()  # staff without units: no unit alerts
        mine = [alert for alert in alerts
                if (alert.unit_id is not None and alert.unit_id in managed)
                or (alert.unit_id is None and user.role == Role.ADMIN)]
        if mine:
            result[user] = mine
    return result


def _charset() -> Charset:
    charset = Charset("utf-8")
    charset.body_encoding = QP
    return charset


def _message_id(key: str) -> str:
    domain = urlsplit(current_app.config["MEMNUN_BASE_URL"]).hostname or "memnun.localhost"
    return f"<memnun.alert-digest.{key}@{domain}>"


def build_digest_message(user: User, alerts: list[Alert], period_end: dt.date, key: str,
                         now: dt.datetime | None = None) -> Message:
    """The digest e-mail for ``user`` (text and HTML); ``key`` makes its Message-ID, the same
    for the same week and person, so a mail system can drop a copy."""
    now = now or utcnow()
    config = current_app.config
    settings = organisation_settings()
    organisation = settings.name
    with force_locale(settings.default_language):
        grouped: dict[str, list[str]] = defaultdict(list)
        for alert in alerts:
            grouped[alert.unit_name or organisation].append(alert.message())
        context: dict[str, Any] = {
            "organisation": organisation,
            "period_start": period_end.replace(day=1).isoformat(),
            "period_end": period_end.isoformat(),
            "groups": dict(grouped),
            "count": len(alerts),
            "dashboard_url": f"{config['MEMNUN_BASE_URL'].rstrip('/')}/dashboards/",
            "follow_ups_url": f"{config['MEMNUN_BASE_URL'].rstrip('/')}/follow-ups/",
        }
        subject = _("%(organisation)s: %(count)s alert(s) to %(day)s",
                    organisation=organisation, count=len(alerts), day=period_end.isoformat())
        text = render_template("mail/alert_digest.txt", **context)
        html = render_template("mail/alert_digest.html", **context)
    message = MIMEMultipart("alternative")
    message.attach(MIMEText(text, "plain", _charset()))
    message.attach(MIMEText(html, "html", _charset()))
    message["Subject"] = Header(subject, "utf-8")
    message["From"] = settings.mail_from
    message["To"] = user.email
    message["Date"] = format_datetime(now)
    message["Message-ID"] = _message_id(f"{key}.{user.id}")
    message["Auto-Submitted"] = "auto-generated"
    message["X-Memnun-Kind"] = "alert-digest"
    return message


def default_period_end(now: dt.datetime | None = None) -> dt.date:
    """The last day the digest covers: yesterday in the organisation's time zone (whole days
    only), except in the first week of a month, when the month to date is too short to say
    anything and the month just ended (now with its final figures) is reported instead."""
    now = now or utcnow()
    local = now.astimezone(organisation_zone()).date()
    yesterday = local - dt.timedelta(days=1)
    if yesterday.day < MIN_MONTH_DAYS:
        return yesterday.replace(day=1) - dt.timedelta(days=1)
    return yesterday


def send_alert_digest(period_end: dt.date | None = None, *, dry_run: bool = False,
                      key: str | None = None, now: dt.datetime | None = None) -> DigestResult:
    """Compute the alerts to ``period_end`` (default: yesterday) and mail each recipient theirs
    through the configured mail backend; ``dry_run`` only says who would get how many.

    A message the server refuses is counted as failed and the others still go; a mail server
    that cannot be reached stops the run with ``MailServerUnavailable``.
    """
    period_end = period_end or default_period_end(now)
    alerts = current_alerts(period_end)
    recipients = digest_recipients(alerts)
    result = DigestResult(period_end=period_end, alerts=len(alerts), dry_run=dry_run,
                          recipients={user.email: len(mine) for user, mine in recipients.items()})
    if dry_run or not recipients:
        return result
    key = key or f"{period_end.isoformat()}.{secrets.token_hex(4)}"
    with get_backend(current_app.config) as backend:
        for user, mine in recipients.items():
            message = build_digest_message(user, mine, period_end, key, now)
            try:
                backend.send(message, invitation_id=0)  # 0: not an invitation
            except MailServerUnavailable:
                raise
            except MailError as exc:
                result.failed += 1
                log.warning("alert digest to user %s refused: %s", user.id, exc)
            else:
                result.sent += 1
    log.info("alert digest: %s", result.summary())
    return result


# --- the weekly job ----------------------------------------------------------------------------


def week_key(local_day: dt.date) -> str:
    year, week, _weekday = local_day.isocalendar()
    return f"{year}-W{week:02d}"


def _due(local: dt.datetime, weekday: int, hour: int) -> bool:
    """Whether this week's sending time has come (it stays due until the week ends)."""
    return (local.weekday(), local.hour) >= (weekday, hour)


def _claim(week: str) -> AlertDigestRun | None:
    run = AlertDigestRun(week=week, started_at=utcnow())
    db.session.add(run)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    return run


def run_weekly_digest(now: dt.datetime | None = None) -> DigestResult | None:
    """Send this week's digest if it is due and no process sent it yet; None when nothing was
    done. Needs an app context."""
    now = now or utcnow()
    config = current_app.config
    local = now.astimezone(organisation_zone())
    weekday = int(config.get("MEMNUN_ALERT_DIGEST_WEEKDAY", DEFAULT_WEEKDAY))
    hour = int(config.get("MEMNUN_ALERT_DIGEST_HOUR", DEFAULT_HOUR))
    if not _due(local, weekday, hour):
        return None
    week = week_key(local.date())
    if db.session.scalar(select(AlertDigestRun.id).where(AlertDigestRun.week == week)):
        return None
    run = _claim(week)
    if run is None:
        return None  # another scheduler claimed it a moment ago
    try:
        result = send_alert_digest(key=week, now=now)
    except MailServerUnavailable:
        # Nothing could be handed over: give the week back so that the next tick tries again.
        db.session.rollback()
        db.session.execute(delete(AlertDigestRun).where(AlertDigestRun.week == week))
        db.session.commit()
        raise
    run.finished_at = utcnow()
    run.messages = result.sent
    db.session.commit()
    return result
