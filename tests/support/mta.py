"""Real mail servers from Debian, configured by the test in a scratch directory on loopback
ports: Postfix (``running_postfix``), and Dovecot's IMAP server (``running_dovecot``).

Nothing system-wide is touched: each server gets its own configuration, queue and state
directories (Postfix: ``postfix -c <dir>``; Dovecot: ``dovecot -c <file>`` with its own
``base_dir``), listens on a free port of 127.0.0.1 only, and is stopped at the end, so a
system Postfix or Dovecot, if one runs, is neither seen nor disturbed. Both master processes
must start as root (they drop privileges to their own users); as anyone else the test is
skipped, or fails under CI=true (``processes.missing``).
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import missing, wait_until
from tests.support.server import free_port

POSTFIX_SERVICES = """\
{smtpd_address} inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
smtp      unix  - - n -  - smtp
relay     unix  - - n -  - smtp
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
local     unix  - n n -  - local
lmtp      unix  - - n -  - lmtp
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


def _as_root(what: str) -> None:
    if os.geteuid() != 0:
        missing(f"{what}'s master process must be started as root (it drops privileges)")


def _scratch(prefix: str) -> Path:
    # Not under pytest's tmp_path: its parents are 0700 root, and the servers' unprivileged
    # processes must reach their queue or mailboxes.
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    directory.chmod(0o755)
    return directory


@dataclass
class Postfix:
    """A running Postfix: its SMTP server at ``host:port`` takes mail from 127.0.0.1."""

    directory: Path
    host: str
    port: int

    @property
    def config_directory(self) -> Path:
        return self.directory / "etc"

    def flush(self) -> None:
        """Try every deferred message now (``postqueue -f``)."""
        subprocess.run(["postqueue", "-c", str(self.config_directory), "-f"],  # noqa: S607
                       check=False, capture_output=True, timeout=30)

    def lookup(self, table: str, key: str) -> str | None:
        """What Postfix finds for ``key`` in ``table`` (``postmap -q``), None when nothing."""
        found = subprocess.run(["postmap", "-c", str(self.config_directory), "-q", key, table],  # noqa: S607
                               capture_output=True, text=True, timeout=30, check=False)
        return found.stdout.strip() if found.returncode == 0 else None

    def log(self) -> str:
        path = self.directory / "maillog"
        return path.read_text(errors="replace") if path.exists() else "(no log)"


def postfix_main_cf(directory: Path, local_domain: str, transports: dict[str, str]) -> str:
    """main.cf of a test instance: ``local_domain`` is delivered by local(8), so a user that
    does not exist there gets Postfix's own DSN, sent to the envelope sender; ``transports``
    routes other domains (``domain -> transport:nexthop``). Queue timers are seconds, not
    minutes, so that nothing waits for the default five-minute queue run."""
    routes = ", ".join(f"{{{domain} = {route}}}" for domain, route in transports.items())
    return f"""\
compatibility_level = 3.6
queue_directory = {directory}/queue
data_directory = {directory}/data
maillog_file = {directory}/maillog
maillog_file_prefixes = {directory}
mail_owner = postfix
setgid_group = postdrop
myhostname = {local_domain}
mydomain = {local_domain}
myorigin = $myhostname
mydestination = {local_domain}
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
# Take mail for any local name and let local(8) find the user is unknown: Postfix then sends a
# DSN to the return path, rather than refusing the RCPT (which Memnun sees as a failed send).
local_recipient_maps =
alias_maps =
alias_database =
biff = no
transport_maps = inline:{{ {routes} }}
smtp_dns_support_level = disabled
smtp_tls_security_level = none
smtpd_tls_security_level = none
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
maximal_queue_lifetime = 1m
bounce_queue_lifetime = 1m
"""


@contextmanager
def running_postfix(local_domain: str, transports: dict[str, str]) -> Iterator[Postfix]:
    """Postfix on a free port of 127.0.0.1 (see ``postfix_main_cf``), stopped and removed at
    the end."""
    binary = shutil.which("postfix") or "/usr/sbin/postfix"
    if not Path(binary).exists():
        missing("Postfix is not installed (Debian package postfix)")
    _as_root("Postfix")
    directory = _scratch("memnun-postfix-")
    etc = directory / "etc"
    etc.mkdir()
    (directory / "queue").mkdir()  # data/ is made by `postfix start`, owned by postfix
    port = free_port()
    (etc / "main.cf").write_text(postfix_main_cf(directory, local_domain, transports))
    (etc / "master.cf").write_text(POSTFIX_SERVICES.format(smtpd_address=f"127.0.0.1:{port}"))
    server = Postfix(directory, "127.0.0.1", port)
    command = [binary, "-c", str(etc)]
    try:
        started = subprocess.run([*command, "start"], capture_output=True, text=True,
                                 timeout=60, check=False)
        if started.returncode != 0:
            raise RuntimeError(f"postfix start failed:\n{started.stderr}\n{server.log()}")
        yield server
    finally:
        subprocess.run([*command, "stop"], capture_output=True, timeout=60, check=False)
        stopped = wait_until(lambda: subprocess.run(
            [*command, "status"], capture_output=True, timeout=30, check=False
        ).returncode != 0, 30, 0.1)
        shutil.rmtree(directory, ignore_errors=True)
        if not stopped:
            raise RuntimeError("postfix did not stop")


DOVECOT_CONFIG = """\
base_dir = {directory}/run
state_dir = {directory}/state
log_path = {directory}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:{directory}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {directory}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={directory}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


@dataclass
class Dovecot:
    """A running Dovecot IMAP server at ``host:port`` with one user, ``user``/``password``,
    whose Maildir is ``maildir``: the test drops messages into it as an MTA would."""

    directory: Path
    host: str
    port: int
    user: str
    password: str
    owner: tuple[int, int]

    @property
    def maildir(self) -> Path:
        return self.directory / "mail" / self.user

    def deliver(self, raw: bytes) -> None:
        """Put one message into the inbox, as a local delivery agent does (tmp/, then new/)."""
        for sub in ("tmp", "new", "cur"):
            (self.maildir / sub).mkdir(parents=True, exist_ok=True)
            os.chown(self.maildir / sub, *self.owner)
        os.chown(self.maildir, *self.owner)
        name = f"{time.time_ns()}.M{os.getpid()}.memnun-test"
        staged = self.maildir / "tmp" / name
        staged.write_bytes(raw)
        os.chown(staged, *self.owner)
        staged.rename(self.maildir / "new" / name)

    def empty(self) -> None:
        """Delete every message of the inbox (a module's tests share one server)."""
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        try:
            client.login(self.user, self.password)
            _, count = client.select("INBOX")
            if int(count[0] or 0):
                client.store("1:*", "+FLAGS.SILENT", "(\\Deleted)")
                client.expunge()
        finally:
            client.logout()

    def log(self) -> str:
        path = self.directory / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else "(no log)"


def _nobody() -> tuple[int, int]:
    """The mailbox owner: Dovecot will not serve mail as root or a system account below 500."""
    entry = pwd.getpwnam("nobody")
    return entry.pw_uid, entry.pw_gid


@contextmanager
def running_dovecot(user: str, password: str) -> Iterator[Dovecot]:
    """Dovecot's IMAP server on a free port of 127.0.0.1, no TLS (loopback only), the user in a
    passwd-file; stopped and removed at the end."""
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not Path(binary).exists():
        missing("Dovecot is not installed (Debian package dovecot-imapd)")
    _as_root("Dovecot")
    directory = _scratch("memnun-dovecot-")
    for sub in ("run", "state", "mail"):
        (directory / sub).mkdir()
    owner = _nobody()
    os.chown(directory / "mail", *owner)
    (directory / "users").write_text(f"{user}:{{PLAIN}}{password}\n")
    port = free_port()
    config = directory / "dovecot.conf"
    config.write_text(DOVECOT_CONFIG.format(directory=directory, port=port, uid=owner[0],
                                            gid=owner[1]))
    server = Dovecot(directory, "127.0.0.1", port, user, password, owner)
    try:
        # Its daemon keeps the descriptors it was given: a file, not a pipe to wait on.
        with (directory / "start.log").open("wb") as output:
            started = subprocess.run([binary, "-c", str(config)], stdout=output, stderr=output,
                                     timeout=60, check=False)
        if started.returncode != 0 or not wait_until(lambda: _listening(port), 30, 0.05):
            raise RuntimeError("dovecot did not start:\n"
                               f"{(directory / 'start.log').read_text()}\n{server.log()}")
        yield server
    finally:
        _stop_dovecot(directory / "run" / "master.pid")
        shutil.rmtree(directory, ignore_errors=True)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _stop_dovecot(pid_file: Path) -> None:
    """SIGTERM to its master (``dovecot stop`` does the same, then waits a fixed two seconds),
    and wait until the master has ended: its children follow it on their own, while the port
    may stay open a few seconds after a failed login (its auth penalty)."""
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError):
        return
    if not wait_until(lambda: _ended(pid), 30, 0.05):
        raise RuntimeError("dovecot did not stop")


def _ended(pid: int) -> bool:
    """Gone, or a zombie nobody has reaped yet (it was re-parented when it daemonised)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True
