"""The dispatcher: sends due invitations and reminders, retries, and expires old invitations.

What is due lives in the database (state, due_at, reminder_due_at), never in the scheduler, so
a dispatcher that was down for hours sends everything still inside its expiry when it returns.

Claiming, and the guarantee (docs/design.md, "Sending: the guarantee"):

1. A batch of due rows is claimed by setting ``claimed_until`` (a lease) and committed before any
   message is sent. On PostgreSQL one ``UPDATE ... FROM (SELECT ... FOR UPDATE SKIP LOCKED
   LIMIT n) RETURNING`` picks and claims the batch and returns each row's previous lease; on
   SQLite each row is claimed with ``UPDATE ... WHERE id=:id AND state='planned' AND lease as
   read`` and kept only when exactly one row changed. Either way a row has one owner at a time,
   and the claimant knows whether it took the row over from a claim whose lease ran out.
2. The owner sends the batch one message at a time. A fresh invitation costs one UPDATE in
   autocommit (``handover.py``, ``_send_steps``) that records the message before, re-checks this
   one (a reopen, a cancel or an answer may have come since the claim) and marks it handed over;
   it runs beside the envelope and body and is waited for before the final dot. A reminder's
   rows are re-read under a lock (PostgreSQL: FOR UPDATE; SQLite: a conditional UPDATE that
   takes the write lock) held until its outcome is committed, so an answer is never overtaken;
   ``MEMNUN_DISPATCH_GROUP_COMMIT`` may make groups of several on PostgreSQL (at most
   GROUP_SECONDS each), which go that way too. On PostgreSQL these commits do not wait for the
   disk (``synchronous_commit`` off for that transaction): a killed dispatcher cannot lose
   them, only a database crash can, and what it loses is the same as a dispatcher killed before
   the commit (a takeover, see 4; if the crash also lost the commit that carried the hand-over
   mark, the copy is logged at INFO as a resend of an expired claim, not as a takeover).
   ``MEMNUN_DISPATCH_CONNECTIONS`` sends over several SMTP connections at once
   (``_send_streams``), whose turns from final dot to commit never overlap.
3. Before a message's final dot can be written, its row's ``handed_over_at`` is on record: it
   rides on the statement or commit that records the message before, and is cleared with the
   outcome.
4. A dispatcher that dies in between leaves a lease that runs out. A row without the mark was
   never handed over: the next claimant sends it as a fresh one. A marked row is taken over: the
   claimant logs a WARNING (invitation id, when it was handed over, attempts) that the message
   may be a duplicate, and sends it on its own, outside any group, with the same token and
   Message-ID. Over SMTP it is recorded as sent (committed) when all of the message but its
   final dot is written, so before the server can accept it: a refusal in the server's reply
   undoes the record, a connection lost after the dot leaves it (the server may have the
   message), and a failed commit means the dot is never written. A taken-over row given back
   unsent keeps its mark, so it is still a takeover next time; so does a fresh row whose
   connection broke after the whole message was written (it may be out).

The guarantee: every invitation is sent while it has not expired, and at most twice. A second
copy only after a process died between the server's acceptance and the commit (at most one
message per kill, one group if groups were configured), or the database crashed before that
asynchronous commit reached its disk, or the connection broke between the final dot and the
reply, and the process that sent it again logged the takeover first (after a database crash,
perhaps only as a resend of an expired claim). The taken-over copy is on
record before the server can accept it, so no third copy can follow. The price: a process that
dies in the microseconds between that commit and writing the dot, or after a refusal in the
server's reply before undoing the record, leaves the row "sent" though this copy did not go
out; it is lost only if the first copy did not go out either, which takes two processes dying
in a row, each inside the hand-over of that one message.

The channels are those of ``channels.py``: e-mail (``mail.py``) and SMS (``sms.py``). A channel
whose server is unreachable is left alone for the rest of the pass, without counting an attempt;
the others go on.

A batch stops before its lease could run out (each send may take up to the SMTP timeout), and
releases what it did not send, so a slow mail server cannot make a lease expire under a send.
Logs carry invitation ids only, never addresses or tokens.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from flask import Flask, current_app
from sqlalchemy import ColumnElement, bindparam, case, exists, select, update
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.collector import collector_paused
from app.distribution import channels
from app.distribution.channels import OutgoingMessage
from app.distribution.handover import ASYNC_COMMIT, Sent, Steps, sent_values
from app.distribution.mail import (
    MailBackend,
    MailError,
    MailServerUnavailable,
    PermanentMailError,
    SmtpBackend,
    TemporaryMailError,
    scrub,
    wire_bytes,
)
from app.distribution.messages import MessageBuilder
from app.distribution.tokens import hash_token, token_for
from app.distribution.windows import in_send_window, into_send_window
from app.extensions import db
from app.logsafe import log_exception
from app.models import (
    CampaignState,
    Complainant,
    Complaint,
    DistributionRule,
    Invitation,
    InvitationChannel,
    InvitationState,
    Response,
    ServiceEvent,
    SuppressionReason,
)
from app.models.distribution import DEFAULT_REMINDER_AFTER_MINUTES
from app.models.types import UTCDateTime, utcnow

log = logging.getLogger(__name__)

# How many send outcomes one commit may carry, by database (MEMNUN_DISPATCH_GROUP_COMMIT applies
# to PostgreSQL). A dispatcher killed before a commit re-sends that many messages at most (same
# Message-ID, logged). Groups of 20 were chosen while each commit waited for the disk and one
# connection waited for every round trip: 3.2 duplicates per kill. Now each commit does not wait
# for the disk (ASYNC_COMMIT) and several connections overlap their round trips (CONNECTIONS),
# so groups of one: at most one duplicate per kill (figures in docs/scaling.md). SQLite commits
# each one: its single writer lock would otherwise keep respondents waiting. Either way a group
# is committed after GROUP_SECONDS at most.
GROUP_COMMIT = {"postgresql": 1}
GROUP_SECONDS = 0.5
# SMTP connections one dispatcher sends over at once on PostgreSQL (MEMNUN_DISPATCH_CONNECTIONS).
CONNECTIONS = 1
# The commit of a group's outcomes returns before PostgreSQL's WAL reaches the disk. A dispatcher
# killed after it cannot lose it; a database crash within a fraction of a second can, and then
# the rows come back as claims whose lease runs out: taken over, logged, sent again (at most
# twice all the same). Every other commit of the dispatcher, and of everyone else, still waits.
# ASYNC_COMMIT is set in the statement that re-reads a group's rows, saving a round trip.
BACKOFF_FIRST = dt.timedelta(minutes=1)
BACKOFF_CAP = dt.timedelta(hours=1)
INVITATION = "invitation"
REMINDER = "reminder"
OPEN_STATES = (InvitationState.PLANNED, InvitationState.SENT, InvitationState.REMINDED)


@dataclass
class DispatchResult:
    """What one pass did, in invitations."""

    sent: int = 0
    reminded: int = 0
    expired: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0

    @property
    def total(self) -> int:
        counts = (self.sent, self.reminded, self.expired, self.retried, self.failed, self.cancelled)
        return sum(counts)

    def summary(self) -> str:
        return (
            f"sent {self.sent}, reminded {self.reminded}, expired {self.expired}, "
            f"retried {self.retried}, failed {self.failed}, cancelled {self.cancelled}"
        )


@dataclass
class _Job:
    """One claimed invitation, prepared before any mail is sent (ORM rows expire on commit)."""

    id: int
    kind: str
    channel: InvitationChannel
    attempts: int
    message: OutgoingMessage
    reminder_after: dt.timedelta | None
    expires_after: dt.timedelta
    taken_over: bool = False  # claimed before by a process that died: may be out already


@dataclass
class _Pass:
    config: Any
    clock: Callable[[], dt.datetime]
    batch_size: int
    lease: dt.timedelta
    max_attempts: int
    send_budget: float  # seconds a batch may spend sending before its lease is at risk
    commit_every: int
    should_stop: Callable[[], bool]
    result: DispatchResult = field(default_factory=DispatchResult)
    backends: dict[InvitationChannel, MailBackend] = field(default_factory=dict)
    down: set[InvitationChannel] = field(default_factory=set)  # unreachable for this pass
    builder: MessageBuilder = field(default_factory=MessageBuilder)  # templates rendered once
    # Rows of the current batch taken over: a copy may be out already (handed_over_at was set).
    taken_over: set[int] = field(default_factory=set)
    # Rows whose hand-over mark is committed, and rows whose send was started, in this batch.
    marked: set[int] = field(default_factory=set)
    tried: set[int] = field(default_factory=set)
    only: int | None = None  # a pass for one invitation (staff's "send now")
    connections: int = 1  # SMTP connections (each with its own database session) at once
    # With several connections: held from a message's final dot until its outcome is committed,
    # so only one message at a time can be out and not on record (see _send_streams).
    handover: threading.Lock | None = None
    holding: bool = False
    # The batch's token hashes to store (_prepare), as parameters of one statement.
    token_hashes: list[dict[str, Any]] = field(default_factory=list)

    def backend(self, channel: InvitationChannel) -> MailBackend:
        """The channel's backend, opened on first use (a pass of e-mails needs no SMS gateway)."""
        if channel not in self.backends:
            self.backends[channel] = channels.channel(channel).backend(self.config)
        return self.backends[channel]

    def close(self) -> None:
        for backend in self.backends.values():
            backend.close()

    def give_back(self, invitation_id: int) -> dict[str, Any]:
        """The values that free a row given back with no send of this pass out: no lease, and no
        hand-over mark but on a taken-over row, whose earlier copy may still be out; whoever
        claims it next takes it over again (logged, sent alone)."""
        if invitation_id in self.taken_over:
            return {"claimed_until": None}
        return {"claimed_until": None, "handed_over_at": None}

    def take_turn(self) -> None:
        if self.handover is not None:
            self.handover.acquire()
            self.holding = True

    def end_turn(self) -> None:
        if self.holding and self.handover is not None:
            self.holding = False
            self.handover.release()


def backoff(attempts: int) -> dt.timedelta:
    """1, 2, 4, 8 ... minutes after the 1st, 2nd, 3rd ... failure, at most an hour."""
    return min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_CAP)


def _minutes(value: int | None) -> dt.timedelta | None:
    return dt.timedelta(minutes=value) if value else None


# --- claiming ------------------------------------------------------------------------------------


def _due_conditions(kind: str, now: dt.datetime) -> list[ColumnElement[bool]]:
    lease_free = (Invitation.claimed_until.is_(None)) | (Invitation.claimed_until < now)
    if kind == INVITATION:
        # An invitation by phone is a call the satisfaction team makes (app/phone), never sent.
        return [Invitation.state == InvitationState.PLANNED, Invitation.due_at <= now, lease_free,
                Invitation.channel != InvitationChannel.PHONE]
    return [
        Invitation.state == InvitationState.SENT,
        Invitation.reminder_due_at <= now,
        Invitation.reminded_at.is_(None),
        Invitation.responded_at.is_(None),
        lease_free,
    ]


def _order(kind: str) -> Any:
    return Invitation.due_at if kind == INVITATION else Invitation.reminder_due_at


def claim_invitation(
    invitation_id: int, now: dt.datetime, lease_until: dt.datetime, kind: str = INVITATION
) -> bool:
    """Claim one row portably (any database): True only for the one caller whose UPDATE hit."""
    statement = (
        update(Invitation)
        .where(Invitation.id == invitation_id, *_due_conditions(kind, now))
        .values(claimed_until=lease_until)
        .execution_options(synchronize_session=False)
    )
    return db.session.execute(statement).rowcount == 1


def claim_batch(
    kind: str,
    now: dt.datetime,
    lease_until: dt.datetime,
    limit: int,
    skip_channels: set[InvitationChannel] | None = None,
) -> list[int]:
    """Claim up to ``limit`` due rows and commit the claim; returns their ids, in id order.

    ``skip_channels``: channels whose server is unreachable in this pass are left unclaimed.
    """
    return sorted(_claim(kind, now, lease_until, limit, skip_channels))


def _claim(
    kind: str,
    now: dt.datetime,
    lease_until: dt.datetime,
    limit: int,
    skip_channels: set[InvitationChannel] | None,
    only: int | None = None,
) -> dict[int, bool]:
    """Claim and commit as ``claim_batch`` does; maps each claimed id to whether it is taken
    over: an earlier claim handed its message to the server and died before storing the
    outcome, so the message may be out already."""
    conditions = _due_conditions(kind, now)
    if only is not None:
        conditions.append(Invitation.id == only)
    if skip_channels:
        conditions.append(Invitation.channel.not_in(sorted(skip_channels)))
    candidates = (
        select(Invitation.id, Invitation.claimed_until, Invitation.attempts,
               Invitation.handed_over_at)
        .where(*conditions)
        .order_by(_order(kind), Invitation.id)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        # One round trip: rows locked by another dispatcher's claim are skipped, not waited for;
        # the locked subquery hands back each row's lease as it was before this claim.
        before = candidates.with_for_update(skip_locked=True).subquery()
        statement = (
            update(Invitation)
            .where(Invitation.id == before.c.id)
            .values(claimed_until=lease_until)
            .returning(Invitation.id, before.c.claimed_until, before.c.attempts,
                       before.c.handed_over_at)
            .execution_options(synchronize_session=False)
        )
        claimed = [tuple(row) for row in db.session.execute(statement)]
    else:
        found = [tuple(row) for row in db.session.execute(candidates)]
        db.session.rollback()  # hold no read snapshot: SQLite could not upgrade it to a write
        claimed = [row for row in found if _claim_seen(row[0], row[1], now, lease_until, kind)]
    db.session.commit()
    for invitation_id, previous_lease, attempts, handed_over_at in claimed:
        if handed_over_at is not None:
            _log_takeover(kind, invitation_id, handed_over_at, attempts)
        elif previous_lease is not None:
            log.info("invitation %s: an earlier claim of the %s ran out before it handed the "
                     "message over; sending it as a fresh one", invitation_id, kind)
    return {row[0]: row[3] is not None for row in claimed}


def _claim_seen(
    invitation_id: int,
    seen_lease: dt.datetime | None,
    now: dt.datetime,
    lease_until: dt.datetime,
    kind: str,
) -> bool:
    """Claim one row only if its lease is still the one read a moment ago, so that whether it
    is a takeover is known exactly (another claim may have come and gone in between)."""
    same_lease = (
        Invitation.claimed_until.is_(None)
        if seen_lease is None
        else Invitation.claimed_until == seen_lease
    )
    statement = (
        update(Invitation)
        .where(Invitation.id == invitation_id, same_lease, *_due_conditions(kind, now))
        .values(claimed_until=lease_until)
        .execution_options(synchronize_session=False)
    )
    return db.session.execute(statement).rowcount == 1


def _log_takeover(kind: str, invitation_id: int, handed_over_at: dt.datetime, attempts: int
                  ) -> None:
    # Written before the send, so that the copy it may cause is on record even if this process
    # dies too. Ids and times only: never an address or a token.
    log.warning(
        "invitation %s taken over: the %s was handed to the server at %s by a claim whose lease "
        "ran out with no outcome stored (attempts %s); sending it again, it may be a duplicate",
        invitation_id, kind, handed_over_at.isoformat(timespec="seconds"), attempts,
    )


def _update(invitation_id: int, *where: ColumnElement[bool], **values: Any) -> bool:
    statement = (
        update(Invitation)
        .where(Invitation.id == invitation_id, *where)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return db.session.execute(statement).rowcount == 1


def _release(p: _Pass, ids: list[int]) -> None:
    """Free rows this pass did not finish. The hand-over mark goes only from fresh rows whose
    send never started: on the others a copy may be out."""
    unmark = [i for i in ids if i not in p.taken_over and i not in p.tried]
    keep = [i for i in ids if i not in unmark]
    for chosen, values in ((unmark, {"handed_over_at": None}), (keep, {})):
        if chosen:
            db.session.execute(
                update(Invitation)
                .where(Invitation.id.in_(chosen))
                .values(claimed_until=None, **values)
                .execution_options(synchronize_session=False)
            )
    db.session.commit()


def _mark_handed_over(p: _Pass, ids: list[int]) -> None:
    """Mark rows as about to be handed to the server; the caller's commit, before their final
    dot, puts it on record. Cleared when the outcome is stored."""
    ids = [i for i in ids if i not in p.marked]
    if ids:
        db.session.execute(
            update(Invitation)
            .where(Invitation.id.in_(ids))
            .values(handed_over_at=p.clock())
            .execution_options(synchronize_session=False)
        )
        p.marked.update(ids)


# --- preparing a claimed batch -------------------------------------------------------------------


def _load(ids: list[int]) -> list[Invitation]:
    return list(
        db.session.scalars(
            select(Invitation)
            .where(Invitation.id.in_(ids))
            .options(
                selectinload(Invitation.complaint).selectinload(Complaint.complainant),
                selectinload(Invitation.service_event).selectinload(ServiceEvent.person),
                selectinload(Invitation.service_event).selectinload(ServiceEvent.service),
                selectinload(Invitation.rule),
                selectinload(Invitation.campaign),
                selectinload(Invitation.version),
            )
            .order_by(Invitation.id)
        )
    )


def _has_response(invitation_id: int) -> bool:
    return bool(db.session.scalar(select(exists().where(Response.invitation_id == invitation_id))))


def _expires_after(rule: DistributionRule | None) -> dt.timedelta:
    minutes = rule.expires_after_minutes if rule else None
    return dt.timedelta(minutes=minutes or 14 * 24 * 60)


def _link_life(invitation: Invitation, sent_at: dt.datetime) -> dt.timedelta:
    """How long the link works once sent at ``sent_at``: the rule's expiry, or up to the
    close of the invitation's campaign."""
    if invitation.campaign is not None:
        return max(invitation.campaign.closes_at - sent_at, dt.timedelta(0))
    return _expires_after(invitation.rule)


def _reminder_after(invitation: Invitation, sent_at: dt.datetime) -> dt.timedelta | None:
    """How long after sending at ``sent_at`` to remind, or None for no reminder: the rule's
    delay; for a campaign's invitation (no rule) the rules' default, unless the reminder
    would come when the campaign has closed and its link no longer works."""
    if invitation.campaign is not None:
        after = dt.timedelta(minutes=DEFAULT_REMINDER_AFTER_MINUTES)
        return after if sent_at + after < invitation.campaign.closes_at else None
    return _minutes(invitation.rule.reminder_after_minutes) if invitation.rule else None


def _campaign_over(invitation: Invitation, now: dt.datetime) -> bool:
    """Whether the invitation's campaign has closed, or reached its date and waits for the
    closing job: no reminder goes out for it any more."""
    campaign = invitation.campaign
    return campaign is not None and (
        campaign.state == CampaignState.CLOSED or campaign.closes_at <= now)


def _opted_out_contacts(invitations: list[Invitation]) -> set[str]:
    """Of the batch's addresses and phone numbers, those that opted out under any complainant
    row (one query per channel)."""
    wanted: dict[InvitationChannel, set[str]] = {}
    for invitation in invitations:
        contact = channels.contact(invitation.person, invitation.channel)
        if contact:
            wanted.setdefault(invitation.channel, set()).add(contact)
    found: set[str] = set()
    for channel, contacts in wanted.items():
        column = channels.channel(channel).contact_column()
        found.update(
            db.session.scalars(
                select(column).where(column.in_(contacts), Complainant.opted_out_at.is_not(None))
            )
        )
    return found


def _cancel_reason(invitation: Invitation, opted_out: set[str]) -> SuppressionReason | None:
    """Why this invitation may no longer go out at all (opted out, contact erased), or None."""
    person = invitation.person
    contact = channels.contact(person, invitation.channel)
    if person is None or not contact:
        return SuppressionReason.NO_CONTACT
    if person.opted_out_at is not None or contact in opted_out:
        return SuppressionReason.OPTED_OUT
    return None


def _fall_back(p: _Pass, invitation: Invitation) -> None:
    """An invitation by e-mail to an address that bounced for good goes by the next channel
    that reaches the person (SMS, where there is a phone and a gateway); without one it is
    cancelled for want of a contact (``_cancel_reason``)."""
    person = invitation.person
    if person is None or not channels.dead(person, invitation.channel):
        return
    other = channels.reaching(person, p.config)
    if other is not None:
        log.info("invitation %s: its address bounced, it goes by %s", invitation.id, other)
        invitation.channel = other  # stored with the batch's commit


def _settle_without_sending(
    p: _Pass, kind: str, invitation: Invitation, now: dt.datetime, opted_out: set[str]
) -> bool:
    """Cancel, expire or postpone ``invitation`` when it must not be sent now; True if it was."""
    _fall_back(p, invitation)
    reason = _cancel_reason(invitation, opted_out)
    if reason is not None:
        _update(
            invitation.id,
            Invitation.state.in_(OPEN_STATES),
            state=InvitationState.CANCELLED,
            suppression_reason=reason,
            claimed_until=None,
            handed_over_at=None,
            reminder_due_at=None,
        )
        p.result.cancelled += 1
        log.info("invitation %s cancelled before sending: %s", invitation.id, reason)
        return True
    rule = invitation.rule
    if kind == INVITATION and invitation.due_at and (
        invitation.due_at + _link_life(invitation, invitation.due_at) <= now
    ):
        # It would have expired by now even if sent on time: too late to ask.
        _update(
            invitation.id,
            Invitation.state == InvitationState.PLANNED,
            state=InvitationState.EXPIRED,
            claimed_until=None,
            handed_over_at=None,
        )
        p.result.expired += 1
        return True
    if kind == REMINDER:
        if _has_response(invitation.id) or _campaign_over(invitation, now):
            _update(invitation.id, claimed_until=None, handed_over_at=None, reminder_due_at=None)
            return True
        if not in_send_window(now, rule):
            _update(
                invitation.id,
                reminder_due_at=into_send_window(now, rule),
                **p.give_back(invitation.id),
            )
            return True
    return False


def _prepare(
    p: _Pass, kind: str, invitation: Invitation, now: dt.datetime, opted_out: set[str]
) -> _Job | None:
    """The job for ``invitation``, or None when it was settled here without sending."""
    if _settle_without_sending(p, kind, invitation, now, opted_out):
        return None
    token = token_for(invitation.id)
    token_hash = hash_token(token)
    if invitation.token_hash != token_hash:
        # Written for the whole batch in one statement (_store_token_hashes), not by the
        # session's flush, which took a tenth of the dispatcher's CPU for a hundred rows.
        set_committed_value(invitation, "token_hash", token_hash)
        p.token_hashes.append({"t_id": invitation.id, "t_hash": token_hash})
    reminder = kind == REMINDER
    message = channels.channel(invitation.channel).message(invitation, token, reminder, now,
                                                           p.builder)
    return _Job(
        id=invitation.id,
        kind=kind,
        channel=invitation.channel,
        attempts=invitation.attempts or 0,
        message=message,
        reminder_after=_reminder_after(invitation, now),
        expires_after=_link_life(invitation, now),
        taken_over=invitation.id in p.taken_over,
    )


def _prepare_batch(p: _Pass, kind: str, ids: list[int], now: dt.datetime) -> list[_Job]:
    """Settle what needs no message, build the messages, and store the token hashes (one commit).

    The token hash is stored before the send, so the link works as soon as the mail arrives,
    even if this process dies before it marks the row sent.
    """
    jobs: list[_Job] = []
    p.token_hashes = []
    invitations = _load(ids)
    opted_out = _opted_out_contacts(invitations)
    for invitation in invitations:
        try:
            job = _prepare(p, kind, invitation, now, opted_out)
        except Exception as exc:  # noqa: BLE001 - one bad invitation must not stop the batch
            log_exception(log, "invitation %s: cannot compose the message", invitation.id)
            _temporary_failure(p, kind, invitation.id, invitation.attempts or 0, now, exc)
            continue
        if job is not None:
            jobs.append(job)
    _store_token_hashes(p.token_hashes)
    db.session.commit()
    return jobs


def _store_token_hashes(rows: list[dict[str, Any]]) -> None:
    """Store the batch's token hashes in one statement (an executemany); the caller commits."""
    if rows:
        table = Invitation.__table__
        statement = update(table).where(table.c.id == bindparam("t_id")).values(
            token_hash=bindparam("t_hash"))
        db.session.connection().execute(statement, rows)


# --- sending and recording the outcome -----------------------------------------------------------


def _still_due(kind: str, ids: list[int], async_commit: bool = False) -> set[int]:
    """Of ``ids``, those still to send: re-read just before sending (a reopen, an opt-out or an
    answer may have come in since the claim). On PostgreSQL the rows stay locked until the
    group's outcomes are committed, so nothing can change them in between, and
    ``async_commit`` makes that commit not wait for the disk (ASYNC_COMMIT). SQLite ignores
    FOR UPDATE: for a reminder, a conditional UPDATE takes its write lock instead (see
    ``_reminders_still_due``)."""
    conditions: list[ColumnElement[bool]] = [
        Invitation.id.in_(ids),
        Invitation.responded_at.is_(None),
    ]
    if kind == INVITATION:
        conditions.append(Invitation.state == InvitationState.PLANNED)
    else:
        conditions += [
            Invitation.state == InvitationState.SENT,
            ~exists().where(Response.invitation_id == Invitation.id),
        ]
        if db.session.get_bind().dialect.name == "sqlite":
            return _reminders_still_due(conditions)
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    columns = [Invitation.id, ASYNC_COMMIT] if async_commit and postgresql else [Invitation.id]
    statement = select(*columns).where(*conditions).with_for_update(of=Invitation)
    return {row[0] for row in db.session.execute(statement)}


def _reminders_still_due(conditions: list[ColumnElement[bool]]) -> set[int]:
    """SQLite: check and claim in one UPDATE, which takes the database's write lock and keeps
    it until the reminder's outcome is committed. An answer commits either before it (and the
    UPDATE skips the row) or waits until the reminder is recorded, so a reminder never leaves
    after the survey was answered. Only reminders hold the lock across a send: that race is the
    one a respondent can see, and the lock stops every other writer meanwhile."""
    statement = (
        update(Invitation)
        .where(*conditions)
        .values(claimed_until=Invitation.claimed_until)
        .returning(Invitation.id)
        .execution_options(synchronize_session=False)
    )
    return set(db.session.scalars(statement))


def _in_state(state: InvitationState, then: Any, otherwise: Any) -> Any:
    table = Invitation.__table__
    return case((table.c.state == state.value, then), else_=otherwise)


def _record_sent(p: _Pass, kind: str, sent: list[tuple[_Job, dt.datetime]]) -> None:
    """Mark a group's sent messages (one statement), log and count them; the caller commits."""
    _store_sent(kind, sent)
    _note_sent(p, kind, [job for job, _ in sent])


def _note_sent(p: _Pass, kind: str, jobs: list[_Job]) -> None:
    for job in jobs:
        log.info("invitation %s %s", job.id, "sent" if kind == INVITATION else "reminded")
    if kind == INVITATION:
        p.result.sent += len(jobs)
    else:
        p.result.reminded += len(jobs)


def _store_sent(kind: str, sent: list[tuple[_Job, dt.datetime]]) -> None:
    """Mark sent messages in one statement (executemany).

    A row cancelled while its message was on its way keeps its state; the send is recorded all
    the same (sent_at, attempts), which is what the CASE expressions do.
    """
    if not sent:
        return
    table = Invitation.__table__
    at = bindparam("b_at", type_=UTCDateTime())
    if kind == INVITATION:
        values = sent_values(at, bindparam("b_reminder", type_=UTCDateTime()),
                             bindparam("b_expires", type_=UTCDateTime()))
    else:
        was_sent = InvitationState.SENT
        values = {
            "state": _in_state(was_sent, InvitationState.REMINDED.value, table.c.state),
            "attempts": _in_state(was_sent, table.c.attempts + 1, table.c.attempts),
            "reminded_at": at,
            "reminder_due_at": None,
            "claimed_until": None,
            "handed_over_at": None,
        }
    statement = update(table).where(table.c.id == bindparam("b_id")).values(**values)
    rows = [
        {
            "b_id": job.id,
            "b_at": now,
            "b_reminder": now + job.reminder_after if job.reminder_after else None,
            "b_expires": now + job.expires_after,
        }
        for job, now in sent
    ]
    db.session.connection().execute(statement, rows)


def _undo_sent(p: _Pass, kind: str, job: _Job, at: dt.datetime) -> None:
    """Take back a send recorded at hand-over that the server then refused in its reply."""
    if kind == INVITATION:
        _update(
            job.id,
            Invitation.state == InvitationState.SENT,
            Invitation.sent_at == at,
            state=InvitationState.PLANNED,
            sent_at=None,
            reminder_due_at=None,
            expires_at=None,
            attempts=Invitation.attempts - 1,
            handed_over_at=at,
        )
        p.result.sent -= 1
    else:
        _update(
            job.id,
            Invitation.state == InvitationState.REMINDED,
            Invitation.reminded_at == at,
            state=InvitationState.SENT,
            reminded_at=None,
            attempts=Invitation.attempts - 1,
            handed_over_at=at,
        )
        p.result.reminded -= 1
    log.warning("invitation %s: refused by the server after all; not sent", job.id)


def _temporary_failure(
    p: _Pass, kind: str, invitation_id: int, attempts: int, now: dt.datetime, exc: BaseException
) -> None:
    attempts += 1
    error = scrub(str(exc) or type(exc).__name__)
    if kind == REMINDER:
        # Retry the reminder while it can still arrive before the link expires.
        retry_at = now + backoff(attempts)
        expires_at = db.session.scalar(
            select(Invitation.expires_at).where(Invitation.id == invitation_id)
        )
        give_up = expires_at is not None and retry_at >= expires_at
        _update(
            invitation_id,
            attempts=attempts,
            last_error=error,
            reminder_due_at=None if give_up else retry_at,
            **p.give_back(invitation_id),
        )
        p.result.retried += 1
        outcome = "given up" if give_up else "will retry"
        log.warning("invitation %s: reminder not sent, %s", invitation_id, outcome)
        return
    if attempts >= p.max_attempts:
        _update(
            invitation_id,
            Invitation.state == InvitationState.PLANNED,
            state=InvitationState.FAILED,
            attempts=attempts,
            last_error=error,
            claimed_until=None,
            handed_over_at=None,
        )
        p.result.failed += 1
        log.warning("invitation %s failed after %s attempts", invitation_id, attempts)
        return
    _update(
        invitation_id,
        Invitation.state == InvitationState.PLANNED,
        attempts=attempts,
        last_error=error,
        due_at=now + backoff(attempts),
        **p.give_back(invitation_id),
    )
    p.result.retried += 1
    log.info("invitation %s: temporary failure, attempt %s, will retry", invitation_id, attempts)


def _permanent_failure(p: _Pass, job: _Job, exc: PermanentMailError) -> None:
    if job.kind == REMINDER:
        # The survey link still works; only the reminder is given up.
        _update(
            job.id,
            attempts=Invitation.attempts + 1,
            last_error=str(exc),
            claimed_until=None,
            handed_over_at=None,
            reminder_due_at=None,
        )
        log.warning("invitation %s: reminder refused for good", job.id)
        return
    _update(
        job.id,
        Invitation.state == InvitationState.PLANNED,
        state=InvitationState.FAILED,
        attempts=Invitation.attempts + 1,
        last_error=str(exc),
        claimed_until=None,
        handed_over_at=None,
    )
    p.result.failed += 1
    log.warning("invitation %s failed: refused by the %s server", job.id, job.channel)


class _NotDue(Exception):
    """Raised just before a message could be accepted: its row is no longer to be sent."""


def _send(p: _Pass, job: _Job, now: dt.datetime, ready: Future[bool] | None = None,
          wire: Future[bytes] | None = None) -> bool:
    """Hand one job to its channel; True when it was accepted. A failure is stored here (the
    caller commits); an unreachable server marks the channel down for the rest of the pass.
    ``ready``, the re-check that runs beside the send (``_send_steps``), is waited for before
    the server can accept the message (over SMTP, just before the final dot): False gives the
    row back unsent (found done already, it is waited for before the body instead, and body
    and dot go out in one write). ``wire``: the message flattened ahead, in that thread."""
    handed: list[bool] = []

    def check() -> None:
        if ready is not None and not ready.result():
            raise _NotDue

    def take_turn() -> None:  # just before the final dot
        check()
        p.take_turn()
        handed.append(True)

    p.tried.add(job.id)
    try:
        backend = p.backend(job.channel)
        if isinstance(backend, SmtpBackend) and p.handover is not None:
            backend.send(job.message, invitation_id=job.id, handed_over=take_turn)
        elif isinstance(backend, SmtpBackend):
            backend.send(job.message, invitation_id=job.id,
                         handed_over=check if ready is not None else None,
                         handed_over_ready=ready.done if ready is not None else None,
                         written=lambda: handed.append(True),
                         wire=wire.result() if wire is not None else None)
        else:
            check()
            backend.send(job.message, invitation_id=job.id)
    except _NotDue:
        _update(job.id, **p.give_back(job.id))
        return False
    except Exception as exc:  # noqa: BLE001 - every failure is stored; see _store_failure
        if ready is not None:
            ready.result()  # the re-check writes this row too: it goes first (raises if failed)
        _store_failure(p, job, now, exc, maybe_out=bool(handed))
        return False
    return True


def _store_failure(
    p: _Pass, job: _Job, now: dt.datetime, exc: Exception, maybe_out: bool = False
) -> None:
    """Store why ``job`` was not sent (call it in the ``except`` block). ``maybe_out``: the
    server had the whole message when the connection broke, so it may have gone out."""
    if isinstance(exc, MailServerUnavailable):
        # Not this message's fault: no attempt is counted and nothing is failed; the channel
        # waits for the next pass, so a server that is down for a while loses nothing. A
        # message that may be out keeps its hand-over mark: the next claim is a takeover.
        values = {"claimed_until": None} if maybe_out else p.give_back(job.id)
        _update(job.id, last_error=str(exc), **values)
        p.down.add(job.channel)
        p.result.retried += 1
        log.warning("%s server unavailable: its invitations wait for the next pass", job.channel)
    elif isinstance(exc, PermanentMailError):
        _permanent_failure(p, job, exc)
    elif isinstance(exc, TemporaryMailError):
        _temporary_failure(p, job.kind, job.id, job.attempts, now, exc)
    else:  # an unexpected error counts as a temporary one
        log_exception(log, "invitation %s: unexpected error while sending", job.id)
        _temporary_failure(p, job.kind, job.id, job.attempts, now, exc)


def _send_taken_over(p: _Pass, kind: str, job: _Job) -> None:
    """Send a taken-over job alone, and over SMTP record it as sent (committed) just before the
    message's final dot, so before the server can accept it: a process that dies from then on
    leaves the send on record, so nobody sends a third copy. Only a refusal in the server's reply
    takes the record back; a connection lost after the dot leaves it (the server may have the
    message). Other channels record it right after the send, as a group of one."""
    if job.channel in p.down or not isinstance(_backend_or_none(p, job.channel), SmtpBackend):
        _send_group(p, kind, [job])
        return
    backend = p.backend(job.channel)
    if job.id not in _still_due(kind, [job.id]):
        _update(job.id, **p.give_back(job.id))
        db.session.commit()
        return
    now = p.clock()
    _store_sent(kind, [(job, now)])  # not committed yet: the row stays locked until then
    recorded: list[BaseException | None] = []

    def handed_over() -> None:
        try:
            _note_sent(p, kind, [job])
            db.session.commit()
            recorded.append(None)
        except Exception as exc:
            recorded.append(exc)
            raise  # the final dot is not written: the server drops the message

    try:
        backend.send(job.message, invitation_id=job.id, handed_over=handed_over)
    except Exception as exc:  # noqa: BLE001 - stored as for any send
        if recorded != [None]:
            db.session.rollback()
        elif isinstance(exc, MailError) and not isinstance(exc, MailServerUnavailable):
            _undo_sent(p, kind, job, now)
        else:
            log.warning("invitation %s: no reply after the hand-over; kept as sent", job.id)
            return
        if not recorded or recorded == [None]:
            _store_failure(p, job, now, exc)
        db.session.commit()
    else:
        if not recorded:  # no hand-over moment seen: record it now, as for a group of one
            _note_sent(p, kind, [job])
            db.session.commit()
    if recorded and recorded[0] is not None:
        raise recorded[0]  # the database failed: this pass ends, the lease stays


def _backend_or_none(p: _Pass, channel: InvitationChannel) -> MailBackend | None:
    try:
        return p.backend(channel)
    except Exception:  # noqa: BLE001 - _send stores the same error when it meets it again
        return None


def _send_group(p: _Pass, kind: str, group: list[_Job]) -> int:
    """Send a group (already marked handed over) under one commit; returns how many of its jobs
    were dealt with (a group that runs past GROUP_SECONDS ends early, and the rest start the
    next group)."""
    live = _still_due(kind, [job.id for job in group], async_commit=True)
    sent: list[tuple[_Job, dt.datetime]] = []
    started = time.monotonic()
    done = 0
    try:
        for job in group:
            done += 1
            if job.id not in live or job.channel in p.down:
                _update(job.id, **p.give_back(job.id))
                continue
            now = p.clock()
            if _send(p, job, now):
                sent.append((job, now))
            if time.monotonic() - started > GROUP_SECONDS:
                break
    finally:
        try:
            _record_sent(p, kind, sent)
            db.session.commit()
        finally:
            p.end_turn()
    return done


def _send_streams(p: _Pass, kind: str, jobs: list[_Job], started: float) -> int:
    """Send fresh jobs over ``p.connections`` SMTP connections at once, each in a thread with its
    own database session, one message per commit; returns how many were dealt with (those not
    dealt with are the tail of ``jobs``). While one connection waits for the server's reply or
    the database, the others write their next message: every round trip but the last ones of a
    message overlaps. The last ones, from the final dot to the commit of the outcome, take turns
    (``handover``), so a process killed at any moment has at most one message out and not on
    record: one duplicate per kill at most, as with one connection."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    waiting = deque(jobs)
    handover = threading.Lock()
    results: list[DispatchResult] = []
    errors: list[BaseException] = []
    first_done = threading.Event()

    def going() -> bool:
        return not p.should_stop() and time.monotonic() - started <= p.send_budget

    def take() -> _Job | None:
        try:
            return waiting.popleft() if going() else None
        except IndexError:
            return None

    def stream() -> None:
        mine = replace(p, result=DispatchResult(), backends={}, handover=handover, holding=False)
        results.append(mine.result)
        with app.app_context():
            try:
                job = take()
                while job is not None:
                    # Marked just before its own send, never ahead with the previous commit: a
                    # marked row is taken over as handed to the server, and recorded as sent
                    # before its final dot, so a mark on a message that never went out would
                    # turn a second kill into a lost message.
                    _mark_handed_over(mine, [job.id])
                    db.session.commit()
                    _send_group(mine, kind, [job])
                    first_done.set()
                    job = take()
            except BaseException as exc:  # noqa: BLE001 - raised again in the dispatcher's thread
                errors.append(exc)
            finally:
                first_done.set()
                mine.end_turn()
                mine.close()
                db.session.remove()

    threads = [threading.Thread(target=stream, name=f"dispatch-{n}", daemon=True)
               for n in range(min(p.connections, len(jobs)))]
    # The others start once the first has sent (or failed) one message: a server that is down
    # is then found once, by one connection, and the others see the channel down.
    threads[0].start()
    first_done.wait()
    for thread in threads[1:]:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        for name in ("sent", "reminded", "expired", "retried", "failed", "cancelled"):
            setattr(p.result, name, getattr(p.result, name) + getattr(result, name))
    if errors:
        raise errors[0]
    # The ones a stream took are dealt with, so those left are the tail of ``jobs``.
    return len(jobs) - len(waiting)


def _fresh_run(jobs: list[_Job], start: int) -> list[_Job]:
    """The jobs from ``start`` up to the next taken-over one (which is sent on its own)."""
    end = start
    while end < len(jobs) and not jobs[end].taken_over:
        end += 1
    return jobs[start:end]


def _next_group(jobs: list[_Job], start: int, size: int) -> list[_Job]:
    """The jobs to send under the next commit, from ``start``: up to ``size`` of them, ending
    before the next taken-over job, which is sent on its own. None from a taken-over job, or
    past the end."""
    if start >= len(jobs) or jobs[start].taken_over:
        return []
    group = [jobs[start]]
    for job in jobs[start + 1 : start + size]:
        if job.taken_over:
            break
        group.append(job)
    return group


def _send_fresh_group(p: _Pass, kind: str, jobs: list[_Job], start: int) -> int:
    """Send the group starting at ``start``, marked handed over by a commit of its own just
    before: a mark made ahead, on the previous group's commit, would stand on messages that
    never went out if the process died first, and a takeover records a marked row as sent
    before its final dot (``_send_taken_over``), so a second kill would lose them."""
    group = _next_group(jobs, start, p.commit_every)
    if any(job.id not in p.marked for job in group):
        _mark_handed_over(p, [job.id for job in group])
        db.session.commit()
    return _send_group(p, kind, group)


def _send_steps(p: _Pass, jobs: list[_Job], started: float) -> int:
    """Send fresh invitations one at a time, one committed statement each (``handover.Steps``:
    the one before recorded, this one re-checked and marked); returns how many were dealt with
    (the rest, a tail of ``jobs``, were not tried).

    Each step runs in a thread of its own while the message's envelope and body go out, and is
    waited for just before the final dot (``_send``'s ``ready``): the database's round trip
    overlaps the mail server's, and the mark is still on record before the server can accept
    the message. The same thread then flattens the next e-mail, while this one waits for the
    server's replies."""
    steps = Steps(db.engine)
    sent: tuple[_Job, Sent] | None = None
    done = 0
    with ThreadPoolExecutor(1, thread_name_prefix="dispatch-steps") as database:
        try:
            ahead: Future[bytes] | None = None
            for position, job in enumerate(jobs):
                if done and (p.should_stop() or time.monotonic() - started > p.send_budget):
                    break
                wanted = job.id if job.channel not in p.down else None
                step = database.submit(steps.step, sent[1] if sent else None, wanted, p.clock())
                wire, ahead = ahead, _flatten_ahead(database, jobs[position + 1 : position + 2])
                previous, sent = sent, None
                done += 1
                now = p.clock()
                if wanted is None:
                    step.result()
                    _update(job.id, **p.give_back(job.id))
                elif _send(p, job, now, ready=step, wire=wire):
                    sent = (job, _sent(job, now))
                step.result()  # done by now; raises if the database failed
                if previous:
                    _note_sent(p, INVITATION, [previous[0]])
                if sent is None:
                    db.session.commit()  # what _send stored for a failure or a row given back
        finally:
            if sent:
                database.submit(steps.step, sent[1], None, p.clock()).result()
                _note_sent(p, INVITATION, [sent[0]])
            database.submit(steps.close).result()
    return done


def _flatten_ahead(thread: ThreadPoolExecutor, following: list[_Job]) -> Future[bytes] | None:
    """The next e-mail's bytes, made in ``thread`` (the steps' one) while this one is out."""
    if not following or following[0].channel != InvitationChannel.EMAIL:
        return None
    return thread.submit(wire_bytes, following[0].message)


def _sent(job: _Job, now: dt.datetime) -> Sent:
    reminder = now + job.reminder_after if job.reminder_after else None
    return Sent(job.id, now, reminder, now + job.expires_after)


def _send_batch(p: _Pass, kind: str, jobs: list[_Job], started: float) -> int:
    """Send a prepared batch until done or its lease is at risk; returns how many were dealt
    with (the rest, a tail of ``jobs``, were not tried)."""
    done = 0
    while done < len(jobs):
        if p.should_stop() or time.monotonic() - started > p.send_budget:
            break  # leave the rest to a fresh claim with a fresh lease
        if jobs[done].taken_over:
            _send_taken_over(p, kind, jobs[done])
            done += 1
        elif kind == INVITATION and p.connections == 1 and p.commit_every == 1:
            done += _send_steps(p, _fresh_run(jobs, done), started)
        elif p.connections > 1:
            done += _send_streams(p, kind, _fresh_run(jobs, done), started)
        else:
            done += _send_fresh_group(p, kind, jobs, done)
    return done


def _run_batches(p: _Pass, kind: str) -> None:
    """Claim and work through batches of ``kind`` until nothing is due."""
    while not p.should_stop():
        now = p.clock()
        started = time.monotonic()  # the lease runs from here
        claimed = _claim(kind, now, now + p.lease, p.batch_size, p.down, p.only)
        if not claimed:
            return
        p.taken_over = {i for i, taken_over in claimed.items() if taken_over}
        p.marked, p.tried = set(), set()
        # A batch's rows and e-mails are thousands of short-lived objects (app/collector.py):
        # in py-spy's samples the allocations that set the collector off took about a fifth
        # of the dispatcher's CPU.
        with collector_paused():
            jobs, done = _prepare_batch(p, kind, sorted(claimed), now), 0
            try:
                done = _send_batch(p, kind, jobs, started)
            finally:
                if done < len(jobs):  # not tried: free them at once for the next pass
                    db.session.rollback()
                    _release(p, [job.id for job in jobs[done:]])
        if done < len(jobs) and not p.should_stop() and len(jobs) > 1:
            # The lease ran short (a slow server, a loaded machine): claim no more than this
            # batch could send, so that preparing a batch cannot eat the whole lease.
            p.batch_size = max(1, done or len(jobs) // 2)
        elif jobs and done == 0:
            return  # no progress possible now (stopping, or no time for even one message)


def expire_overdue(now: dt.datetime | None = None) -> int:
    """Sent or reminded invitations past their expiry, with no answer, become expired."""
    now = now or utcnow()
    statement = (
        update(Invitation)
        .where(
            Invitation.state.in_([InvitationState.SENT, InvitationState.REMINDED]),
            Invitation.expires_at <= now,
            Invitation.responded_at.is_(None),
            ~exists().where(Response.invitation_id == Invitation.id),
        )
        .values(state=InvitationState.EXPIRED, claimed_until=None, reminder_due_at=None)
        .execution_options(synchronize_session=False)
    )
    count = db.session.execute(statement).rowcount
    db.session.commit()
    return count


def _group_commit(config: Any) -> int:
    dialect = db.session.get_bind().dialect.name
    if dialect != "postgresql":
        return GROUP_COMMIT.get(dialect, 1)
    return max(int(config.get("MEMNUN_DISPATCH_GROUP_COMMIT") or GROUP_COMMIT[dialect]), 1)


def _connections(config: Any, commit_every: int) -> int:
    """SMTP connections at once: several only on PostgreSQL (SQLite has one writer) and with one
    send per commit (a group holds its rows until its commit, which a turn cannot wait for)."""
    wanted = max(int(config.get("MEMNUN_DISPATCH_CONNECTIONS") or CONNECTIONS), 1)
    if db.session.get_bind().dialect.name != "postgresql" or commit_every > 1:
        return 1
    return wanted


def _fixed_clock(moment: dt.datetime) -> Callable[[], dt.datetime]:
    return lambda: moment


def dispatch_due(
    now: dt.datetime | None = None,
    batch_size: int | None = None,
    *,
    should_stop: Callable[[], bool] | None = None,
    invitation_id: int | None = None,
) -> DispatchResult:
    """One pass: expire, send due invitations, then due reminders. Needs an app context.

    ``now`` fixes the clock (tests); otherwise each step reads the real time. ``should_stop``
    lets a scheduler that is shutting down end the pass between two messages.
    ``invitation_id``: send only that invitation if it is due (no reminders); it is claimed,
    re-checked and recorded exactly as in a full pass, so the guarantee holds for it too.
    """
    config = current_app.config
    lease_seconds = int(config.get("MEMNUN_DISPATCH_LEASE_SECONDS") or 300)
    timeout = float(config.get("MEMNUN_SMTP_TIMEOUT") or 30)
    clock = _fixed_clock(now) if now else utcnow
    p = _Pass(
        config=config,
        clock=clock,
        batch_size=batch_size or int(config.get("MEMNUN_DISPATCH_BATCH_SIZE") or 100),
        lease=dt.timedelta(seconds=lease_seconds),
        max_attempts=int(config.get("MEMNUN_MAX_SEND_ATTEMPTS") or 8),
        send_budget=max(lease_seconds - 2 * timeout, lease_seconds / 2),
        should_stop=should_stop or (lambda: False),
        commit_every=_group_commit(config),
        only=invitation_id,
    )
    p.connections = _connections(config, p.commit_every)
    try:
        p.result.expired += expire_overdue(clock())
        _run_batches(p, INVITATION)
        if invitation_id is None:
            _run_batches(p, REMINDER)
    finally:
        p.close()
    if p.result.total:
        log.info("dispatch pass: %s", p.result.summary())
    return p.result
