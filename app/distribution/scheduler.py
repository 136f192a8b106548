"""APScheduler wiring: the clock that calls ``dispatch_due`` every few seconds.

APScheduler is only the clock. What is due lives in our tables, so a missed run (a process that
was down, a pass that took long) is simply caught up by the next pass; APScheduler's own misfire
handling never decides whether a survey goes out.

The app factory never starts a scheduler, so gunicorn workers never run one: ``memnun run``
starts the background scheduler (one process, the embedded setup) and ``memnun scheduler`` runs
the blocking one as its own process (production; several may run, the claims keep them apart).
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from app.distribution.logsafe import log_exception
from app.extensions import db

log = logging.getLogger(__name__)

JOB_ID = "memnun-dispatch"
COMPACTION_JOB_ID = "memnun-rollup-compaction"
COMPACT_EVERY_MINUTES = 5


def run_dispatch_pass(app: Flask, stopping: threading.Event | None = None) -> None:
    """One dispatcher pass in its own app context; errors are logged, never raised to the clock."""
    from app.distribution.dispatcher import dispatch_due
    from app.webhooks import deliver_due_webhooks

    with app.app_context():
        try:
            dispatch_due(should_stop=stopping.is_set if stopping else None)
            deliver_due_webhooks()  # webhooks ride on the same clock (app.webhooks)
        except Exception:  # noqa: BLE001 - the next tick must still come
            log_exception(log, "dispatch pass failed")
            db.session.rollback()
        finally:
            db.session.remove()


def add_periodic_job(scheduler: BaseScheduler, job: Callable[[Flask], Any], app: Flask,
                     job_id: str, *, first_run_now: bool = True, **interval: int) -> None:
    """Run ``job(app)`` every ``interval`` (APScheduler's ``interval`` trigger arguments).

    Never two runs of a job at once, missed ticks collapse into one, and a late tick still runs:
    what a job does is decided by the database, so a tick is only a prompt to look.
    """
    scheduler.add_job(
        job,
        "interval",
        args=[app],
        id=job_id,
        replace_existing=True,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
        **({"next_run_time": dt.datetime.now(dt.UTC)} if first_run_now else {}),
        **interval,
    )


def run_rollup_compaction(app: Flask) -> int:
    """Fold the dashboards' rollup rows of the writers together (``app.analytics.rollup``);
    errors are logged, never raised to the clock. Several schedulers may run it: a second
    compaction at the same moment finds the advisory lock taken and does nothing."""
    from app.analytics.rollup import compact

    with app.app_context():
        try:
            with db.engine.begin() as connection:
                return compact(connection)
        except Exception:  # noqa: BLE001 - the next tick must still come
            log_exception(log, "rollup compaction failed")
            return 0


def _add_jobs(scheduler: BaseScheduler, app: Flask, stopping: threading.Event) -> None:
    """The dispatcher every few seconds, the weekly alert digest's hourly tick, the daily
    purge of contact data past its retention time, and the rollup compaction."""
    from app.distribution.alert_digest import register_digest_job
    from app.privacy.services import register_retention_job

    scheduler.add_job(
        run_dispatch_pass,
        "interval",
        seconds=int(app.config.get("MEMNUN_DISPATCH_INTERVAL_SECONDS") or 30),
        args=[app, stopping],
        id=JOB_ID,
        replace_existing=True,
        max_instances=1,  # a long pass is never overlapped by the next tick
        coalesce=True,  # ticks missed while busy or asleep collapse into one
        misfire_grace_time=None,
        next_run_time=dt.datetime.now(dt.UTC),  # first pass at once, not after one interval
    )
    register_digest_job(scheduler, app)
    register_retention_job(scheduler, app)
    add_periodic_job(scheduler, run_rollup_compaction, app, COMPACTION_JOB_ID,
                     first_run_now=False, minutes=COMPACT_EVERY_MINUTES)


def _on_sigterm(handler: Any) -> None:
    """Install ``handler`` for SIGTERM when we are in the main thread (signals need it)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


def start_background_scheduler(app: Flask) -> BackgroundScheduler:
    """Start the dispatcher clock in a background thread of this process (``memnun run``)."""
    stopping = threading.Event()
    scheduler = BackgroundScheduler(timezone="UTC", daemon=True)
    _add_jobs(scheduler, app, stopping)
    scheduler.start()
    app.extensions["memnun_scheduler"] = scheduler

    def stop(signum: int, frame: Any) -> None:
        log.info("SIGTERM: stopping the scheduler")
        stopping.set()
        if scheduler.running:
            scheduler.shutdown(wait=True)  # the pass in progress ends after its current message
        raise SystemExit(0)  # then let the web server in the main thread end as well

    _on_sigterm(stop)

    @atexit.register
    def stop_at_exit() -> None:  # Ctrl-C: end the pass in progress after its current message
        stopping.set()
        if scheduler.running:
            scheduler.shutdown(wait=True)

    log.info("background scheduler started")
    return scheduler


def run_blocking_scheduler(app: Flask) -> None:
    """Run the dispatcher clock in this process until SIGTERM or Ctrl-C (``memnun scheduler``)."""
    stopping = threading.Event()
    scheduler = BlockingScheduler(timezone="UTC")
    _add_jobs(scheduler, app, stopping)

    def stop(signum: int, frame: Any) -> None:
        log.info("SIGTERM: stopping the scheduler")
        stopping.set()
        if scheduler.running:
            # Waits for a running pass (it stops after its current message), then wakes the
            # main loop, and start() returns.
            scheduler.shutdown(wait=True)

    _on_sigterm(stop)
    log.info("scheduler running; stop with SIGTERM or Ctrl-C")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        stopping.set()
        if scheduler.running:
            scheduler.shutdown(wait=True)
    log.info("scheduler stopped")
