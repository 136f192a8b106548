"""The production layout on loopback (tests/cluster): a PostgreSQL primary and a streaming
replica, PgBouncer, HAProxy, `memnun serve` and `memnun scheduler` processes, all started from
the files in deploy/ (rendered with this machine's ports), each stopped by its own process id.

PostgreSQL and PgBouncer refuse to run as root: as root they run as the ``postgres`` user
(``runuser``), in folders it owns.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import IO, Any

from sqlalchemy import create_engine, text

from tests.support.processes import (
    ROOT,
    PrivatePostgres,
    _postgres_bin,
    missing,
    tail,
)
from tests.support.server import free_port

DEPLOY = ROOT / "deploy"
DATABASE = "memnun"


def _as_postgres() -> list[str]:
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        missing("running as root and runuser is missing")
    return [str(runuser), "-u", "postgres", "--"]


def _owned_scratch(prefix: str) -> Path:
    scratch = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        shutil.chown(scratch, "postgres", "postgres")
    return scratch


def render(name: str, target: Path, **values: Any) -> Path:
    """deploy/``name`` with its ``$placeholders`` filled, written to ``target``."""
    target.write_text(Template((DEPLOY / name).read_text()).substitute(
        {k: str(v) for k, v in values.items()}))
    if os.geteuid() == 0:
        shutil.chown(target, "postgres", "postgres")
    return target


def unit_command(unit: str) -> list[str]:
    """The arguments of a systemd unit's ExecStart after its ``memnun`` executable."""
    for line in (DEPLOY / unit).read_text().splitlines():
        if line.startswith("ExecStart="):
            argv = shlex.split(line.removeprefix("ExecStart="))
            assert Path(argv[0]).name == "memnun", line
            return argv[1:]
    raise AssertionError(f"no ExecStart in deploy/{unit}")


# --- PostgreSQL: the primary and its streaming replica -------------------------------------------


class Primary(PrivatePostgres):
    def dsn(self, database: str = DATABASE) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


class StreamingReplica(PrivatePostgres):
    """A hot standby made with ``pg_basebackup -R`` from ``primary``, on a port of its own."""

    def basebackup(self, primary: PrivatePostgres) -> None:
        self._run(str(self.bin_dir / "pg_basebackup"), "-h", "127.0.0.1", "-p",
                  str(primary.port), "-U", "postgres", "-D", str(self.data), "-R", "-X",
                  "stream", "--checkpoint=fast", "--no-sync")

    def dsn(self, database: str = DATABASE) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str) -> Any:
        engine = create_engine(self.dsn().replace("postgresql://", "postgresql+psycopg://"),
                               isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                return connection.execute(text(statement)).scalar()
        finally:
            engine.dispose()


@contextlib.contextmanager
def primary_and_replica() -> Iterator[tuple[Primary, StreamingReplica]]:
    bin_dir = _postgres_bin()
    if bin_dir is None or not (bin_dir / "pg_basebackup").exists():
        missing("PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) are not installed")
    assert bin_dir is not None
    primary = Primary(bin_dir, _owned_scratch("memnun-primary-"))
    replica = StreamingReplica(bin_dir, _owned_scratch("memnun-replica-"))
    try:
        primary.initdb()
        primary.start()
        admin = create_engine(primary.dsn("postgres").replace("postgresql://",
                                                              "postgresql+psycopg://"),
                              isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {DATABASE}"))
        admin.dispose()
        replica.basebackup(primary)
        replica.start()
        yield primary, replica
    finally:
        for server in (replica, primary):
            with contextlib.suppress(Exception):
                if server.running():
                    server.stop("immediate")
            shutil.rmtree(server.scratch, ignore_errors=True)


# --- processes of our own: PgBouncer, HAProxy ----------------------------------------------------


def _start(command: list[str], log: Path, env: dict[str, str] | None = None,
           cwd: Path = ROOT) -> subprocess.Popen[bytes]:
    handle: IO[bytes] = log.open("ab")
    try:
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=handle,  # noqa: S603
                                stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        handle.close()


def kill_group(process: subprocess.Popen[Any], sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to ``process`` and its children (its own session: started by us)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=20)


def wait_port(port: int, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return True
        time.sleep(0.1)
    return False


@dataclass
class PgBouncer:
    """PgBouncer (Debian's) in transaction mode in front of ``primary``, from deploy/."""

    primary: Primary
    scratch: Path = field(default_factory=lambda: _owned_scratch("memnun-pgbouncer-"))
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        if not Path(binary).exists():
            missing("PgBouncer is not installed (Debian package pgbouncer)")
        self.binary = binary
        users = self.scratch / "userlist.txt"
        users.write_text('"postgres" ""\n')
        if os.geteuid() == 0:
            shutil.chown(users, "postgres", "postgres")
        self.config = render(
            "pgbouncer.ini", self.scratch / "pgbouncer.ini", database=DATABASE,
            primary_host="127.0.0.1", primary_port=self.primary.port, listen_host="127.0.0.1",
            listen_port=self.port, auth_type="trust", auth_file=users,
            logfile=self.scratch / "pgbouncer.log", pidfile=self.scratch / "pgbouncer.pid")
        self.log = self.scratch / "pgbouncer.out"

    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def start(self) -> None:
        self.process = _start([*_as_postgres(), self.binary, str(self.config)], self.log)
        if not wait_port(self.port):
            raise AssertionError(f"PgBouncer did not listen:\n{tail(self.log)}\n"
                                 f"{tail(self.scratch / 'pgbouncer.log')}")

    def stop(self) -> None:
        if self.process is not None:
            kill_group(self.process, signal.SIGTERM)  # 1.18: SIGTERM is an immediate shutdown
            self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.scratch, ignore_errors=True)


@dataclass
class HAProxy:
    """HAProxy (Debian's) before the web hosts, health-checking /healthz, from deploy/."""

    backends: dict[str, int]  # server name -> port
    scratch: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="memnun-lb-")))
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        if not Path(binary).exists():
            missing("HAProxy is not installed (Debian package haproxy)")
        self.binary = binary
        self.socket = self.scratch / "stats.sock"
        servers = "\n".join(f"    server {name} 127.0.0.1:{port} check"
                            for name, port in self.backends.items())
        self.config = self.scratch / "haproxy.cfg"
        self.config.write_text(Template((DEPLOY / "haproxy.cfg").read_text()).substitute(
            stats_socket=self.socket, listen_host="127.0.0.1", listen_port=self.port,
            servers=servers))
        self.log = self.scratch / "haproxy.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        done = subprocess.run([self.binary, "-c", "-f", str(self.config)],  # noqa: S603
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        self.process = _start([self.binary, "-db", "-f", str(self.config)], self.log)
        if not wait_port(self.port):
            raise AssertionError(f"HAProxy did not listen:\n{tail(self.log)}")

    def states(self) -> dict[str, str]:
        """Each web server's state as HAProxy's health checks see it (UP, DOWN, ...)."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(str(self.socket))
            sock.sendall(b"show stat\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        lines = data.decode().splitlines()
        header = lines[0].lstrip("# ").split(",")
        states = {}
        for line in lines[1:]:
            row = dict(zip(header, line.split(","), strict=False))
            if row.get("pxname") == "web" and row.get("svname") in self.backends:
                states[row["svname"]] = row["status"].split()[0]
        return states

    def close(self) -> None:
        if self.process is not None:
            kill_group(self.process, signal.SIGTERM)
        shutil.rmtree(self.scratch, ignore_errors=True)


def start_memnun(unit: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """The command of deploy/``unit`` (``memnun serve`` or ``memnun scheduler``), with this
    checkout's Python, in its own session (so that it and its workers can be killed at once)."""
    command = [sys.executable, "-c", "from app.cli import main; main()", *unit_command(unit)]
    return _start(command, log, {**env, "FLASK_DEBUG": "0"})
