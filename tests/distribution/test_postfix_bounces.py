"""Bounces with a real MTA: Debian's Postfix, configured by the test on loopback ports
(``tests.support.mta.running_postfix``), relays Memnun's invitations. The good addresses'
mail is relayed on to an SMTP sink; mail to a user Postfix's local domain does not have comes
back as Postfix's own DSN to the invitation's VERP return path, which Postfix delivers over
LMTP to the receiver of ``memnun bounces serve --lmtp`` (the same aiosmtpd server, in this
process). The invitation ends bounced, the address is not mailed again, and the metrics API
gives that period's response rate over the invitations delivered."""

from __future__ import annotations

import datetime as dt
import pwd
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.analytics import metrics
from app.distribution.bounce_cli import _controller
from app.distribution.dispatcher import dispatch_due
from app.distribution.planner import plan_for_resolution
from app.extensions import db
from app.models import (
    AuditLog,
    Complainant,
    InvitationState,
    MessageDelivery,
    SuppressionReason,
)
from tests.support.api import admin_api
from tests.support.distribution import fetch, planned_invitation, smtp_config
from tests.support.factories import make_complaint
from tests.support.mta import Postfix, running_postfix
from tests.support.processes import wait_until
from tests.support.respond import post_survey
from tests.support.server import free_port

pytestmark = pytest.mark.xdist_group("processes")

LOCAL_DOMAIN = "mx.memnun.test"  # Postfix's own: delivered (or not) by its local(8)
BOUNCES = "bounces@mail.memnun.test"
DEAD = f"no-such-person@{LOCAL_DOMAIN}"
ANSWERS = "ayse@example.org"
SILENT = "mehmet@example.org"


def _token(message: Any) -> str:
    text = message.get_body(("plain",)).get_content()
    found = re.search(r"/s/([A-Za-z0-9_-]{20,})", text)
    assert found, "no survey link in the relayed invitation"
    return found.group(1)


def test_postfix_returns_its_dsn_to_the_receiver(make_app: Any, smtp_server: Any) -> None:
    with pytest.raises(KeyError):
        pwd.getpwnam(DEAD.split("@")[0])  # must really be unknown to local(8)
    receiver_port = free_port()
    transports = {"example.org": f"smtp:[{smtp_server.host}]:{smtp_server.port}",
                  "mail.memnun.test": f"lmtp:inet:127.0.0.1:{receiver_port}"}
    with running_postfix(LOCAL_DOMAIN, transports) as postfix:
        app = make_app(**smtp_config(postfix), MEMNUN_BOUNCE_ADDRESS=BOUNCES,
                       MEMNUN_MIN_GROUP_SIZE=1)
        receiver = _controller(app, "127.0.0.1", receiver_port, lmtp=True)
        receiver.start()
        try:
            now = dt.datetime.now(dt.UTC)
            with app.app_context():
                answers, silent, dead = (planned_invitation(app, now, email=address)
                                         for address in (ANSWERS, SILENT, DEAD))
                assert dispatch_due(now=now).sent == 3  # Postfix took all three (250)
                _wait_for(postfix, smtp_server, dead)
                assert fetch(answers).state == fetch(silent).state == InvitationState.SENT
                _the_bounce_was_taken(dead)
                _the_good_mail_arrived(postfix, smtp_server)
                _no_more_mail_to_the_dead_address(now)
            _answer_and_count(app, smtp_server, now)
            with app.app_context():
                assert fetch(answers).state == InvitationState.RESPONDED
        finally:
            receiver.stop()


def _wait_for(postfix: Postfix, smtp_server: Any, dead: int) -> None:
    """Until both good messages are relayed and the DSN has reached the receiver."""
    def settled() -> bool:
        postfix.flush()
        return len(smtp_server.messages) == 2 and fetch(dead).state == InvitationState.BOUNCED

    assert wait_until(settled, 15, 0.1), postfix.log()[-3000:]


def _the_bounce_was_taken(dead: int) -> None:
    bounced = fetch(dead)
    assert bounced.delivery == MessageDelivery.FAILED and bounced.last_error == "bounced: 5.1.1"
    assert bounced.reminder_due_at is None
    audits = db.session.scalars(select(AuditLog).where(AuditLog.actor == "mail-server")
                                .order_by(AuditLog.id)).all()
    assert [(a.action, a.target, a.detail) for a in audits] == [
        ("bounce_hard", f"invitation:{dead}", {"status": "5.1.1", "changed": True})]
    assert {p.email: p.email_undeliverable_at is not None
            for p in db.session.scalars(select(Complainant))} == {
        ANSWERS: False, SILENT: False, DEAD: True}


def _the_good_mail_arrived(postfix: Postfix, smtp_server: Any) -> None:
    """Through Postfix, from the VERP return path of each invitation, which the operators'
    recipient filter (deploy/postfix-bounces.cf) lets in and nothing else."""
    assert {str(m["To"]) for m in smtp_server.messages} == {ANSWERS, SILENT}
    filter_table = _return_path_filter(postfix.directory)
    assert [postfix.lookup(filter_table, sender) for sender in smtp_server.senders] == [
        "OK", "OK"]
    assert postfix.lookup(filter_table, BOUNCES) is None
    assert postfix.lookup(filter_table, "bounces+1-0@mail.memnun.test") is None
    assert "unknown user" in postfix.log()  # the DSN was Postfix's own


def _no_more_mail_to_the_dead_address(now: dt.datetime) -> None:
    """A later resolved complaint of the same person: no e-mail is planned, none is sent."""
    later = make_complaint(email=DEAD, resolved_at=now)
    db.session.commit()
    planned = plan_for_resolution(later, now=now)
    assert planned is not None and planned.state == InvitationState.SUPPRESSED
    assert planned.suppression_reason == SuppressionReason.NO_CONTACT
    db.session.commit()
    assert dispatch_due(now=now + dt.timedelta(minutes=1)).sent == 0


def _answer_and_count(app: Any, smtp_server: Any, now: dt.datetime) -> None:
    """One of the two delivered invitations is answered, by the link in the relayed mail;
    the metrics API gives the period's response rate."""
    relayed = {str(m["To"]): m for m in smtp_server.messages}
    answered = post_survey(app.test_client(), _token(relayed[ANSWERS]), {"overall": "5"})
    assert answered.status_code == 302
    period = {"from": (now - dt.timedelta(hours=1)).isoformat(),
              "to": (now + dt.timedelta(hours=1)).isoformat()}
    (whole,) = admin_api(app).get("/metrics", query_string=period).get_json()["groups"]
    assert (whole["responses"], whole["invitations"], whole["delivered"]) == (1, 3, 2)
    # Over the invitations delivered: the one Postfix bounced is not in the denominator, and
    # it is the bounce rate's one in three (docs/design.md, "Figures over delivered").
    for figure, expected in (("response_rate", metrics.response_rate(1, 2)),
                             ("bounce_rate", metrics.bounce_rate(1, 3))):
        assert whole[figure] == pytest.approx(
            {"value": expected.value, "low": expected.low, "high": expected.high}), figure


def _return_path_filter(directory: Path) -> str:
    """deploy/postfix-bounces.cf's regexp table of return paths, for this test's domain."""
    sample = (Path(__file__).parents[2] / "deploy" / "postfix-bounces.cf").read_text()
    (line,) = [line for line in sample.splitlines() if line.startswith("# /^bounces")]
    table = directory / "memnun-return-paths"
    table.write_text(line.removeprefix("# ").replace(r"mail\.example\.org", r"mail\.memnun\.test")
                     + "\n")
    return f"regexp:{table}"
