"""Benchmark: kill the dispatcher (SIGKILL) 50 times while it sends 5,000 invitations.

Run it by hand (pytest does not collect it)::

    .venv/bin/python tests/bench/bench_faults.py [--count 5000] [--kills 50] [--seed 8]
                                                 [--group-commit N]

The long version of tests/reliability/test_faults_dispatcher_kill.py, on its own PostgreSQL
database (``memnun_bench_faults``, see tests/support/bench.py) and a real SMTP server
on localhost. Dispatcher processes are forked one after another and each but the last is killed
at a random point (a random moment of its life, or right after a random number of messages left).
It prints the figures of ``check_kill_run``: invitations, kills, how many went out twice, how
many rows were taken over after an expired lease (each logged as a possible duplicate), and the
time, and the duplicates per kill; ``--group-commit`` runs it with groups of N sends per commit
(``MEMNUN_DISPATCH_GROUP_COMMIT``; the default is the dispatcher's), to measure what grouping
costs in duplicates. It exits 1 when the documented guarantee is broken (a lost invitation,
one sent more than twice, a copy not explained by a kill, a second copy whose sender did not
log the takeover).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.bench import app_for, fresh_database  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--group-commit", type=int, default=0)
    args = parser.parse_args()

    from sqlalchemy import func, select

    from app.distribution.dispatcher import GROUP_COMMIT

    group = args.group_commit or GROUP_COMMIT["postgresql"]
    from app.extensions import db
    from app.models import Invitation
    from tests.support.kill import Delivery, KillRun, check_kill_run
    from tests.support.seed import seed_invitations, seed_reference
    from tests.support.smtp import timed_smtp_server

    url = fresh_database("faults")
    app = app_for(url)
    with app.app_context():
        ids = seed_invitations(seed_reference(), args.count,
                               due_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
        db.session.remove()
        db.engine.dispose()
    print(f"{args.count} due invitations in {url}; {args.kills} kills; groups of {group} "
          f"sends per commit; load average {load_average()} ...", flush=True)
    with tempfile.TemporaryDirectory() as scratch, timed_smtp_server() as sink:
        run = KillRun(url, sink.port, Path(scratch), lambda: len(sink.messages),
                      kills=args.kills, count=args.count, seed=args.seed,
                      group_commit=group).run(timeout=900)
        delivery = Delivery.of(list(sink.messages))
        try:
            figures = check_kill_run(run, delivery, ids, group)
        except AssertionError as exc:
            print(f"GUARANTEE BROKEN: {exc}")
            return 1
    with app.app_context():
        states = dict(db.session.execute(
            select(Invitation.state, func.count()).group_by(Invitation.state)).all())
        db.session.remove()
    figures["states"] = {str(k): v for k, v in states.items()}
    figures["messages_received"] = len(delivery.copies) + sum(
        len(c) - 1 for c in delivery.copies.values())
    figures["per_second_including_kills"] = round(args.count / run.elapsed, 1)
    figures["duplicates_per_kill"] = round(figures["sent_twice"] / max(figures["kills"], 1), 2)
    figures["group_commit"] = group
    figures["finished"] = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    figures["load_average"] = load_average()
    print(json.dumps(figures, indent=2))
    return 0


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":
    raise SystemExit(main())
