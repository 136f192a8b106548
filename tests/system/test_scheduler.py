"""The one table of periodic jobs (``app.scheduler``): every job is on it, each wrapped once."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from app.extensions import db
from app.scheduler import JOBS, PeriodicJob, add_jobs, run_job


def test_every_periodic_job_is_on_the_table_with_its_interval(make_app) -> None:
    app = make_app(MEMNUN_DISPATCH_INTERVAL_SECONDS=7)
    scheduler = BackgroundScheduler(timezone="UTC")  # never started
    add_jobs(scheduler, app)
    intervals = {job.id: job.trigger.interval for job in scheduler.get_jobs()}
    assert intervals == {
        "memnun-dispatch": dt.timedelta(seconds=7),
        "memnun-webhooks": dt.timedelta(seconds=7),
        "memnun-alert-digest": dt.timedelta(hours=1),
        "memnun-retention": dt.timedelta(days=1),
        "memnun-rollup-compaction": dt.timedelta(minutes=5),
        "memnun-themes": dt.timedelta(hours=6),
        "memnun-campaign-closing": dt.timedelta(minutes=10),
        "memnun-phone-calls": dt.timedelta(minutes=5),
    }  # and no bounce mailbox to poll: tests/distribution/test_bounce_imap.py has that job
    for job in scheduler.get_jobs():
        assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, None)
        assert job.args == (app,)
    assert len({job.id for job in JOBS}) == len(JOBS)


def test_a_failing_job_is_logged_without_addresses_and_the_session_is_clean(
        app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    def fails(stopping) -> None:
        db.session.execute(db.text("SELECT 1"))
        raise RuntimeError("could not reach ayse@example.org")

    job = PeriodicJob("test-failing", fails, lambda app: {"seconds": 1}, failure="test job failed")
    with caplog.at_level(logging.ERROR, logger="app.scheduler"):
        assert run_job(job, None, app) is None  # the error never reaches the clock
    [record] = [r for r in caplog.records if r.name == "app.scheduler"]
    assert "test job failed" in record.getMessage()
    assert "ayse@example.org" not in record.getMessage()
    assert "<address>" in record.getMessage()
    with app.app_context():  # a fresh session: nothing was left open
        assert not db.session().in_transaction()


def test_a_job_returns_what_its_work_returned_and_sees_the_stop_flag(app: Flask) -> None:
    import threading

    stopping = threading.Event()
    seen = []
    job = PeriodicJob("test-returning", lambda should_stop: seen.append(should_stop()) or 42,
                      lambda app: {"seconds": 1})
    assert run_job(job, stopping, app) == 42
    stopping.set()
    assert run_job(job, stopping, app) == 42
    assert seen == [False, True]
