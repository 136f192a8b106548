"""Benchmark: 100,000 complaints through the REST API, in concurrent batches.

Run it by hand (pytest does not collect it)::

    .venv/bin/python tests/bench/bench_intake.py [--count 100000] [--batch 1000]
        [--threads 16] [--workers 3] [--web-threads 4]

The API takes one complaint per ``POST /api/v1/complaints`` (it has no batch endpoint): the
integrator's batches are sent as ``--threads`` concurrent keep-alive connections to
``gunicorn 'app:create_app()'`` (``--workers``) on its own PostgreSQL database
(``memnun_bench_intake``). Every tenth complaint is then resolved through
``POST /complaints/<id>/events`` (which plans its survey). Prints complaints per second for
each batch and overall, p50/p95 latency, and checks that every complaint is stored once.
Exits 1 when a request failed or a count is off.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.reliability.helpers_bench import app_for, fresh_database  # noqa: E402

RECEIVED = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def _body(number: int) -> dict[str, object]:
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


def _send_all(base: str, key: str, jobs: list[tuple[str, dict[str, object]]], threads: int,
              ) -> tuple[list[float], list[str]]:
    """POST every (path, body) from ``threads`` keep-alive sessions; latencies and failures."""
    import requests

    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    queue = list(reversed(jobs))

    def work() -> None:
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {key}"
            while True:
                with lock:
                    if not queue:
                        return
                    path, body = queue.pop()
                started = time.monotonic()
                try:
                    answer = session.post(base + path, json=body, timeout=60)
                    status = answer.status_code
                except requests.RequestException as exc:
                    status = type(exc).__name__
                took = time.monotonic() - started
                with lock:
                    latencies.append(took)
                    if status not in (200, 201):
                        failures.append(f"{path}: {status}")

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return latencies, failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=16, help="concurrent connections")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--web-threads", type=int, default=4,
                        help="threads per gunicorn worker (a request mostly waits for commits)")
    args = parser.parse_args()

    from sqlalchemy import func, select

    from app.auth.services import create_api_key
    from app.extensions import db
    from app.models import ApiScope, Complaint, ComplaintEvent, Invitation
    from tests.reliability.helpers_procs import (
        app_env,
        free_port,
        start_gunicorn,
        stop,
        tail,
        wait_for_http,
    )
    from tests.reliability.helpers_seed import seed_reference

    url = fresh_database("intake")
    app = app_for(url)
    with app.app_context():
        seed_reference()
        _, key = create_api_key("bench-intake", [ApiScope.INTAKE, ApiScope.READ])
        db.session.remove()
    ok = True
    with tempfile.TemporaryDirectory() as scratch:
        port, log = free_port(), Path(scratch) / "gunicorn.log"
        web = start_gunicorn(app_env(url, Path(scratch)), port, log, workers=args.workers,
                             threads=args.web_threads)
        try:
            wait_for_http(f"http://127.0.0.1:{port}/healthz", web, log)
            base = f"http://127.0.0.1:{port}/api/v1"
            all_latencies: list[float] = []
            started = time.monotonic()
            for first in range(0, args.count, args.batch):
                numbers = range(first, min(first + args.batch, args.count))
                batch_started = time.monotonic()
                latencies, failures = _send_all(
                    base, key, [("/complaints", _body(n)) for n in numbers], args.threads)
                took = time.monotonic() - batch_started
                all_latencies += latencies
                if failures:
                    ok = False
                    print(f"  batch {first}: {len(failures)} failures, e.g. {failures[:3]}")
                if (first // args.batch) % 10 == 0 or failures:
                    print(f"  batch of {len(numbers)} from {first}: {len(numbers) / took:.0f} "
                          "complaints/s", flush=True)
            elapsed = time.monotonic() - started
            resolved = [(f"/complaints/ext:BENCH-{n:07d}/events",
                         {"type": "resolved",
                          "at": (RECEIVED + dt.timedelta(days=2, seconds=n)).isoformat()})
                        for n in range(0, args.count, 10)]
            events_started = time.monotonic()
            event_latencies, failures = _send_all(base, key, resolved, args.threads)
            events_elapsed = time.monotonic() - events_started
            ok = ok and not failures
        finally:
            stop(web)
        if "Traceback" in log.read_text(errors="replace"):
            print(tail(log))
            ok = False
    with app.app_context():
        complaints = db.session.scalar(select(func.count()).select_from(Complaint))
        events = db.session.scalar(select(func.count()).select_from(ComplaintEvent))
        invitations = db.session.scalar(select(func.count()).select_from(Invitation))
        db.session.remove()
    quantiles = statistics.quantiles(all_latencies, n=100)
    print(f"intake: {args.count} complaints in {elapsed:.1f} s = {args.count / elapsed:.0f} "
          f"complaints/s ({args.threads} connections, gunicorn {args.workers} workers x "
          f"{args.web_threads} threads); "
          f"p50 {quantiles[49] * 1000:.0f} ms, p95 {quantiles[94] * 1000:.0f} ms")
    print(f"resolutions: {len(resolved)} in {events_elapsed:.1f} s = "
          f"{len(resolved) / events_elapsed:.0f}/s (each plans a survey); "
          f"p95 {statistics.quantiles(event_latencies, n=100)[94] * 1000:.0f} ms")
    print(f"stored: {complaints} complaints, {events} events, {invitations} invitations")
    ok = ok and complaints == args.count and events == args.count + len(resolved)
    ok = ok and invitations == len(resolved)
    print("every complaint stored once" if ok else "CHECK FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
