"""The production layout of docs/scaling.md, run on loopback (issue 20).

A PostgreSQL primary and a streaming replica (``pg_basebackup -R``), PgBouncer in transaction
mode in front of the primary, two ``memnun serve`` hosts behind HAProxy (health checks on
/healthz), two ``memnun scheduler`` processes sending into an SMTP server, Redis for the rate
limits: each started from deploy/. Under a steady load of survey visits, intake over the API and
dashboard reads through the balancer, one after the other: a web host is killed, the replica's
replay is paused (it falls behind), the replica is stopped and started again, PgBouncer is
restarted, and a scheduler is killed.

Asserted: every survey answered as stored and every complaint answered 201 is in the primary;
every invitation is sent, none more than twice; the dashboards answer throughout, from the
primary (saying so) while the replica is behind or down and from the replica again once it is
back; HAProxy takes the dead host out; the hourly rollup written through PgBouncer equals a
rebuild from the rows; no survey token reaches an access log; no web host sends mail.
The figures (visits per second through the balancer, lag seen, failover times) are printed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select, update

from app import create_app
from app.analytics.rollup import ROLLUPS, rebuild
from app.distribution.tokens import token_for
from app.extensions import db
from app.models import ApiScope, Complaint, Invitation, InvitationState, Response
from tests.support.api import complaint_body, make_key
from tests.support.browsing import Browser
from tests.support.cluster import (
    HAProxy,
    PgBouncer,
    kill_group,
    primary_and_replica,
    start_memnun,
    wait_port,
)
from tests.support.database import base_config
from tests.support.factories import make_user
from tests.support.load import LoadRun
from tests.support.processes import SECRET_KEY, app_env, free_port, missing, stop, tail
from tests.support.seed import seed_invitations, seed_reference, states_of
from tests.support.smtp import timed_smtp_server

pytestmark = pytest.mark.xdist_group("processes")

REDIS = "redis://127.0.0.1:6379/0"
PLANNED = 240  # invitations the schedulers send during the load
SENDING_SECONDS = 35  # they fall due over this long from the start of the load
SURVEYS = 1000  # surveys open for the respondents (more than the load can answer)
MAX_LAG = 2  # MEMNUN_REPLICA_MAX_LAG_SECONDS
INVITATION_RE = re.compile(r"<memnun\.invitation\.(\d+)@")
NOTICE = "reporting copy of the database"
VIEWER = "viewer@example.org"


def overview_body(today: dt.date) -> dict[str, Any]:
    first = today.replace(day=1).isoformat()
    values = [("period", "start_date", first), ("period", "end_date", today.isoformat()),
              ("unit", "value", None), ("category", "value", None), ("channel", "value", None),
              ("questionnaire", "value", None), ("grain", "value", "day"),
              ("refresh", "n_intervals", 1), ("shortcut", "value", "custom"),
              ("compare", "value", "previous"), ("source", "value", None),
              ("mode", "value", None)]
    return {
        "output": "..kpis.children...trend.figure...status.children..",
        "outputs": [{"id": "kpis", "property": "children"}, {"id": "trend", "property": "figure"},
                    {"id": "status", "property": "children"}],
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in values],
        "changedPropIds": ["refresh.n_intervals"], "state": [],
    }


@dataclass
class Reading:
    at: float
    ok: bool
    notice: bool = False
    status: str = ""
    done: float = field(default_factory=time.monotonic)  # when the answer came


@dataclass
class Load:
    """Intake and dashboard readers beside the respondents (LoadRun), until ``stop`` is set."""

    base: str
    api_key: str
    stop: threading.Event = field(default_factory=threading.Event)
    accepted: list[str] = field(default_factory=list)  # external ids answered 201
    refused: list[tuple[float, float, str]] = field(default_factory=list)  # (start, end, why)
    readings: list[Reading] = field(default_factory=list)

    def intake(self) -> None:
        session = requests.Session()
        while not self.stop.is_set():
            external_id = f"CL-{uuid.uuid4().hex[:12]}"
            started = time.monotonic()
            body = complaint_body(external_id=external_id, category="water", unit="parks")
            try:
                answer = session.post(f"{self.base}/api/v1/complaints", json=body, timeout=30,
                                      headers={"Authorization": f"Bearer {self.api_key}"})
                status = str(answer.status_code)
            except requests.RequestException as exc:
                status = type(exc).__name__
            if status == "201":
                self.accepted.append(external_id)
            else:
                self.refused.append((started, time.monotonic(), status))
            time.sleep(0.1)

    def sign_in(self) -> Browser:
        """A viewer with the dashboards open (before the faults), reading English."""
        browser = Browser(self.base)
        browser.login(VIEWER, "correct horse battery")
        browser.submit("/", "/language", language="en")  # the notice is looked for in English
        assert browser.get("/dashboards/").status_code == 200
        return browser

    def dashboards(self, browser: Browser) -> None:
        body = overview_body(dt.datetime.now(dt.UTC).date())
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                token = browser.session.cookies.get("_csrf_token", path="/dashboards/")
                answer = browser.session.post(f"{self.base}/dashboards/_dash-update-component",
                                              json=body, headers={"X-CSRFToken": token or ""},
                                              timeout=30)
                if answer.status_code == 200:
                    status = answer.json()["response"]["status"]["children"]
                    self.readings.append(Reading(started, True, NOTICE in status, status))
                else:
                    self.readings.append(Reading(started, False, status=str(answer.status_code)))
            except (requests.RequestException, ValueError, KeyError) as exc:
                self.readings.append(Reading(started, False, status=type(exc).__name__))
            time.sleep(0.3)


def first_after(readings: list[Reading], moment: float,
                condition: Callable[[Reading], bool]) -> float | None:
    """Seconds from ``moment`` to the first reading after it that meets ``condition``."""
    for reading in readings:
        if reading.at >= moment and condition(reading):
            return reading.at - moment
    return None


def wait_for(condition: Callable[[], bool], seconds: float, interval: float = 0.1) -> float:
    """Seconds until ``condition()`` held (AssertionError after ``seconds``)."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > seconds:
            raise AssertionError(f"not within {seconds} s")
        time.sleep(interval)
    return time.monotonic() - started


def rollup_difference(url: str, instance: Path) -> list[str]:
    """Keys where the rollup (every slot added up) differs from a rebuild from the rows."""
    app = create_app(base_config(url, instance))
    with app.app_context():
        connection = db.session.connection()

        def figures() -> dict[tuple[str, tuple[Any, ...]], tuple[float, ...]]:
            found = {}
            for rollup in ROLLUPS:
                table = rollup.table
                keys = [table.c[k] for k in rollup.key if k != "slot"]
                names = [f for f in rollup.figures]
                rows = connection.execute(select(
                    *keys, *[func.sum(table.c[f]).label(f) for f in names]).group_by(*keys))
                for row in rows.mappings():
                    values = tuple(round(float(row[f]), 6) for f in names)
                    if any(values):
                        found[(table.name, tuple(row[k.name] for k in keys))] = values
            return found

        kept = figures()
        nested = connection.begin_nested()
        rebuild(connection)
        rebuilt = figures()
        nested.rollback()
        db.session.remove()
        db.engine.dispose()
    return [f"{key}: {kept.get(key)} != {rebuilt.get(key)}"
            for key in set(kept) | set(rebuilt) if kept.get(key) != rebuilt.get(key)]


@pytest.fixture
def redis_up() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=2).ping()
    except redis.RedisError:
        missing("Redis does not answer on 127.0.0.1:6379 (the rate limits' storage)")


def test_the_layout_survives_a_host_the_replica_pgbouncer_and_a_scheduler_going_down(
        redis_up: None, tmp_path: Path) -> None:
    scratch = tmp_path
    prefix = f"memnun-cluster-{uuid.uuid4().hex[:8]}"
    setup_started = time.monotonic()
    # Every server is stopped by the one that started it, even when the set-up fails.
    with primary_and_replica() as (primary, replica), timed_smtp_server() as sink, \
            contextlib.closing(PgBouncer(primary)) as bouncer:
        bouncer.start()
        # The schema and the data, on the primary (the replica streams them).
        setup = create_app(base_config(primary.dsn(), scratch))
        now = dt.datetime.now(dt.UTC)
        with setup.app_context():
            db.create_all()
            ref = seed_reference()
            surveys = seed_invitations(ref, SURVEYS, due_at=now - dt.timedelta(hours=2),
                                       state=InvitationState.SENT, secret_key=SECRET_KEY,
                                       sent_at=now - dt.timedelta(hours=1),
                                       expires_at=now + dt.timedelta(days=7))
            # Made due one after another once the load runs (below).
            planned = seed_invitations(ref, PLANNED, due_at=now + dt.timedelta(days=1))
            db.session.remove()
        make_user(setup, VIEWER, role="viewer")
        key = make_key(setup, ApiScope.INTAKE, ApiScope.READ)
        with setup.app_context():
            db.engine.dispose()

        common = app_env(
            bouncer.url(), scratch, TRANSACTION_POOLING="true",
            REPLICA_DATABASE_URL=replica.dsn(), REPLICA_MAX_LAG_SECONDS=MAX_LAG,
            REPLICA_CHECK_SECONDS=1, RATELIMIT_ENABLED="true", RATELIMIT_STORAGE_URI=REDIS,
            RATELIMIT_KEY_PREFIX=prefix, RESPOND_RATE_LIMIT="100000 per minute",
            TRUSTED_PROXIES=1, MAIL_BACKEND="smtp", SMTP_HOST=sink.host, SMTP_PORT=sink.port,
            DISPATCH_BATCH_SIZE=20, DISPATCH_LEASE_SECONDS=4, TIMEZONE="UTC",
            WEB_WORKERS=2, WEB_THREADS=2, WEB_TIMEOUT=30)
        ports = {"web1": free_port(), "web2": free_port()}
        web_logs = {name: scratch / f"{name}.log" for name in ports}
        webs = {name: start_memnun("memnun-web.service", {
            **common, "MEMNUN_WEB_BIND": f"127.0.0.1:{port}",
            "MEMNUN_MAIL_FROM": "Memnun <web@memnun.test>"}, web_logs[name])
            for name, port in ports.items()}
        sched_logs = {n: scratch / f"scheduler-{n}.log" for n in (1, 2)}
        schedulers = {n: start_memnun("memnun-scheduler.service", {
            **common, "MEMNUN_MAIL_FROM": f"Memnun <scheduler-{n}@memnun.test>"},
            sched_logs[n]) for n in (1, 2)}
        balancer = HAProxy(ports)
        load = Load(balancer.url, key)
        threads: list[threading.Thread] = []
        try:
            for name, port in ports.items():
                assert wait_port(port, 90), tail(web_logs[name])
            balancer.start()
            wait_for(lambda: set(balancer.states().values()) == {"UP"}, 30)
            for log in sched_logs.values():
                wait_for(lambda log=log: "scheduler running" in log.read_text(), 90)

            respondents = LoadRun(balancer.url, surveys, threads=3, rate=12, seconds=120,
                                  pause_after_failure=0.2)
            load_started = time.monotonic()
            with setup.app_context():
                # Due one after another over the load, so that the faults find them being sent.
                start = dt.datetime.now(dt.UTC)
                db.session.execute(update(Invitation).where(Invitation.id.in_(planned)).values(
                    due_at=start + (Invitation.id - planned[0]) * dt.timedelta(
                        seconds=SENDING_SECONDS / PLANNED)))
                db.session.commit()
                db.session.remove()
            print(f"\nlayout up in {load_started - setup_started:.1f} s; {time.strftime('%H:%M')} "
                  f"UTC, load average {os.getloadavg()[0]:.1f}")
            threads = [threading.Thread(target=respondents.run),
                       threading.Thread(target=load.intake),
                       threading.Thread(target=load.dashboards, args=(load.sign_in(),))]
            for thread in threads:
                thread.start()
            lag_seen: list[float] = []

            def lag() -> float:
                value = replica.sql(
                    "SELECT COALESCE(EXTRACT(EPOCH FROM now() - "
                    "pg_last_xact_replay_timestamp()), 0)")
                return float(value or 0)

            time.sleep(4)
            lag_seen.append(lag())
            # 1. A web host dies: HAProxy's checks take it out.
            killed_at = time.monotonic()
            kill_group(webs["web1"])
            host_out = wait_for(lambda: balancer.states().get("web1") == "DOWN", 15)

            time.sleep(2)
            lag_seen.append(lag())
            # 2. The replica falls behind: replay paused while the load writes.
            replica.sql("SELECT pg_wal_replay_pause()")
            paused_at = time.monotonic()
            lag_notice = wait_for(lambda: first_after(load.readings, paused_at,
                                                      lambda r: r.notice) is not None, 20)
            replica.sql("SELECT pg_wal_replay_resume()")
            resumed_at = time.monotonic()
            lag_back = wait_for(lambda: first_after(
                load.readings, resumed_at, lambda r: r.ok and not r.notice) is not None, 20)

            # 3. The replica stops, then starts again.
            replica.stop("fast")
            stopped_at = time.monotonic()
            down_notice = wait_for(lambda: first_after(load.readings, stopped_at,
                                                       lambda r: r.notice) is not None, 20)
            time.sleep(2)
            replica.start()
            started_at = time.monotonic()
            up_back = wait_for(lambda: first_after(
                load.readings, started_at, lambda r: r.ok and not r.notice) is not None, 30)
            lag_seen.append(lag())

            # 4. PgBouncer restarts.
            bounce_started = time.monotonic()
            bouncer.stop()
            bouncer.start()
            bounced_at = time.monotonic()
            bouncer_back = wait_for(lambda: first_after(load.readings, bounced_at,
                                                        lambda r: r.ok) is not None, 30)

            # 5. A scheduler dies (what it had claimed is taken over when its lease ends).
            time.sleep(1)
            kill_group(schedulers[1])
            lag_seen.append(lag())

            time.sleep(2)
            respondents.seconds = 0  # no new visits from now on
            print(f"load average at the end of the load {os.getloadavg()[0]:.1f}")
            load_seconds = time.monotonic() - load_started
            threads[0].join(timeout=90)
            load.stop.set()
            for thread in threads[1:]:
                thread.join(timeout=60)
            with setup.app_context():
                all_sent = wait_for(lambda: set(states_of(planned).values()) == {
                    InvitationState.SENT}, 60, interval=0.5)
                stored_surveys = set(db.session.scalars(select(Response.invitation_id)))
                stored_complaints = set(db.session.scalars(select(Complaint.external_id)))
                db.session.remove()
                db.engine.dispose()
            wait_for(lambda: len({str(m["Message-ID"]) for m in sink.messages}) >= PLANNED, 15)
            states = balancer.states()
            ratelimited = _redis_keys(prefix)
        finally:
            load.stop.set()
            for thread in threads:
                thread.join(timeout=30)
            for process in schedulers.values():
                stop(process)
            for process in webs.values():
                stop(process)
            balancer.close()
            bouncer.close()
            if os.environ.get("MEMNUN_CLUSTER_LOGS"):  # to read them after a failed run
                shutil.copytree(scratch, os.environ["MEMNUN_CLUSTER_LOGS"], dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("outbox"))
        messages = list(sink.messages)
        difference = rollup_difference(primary.dsn(), scratch)
        web_text = "".join(path.read_text(errors="replace") for path in web_logs.values())
        all_logs = web_text + "".join(p.read_text(errors="replace") for p in sched_logs.values())

    # What the run measured (docs/scaling.md quotes these lines).
    ok = [r for r in load.readings if r.ok]
    copies = Counter(str(m["Message-ID"]) for m in messages)
    print(f"load {load_seconds:.1f} s; " + respondents.summary("survey visits through HAProxy"))
    refusals = Counter(why for *_, why in load.refused)
    print(f"intake: {len(load.accepted)} complaints accepted, refused {dict(refusals)}; "
          f"dashboard reads {len(ok)} of {len(load.readings)} answered, "
          f"{sum(r.notice for r in ok)} with the primary's notice")
    print(f"host killed -> HAProxy DOWN {host_out:.1f} s; replica paused -> notice "
          f"{lag_notice:.1f} s, resumed -> replica again {lag_back:.1f} s; replica stopped -> "
          f"notice {down_notice:.1f} s, started -> replica again {up_back:.1f} s; PgBouncer "
          f"restarted -> dashboards answer {bouncer_back:.1f} s; all invitations sent "
          f"{all_sent:.1f} s after the load")
    print(f"replica lag seen (age of last replayed transaction): "
          f"{', '.join(f'{v:.2f}' for v in lag_seen)} s; invitations {len(copies)}, "
          f"sent twice {sum(1 for c in copies.values() if c == 2)}")
    for reading in load.readings:
        if not reading.ok:
            print(f"  dashboard failure at +{reading.at - killed_at:.1f} s: {reading.status}")

    # Nothing accepted is lost.
    assert set(respondents.stored) <= stored_surveys
    assert len(respondents.stored) > 100, respondents.summary("visits")
    assert set(load.accepted) <= stored_complaints and len(load.accepted) > 20
    # Every invitation sent, none more than twice, and none by a web host.
    sent_ids = {int(m.group(1)) for m in map(INVITATION_RE.search, copies) if m}
    assert sent_ids == set(planned) and len(copies) == PLANNED, list(copies)[:3]
    assert max(copies.values()) <= 2, copies.most_common(3)
    assert not any("web@memnun.test" in str(m["From"]) for m in messages)
    senders = Counter(re.search(r"scheduler-(\d)@", str(m["From"])).group(1) for m in messages)
    assert set(senders) == {"1", "2"}, senders
    # The balancer took the dead host out, and kept it out.
    assert states["web1"] == "DOWN" and states["web2"] == "UP", states
    # The dashboards kept answering, from the primary (saying so) while the replica could not
    # be read, and returned to it.
    assert any(r.notice for r in ok) and any(not r.notice for r in ok)
    # Requests failed only while a host died under them or PgBouncer was away: a request in
    # flight on the killed host, and (PgBouncer restarted hard, every connection cut) until
    # the pools were renewed and HAProxy's checks saw the database again.
    windows = [(killed_at - 1, killed_at + host_out + 1),
               (bounce_started - 1, bounced_at + bouncer_back + 1)]
    print(f"failure windows: host {windows[0][1] - windows[0][0]:.1f} s, "
          f"PgBouncer {windows[1][1] - windows[1][0]:.1f} s")

    def outside(start: float, end: float) -> bool:
        return not any(start < w_end and end > w_start for w_start, w_end in windows)

    assert not [r.status for r in load.readings if not r.ok and outside(r.at, r.at + 30)]
    assert not [o.status for o in respondents.failures
                if outside(o.started, o.started + o.seconds)]
    assert not [why for start, end, why in load.refused if outside(start, end)]
    # A reading still in flight when the replica came back may be answered from it.
    readings_while = [r for r in load.readings if stopped_at < r.at and r.done < started_at]
    assert readings_while and all(r.ok and r.notice for r in readings_while)
    # Behind PgBouncer in transaction mode psycopg prepares nothing (MEMNUN_TRANSACTION_POOLING):
    # a statement prepared on one server connection and run on another would fail here.
    assert "prepared statement" not in all_logs
    # The rollup written through the pooler is exact: its per-connection slot is the server
    # backend's pid, which only one transaction at a time uses, pooled or not.
    assert not difference, difference[:5]
    # Redis counted the survey pages for both hosts.
    assert ratelimited > 0
    # No token and no query string in the access logs; requests were logged.
    assert '"GET /s/<token> HTTP/1.1" 302' in web_text
    for invitation_id in respondents.stored[:50]:
        assert token_for(invitation_id, SECRET_KEY) not in web_text
    assert "?" not in "".join(line for line in web_text.splitlines() if '" 30' in line
                              or '" 20' in line)


def _redis_keys(prefix: str) -> int:
    import redis

    client = redis.Redis.from_url(REDIS)
    return sum(1 for _ in client.scan_iter(f"{prefix}*"))
