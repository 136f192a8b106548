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

import os
import shutil
import subprocess
import tempfile
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
