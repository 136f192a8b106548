"""Real processes for the reliability tests and benchmarks: gunicorn, `memnun scheduler`, and a
private PostgreSQL server that a test may stop and start without touching anyone else's.

Everything listens on 127.0.0.1 only and is stopped by the test that started it (by its own
process id, never by name).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
import requests

from tests.support.server import free_port

ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() == "true"
SECRET_KEY = "reliability-secret-key-not-for-production"
BASE_URL = "http://memnun.reliability"


def app_env(database_url: str, scratch: Path, **settings: Any) -> dict[str, str]:
    """The environment of a Memnun process: ``MEMNUN_*`` settings (given without the prefix).

    The rate limit is off because every request of a load generator comes from 127.0.0.1.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("MEMNUN_")}
    values: dict[str, Any] = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "BASE_URL": BASE_URL,
        "MAIL_BACKEND": "file",
        "OUTBOX_DIR": str(scratch / "outbox"),
        "RATELIMIT_ENABLED": "false",
        "DISPATCH_INTERVAL_SECONDS": 1,
        **settings,
    }
    env.update({f"MEMNUN_{key}": str(value) for key, value in values.items()})
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle: IO[bytes] = log.open("ab")
    try:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle,  # noqa: S603
                                stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        handle.close()  # the child has its own copy


def start_gunicorn(env: dict[str, str], port: int, log: Path, workers: int = 3,
                   threads: int = 1, preload: bool = True,
                   app: str = "app:create_app()") -> subprocess.Popen[bytes]:
    """``gunicorn 'app:create_app()'`` on 127.0.0.1:``port``, as it runs in production
    (``app`` names another WSGI app, such as a benchmark's baseline).

    ``--preload`` builds the app once and forks the workers from it: they start in a second
    instead of each importing everything on a two-core machine.
    """
    command = [sys.executable, "-m", "gunicorn", app, "--bind",
               f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads),
               "--timeout", "60", "--graceful-timeout", "5", "--log-level", "warning"]
    if preload:
        command.append("--preload")
    return _start(command, env, log)


def start_scheduler(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``memnun scheduler``: the dispatcher clock as its own process."""
    command = [sys.executable, "-c", "from app.cli import main; main()", "scheduler"]
    return _start(command, {**env, "FLASK_DEBUG": "0"}, log)


def cpu_seconds(process: subprocess.Popen[Any]) -> float:
    """CPU time (user and system) used so far by ``process`` and its living children, read from
    /proc (Linux): for gunicorn, the master and its workers."""
    tick = os.sysconf("SC_CLK_TCK")

    def used(stat: str) -> float:
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick  # utime, stime

    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended meanwhile
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if int(entry.name) == process.pid or parent == process.pid:
            total += used(stat)
    return total


def start_memnun_run(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """``memnun run``: the web app, its request log and the scheduler in one process."""
    command = [sys.executable, "-c", "from app.cli import main; main()", "run", "--port",
               str(port)]
    return _start(command, {**env, "FLASK_DEBUG": "0"}, log)


def run_memnun(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """Run one ``memnun`` command to its end; its output, or AssertionError when it fails."""
    command = [sys.executable, "-c", "from app.cli import main; main()", *args]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,  # noqa: S603
                          timeout=timeout, check=False)
    assert done.returncode == 0, f"memnun {' '.join(args)} failed:\n{done.stdout}{done.stderr}"
    return done.stdout


def wait_for_http(url: str, process: subprocess.Popen[bytes], log: Path,
                  seconds: float = 60) -> None:
    """Wait until ``url`` answers (any status), failing early if ``process`` died."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited ({process.returncode}):\n{tail(log)}")
        try:
            requests.get(url, timeout=2, allow_redirects=False)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {seconds} s:\n{tail(log)}")


def stop(process: subprocess.Popen[Any], seconds: float = 15) -> int:
    """SIGTERM, then SIGKILL after ``seconds``; returns the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    return process.returncode


def tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_until(condition: Any, seconds: float, interval: float = 0.25) -> bool:
    """Poll ``condition()`` until it is true or ``seconds`` passed; its last truth value."""
    deadline = time.monotonic() + seconds
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def missing(reason: str) -> None:
    """Skip, or fail under CI=true, where every tool these tests need must be installed."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this test must run)", pytrace=False)
    pytest.skip(reason)


# --- a private PostgreSQL server -----------------------------------------------------------------


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PrivatePostgres:
    """A PostgreSQL server of our own (initdb in a scratch folder, a free port on 127.0.0.1).

    initdb refuses to run as root, so as root the server runs as the ``postgres`` user. It is
    this object's to stop and start: the shared server on 5432 is never touched.
    """

    def __init__(self, bin_dir: Path, scratch: Path) -> None:
        self.bin_dir = bin_dir
        self.scratch = scratch
        self.data = scratch / "data"
        self.log = scratch / "postgres.log"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._as: list[str] = []
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                raise RuntimeError("running as root and runuser is missing")
            self._as = [runuser, "-u", "postgres", "--"]
            shutil.chown(scratch, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self._as, *args], capture_output=True, text=True,  # noqa: S603
                              timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stdout}{done.stderr}\n{tail(self.log)}")

    def initdb(self) -> None:
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "-A", "trust", "--no-sync", "-E", "UTF8", "--locale", "C")

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 "
                   f"-c unix_socket_directories={self.scratch} "
                   "-c max_connections=100")
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                  "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w",
                  "-t", "60", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A started private server, stopped and deleted at the end; skips (fails under CI) when
    the PostgreSQL server binaries are not installed."""
    bin_dir = _postgres_bin()
    if bin_dir is None or not (bin_dir / "pg_ctl").exists():
        missing("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    assert bin_dir is not None
    scratch = Path(tempfile.mkdtemp(prefix="memnun-pg-"))
    server = PrivatePostgres(bin_dir, scratch)
    try:
        server.initdb()
        server.start()
        yield server
    finally:
        with contextlib.suppress(Exception):
            if server.running():
                server.stop("immediate")
        shutil.rmtree(scratch, ignore_errors=True)
