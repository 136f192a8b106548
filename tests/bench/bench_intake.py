"""Benchmark: 100,000 complaints through the REST API in batches, on gunicorn and PostgreSQL.

Run it by hand (pytest does not collect it)::

    .venv/bin/python tests/bench/bench_intake.py [--count 100000] [--batch 500]
        [--connections 4] [--workers 3] [--web-threads 2] [--single 2000]
        [--resolutions 2000]

``gunicorn 'app:create_app()'`` (``--workers`` x ``--web-threads``) serves its own PostgreSQL
database (``memnun_bench_intake``). The integrator sends ``--count`` complaints as
``POST /api/v1/complaints/batch`` of ``--batch`` each over ``--connections`` concurrent
keep-alive connections, then sends the first ten batches again (each item must answer 200 and
nothing may change). For comparison, ``--single`` complaints go one per
``POST /api/v1/complaints`` over 16 connections, and ``--resolutions`` of them are resolved
through ``POST /complaints/<ref>/events`` (each plans its survey).

Prints complaints per second, p50/p95 latency per request, and checks that every complaint is
stored exactly once (one row and one "received" event per external_id, every id answered is a
stored one). Exits 1 when a request failed or a count is off.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.bench import app_for, fresh_database  # noqa: E402

RECEIVED = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
SINGLE_CONNECTIONS = 16
RESENT_BATCHES = 10


def _complaint(number: int) -> dict[str, object]:
    return {
        "external_id": f"BENCH-{number:07d}",
        "received_at": (RECEIVED + dt.timedelta(seconds=number)).isoformat(),
        "channel": "web",
        "category": "water",
        "unit": "parks",
        "subject": "Su kesintisi",
        "description": "Mahallemizde iki gündür su yok.",
        "complainant": {"name": "Bench", "email": f"bench{number}@example.org",
                        "language": "tr", "survey_consent": True},
    }


@dataclass
class Run:
    """What a series of requests gave: latencies, failures, and the answers' bodies."""

    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    answers: list[Any] = field(default_factory=list)
    seconds: float = 0.0

    def percentile(self, share: int) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else 0.0
        return statistics.quantiles(self.latencies, n=100)[share - 1]


def _send_all(base: str, key: str, jobs: list[tuple[str, Callable[[], bytes]]],
              connections: int, expected: set[int]) -> Run:
    """POST every (path, body maker) from ``connections`` keep-alive sessions."""
    import requests

    run = Run()
    lock = threading.Lock()
    queue = list(reversed(jobs))

    def work() -> None:
        with requests.Session() as session:
            session.headers.update({"Authorization": f"Bearer {key}",
                                    "Content-Type": "application/json"})
            while True:
                with lock:
                    if not queue:
                        return
                    path, make_body = queue.pop()
                body = make_body()
                started = time.monotonic()
                try:
                    answer = session.post(base + path, data=body, timeout=120)
                    status: int | str = answer.status_code
                except requests.RequestException as exc:
                    answer, status = None, type(exc).__name__
                took = time.monotonic() - started
                with lock:
                    run.latencies.append(took)
                    if status not in expected:
                        run.failures.append(f"{path}: {status}")
                    elif answer is not None:
                        run.answers.append(answer.json())

    started = time.monotonic()
    workers = [threading.Thread(target=work) for _ in range(connections)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    run.seconds = time.monotonic() - started
    return run


def _batch_jobs(first: int, count: int, size: int) -> list[tuple[str, Callable[[], bytes]]]:
    def maker(start: int) -> Callable[[], bytes]:
        numbers = range(start, min(start + size, first + count))
        return lambda: json.dumps({"complaints": [_complaint(n) for n in numbers]}).encode()

    return [("/complaints/batch", maker(start)) for start in range(first, first + count, size)]


def _batch_statuses(run: Run) -> tuple[dict[int, int], dict[str, list[int]]]:
    """How many items answered each status, and the ids answered for each external id."""
    counts: dict[int, int] = {}
    ids: dict[str, list[int]] = {}
    for answer in run.answers:
        for result in answer["results"]:
            counts[result["status"]] = counts.get(result["status"], 0) + 1
            ids.setdefault(result["external_id"], []).append(result["id"])
    return counts, ids


def _report(name: str, items: int, run: Run, unit: str = "complaints") -> None:
    if not items:
        return
    print(f"{name}: {items:,} {unit} in {run.seconds:.1f} s = {items / run.seconds:,.0f} "
          f"{unit}/s; {len(run.latencies):,} requests, p50 {run.percentile(50) * 1000:,.0f} ms, "
          f"p95 {run.percentile(95) * 1000:,.0f} ms"
          + (f"; {len(run.failures)} FAILED, e.g. {run.failures[:3]}" if run.failures else ""),
          flush=True)


def _stored() -> tuple[int, int, int, set[int]]:
    """Complaints, distinct external ids, "received" events, and every complaint id."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Complaint, ComplaintEvent, EventType

    complaints, distinct = db.session.execute(
        select(func.count(), func.count(func.distinct(Complaint.external_id)))).one()
    received = db.session.scalar(select(func.count()).select_from(ComplaintEvent)
                                 .where(ComplaintEvent.type == EventType.RECEIVED))
    ids = set(db.session.scalars(select(Complaint.id)))
    return complaints, distinct, received, ids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500, help="complaints per batch request")
    parser.add_argument("--connections", type=int, default=4, help="concurrent batch requests")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--web-threads", type=int, default=2, help="threads per gunicorn worker")
    parser.add_argument("--single", type=int, default=2000,
                        help="complaints sent one per request, for comparison")
    parser.add_argument("--resolutions", type=int, default=2000,
                        help="complaints resolved through the events endpoint")
    args = parser.parse_args()

    from app.auth.services import create_api_key
    from app.extensions import db
    from app.models import ApiScope
    from tests.support.processes import (
        app_env,
        free_port,
        start_gunicorn,
        stop,
        tail,
        wait_for_http,
    )
    from tests.support.seed import seed_reference

    url = fresh_database("intake")
    app = app_for(url)
    with app.app_context():
        seed_reference()
        _, key = create_api_key("bench-intake", [ApiScope.INTAKE, ApiScope.READ])
        db.session.remove()
    ok = True
    with tempfile.TemporaryDirectory() as scratch:
        port, log = free_port(), Path(scratch) / "gunicorn.log"
        env = app_env(url, Path(scratch), API_BATCH_MAX=max(args.batch, 1))
        web = start_gunicorn(env, port, log, workers=args.workers, threads=args.web_threads)
        try:
            wait_for_http(f"http://127.0.0.1:{port}/healthz", web, log)
            base = f"http://127.0.0.1:{port}/api/v1"
            batches = _send_all(base, key, _batch_jobs(0, args.count, args.batch),
                                args.connections, {200})
            _report(f"batches of {args.batch} ({args.connections} connections, gunicorn "
                    f"{args.workers} workers x {args.web_threads} threads)", args.count, batches)
            statuses, answered_ids = _batch_statuses(batches)
            resent_count = min(args.count, RESENT_BATCHES * args.batch)
            resent = _send_all(base, key, _batch_jobs(0, resent_count, args.batch),
                               args.connections, {200})
            _report("the first batches sent again", resent_count, resent)
            resent_statuses, resent_ids = _batch_statuses(resent)

            single_jobs = [("/complaints",
                            lambda n=n: json.dumps(_complaint(args.count + n)).encode())
                           for n in range(args.single)]
            single = _send_all(base, key, single_jobs, SINGLE_CONNECTIONS, {201})
            _report(f"one per request ({SINGLE_CONNECTIONS} connections)", args.single, single)

            step = max(1, args.count // max(1, args.resolutions))
            resolutions = [(f"/complaints/ext:BENCH-{n:07d}/events",
                            lambda n=n: json.dumps({
                                "type": "resolved",
                                "at": (RECEIVED + dt.timedelta(days=2, seconds=n)).isoformat(),
                            }).encode())
                           for n in range(0, args.count, step)][:args.resolutions]
            resolved = _send_all(base, key, resolutions, SINGLE_CONNECTIONS, {201})
            _report("resolutions, each planning its survey", len(resolutions), resolved,
                    unit="events")
        finally:
            stop(web)
        if "Traceback" in log.read_text(errors="replace"):
            print(tail(log))
            ok = False
    with app.app_context():
        complaints, distinct, received, stored_ids = _stored()
        db.session.remove()
    expected = args.count + args.single
    print(f"batch items answered: {statuses}; sent again: {resent_statuses}")
    print(f"stored: {complaints:,} complaints, {distinct:,} distinct external ids, "
          f"{received:,} received events (expected {expected:,} of each)")
    checks = {
        "no request failed": not (batches.failures or resent.failures or single.failures
                                  or resolved.failures),
        "every batch item stored (201)": statuses == {201: args.count},
        "sending again changed nothing (200, the same ids)":
            resent_statuses == {200: resent_count}
            and all(answered_ids[ref] == ids for ref, ids in resent_ids.items()),
        "every complaint stored exactly once":
            complaints == distinct == received == expected,
        "every id answered is stored, none twice":
            len(answered_ids) == args.count
            and all(len(ids) == 1 for ids in answered_ids.values())
            and len({ids[0] for ids in answered_ids.values()}) == args.count
            and {ids[0] for ids in answered_ids.values()} <= stored_ids,
    }
    for name, passed in checks.items():
        print(f"  {'ok' if passed else 'FAILED'}: {name}")
    ok = ok and all(checks.values())
    print("every complaint stored once" if ok else "CHECK FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
