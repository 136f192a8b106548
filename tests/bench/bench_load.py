"""Benchmark: survey submissions through gunicorn, and two schedulers beside four web workers.

Run it by hand (pytest does not collect it)::

    .venv/bin/python tests/bench/bench_load.py [--seconds 180] [--rounds 3] [--target 0.6]
        [--sqlite-seconds 60] [--invitations 10000] [--workers 3] [--threads 8]
        [--only submissions|sqlite|schedulers]

Three parts, each on a database of its own (PostgreSQL: ``memnun_bench_visit`` and
``memnun_bench_load``; SQLite: a file in a scratch folder), with real processes on 127.0.0.1 only:

1. ``submissions``: respondents (``--threads`` at a time, each the whole visit: link, form, POST)
   against ``gunicorn 'app:create_app()'`` (``--workers``) on PostgreSQL, and against its
   baseline, a bare Flask app with flask-wtf CSRF that stores ten answers in one INSERT
   (``tests/support/bare_survey.py``), served by the same gunicorn with the same workers. The two
   take turns in ``--rounds`` rounds, ``--seconds`` in all for each, so that both see the same
   machine load. Prints visits per second, p50/p95/p99 latency, the CPU of each gunicorn (master
   and workers, from /proc) per visit, and the ratios Memnun/baseline of throughput and of CPU
   per visit against ``--target``; checks that every POST answered 302 is stored once and
   nothing else is.
2. ``sqlite``: the same at 20 submissions a second on SQLite (WAL, busy timeout) for
   ``--sqlite-seconds`` while a ``memnun scheduler`` sends invitations into the same file;
   checks that no process logged "database is locked".
3. ``schedulers``: two ``memnun scheduler`` processes and four web workers on PostgreSQL;
   ``--invitations`` due invitations to a real SMTP server while respondents submit; prints the
   dispatch rate and checks that every invitation arrived exactly once.

Exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.bench import app_for, fresh_database  # noqa: E402


def _seed(url: str, surveys: int, planned: int) -> tuple[list[int], list[int]]:
    from app.extensions import db
    from app.models import InvitationState
    from tests.support.processes import SECRET_KEY
    from tests.support.seed import seed_invitations, seed_reference

    now = dt.datetime.now(dt.UTC)
    app = app_for(url)
    with app.app_context():
        db.create_all()
        ref = seed_reference()
        survey_ids = seed_invitations(ref, surveys, due_at=now - dt.timedelta(hours=2),
                                      state=InvitationState.SENT, secret_key=SECRET_KEY,
                                      sent_at=now - dt.timedelta(hours=1),
                                      expires_at=now + dt.timedelta(days=7))
        planned_ids = seed_invitations(ref, planned, due_at=now - dt.timedelta(minutes=1))
        db.session.remove()
        db.engine.dispose()
    return survey_ids, planned_ids


def _stored(url: str) -> Counter[int]:
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Response

    app = app_for(url)
    with app.app_context():
        found = Counter(db.session.scalars(select(Response.invitation_id)))
        db.session.remove()
        db.engine.dispose()
    return found


def _count_sent(url: str, ids: list[int]) -> int:
    from app.extensions import db
    from app.models import InvitationState
    from tests.support.seed import states_of

    app = app_for(url)
    with app.app_context():
        sent = sum(s == InvitationState.SENT for s in states_of(ids).values())
        db.session.remove()
        db.engine.dispose()
    return sent


def _check(label: str, run: object, url: str, logs: list[Path]) -> bool:
    stored = _stored(url)
    ok = True
    failures = run.failures  # type: ignore[attr-defined]
    if failures:
        print(f"  {label}: {len(failures)} failed visits, e.g. "
              f"{[(o.invitation_id, o.status) for o in failures[:5]]}")
        ok = False
    accepted = set(run.stored)  # type: ignore[attr-defined]
    if set(stored) != accepted or set(stored.values()) - {1}:
        print(f"  {label}: stored {len(stored)} responses for {len(accepted)} accepted POSTs")
        ok = False
    for log in logs:
        text = log.read_text(errors="replace")
        for bad in ("database is locked", "Traceback"):
            if bad in text:
                print(f"  {label}: {log.name} contains {bad!r}")
                ok = False
    print(f"  {label}: {'no error, none lost, none doubled' if ok else 'CHECK FAILED'}")
    return ok


@dataclass
class Side:
    """One server of the interleaved survey-visit runs, and what it did over all its rounds."""

    name: str
    process: Any
    base_url: str
    visits: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    runs: list[Any] = field(default_factory=list)

    def round(self, invitation_ids: list[int], threads: int, seconds: float) -> list[int]:
        """Respondents for ``seconds``; returns the invitations not used."""
        from tests.support.load import LoadRun
        from tests.support.processes import cpu_seconds

        before = cpu_seconds(self.process)
        run = LoadRun(self.base_url, invitation_ids, threads=threads, seconds=seconds).run()
        self.cpu += cpu_seconds(self.process) - before
        self.seconds += run.elapsed
        self.visits += len(run.stored)
        self.runs.append(run)
        return invitation_ids[len(run.outcomes):]

    @property
    def rate(self) -> float:
        return self.visits / self.seconds if self.seconds else 0.0

    @property
    def cpu_per_visit(self) -> float:
        return self.cpu / self.visits if self.visits else float("inf")


def _merged(runs: list[Any]) -> Any:
    from tests.support.load import LoadRun

    merged = LoadRun("", [], elapsed=sum(run.elapsed for run in runs))
    for run in runs:
        merged.outcomes.extend(run.outcomes)
    return merged


def _print_ratios(memnun: Side, bare: Side, target: float) -> None:
    throughput = memnun.rate / bare.rate if bare.rate else 0.0
    cpu = bare.cpu_per_visit / memnun.cpu_per_visit if memnun.visits else 0.0
    for side in (memnun, bare):
        print(f"  {side.name}: {side.visits} visits in {side.seconds:.1f} s = {side.rate:.1f}/s; "
              f"server CPU {side.cpu:.1f} s = {side.cpu_per_visit * 1000:.1f} ms per visit")
    print(f"  ratio to the bare baseline: throughput {throughput:.2f}, CPU per visit "
          f"{cpu:.2f} (baseline ms / Memnun ms); target {target}: "
          f"{'met' if min(throughput, cpu) >= target else 'NOT met'}")
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"  load average at the end: {load}")


def submissions(args: argparse.Namespace, scratch: Path) -> bool:
    """Memnun's survey visit against the bare baseline (tests/support/bare_survey.py), both
    served by the same gunicorn with the same workers, in alternating rounds of one run."""
    from tests.support import bare_survey
    from tests.support.load import LoadRun
    from tests.support.processes import app_env, free_port, start_gunicorn, stop, wait_for_http

    url = fresh_database("visit")
    bare_survey.create_schema(url)
    surveys, _ = _seed(url, int(args.seconds * 250) + 100, 0)
    memnun_port, bare_port = free_port(), free_port()
    memnun_log, bare_log = scratch / "gunicorn.log", scratch / "gunicorn-bare.log"
    env = app_env(url, scratch)
    web = start_gunicorn(env, memnun_port, memnun_log, workers=args.workers)
    bare_web = start_gunicorn({**env, "BARE_DATABASE_URL": url}, bare_port, bare_log,
                              workers=args.workers, app="tests.support.bare_survey:create_app()")
    memnun = Side("Memnun", web, f"http://127.0.0.1:{memnun_port}")
    bare = Side("bare Flask", bare_web, f"http://127.0.0.1:{bare_port}")
    warm_up: list[Any] = []
    try:
        for side, log in ((memnun, memnun_log), (bare, bare_log)):
            wait_for_http(f"{side.base_url}/healthz", side.process, log)
            # Warm up (imports, first connections, statement caches) outside the figures.
            warm_up.append(LoadRun(side.base_url, surveys[-50:] if side is bare else surveys[:50],
                                   threads=args.threads).run())
        surveys = surveys[50:-50]
        each = args.seconds / args.rounds
        baseline_ids = list(range(10**7, 10**7 + len(surveys)))
        for _ in range(args.rounds):
            surveys = memnun.round(surveys, args.threads, each)
            baseline_ids = bare.round(baseline_ids, args.threads, each)
    finally:
        stop(web)
        stop(bare_web)
    label = (f"PostgreSQL, gunicorn {args.workers} workers, {args.threads} respondents, "
             f"{args.rounds} rounds of {each:.0f} s each side")
    print(_merged(memnun.runs).summary(f"Memnun: {label}"))
    print(_merged(bare.runs).summary(f"bare Flask baseline: {label}"))
    _print_ratios(memnun, bare, args.target)
    links, rows = bare_survey.stored_visits(url)
    ok = _check("submissions", _merged([warm_up[0], *memnun.runs]), url, [memnun_log])
    if links != bare.visits + 50 or rows != links * bare_survey.ANSWERS_PER_VISIT:
        print(f"  baseline: {links} links stored for {bare.visits + 50} visits ({rows} rows)")
        ok = False
    return ok


def sqlite(args: argparse.Namespace, scratch: Path) -> bool:
    from tests.support.load import LoadRun
    from tests.support.processes import (
        app_env,
        free_port,
        start_gunicorn,
        start_scheduler,
        stop,
        wait_for_http,
    )

    url = f"sqlite:///{scratch / 'load.sqlite'}"
    count = int(args.sqlite_seconds * 20)
    surveys, planned = _seed(url, count, 2000)
    env = app_env(url, scratch)
    port, log, scheduler_log = free_port(), scratch / "gunicorn-sqlite.log", scratch / "sch.log"
    web = start_gunicorn(env, port, log, workers=2)
    scheduler = start_scheduler(env, scheduler_log)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", web, log)
        run = LoadRun(f"http://127.0.0.1:{port}", surveys, threads=6, rate=20.0).run()
    finally:
        stop(scheduler)
        stop(web)
    print(run.summary("SQLite, gunicorn 2 workers, offered 20 surveys/s, scheduler writing"))
    sent = _count_sent(url, planned)
    print(f"  the scheduler sent {sent} of {len(planned)} invitations meanwhile")
    ok = run.elapsed < count / 20 + 5
    if not ok:
        print("  20 submissions a second could not be kept up")
    return _check("sqlite", run, url, [log, scheduler_log]) and ok


def schedulers(args: argparse.Namespace, scratch: Path) -> bool:
    from tests.support.load import LoadRun
    from tests.support.processes import (
        app_env,
        free_port,
        start_gunicorn,
        start_scheduler,
        stop,
        wait_for_http,
        wait_until,
    )
    from tests.support.smtp import timed_smtp_server

    url = fresh_database("load")
    surveys, planned = _seed(url, 20000, args.invitations)
    with timed_smtp_server() as sink:
        env = app_env(url, scratch, MAIL_BACKEND="smtp", SMTP_HOST=sink.host,
                      SMTP_PORT=sink.port)
        port, log = free_port(), scratch / "gunicorn-4.log"
        logs = [scratch / f"scheduler-{n}.log" for n in (1, 2)]
        web = start_gunicorn(env, port, log, workers=4, preload=False)
        processes = []
        try:
            wait_for_http(f"http://127.0.0.1:{port}/healthz", web, log)
            processes = [start_scheduler(env, path) for path in logs]
            run = LoadRun(f"http://127.0.0.1:{port}", surveys, threads=4, seconds=3600)
            stop_load = threading.Thread(target=run.run, daemon=True)
            wait_until(lambda: len(sink.messages) > 0, seconds=120, interval=0.05)
            started = time.monotonic()
            stop_load.start()
            done = wait_until(lambda: len(sink.messages) >= args.invitations, seconds=1800,
                              interval=0.2)
            elapsed = time.monotonic() - started
            run.seconds = 0  # the respondents stop after their current visit
            stop_load.join(timeout=60)
        finally:
            for process in processes:
                stop(process)
            stop(web)
        copies = Counter(str(m["Message-ID"]) for m in sink.messages)
    sent = _count_sent(url, planned)
    print(f"two schedulers beside four web workers: {len(copies)} invitations in {elapsed:.1f} s "
          f"= {len(copies) / elapsed:.0f} per second (from the first message on); "
          f"duplicates {sum(n - 1 for n in copies.values())}; marked sent {sent}")
    print("  " + run.summary("respondents meanwhile"))
    ok = done and len(copies) == args.invitations and set(copies.values()) == {1}
    ok = ok and sent == args.invitations
    print(f"  schedulers: {'every invitation exactly once' if ok else 'CHECK FAILED'}")
    return _check("schedulers", run, url, [log, *logs]) and ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--target", type=float, default=0.6)
    parser.add_argument("--sqlite-seconds", type=float, default=60)
    parser.add_argument("--invitations", type=int, default=10000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--only", choices=["submissions", "sqlite", "schedulers"])
    args = parser.parse_args()
    parts = {"submissions": submissions, "sqlite": sqlite, "schedulers": schedulers}
    ok = True
    with tempfile.TemporaryDirectory() as scratch:
        for name, part in parts.items():
            if args.only in (None, name):
                print(f"== {name}", flush=True)
                folder = Path(scratch) / name
                folder.mkdir()
                ok = part(args, folder) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
