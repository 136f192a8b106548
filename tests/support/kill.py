"""Killing the dispatcher: a runner that forks dispatcher processes, and the checks afterwards.

Starting ``memnun dispatch`` costs about three seconds of imports, too long to kill it fifty
times inside CI's budget. So a runner process (this module run as a script) builds the app once
and forks a fresh dispatcher process on request; each runs the real ``dispatch_due`` in a loop,
exactly as ``memnun scheduler`` does, until nothing is planned any more. The test kills them
with SIGKILL at random points and checks what reached the mail server and the database.

Every dispatcher process gets its own ``MEMNUN_MAIL_FROM`` (``dispatcher-<n>@...``), so each
message received says which process sent it, and its own log file, so the log of each process
can be read afterwards.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import re
import signal
import subprocess
import sys
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from tests.support.processes import ROOT, app_env

SENDER_RE = re.compile(r"dispatcher-(\d+)@")
SENT_LOG_RE = re.compile(r"invitation (\d+) sent\b")
TAKEOVER_LOG_RE = re.compile(r" WARNING invitation (\d+) taken over: .* may be a duplicate$", re.M)
LINK_RE = re.compile(r"/s/([A-Za-z0-9_-]{43})")
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


# --- the runner (a process of its own) -----------------------------------------------------------


def _dispatcher(label: int, log_dir: Path) -> None:
    """In a forked child: dispatch until nothing is planned any more, then exit."""
    from flask import current_app
    from sqlalchemy import func, select

    from app.distribution.dispatcher import dispatch_due
    from app.extensions import db
    from app.models import Invitation, InvitationState

    db.engine.dispose(close=False)  # connections of the parent are not ours to use
    current_app.config["MEMNUN_MAIL_FROM"] = f"Memnun <dispatcher-{label}@memnun.test>"
    handler = logging.FileHandler(log_dir / f"dispatcher-{label}.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        dispatch_due()
        planned = db.session.scalar(select(func.count()).where(
            Invitation.state == InvitationState.PLANNED))
        db.session.remove()
        if not planned:
            os._exit(0)
        time.sleep(0.1)  # rows still leased by a killed process: wait for their lease to end
    os._exit(3)


def runner() -> None:
    """Read ``fork <label> <log dir>`` lines; fork a dispatcher for each and print its pid."""
    from app import create_app
    from app.extensions import db

    app = create_app()
    with app.app_context():
        from app.distribution import dispatcher  # noqa: F401 - imported once, before forking

        db.session.execute(db.select(1))
        db.session.remove()
        db.engine.dispose()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if words[:1] != ["fork"]:
            break
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            try:
                with app.app_context():
                    _dispatcher(int(words[1]), Path(words[2]))
            except BaseException:  # noqa: BLE001 - shown on the runner's stderr
                traceback.print_exc()
            finally:
                os._exit(4)
        print(f"pid {pid}", flush=True)


# --- the harness (in the test) ---------------------------------------------------------------


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@dataclass
class KillRun:
    """Dispatcher processes started one after another, each killed at a random point.

    ``received`` returns how many messages the mail server has taken so far: a kill may wait for
    a number of them (so that most kills land while messages are going out, where a kill can
    cause a duplicate) or for a random time (so that others land while a batch is claimed or
    committed).
    """

    database_url: str
    smtp_port: int
    scratch: Path
    received: Callable[[], int]
    kills: int
    count: int
    lease_seconds: int = 2
    batch_size: int = 25
    group_commit: int = 1
    connections: int = 1
    seed: int = 8
    killed: list[int] = field(default_factory=list)
    lives: int = 0
    elapsed: float = 0.0

    def run(self, timeout: float = 240) -> KillRun:
        env = app_env(self.database_url, self.scratch, MAIL_BACKEND="smtp",
                      SMTP_HOST="127.0.0.1", SMTP_PORT=self.smtp_port, SMTP_TIMEOUT=10,
                      DISPATCH_LEASE_SECONDS=self.lease_seconds,
                      DISPATCH_BATCH_SIZE=self.batch_size,
                      DISPATCH_GROUP_COMMIT=self.group_commit,
                      DISPATCH_CONNECTIONS=self.connections)
        log_dir = self.scratch / "logs"
        log_dir.mkdir(exist_ok=True)
        command = [sys.executable, "-m", "tests.support.kill"]
        runner_process = subprocess.Popen(command, cwd=ROOT, env=env, text=True,  # noqa: S603
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert runner_process.stdin is not None and runner_process.stdout is not None
        pid = 0
        try:
            line = runner_process.stdout.readline().strip()
            assert line == "ready", f"the dispatcher runner did not start: {line!r}"
            started = time.monotonic()
            chance = random.Random(self.seed)
            per_life = max(self.count // (2 * self.kills), 1)
            for label in range(self.kills + 1):
                runner_process.stdin.write(f"fork {label} {log_dir}\n")
                runner_process.stdin.flush()
                pid = int(runner_process.stdout.readline().split()[1])
                self.lives += 1
                last = label == self.kills
                if last:
                    trigger: Callable[[], bool] = lambda: False  # noqa: E731
                elif chance.random() < 0.35:  # a random moment of its life (or a full share)
                    moment = time.monotonic() + chance.uniform(0.01, 0.6)
                    cap = self.received() + 2 * per_life

                    def trigger(moment: float = moment, cap: int = cap) -> bool:
                        return time.monotonic() >= moment or self.received() >= cap
                else:  # right after a random number of messages went out
                    target = self.received() + chance.randint(1, 2 * per_life)
                    trigger = lambda target=target: self.received() >= target  # noqa: E731
                deadline = time.monotonic() + (timeout if last else 15)
                while alive(pid) and not trigger() and time.monotonic() < deadline:
                    time.sleep(0.001)
                if last:
                    assert not alive(pid), "the last dispatcher did not finish in time"
                    break
                if not alive(pid):
                    break  # everything went out before this kill: too few invitations
                os.kill(pid, signal.SIGKILL)
                self.killed.append(label)
                while alive(pid):
                    time.sleep(0.001)
            self.elapsed = time.monotonic() - started
        finally:
            if pid and alive(pid):  # a failed run leaves no dispatcher behind
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(BrokenPipeError):
                runner_process.stdin.write("quit\n")
                runner_process.stdin.close()
            runner_process.wait(timeout=30)
        return self

    def log_of(self, label: int) -> str:
        path = self.scratch / "logs" / f"dispatcher-{label}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def taken_over_by(self, label: int) -> set[int]:
        """The invitations whose takeover (after an expired lease) process ``label`` logged."""
        return {int(i) for i in TAKEOVER_LOG_RE.findall(self.log_of(label))}


@dataclass
class Delivery:
    """What the mail server received, by invitation."""

    copies: dict[int, list[tuple[int, str]]]  # invitation id -> [(sender label, link token)]

    @classmethod
    def of(cls, messages: list[EmailMessage]) -> Delivery:
        copies: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for message in messages:
            message_id = str(message["Message-ID"])
            match = re.fullmatch(r"<memnun\.invitation\.(\d+)@[^>]+>", message_id)
            assert match, f"unexpected Message-ID {message_id}"
            sender = SENDER_RE.search(str(message["From"]))
            assert sender, f"no dispatcher label in From: {message['From']}"
            body = message.get_body(preferencelist=("plain",))
            tokens = set(LINK_RE.findall(body.get_content() if body else ""))
            assert len(tokens) == 1, f"one survey link expected, found {tokens}"
            copies[int(match.group(1))].append((int(sender.group(1)), tokens.pop()))
        return cls(dict(copies))

    def duplicates(self) -> dict[int, list[tuple[int, str]]]:
        return {i: c for i, c in self.copies.items() if len(c) > 1}


def check_kill_run(run: KillRun, delivery: Delivery, invitation_ids: list[int],
                   most_per_kill: int) -> dict[str, Any]:
    """Every check of the documented guarantee; figures for the report. AssertionError if broken.

    - every invitation was received;
    - the copies of one invitation carry the same Message-ID and the same survey link, come from
      different processes, and every copy but the last came from a process that was killed (so
      each extra copy is a death after the server accepted the message and before the row was
      marked sent, the one case the guarantee allows);
    - none went out more than twice (issue 8);
    - a killed process left at most ``most_per_kill`` extra copies (its last uncommitted group);
    - the process that sent the second copy had logged, as a WARNING, that it took the
      invitation over after an expired lease and that it may be a duplicate;
    - the process that sent the last copy logged "invitation N sent"; every "sent" line in any
      log matches a message the server took; no log holds an e-mail address.
    """
    assert set(delivery.copies) == set(invitation_ids), (
        f"never received: {sorted(set(invitation_ids) - set(delivery.copies))[:20]}")
    killed = set(run.killed)
    per_killed: Counter[int] = Counter()
    logged_by_killed = 0
    duplicates = delivery.duplicates()
    more_than_twice = {i: [s for s, _ in c] for i, c in duplicates.items() if len(c) > 2}
    assert not more_than_twice, f"sent more than twice (invitation: senders): {more_than_twice}"
    for invitation_id, copies in duplicates.items():
        senders = [sender for sender, _ in copies]
        assert invitation_id in run.taken_over_by(senders[1]), (
            f"invitation {invitation_id}: dispatcher {senders[1]} sent it again without logging "
            "the takeover")
        assert len({link for _, link in copies}) == 1, f"invitation {invitation_id}: two links"
        assert len(set(senders)) == len(senders), (
            f"invitation {invitation_id} sent twice by one process: {senders}")
        assert set(senders[:-1]) <= killed, (
            f"invitation {invitation_id}: a copy from a process that was not killed: {senders}")
        per_killed.update(senders[:-1])
        assert re.search(rf"invitation {invitation_id} sent\b", run.log_of(senders[-1])), (
            f"invitation {invitation_id}: the log of its last sender does not record it")
        logged_by_killed += sum(bool(re.search(rf"invitation {invitation_id} sent\b",
                                               run.log_of(sender))) for sender in senders[:-1])
    assert max(per_killed.values(), default=0) <= most_per_kill, per_killed
    senders_by_invitation = {i: {s for s, _ in c} for i, c in delivery.copies.items()}
    for label in range(run.lives):
        text = run.log_of(label)
        assert not EMAIL_RE.search(text), f"an e-mail address in the log of dispatcher {label}"
        for match in SENT_LOG_RE.finditer(text):
            assert label in senders_by_invitation.get(int(match.group(1)), set()), (
                f"dispatcher {label} logged invitation {match.group(1)} sent; none received")
    return {
        "invitations": len(invitation_ids),
        "kills": len(run.killed),
        "sent_twice": sum(len(c) == 2 for c in duplicates.values()),
        "more_than_twice": len(more_than_twice),
        "takeovers_logged": sum(len(run.taken_over_by(label)) for label in range(run.lives)),
        "most_copies": max((len(c) for c in delivery.copies.values()), default=0),
        "extra_copies_logged_by_the_killed_process": logged_by_killed,
        "most_extra_copies_one_kill": max(per_killed.values(), default=0),
        "seconds": round(run.elapsed, 1),
    }


if __name__ == "__main__":
    runner()
