"""``memnun bounces serve --lmtp`` as the process a deployer runs: it takes a Gmail-style DSN
over LMTP from the MTA (smtplib.LMTP here), the invitation ends bounced, and SIGTERM stops it
cleanly."""

from __future__ import annotations

import datetime as dt
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from app.distribution.dispatcher import dispatch_due
from app.models import InvitationState
from tests.support.bounces import bounce
from tests.support.database import PG_URL
from tests.support.distribution import fetch, planned_invitation, smtp_config
from tests.support.server import free_port

pytestmark = pytest.mark.xdist_group("processes")

NOW = dt.datetime(2024, 5, 15, 10, 0, tzinfo=dt.UTC)
BOUNCES = "bounces@mail.memnun.test"


def _listening(port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.1)
    return False


def test_the_lmtp_receiver_process_takes_a_bounce(make_app: Any, smtp_server: Any, backend: str,
                                                  tmp_path: Path) -> None:
    app = make_app(**smtp_config(smtp_server), MEMNUN_BOUNCE_ADDRESS=BOUNCES)
    with app.app_context():
        invitation = planned_invitation(app, NOW, email="nobody@example.org")
        assert dispatch_due(now=NOW).sent == 1
    return_path = smtp_server.senders[0]
    port = free_port()
    database_url = PG_URL if backend == "postgresql" else f"sqlite:///{tmp_path / 'test.sqlite'}"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MEMNUN_")},
           "MEMNUN_DATABASE_URL": database_url, "MEMNUN_SECRET_KEY": app.config["SECRET_KEY"],
           "MEMNUN_BOUNCE_ADDRESS": BOUNCES}
    memnun = Path(sys.executable).parent / "memnun"
    process = subprocess.Popen(  # noqa: S603 - our own console script
        [str(memnun), "bounces", "serve", "--lmtp", "--port", str(port)], env=env, cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert _listening(port, 120)  # the app starts slowly on a busy machine
        with smtplib.LMTP("127.0.0.1", port, timeout=10) as client:
            # Not a return path of ours: refused, so the receiver takes mail for nobody else.
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                client.sendmail("", ["postmaster@mail.memnun.test"], b"Subject: x\r\n\r\nx\r\n")
            refused = client.sendmail("", [return_path],
                                      bounce("gmail_dsn_hard", return_path, "nobody@example.org"))
        assert refused == {}
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        output, errors = process.communicate(timeout=10)
    assert code == 0, errors
    assert "Traceback" not in errors
    assert f"taking bounces on 127.0.0.1:{port} (LMTP)" in output
    assert "nobody@example.org" not in output + errors  # no personal data in its log
    with app.app_context():
        assert fetch(invitation).state == InvitationState.BOUNCED
