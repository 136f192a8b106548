"""The periodic jobs, in one table, and the APScheduler clock that runs them.

APScheduler is only the clock. What is due lives in our tables (invitations, webhook deliveries,
digest runs, contact data past its retention time, rollup slots), so a missed tick (a process that
was down, a pass that took long) is simply caught up by the next one; APScheduler's own misfire
handling never decides whether anything is sent.

Each job is a plain function of the service that owns the work; ``run_job`` wraps every one of
them the same way: its own app context, errors logged without personal data and never raised to
the clock, the session rolled back and removed. Every job may run in several schedulers at once
(the dispatcher claims rows, the digest records its week, the purge is idempotent, the compaction
takes an advisory lock).

The app factory never starts a scheduler, so gunicorn workers never run one: ``memnun run``
starts the background scheduler (one process, the embedded setup) and ``memnun scheduler`` runs
the blocking one as its own process (production; several may run, the claims keep them apart).
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask, current_app

from app.analytics.rollup import compact
from app.analytics.themes import recompute_themes
from app.distribution.bounce_imap import poll_bounces
from app.distribution.campaigns import close_due_campaigns
from app.distribution.dispatcher import dispatch_due
from app.extensions import db
from app.logsafe import log_exception
from app.privacy.services import purge_expired_contacts
from app.reports.digest import run_weekly_digest
from app.webhooks import deliver_due_webhooks

log = logging.getLogger(__name__)

#: A job's work: called in an app context with a function that says whether the scheduler is
#: stopping (a long pass ends after its current item).
Work = Callable[[Callable[[], bool]], Any]


def _dispatch(stopping: Callable[[], bool]) -> Any:
    return dispatch_due(should_stop=stopping)


def _deliver_webhooks(stopping: Callable[[], bool]) -> Any:
    return deliver_due_webhooks()


def _alert_digest(stopping: Callable[[], bool]) -> Any:
    return run_weekly_digest()


def _retention(stopping: Callable[[], bool]) -> Any:
    return purge_expired_contacts()


def _compact_rollup(stopping: Callable[[], bool]) -> int:
    """Fold the dashboards' rollup rows of the writers together (``app.analytics.rollup``);
    a second compaction at the same moment finds the advisory lock taken and does nothing."""
    with db.engine.begin() as connection:
        return compact(connection)


def _themes(stopping: Callable[[], bool]) -> int | None:
    """Compute the comment themes again (``app.analytics.themes``): pages only read them."""
    return recompute_themes(int(current_app.config.get("MEMNUN_THEMES_COUNT") or 12))


def _close_campaigns(stopping: Callable[[], bool]) -> int:
    return close_due_campaigns()


def _poll_bounces(stopping: Callable[[], bool]) -> Any:
    return poll_bounces(current_app.config)


def _bounce_poll_interval(app: Flask) -> dict[str, int]:
    return {"seconds": max(10, int(app.config.get("MEMNUN_BOUNCE_IMAP_INTERVAL_SECONDS") or 120))}


def _themes_interval(app: Flask) -> dict[str, int]:
    return {"hours": int(app.config.get("MEMNUN_THEMES_INTERVAL_HOURS") or 6)}


def _dispatch_interval(app: Flask) -> dict[str, int]:
    return {"seconds": int(app.config.get("MEMNUN_DISPATCH_INTERVAL_SECONDS") or 30)}


def _phone_calls(stopping: Callable[[], bool]) -> int:
    """Calls past their expiry end, and links that expired unanswered under a rule that calls
    as a fallback get their call (``app.phone.services``)."""
    from app.phone.services import expire_calls, plan_phone_fallbacks

    return expire_calls() + plan_phone_fallbacks()


@dataclass(frozen=True)
class PeriodicJob:
    """One row of the table: ``work`` every ``every(app)`` (APScheduler ``interval`` trigger
    arguments), the first run at once unless ``first_run_now`` is false."""

    id: str
    work: Work
    every: Callable[[Flask], dict[str, int]]
    first_run_now: bool = True
    failure: str = "job failed"
    wanted: Callable[[Flask], bool] = lambda app: True  # noqa: E731 - off by configuration


DISPATCH = PeriodicJob("memnun-dispatch", _dispatch, _dispatch_interval,
                       failure="dispatch pass failed")
WEBHOOKS = PeriodicJob("memnun-webhooks", _deliver_webhooks, _dispatch_interval,
                       failure="webhook delivery failed")
ALERT_DIGEST = PeriodicJob("memnun-alert-digest", _alert_digest, lambda app: {"hours": 1},
                           failure="alert digest tick failed")
RETENTION = PeriodicJob("memnun-retention", _retention, lambda app: {"days": 1},
                        failure="retention purge failed")
ROLLUP_COMPACTION = PeriodicJob("memnun-rollup-compaction", _compact_rollup,
                                lambda app: {"minutes": 5}, first_run_now=False,
                                failure="rollup compaction failed")
THEMES = PeriodicJob("memnun-themes", _themes, _themes_interval,
                     failure="theme computation failed")
BOUNCE_POLL = PeriodicJob("memnun-bounce-poll", _poll_bounces, _bounce_poll_interval,
                          failure="bounce mailbox pass failed",
                          wanted=lambda app: bool(app.config.get("MEMNUN_BOUNCE_IMAP_HOST")))
CAMPAIGN_CLOSING = PeriodicJob("memnun-campaign-closing", _close_campaigns,
                               lambda app: {"minutes": 10},
                               failure="closing due campaigns failed")
PHONE_CALLS = PeriodicJob("memnun-phone-calls", _phone_calls, lambda app: {"minutes": 5},
                          failure="phone call planning failed")

#: Every periodic job of Memnun: sending due invitations and reminders, delivering webhooks, the
#: weekly alert digest (an hourly tick; the database says whether a week is due), the daily
#: purge of contact data past its retention time, the rollup compaction and the comment themes
#: (every few hours: one computation over every comment, which the pages then only read), and,
#: when a bounce mailbox is configured, polling it (``app.distribution.bounce_imap``); closing
#: the campaigns whose closing date has come (``app.distribution.campaigns``); and the phone
#: calls' expiry and fallbacks (``app.phone``).
JOBS: tuple[PeriodicJob, ...] = (DISPATCH, WEBHOOKS, ALERT_DIGEST, RETENTION, ROLLUP_COMPACTION,
                                 THEMES, BOUNCE_POLL, CAMPAIGN_CLOSING, PHONE_CALLS)


def run_job(job: PeriodicJob, stopping: threading.Event | None, app: Flask) -> Any:
    """Run ``job`` once in its own app context and return what its work returned; an error is
    logged (without personal data) and gives None, never raised: the next tick must still come.
    """
    should_stop = stopping.is_set if stopping is not None else (lambda: False)
    with app.app_context():
        try:
            return job.work(should_stop)
        except Exception:  # noqa: BLE001 - the next tick must still come
            log_exception(log, job.failure)
            db.session.rollback()
            return None
        finally:
            db.session.remove()


def add_jobs(scheduler: BaseScheduler, app: Flask,
             stopping: threading.Event | None = None) -> None:
    """Put every job of ``JOBS`` on ``scheduler``.

    Never two runs of a job at once (a long pass is never overlapped by the next tick), missed
    ticks collapse into one, and a late tick still runs: a tick is only a prompt to look.
    """
    for job in JOBS:
        if not job.wanted(app):
            continue
        first = {"next_run_time": dt.datetime.now(dt.UTC)} if job.first_run_now else {}
        scheduler.add_job(
            functools.partial(run_job, job, stopping),
            "interval",
            args=[app],
            id=job.id,
            name=job.id,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            **first,
            **job.every(app),
        )


def _on_sigterm(handler: Any) -> None:
    """Install ``handler`` for SIGTERM when we are in the main thread (signals need it)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


def start_background_scheduler(app: Flask) -> BackgroundScheduler:
    """Start the clock in a background thread of this process (``memnun run``)."""
    stopping = threading.Event()
    scheduler = BackgroundScheduler(timezone="UTC", daemon=True)
    add_jobs(scheduler, app, stopping)
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
    """Run the clock in this process until SIGTERM or Ctrl-C (``memnun scheduler``)."""
    stopping = threading.Event()
    scheduler = BlockingScheduler(timezone="UTC")
    add_jobs(scheduler, app, stopping)

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
