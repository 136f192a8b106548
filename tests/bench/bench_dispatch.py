"""Benchmark: send 10,000 due invitations to a local SMTP server, with one dispatcher and two,
against plain smtplib sending the same messages into the same server.

Run it by hand (pytest does not collect it: its name does not start with ``test_``)::

    .venv/bin/python tests/bench/bench_dispatch.py [--count 10000] [--profile]

It creates (and drops first) a dedicated PostgreSQL database, ``memnun_bench_dispatch`` on the
server of ``MEMNUN_BENCH_DATABASE_URL`` (default ``postgresql://postgres@127.0.0.1:5432``),
inserts the due invitations in bulk, starts a counting SMTP server in its own process
(``bench_dispatch_smtp.py``), then runs ``dispatch_due`` in one dispatcher process and, after
resetting the rows, in two processes at once. For each run it prints the invitations per second
(wall time from the start signal until the last dispatcher finished, app start-up excluded), the
duplicates (Message-IDs received more than once) and the invitations never received.

The baseline is the sink's own accept rate: a process that builds the same messages first (the
dispatcher's code, outside the clock) and then hands them to ``smtplib`` over one connection,
nothing else. It runs before, between and after the dispatcher runs, in the same run, so each
dispatcher run is compared with the baselines measured next to it on a machine whose load
changes: the ratio printed is the dispatcher's rate over the mean of its two neighbours.

Target: one dispatcher at least 0.5x the baseline, zero duplicates, none lost.
``--profile`` runs the single dispatcher under cProfile and prints its 25 costliest functions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

DATABASE = "memnun_bench_dispatch"
SECRET = "bench-secret-key-not-for-production"
HERE = Path(__file__).resolve().parent


def server_url() -> str:
    return os.environ.get("MEMNUN_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432")


def database_url() -> str:
    return f"{server_url().rstrip('/')}/{DATABASE}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def recreate_database() -> None:
    from sqlalchemy import create_engine, text

    from app.config import normalise_database_url

    admin = create_engine(
        normalise_database_url(f"{server_url().rstrip('/')}/postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    admin.dispose()


def worker_env(smtp_port: int, outbox: str) -> dict[str, str]:
    return {
        **os.environ,
        "MEMNUN_DATABASE_URL": database_url(),
        "MEMNUN_SECRET_KEY": SECRET,
        "MEMNUN_BASE_URL": "http://memnun.bench",
        "MEMNUN_MAIL_BACKEND": "smtp",
        "MEMNUN_SMTP_HOST": "127.0.0.1",
        "MEMNUN_SMTP_PORT": str(smtp_port),
        "MEMNUN_OUTBOX_DIR": outbox,
    }


def seed(count: int) -> None:
    """The schema, one rule and ``count`` planned invitations due a minute ago (bulk inserts)."""
    from sqlalchemy import insert, text

    from app import create_app
    from app.extensions import db
    from app.models import (
        Category,
        Complainant,
        Complaint,
        ComplaintStatus,
        DistributionRule,
        Invitation,
        Questionnaire,
        QuestionnaireVersion,
        Unit,
        VersionStatus,
    )
    from tests.support.distribution import DEFINITION

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url(), "SECRET_KEY": SECRET})
    now = dt.datetime.now(dt.UTC)
    with app.app_context():
        db.create_all()
        unit, category = Unit(code="parks", name="Parks"), Category(code="water", name="Water")
        questionnaire = Questionnaire(key="post-resolution", title="Post resolution")
        version = QuestionnaireVersion(questionnaire=questionnaire, number=1, definition=DEFINITION,
                                       status=VersionStatus.PUBLISHED, published_at=now)
        # Any time of day: the bench must not depend on the hour it runs at.
        rule = DistributionRule(key="default", questionnaire=questionnaire,
                                send_window_start="00:00", send_window_end="00:00")
        db.session.add_all([unit, category, questionnaire, version, rule])
        db.session.flush()
        ids = range(1, count + 1)
        db.session.execute(insert(Complainant), [
            {"id": i, "name": "Bench", "email": f"p{i}@example.org",
             "language": "tr" if i % 2 else "en", "survey_consent": True} for i in ids])
        db.session.execute(insert(Complaint), [
            {"id": i, "external_id": f"CMP-{i:06d}", "received_at": now - dt.timedelta(days=3),
             "channel": "web", "category_id": category.id, "unit_id": unit.id,
             "complainant_id": i, "status": ComplaintStatus.RESOLVED,
             "resolved_at": now - dt.timedelta(days=1)} for i in ids])
        db.session.execute(insert(Invitation), [
            {"id": i, "complaint_id": i, "rule_id": rule.id, "version_id": version.id,
             "language": "tr" if i % 2 else "en", "due_at": now - dt.timedelta(minutes=1)}
            for i in ids])
        for table in ("complainant", "complaint", "invitation"):
            db.session.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {count})"))
        db.session.commit()
        db.engine.dispose()


def reset_invitations() -> None:
    """Every invitation planned and due again, as before the first run."""
    from sqlalchemy import create_engine, text

    from app.config import normalise_database_url

    engine = create_engine(normalise_database_url(database_url()))
    with engine.begin() as connection:
        connection.execute(text(
            "UPDATE invitation SET state = 'planned', sent_at = NULL, attempts = 0, "
            "claimed_until = NULL, handed_over_at = NULL, token_hash = NULL, "
            "reminder_due_at = NULL, "
            "expires_at = NULL, last_error = NULL, due_at = now() - interval '1 minute'"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE invitation"))  # fair plans for every run
    engine.dispose()


def states() -> dict[str, int]:
    from sqlalchemy import create_engine, text

    from app.config import normalise_database_url

    engine = create_engine(normalise_database_url(database_url()))
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT state, count(*) FROM invitation GROUP BY state"))
        found = {state: number for state, number in rows}
    engine.dispose()
    return found


def run_dispatchers(processes: int, env: dict[str, str], profile: bool) -> float:
    """Start ``processes`` dispatchers, let them go at once, and return the wall time."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker"]
    if profile:
        command.append("--profile")
    workers = [
        subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,  # noqa: S603
                         text=True)
        for _ in range(processes)
    ]
    for worker in workers:
        assert worker.stdout is not None
        line = worker.stdout.readline().strip()
        if line != "ready":
            raise SystemExit(f"a dispatcher did not start: {line!r}")
    started = time.monotonic()
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    outputs = [worker.communicate()[0] for worker in workers]
    elapsed = time.monotonic() - started
    for worker, output in zip(workers, outputs, strict=True):
        if worker.returncode != 0:
            raise SystemExit(f"a dispatcher failed (exit {worker.returncode})")
        print("   ", output.strip().splitlines()[-1] if output.strip() else "(no output)")
    return elapsed


def run_baseline(env: dict[str, str], count: int) -> float:
    """Plain smtplib over one connection, the same messages: the wall time of the sends."""
    command = [sys.executable, str(Path(__file__).resolve()), "--baseline", str(count)]
    process = subprocess.Popen(command, env=env, stdin=subprocess.PIPE,  # noqa: S603
                               stdout=subprocess.PIPE, text=True)
    assert process.stdin is not None and process.stdout is not None
    line = process.stdout.readline().strip()
    if line != "ready":
        raise SystemExit(f"the baseline did not start: {line!r}")
    started = time.monotonic()
    process.stdin.write("go\n")
    process.stdin.flush()
    process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"the baseline failed (exit {process.returncode})")
    return time.monotonic() - started


def baseline_worker(count: int) -> None:
    """Build the invitations' messages as the dispatcher does, then only send them: smtplib,
    one connection, defaults (its ``sendmail`` writes the message and its dot in one piece)."""
    import smtplib

    from app import create_app
    from app.distribution import channels
    from app.distribution.mail import plain_envelope
    from app.distribution.messages import MessageBuilder
    from app.distribution.tokens import token_for
    from app.extensions import db
    from app.models import Invitation

    app = create_app()
    with app.app_context():
        builder, now = MessageBuilder(), dt.datetime.now(dt.UTC)
        wires = []
        for invitation in db.session.scalars(db.select(Invitation).order_by(Invitation.id)
                                             .limit(count)):
            message = channels.channel(invitation.channel).message(
                invitation, token_for(invitation.id), False, now, builder)
            envelope = plain_envelope(message)
            assert envelope is not None
            wire = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
            wires.append((*envelope, wire))
        db.session.rollback()
        host, port = app.config["MEMNUN_SMTP_HOST"], int(app.config["MEMNUN_SMTP_PORT"])
    print("ready", flush=True)
    sys.stdin.readline()
    with smtplib.SMTP(host, port) as smtp:
        for sender, recipients, wire in wires:
            smtp.sendmail(sender, recipients, wire)


def wait_for_count(path: Path, expected: int, seconds: float = 10) -> list[bytes]:
    deadline = time.monotonic() + seconds
    lines = path.read_bytes().splitlines()
    while len(lines) < expected and time.monotonic() < deadline:
        time.sleep(0.2)
        lines = path.read_bytes().splitlines()
    return lines


def report(label: str, count: int, elapsed: float, lines: list[bytes]) -> bool:
    seen = Counter(lines)
    duplicates = sum(n - 1 for n in seen.values() if n > 1)
    missing = count - len(seen)
    print(f"{label}: {count} invitations in {elapsed:.1f} s = {count / elapsed:.0f} per second; "
          f"duplicates {duplicates}; never received {missing}; states {states()}", flush=True)
    return duplicates == 0 and missing == 0


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def worker(profile: bool) -> None:
    """One dispatcher process: build the app, wait for "go", run passes until nothing is due."""
    from app import create_app
    from app.distribution.dispatcher import dispatch_due

    app = create_app()
    with app.app_context():
        from app.extensions import db

        db.session.execute(db.select(1))  # connect before the clock starts
        db.session.rollback()
        print("ready", flush=True)
        sys.stdin.readline()
        started = time.monotonic()
        if profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            result = profiler.runcall(dispatch_due)
            stats = pstats.Stats(profiler, stream=sys.stderr)
            stats.sort_stats("cumulative").print_stats(70)
            stats.sort_stats("tottime").print_stats(25)
        else:
            result = dispatch_due()
        took = time.monotonic() - started
        print(json.dumps({"pid": os.getpid(), "seconds": round(took, 2),
                          "result": result.summary()}), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--baseline", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.profile)
        return 0
    if args.baseline:
        baseline_worker(args.baseline)
        return 0

    print(f"database {database_url()}; seeding {args.count} due invitations ...")
    recreate_database()
    seed(args.count)
    ok = True
    with tempfile.TemporaryDirectory() as scratch:
        received = Path(scratch) / "message-ids.txt"
        received.touch()
        port = free_port()
        sink = subprocess.Popen(  # noqa: S603 - our own script
            [sys.executable, str(HERE / "bench_dispatch_smtp.py"), str(port), str(received)],
            stdout=subprocess.PIPE, text=True)
        try:
            assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
            env = worker_env(port, str(Path(scratch) / "outbox"))
            baselines = [measure_baseline(env, received, args.count)]
            rates = {}
            for processes in (1, 2):
                reset_invitations()
                received.write_bytes(b"")
                print(f"load average {load_average()}", flush=True)
                elapsed = run_dispatchers(processes, env, args.profile and processes == 1)
                lines = wait_for_count(received, args.count)
                label = "1 dispatcher" if processes == 1 else f"{processes} dispatchers"
                ok = report(label, args.count, elapsed, lines) and ok
                rates[processes] = args.count / elapsed
                baselines.append(measure_baseline(env, received, args.count))
            for processes, rate in rates.items():
                around = (baselines[processes - 1] + baselines[processes]) / 2
                print(f"ratio, {processes} dispatcher(s) / plain smtplib on 1 connection: "
                      f"{rate:.0f}/s / {around:.0f}/s = {rate / around:.2f}")
            ok = ok and rates[1] / ((baselines[0] + baselines[1]) / 2) >= 0.5
        finally:
            sink.terminate()
            sink.wait(timeout=10)
    print(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, load average {load_average()}")
    print("target met" if ok else "TARGET MISSED")
    return 0 if ok else 1


def measure_baseline(env: dict[str, str], received: Path, count: int) -> float:
    """The sink's accept rate from plain smtplib (messages per second), printed."""
    received.write_bytes(b"")
    print(f"load average {load_average()}", flush=True)
    elapsed = run_baseline(env, count)
    lines = wait_for_count(received, count)
    rate = count / elapsed
    print(f"baseline, plain smtplib, 1 connection: {len(lines)} of {count} received in "
          f"{elapsed:.1f} s = {rate:.0f} per second", flush=True)
    return rate


if __name__ == "__main__":
    raise SystemExit(main())
