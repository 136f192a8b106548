"""The alert digest: each unit's managers get their units' alerts through a real SMTP server;
the weekly job sends once a week however many schedulers run it."""

from __future__ import annotations

import datetime as dt

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from app.distribution.mail import MailServerUnavailable
from app.extensions import db
from app.models import AlertDigestRun, Target
from app.reports.digest import (
    run_weekly_digest,
    send_alert_digest,
)
from app.scheduler import ALERT_DIGEST, add_jobs
from tests.support.datasets.reports import Data, build_january
from tests.support.factories import make_user
from tests.support.server import free_port

JAN_31 = dt.date(2025, 1, 31)


@pytest.fixture
def app(make_app, smtp_server):
    return make_app(MEMNUN_TIMEZONE="UTC", MEMNUN_MAIL_BACKEND="smtp",
                    MEMNUN_SMTP_HOST=smtp_server.host, MEMNUN_SMTP_PORT=smtp_server.port,
                    BABEL_DEFAULT_LOCALE="en")


@pytest.fixture
def staff(app):
    """January's data with an 85 % CSAT target: alerts for the organisation, Belediye and
    Zabıta (see tests/reports/test_alerts_rules.py), and staff of every kind."""
    with app.app_context():
        build_january(Data().setup())
        db.session.add(Target(unit_id=None, metric="csat", value=0.85))
        db.session.commit()
    make_user(app, "admin@example.org", "admin")
    make_user(app, "city@example.org", "viewer", units=["city"])
    make_user(app, "fen@example.org", "viewer", units=["fen"])  # Fen has no alert of its own
    make_user(app, "zabita@example.org", "designer", units=["zabita"])
    make_user(app, "viewer@example.org", "viewer")


def _by_recipient(smtp_server) -> dict[str, str]:
    return {message["To"]: message.get_body(("plain",)).get_content()
            for message in smtp_server.messages}


def test_each_manager_gets_their_units_alerts(app, staff, smtp_server) -> None:
    with app.app_context():
        result = send_alert_digest(JAN_31)
    mail = _by_recipient(smtp_server)
    assert set(mail) == {"admin@example.org", "city@example.org", "zabita@example.org"}
    assert result.sent == 3 and result.failed == 0
    assert "Memnun: " in mail["admin@example.org"]  # the organisation, by its name
    assert "Belediye" not in mail["admin@example.org"]  # admins get the organisation's only
    assert "Belediye: CSAT" in mail["city@example.org"]
    assert "Zabıta" not in mail["city@example.org"]
    assert "Zabıta: CSAT (satisfied) is 80.0%, under its target of 85.0%." in (
        mail["zabita@example.org"])
    assert "Memnun: " not in mail["zabita@example.org"]
    message = smtp_server.messages[0]
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_body(("html",)) is not None


def test_a_dry_run_sends_nothing(app, staff, smtp_server) -> None:
    with app.app_context():
        result = send_alert_digest(JAN_31, dry_run=True)
    assert smtp_server.messages == []
    assert result.recipients == {"admin@example.org": 1, "city@example.org": 1,
                                 "zabita@example.org": 1}


def test_the_cli_sends_and_dry_runs(app, staff, smtp_server) -> None:
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["alerts", "send-digest", "--dry-run", "--period-end", "2025-01-31"])
    assert dry.exit_code == 0, dry.output
    assert "zabita@example.org: 1 alert(s)" in dry.output
    assert smtp_server.messages == []
    sent = runner.invoke(args=["alerts", "send-digest", "--period-end", "2025-01-31"])
    assert sent.exit_code == 0, sent.output
    assert "sent 3 message(s)" in sent.output
    assert len(smtp_server.messages) == 3


def test_the_weekly_job_sends_once_a_week(app, staff, smtp_server) -> None:
    sunday = dt.datetime(2025, 2, 2, 20, tzinfo=dt.UTC)  # ISO week 5 ends
    monday_early = dt.datetime(2025, 2, 3, 6, tzinfo=dt.UTC)
    monday = dt.datetime(2025, 2, 3, 8, tzinfo=dt.UTC)
    with app.app_context():
        db.session.add(AlertDigestRun(week="2025-W05"))  # week 5 was sent already
        db.session.commit()
        assert run_weekly_digest(sunday) is None
        assert run_weekly_digest(monday_early) is None  # before 07:00
        result = run_weekly_digest(monday)
        assert result is not None and result.period_end == JAN_31  # first week: January
        assert run_weekly_digest(monday + dt.timedelta(hours=1)) is None  # claimed already
        assert run_weekly_digest(monday + dt.timedelta(days=3)) is None
        run = db.session.scalar(db.select(AlertDigestRun).where(AlertDigestRun.week ==
                                                                "2025-W06"))
        assert run.finished_at is not None and run.messages == len(smtp_server.messages) > 0


def test_a_mail_server_that_is_down_gives_the_week_back(make_app, smtp_server) -> None:
    app = make_app(MEMNUN_TIMEZONE="UTC", MEMNUN_MAIL_BACKEND="smtp",
                   MEMNUN_SMTP_HOST="127.0.0.1", MEMNUN_SMTP_PORT=free_port(),
                   MEMNUN_SMTP_TIMEOUT=2)
    with app.app_context():
        build_january(Data().setup())
        db.session.add(Target(unit_id=None, metric="csat", value=0.85))
        db.session.commit()
    make_user(app, "admin@example.org", "admin")
    monday = dt.datetime(2025, 2, 3, 8, tzinfo=dt.UTC)
    with app.app_context():
        with pytest.raises(MailServerUnavailable):
            run_weekly_digest(monday)
        assert db.session.scalar(db.select(db.func.count(AlertDigestRun.id))) == 0


def test_register_digest_job(app) -> None:
    scheduler = BackgroundScheduler(timezone="UTC")
    add_jobs(scheduler, app)
    job = scheduler.get_job(ALERT_DIGEST.id)
    assert job is not None and job.args == (app,)
    assert job.trigger.interval == dt.timedelta(hours=1)


def test_the_digest_reports_the_month_just_ended_in_a_months_first_week(app) -> None:
    from app.reports.digest import default_period_end

    with app.app_context():
        assert default_period_end(dt.datetime(2025, 2, 3, 8, tzinfo=dt.UTC)) == JAN_31
        assert default_period_end(dt.datetime(2025, 2, 10, 8, tzinfo=dt.UTC)) == dt.date(
            2025, 2, 9)
