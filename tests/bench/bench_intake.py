"""Benchmark: 100,000 complaints through the REST API in batches, on gunicorn and PostgreSQL,
against COPY of the same rows in the same run.

Run it by hand (pytest does not collect it)::

    .venv/bin/python tests/bench/bench_intake.py [--count 100000] [--batch 500]
        [--connections 4] [--workers 3] [--web-threads 2] [--rounds 20] [--single 2000]
        [--resolutions 2000] [--baseline-format text|binary] [--database intake]

``gunicorn 'app:create_app()'`` (``--workers`` x ``--web-threads``) serves its own PostgreSQL
database (``memnun_bench_<database>``). The integrator sends ``--count`` complaints as
``POST /api/v1/complaints/batch`` of ``--batch`` each over ``--connections`` concurrent
keep-alive connections, then sends the first ten batches again (each item must answer 200 and
nothing may change). For comparison, ``--single`` complaints go one per
``POST /api/v1/complaints`` over 16 connections, and ``--resolutions`` of them are resolved
through ``POST /complaints/<ref>/events`` (each plans its survey).

The baseline: the same complainant, complaint and "received" event rows, already in hand as
Python tuples, written with ``COPY ... FROM STDIN`` (psycopg) into scratch copies of the three
tables (``CREATE TABLE ... (LIKE ... INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING
INDEXES)``: the same columns, unique constraints and indexes; no triggers, no foreign keys), one
transaction per batch over as many connections as the API run uses; in text format, or in
binary as the intake itself writes (``--baseline-format binary``, the faster baseline). The
batches are sent in ``--rounds`` rounds, each round through the API first and then by COPY, so
that both see the same load on a shared machine; the ratio of their rates is printed.

Prints complaints per second, p50/p95 latency per request, and checks that every complaint is
stored exactly once (one row and one "received" event per external_id, every id answered is a
stored one). Exits 1 when a request failed or a count is off.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
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


SCRATCH = ("complainant", "complaint", "complaint_event")
COPY_COLUMNS = {
    "complainant": ("id", "name", "email", "phone", "language", "survey_consent", "created_at"),
    "complaint": ("id", "source", "external_id", "received_at", "channel", "category_id",
                  "unit_id", "complainant_id", "subject", "description", "status", "due_at",
                  "reopen_count", "created_at", "updated_at"),
    "complaint_event": ("complaint_id", "type", "at", "actor", "recorded_at"),
}
# The columns' types, for --baseline-format binary (the intake writes binary COPY).
COPY_TYPES = {
    "complainant": ("int4", "varchar", "varchar", "varchar", "varchar", "bool", "timestamptz"),
    "complaint": ("int4", "varchar", "varchar", "timestamptz", "varchar", "int4", "int4", "int4",
                  "varchar", "text", "varchar", "timestamptz", "int4", "timestamptz",
                  "timestamptz"),
    "complaint_event": ("int4", "varchar", "timestamptz", "varchar", "timestamptz"),
}


def _scratch_tables(url: str) -> None:
    """Empty scratch copies of the three tables the intake writes."""
    import psycopg

    with psycopg.connect(url) as connection:
        for table in SCRATCH:
            connection.execute(f"DROP TABLE IF EXISTS scratch_{table}")
            connection.execute(f"CREATE TABLE scratch_{table} (LIKE {table} INCLUDING DEFAULTS "
                               "INCLUDING CONSTRAINTS INCLUDING INDEXES)")


def _copy_rows(first: int, count: int, unit_id: int, category_id: int,
               ) -> dict[str, list[tuple[object, ...]]]:
    """The rows the API stores for complaints ``first`` .. ``first + count - 1``."""
    now = dt.datetime.now(dt.UTC)
    rows: dict[str, list[tuple[object, ...]]] = {table: [] for table in SCRATCH}
    for number in range(first, first + count):
        item = _complaint(number)
        person = item["complainant"]
        received = dt.datetime.fromisoformat(str(item["received_at"]))
        row_id = number + 1
        rows["complainant"].append((row_id, person["name"], person["email"], None,  # type: ignore[index]
                                    person["language"], person["survey_consent"], now))  # type: ignore[index]
        rows["complaint"].append((row_id, "default", item["external_id"], received,
                                  item["channel"], category_id, unit_id, row_id,
                                  item["subject"], item["description"], "received", None, 0,
                                  now, now))
        rows["complaint_event"].append((row_id, "received", received, "bench", now))
    return rows


def _copy_all(url: str, batches: list[dict[str, list[tuple[object, ...]]]],
              connections: int, binary: bool = False) -> Run:
    """COPY each batch's rows into the scratch tables, one transaction per batch, from
    ``connections`` connections at once; in text format, or binary."""
    import psycopg

    run = Run()
    lock = threading.Lock()
    queue = list(reversed(batches))

    def work() -> None:
        with psycopg.connect(url) as connection:
            while True:
                with lock:
                    if not queue:
                        return
                    rows = queue.pop()
                started = time.monotonic()
                with connection.cursor() as cursor:
                    for table in SCRATCH:
                        columns = ", ".join(COPY_COLUMNS[table])
                        options = " (FORMAT BINARY)" if binary else ""
                        with cursor.copy(f"COPY scratch_{table} ({columns}) FROM STDIN"
                                         f"{options}") as copy:
                            if binary:
                                copy.set_types(COPY_TYPES[table])
                            for row in rows[table]:
                                copy.write_row(row)
                connection.commit()
                with lock:
                    run.latencies.append(time.monotonic() - started)

    started = time.monotonic()
    workers = [threading.Thread(target=work) for _ in range(connections)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    run.seconds = time.monotonic() - started
    return run


def _interleaved(base: str, key: str, url: str, args: argparse.Namespace,
                 reference: tuple[int, int]) -> tuple[Run, Run]:
    """The batches through the API and the same rows by COPY, round after round."""
    api, copied = Run(), Run()
    per_round = -(-args.count // args.rounds // args.batch) * args.batch
    for first in range(0, args.count, per_round):
        count = min(per_round, args.count - first)
        # Both sides start with their data in hand: the request bodies are encoded before
        # the clock starts, as the COPY rows are built before theirs.
        bodies = [(path, make()) for path, make in _batch_jobs(first, count, args.batch)]
        sent = _send_all(base, key, [(path, lambda body=body: body) for path, body in bodies],
                         args.connections, {200})
        rows = [_copy_rows(start, min(args.batch, first + count - start), *reference)
                for start in range(first, first + count, args.batch)]
        copy = _copy_all(url, rows, args.connections, args.baseline_format == "binary")
        for total, part in ((api, sent), (copied, copy)):
            total.latencies += part.latencies
            total.failures += part.failures
            total.answers += part.answers
            total.seconds += part.seconds
    return api, copied


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
    parser.add_argument("--rounds", type=int, default=20,
                        help="rounds of API batches, each followed by COPY of the same rows")
    parser.add_argument("--baseline-format", choices=("text", "binary"), default="text",
                        help="the baseline's COPY format (the figures before December 2026 "
                        "are against text; the intake itself writes binary)")
    parser.add_argument("--database", default="intake",
                        help="the benchmark's database is memnun_bench_<database>")
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

    url = fresh_database(args.database)
    app = app_for(url)
    with app.app_context():
        reference = seed_reference()
        _, key = create_api_key("bench-intake", [ApiScope.INTAKE, ApiScope.READ])
        db.session.remove()
    _scratch_tables(url)
    ok = True
    with tempfile.TemporaryDirectory() as scratch:
        port, log = free_port(), Path(scratch) / "gunicorn.log"
        env = app_env(url, Path(scratch), API_BATCH_MAX=max(args.batch, 1))
        web = start_gunicorn(env, port, log, workers=args.workers, threads=args.web_threads)
        try:
            wait_for_http(f"http://127.0.0.1:{port}/healthz", web, log)
            base = f"http://127.0.0.1:{port}/api/v1"
            batches, copied = _interleaved(base, key, url, args,
                                           (reference.unit_id, reference.category_id))
            _report(f"batches of {args.batch} ({args.connections} connections, gunicorn "
                    f"{args.workers} workers x {args.web_threads} threads)", args.count, batches)
            _report(f"baseline: {args.baseline_format} COPY of the same rows into scratch "
                    f"tables ({args.connections} connections, one transaction per batch)",
                    args.count, copied)
            ratio = copied.seconds / batches.seconds if batches.seconds else 0.0
            print(f"ratio: batch intake / COPY = {ratio:.3f} (in {args.rounds} interleaved "
                  f"rounds; load average {os.getloadavg()[0]:.1f})", flush=True)
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
