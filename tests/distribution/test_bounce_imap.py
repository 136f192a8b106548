"""Polling a mailbox for bounces (``app.distribution.bounce_imap``, ``memnun bounces poll``, the
scheduler's ``memnun-bounce-poll``) against a real IMAP server: Debian's Dovecot, configured by
the test on a loopback port with a passwd-file user and a Maildir the test delivers into
(``tests.support.mta.running_dovecot``). What is ours is taken and deleted, what is not is
kept (or deleted, by setting), nothing of a message reaches the log; bad settings stop the app
with the variable's name."""

from __future__ import annotations

import datetime as dt
import imaplib
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from app.config import ConfigError
from app.distribution.bounce_imap import imap_settings, poll_bounces
from app.distribution.dispatcher import dispatch_due
from app.extensions import db
from app.models import AuditLog, InvitationState
from app.scheduler import BOUNCE_POLL, add_jobs, run_job
from tests.support.bounces import bounce
from tests.support.distribution import fetch, planned_invitation, smtp_config
from tests.support.mta import Dovecot, running_dovecot

pytestmark = pytest.mark.xdist_group("processes")

NOW = dt.datetime(2024, 5, 15, 10, 0, tzinfo=dt.UTC)
BOUNCES = "bounces@mail.memnun.test"
DEAD = "nobody@example.org"
AWAY = "away@example.org"
GOOD = {"MEMNUN_BOUNCE_ADDRESS": BOUNCES, "MEMNUN_BOUNCE_IMAP_HOST": "imap.example.org",
        "MEMNUN_BOUNCE_IMAP_USER": "bounces", "MEMNUN_BOUNCE_IMAP_PASSWORD": "secret word"}


@pytest.mark.parametrize(("changes", "variable"), [
    ({"MEMNUN_BOUNCE_ADDRESS": None}, "MEMNUN_BOUNCE_ADDRESS"),
    ({"MEMNUN_BOUNCE_IMAP_SECURITY": "ssl"}, "MEMNUN_BOUNCE_IMAP_SECURITY"),
    ({"MEMNUN_BOUNCE_IMAP_SECURITY": "none"}, "MEMNUN_BOUNCE_IMAP_SECURITY"),
    ({"MEMNUN_BOUNCE_IMAP_PORT": "imap"}, "MEMNUN_BOUNCE_IMAP_PORT"),
    ({"MEMNUN_BOUNCE_IMAP_USER": None}, "MEMNUN_BOUNCE_IMAP_USER"),
    ({"MEMNUN_BOUNCE_IMAP_PASSWORD": None}, "MEMNUN_BOUNCE_IMAP_PASSWORD"),
    ({"MEMNUN_BOUNCE_IMAP_PASSWORD_FILE": "/etc/passwd"}, "MEMNUN_BOUNCE_IMAP_PASSWORD_FILE"),
    ({"MEMNUN_BOUNCE_IMAP_PASSWORD": None, "MEMNUN_BOUNCE_IMAP_PASSWORD_FILE": "/no/such"},
     "MEMNUN_BOUNCE_IMAP_PASSWORD_FILE"),
    ({"MEMNUN_BOUNCE_IMAP_OTHERS": "move"}, "MEMNUN_BOUNCE_IMAP_OTHERS"),
])
def test_a_bad_setting_names_its_variable(changes: dict[str, Any], variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        imap_settings({**GOOD, **changes})


def test_settings_and_their_defaults(tmp_path: Path) -> None:
    assert imap_settings({}) is None  # no host: no mailbox, no job
    settings = imap_settings(GOOD)
    assert settings is not None
    assert (settings.port, settings.security, settings.folder, settings.others) == (
        993, "tls", "INBOX", "keep")
    secret = tmp_path / "imap-password"
    secret.write_text("from a file\n")
    on_loopback = imap_settings({**GOOD, "MEMNUN_BOUNCE_IMAP_HOST": "127.0.0.1",
                                 "MEMNUN_BOUNCE_IMAP_SECURITY": "none",
                                 "MEMNUN_BOUNCE_IMAP_PASSWORD": None,
                                 "MEMNUN_BOUNCE_IMAP_PASSWORD_FILE": str(secret)})
    assert on_loopback is not None and on_loopback.port == 143
    assert on_loopback.secret() == "from a file"


def test_the_app_does_not_start_with_a_bad_mailbox_setting(make_app: Any) -> None:
    with pytest.raises(ConfigError, match="MEMNUN_BOUNCE_IMAP_OTHERS"):
        make_app(**GOOD, MEMNUN_BOUNCE_IMAP_OTHERS="archive")


@pytest.fixture(scope="module")
def imap_server() -> Any:
    with running_dovecot("bounces", "a long secret") as server:
        yield server


@pytest.fixture
def dovecot(imap_server: Dovecot) -> Dovecot:
    """The module's Dovecot with an empty inbox (each backend's run starts afresh)."""
    imap_server.empty()
    return imap_server


def _mailbox(server: Dovecot) -> dict[bytes, bytes]:
    """Every message left in the inbox: its Subject line and its flags."""
    client = imaplib.IMAP4(server.host, server.port, timeout=10)
    try:
        client.login(server.user, server.password)
        client.select("INBOX")
        _, data = client.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        return {item[1].strip(): re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1)
                for item in data if isinstance(item, tuple)}
    finally:
        client.logout()


def test_the_mailbox_is_polled_and_what_is_ours_is_taken(
        make_app: Any, smtp_server: Any, dovecot: Dovecot, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    secret = tmp_path / "imap-password"
    secret.write_text(dovecot.password + "\n")
    app = make_app(**smtp_config(smtp_server), MEMNUN_BOUNCE_ADDRESS=BOUNCES,
                   MEMNUN_BOUNCE_IMAP_HOST=dovecot.host, MEMNUN_BOUNCE_IMAP_PORT=str(dovecot.port),
                   MEMNUN_BOUNCE_IMAP_SECURITY="none", MEMNUN_BOUNCE_IMAP_USER=dovecot.user,
                   MEMNUN_BOUNCE_IMAP_PASSWORD_FILE=str(secret))
    with app.app_context():
        dead = planned_invitation(app, NOW, email=DEAD)
        away = planned_invitation(app, NOW, email=AWAY)
        assert dispatch_due(now=NOW).sent == 2
    path = dict(zip((int(m["X-Memnun-Invitation"]) for m in smtp_server.messages),
                    smtp_server.senders, strict=True))
    # As a mailbox delivery leaves them: the return path in Delivered-To.
    dovecot.deliver(f"Delivered-To: {path[dead]}\r\n".encode()
                    + bounce("postfix_dsn_hard", path[dead], DEAD))
    dovecot.deliver(f"Delivered-To: {path[away]}\r\n".encode()
                    + bounce("out_of_office", path[away], AWAY))
    dovecot.deliver(b"Delivered-To: bounces@mail.memnun.test\r\nFrom: someone@example.org\r\n"
                    b"To: bounces@mail.memnun.test\r\nSubject: A question for you\r\n\r\nHi.\r\n")

    with caplog.at_level(logging.INFO):
        first = app.test_cli_runner().invoke(args=["bounces", "poll"])
        again = app.test_cli_runner().invoke(args=["bounces", "poll"])
    assert (first.exit_code, first.output) == (0, "2 taken, 1 not ours, 0 left\n"), first.output
    assert again.output == "0 taken, 0 not ours, 0 left\n"  # the kept one was marked seen
    with app.app_context():
        assert fetch(dead).state == InvitationState.BOUNCED
        assert fetch(away).state == InvitationState.SENT  # an out-of-office changes nothing
        assert [a.action for a in db.session.scalars(
            select(AuditLog).where(AuditLog.actor == "mail-server"))] == ["bounce_hard"]
    # What was ours is gone; the stranger's message stays for a person, read.
    assert _mailbox(dovecot) == {b"Subject: A question for you": b"\\Seen"}
    logged = caplog.text
    assert DEAD not in logged and AWAY not in logged and "bounces+" not in logged
    assert "question" not in logged and "mailbox message" in logged

    # The scheduler's job (on the table once a mailbox is set) is the same pass; strangers may
    # be deleted by setting.
    scheduler = BackgroundScheduler(timezone="UTC")  # never started
    add_jobs(scheduler, app)
    assert scheduler.get_job(BOUNCE_POLL.id).trigger.interval == dt.timedelta(seconds=120)
    dovecot.deliver(b"To: bounces@mail.memnun.test\r\nSubject: More\r\n\r\nspam\r\n")
    with app.app_context():
        result = run_job(BOUNCE_POLL, None, app)
        assert (result.taken, result.not_ours) == (0, 1)
        assert len(_mailbox(dovecot)) == 2
        dovecot.deliver(b"To: bounces@mail.memnun.test\r\nSubject: Again\r\n\r\nspam\r\n")
        deleting = poll_bounces({**app.config, "MEMNUN_BOUNCE_IMAP_OTHERS": "delete"})
        assert deleting is not None and deleting.not_ours == 1
    assert set(_mailbox(dovecot)) == {b"Subject: A question for you", b"Subject: More"}

    # The password file is read at each pass: a wrong one is a failure to try again later.
    secret.write_text("wrong\n")
    refused = app.test_cli_runner().invoke(args=["bounces", "poll"])
    assert refused.exit_code == 75 and "mailbox unavailable" in refused.output
    assert "wrong" not in refused.output

