"""The dispatcher: sends due invitations and reminders, retries, and expires old invitations.

What is due lives in the database (state, due_at, reminder_due_at), never in the scheduler, so
a dispatcher that was down for hours sends everything still inside its expiry when it returns.

Claiming, and the guarantee (see ../shared/DESIGN.md, "Contracts inside the code"):

1. A batch of due rows is claimed by setting ``claimed_until`` (a lease) and committed before any
   mail is sent. On PostgreSQL the rows are picked with ``SELECT ... FOR UPDATE SKIP LOCKED``; on
   SQLite each row is claimed with ``UPDATE ... WHERE id=:id AND state='planned' AND lease free``
   and kept only when exactly one row changed. Either way a row has one owner at a time.
2. The owner re-reads the row (a reopen or an opt-out may have come since), sends, and marks the
   row sent, releasing the lease. Outcomes are committed one by one on SQLite and in small
   groups on PostgreSQL (see GROUP_COMMIT).
3. A dispatcher that dies in between leaves a lease that runs out; the row is claimed again and
   sent again, with the same token and the same Message-ID. So an invitation is sent at least
   once while it has not expired, and twice only when a process died after the mail server
   accepted the message and before the row was marked sent (or the connection broke after the
   server took the message and before it said so: the outcome is unknown, so it is retried).

A batch stops before its lease could run out (each send may take up to the SMTP timeout), and
releases what it did not send, so a slow mail server cannot make a lease expire under a send.
Logs carry invitation ids only, never addresses or tokens.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, exists, func, select, update
from sqlalchemy.orm import selectinload

from app.distribution.logsafe import log_exception
from app.distribution.mail import (
    MailBackend,
    MailServerUnavailable,
    PermanentMailError,
    TemporaryMailError,
    get_backend,
    scrub,
)
from app.distribution.messages import build_message
from app.distribution.tokens import assign_token
from app.distribution.windows import in_send_window, into_send_window
from app.extensions import db
from app.models import (
    Complainant,
    Complaint,
    DistributionRule,
    Invitation,
    InvitationState,
    Response,
    SuppressionReason,
)
from app.models.types import utcnow

log = logging.getLogger(__name__)

# How many send outcomes one commit may carry, by database. On PostgreSQL a commit waits for
# the disk; grouping a few more than doubles throughput, at the price of re-sending at most
# that many messages (same Message-ID) if the process dies before the commit, which the
# guarantee above allows. SQLite commits each one: its single writer lock would otherwise keep
# respondents waiting. Either way a group is committed after GROUP_SECONDS at most.
GROUP_COMMIT = {"postgresql": 20}
GROUP_SECONDS = 0.5
BACKOFF_FIRST = dt.timedelta(minutes=1)
BACKOFF_CAP = dt.timedelta(hours=1)
INVITATION = "invitation"
REMINDER = "reminder"


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
    attempts: int
    message: Message
    reminder_after: dt.timedelta | None
    expires_after: dt.timedelta


@dataclass
class _Pass:
    backend: MailBackend
    clock: Callable[[], dt.datetime]
    batch_size: int
    lease: dt.timedelta
    max_attempts: int
    send_budget: float  # seconds a batch may spend sending before its lease is at risk
    commit_every: int
    should_stop: Callable[[], bool]
    result: DispatchResult = field(default_factory=DispatchResult)


class _PassAborted(Exception):
    """The mail server is unreachable: stop this pass; the next one tries again."""


def backoff(attempts: int) -> dt.timedelta:
    """1, 2, 4, 8 ... minutes after the 1st, 2nd, 3rd ... failure, at most an hour."""
    return min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_CAP)


def _minutes(value: int | None) -> dt.timedelta | None:
    return dt.timedelta(minutes=value) if value else None


# --- claiming ------------------------------------------------------------------------------------


def _due_conditions(kind: str, now: dt.datetime) -> list[ColumnElement[bool]]:
    lease_free = (Invitation.claimed_until.is_(None)) | (Invitation.claimed_until < now)
    if kind == INVITATION:
        return [Invitation.state == InvitationState.PLANNED, Invitation.due_at <= now, lease_free]
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


def claim_batch(kind: str, now: dt.datetime, lease_until: dt.datetime, limit: int) -> list[int]:
    """Claim up to ``limit`` due rows and commit the claim; returns their ids."""
    candidates = (
        select(Invitation.id)
        .where(*_due_conditions(kind, now))
        .order_by(_order(kind), Invitation.id)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        ids = list(db.session.scalars(candidates.with_for_update(skip_locked=True)))
        if ids:
            db.session.execute(
                update(Invitation)
                .where(Invitation.id.in_(ids))
                .values(claimed_until=lease_until)
                .execution_options(synchronize_session=False)
            )
    else:
        found = list(db.session.scalars(candidates))
        db.session.rollback()  # hold no read snapshot: SQLite could not upgrade it to a write
        ids = [i for i in found if claim_invitation(i, now, lease_until, kind)]
    db.session.commit()
    return ids


def _update(invitation_id: int, *where: ColumnElement[bool], **values: Any) -> bool:
    statement = (
        update(Invitation)
        .where(Invitation.id == invitation_id, *where)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return db.session.execute(statement).rowcount == 1


def _release(ids: list[int]) -> None:
    if ids:
        db.session.execute(
            update(Invitation)
            .where(Invitation.id.in_(ids))
            .values(claimed_until=None)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()


# --- preparing a claimed batch -------------------------------------------------------------------


def _load(ids: list[int]) -> list[Invitation]:
    return list(
        db.session.scalars(
            select(Invitation)
            .where(Invitation.id.in_(ids))
            .options(
                selectinload(Invitation.complaint).selectinload(Complaint.complainant),
                selectinload(Invitation.rule),
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


def _opted_out_addresses(invitations: list[Invitation]) -> set[str]:
    """Of the batch's addresses (lower case), those that opted out under any complainant row."""
    addresses = {
        person.email.lower()
        for person in (i.complaint.complainant for i in invitations)
        if person is not None and person.email
    }
    if not addresses:
        return set()
    rows = db.session.scalars(
        select(func.lower(Complainant.email)).where(
            func.lower(Complainant.email).in_(addresses), Complainant.opted_out_at.is_not(None)
        )
    )
    return set(rows)


def _cancel_reason(invitation: Invitation, opted_out: set[str]) -> SuppressionReason | None:
    """Why this invitation may no longer go out at all (opted out, contact erased), or None."""
    person = invitation.complaint.complainant
    if person is None or person.erased_at is not None or not person.email:
        return SuppressionReason.NO_CONTACT
    if person.opted_out_at is not None or person.email.lower() in opted_out:
        return SuppressionReason.OPTED_OUT
    return None


def _prepare(
    p: _Pass, kind: str, invitation: Invitation, now: dt.datetime, opted_out: set[str]
) -> _Job | None:
    """The job for ``invitation``, or None when it was settled here without sending."""
    open_states = [InvitationState.PLANNED, InvitationState.SENT, InvitationState.REMINDED]
    reason = _cancel_reason(invitation, opted_out)
    if reason is not None:
        _update(
            invitation.id,
            Invitation.state.in_(open_states),
            state=InvitationState.CANCELLED,
            suppression_reason=reason,
            claimed_until=None,
            reminder_due_at=None,
        )
        p.result.cancelled += 1
        log.info("invitation %s cancelled before sending: %s", invitation.id, reason)
        return None
    rule = invitation.rule
    expires_after = _expires_after(rule)
    if kind == INVITATION and invitation.due_at and invitation.due_at + expires_after <= now:
        # It would have expired by now even if sent on time: too late to ask.
        _update(
            invitation.id,
            Invitation.state == InvitationState.PLANNED,
            state=InvitationState.EXPIRED,
            claimed_until=None,
        )
        p.result.expired += 1
        return None
    if kind == REMINDER:
        if _has_response(invitation.id):
            _update(invitation.id, claimed_until=None, reminder_due_at=None)
            return None
        if not in_send_window(now, rule):
            _update(invitation.id, claimed_until=None, reminder_due_at=into_send_window(now, rule))
            return None
    token = assign_token(invitation)
    message = build_message(invitation, token, reminder=kind == REMINDER, now=now)
    return _Job(
        id=invitation.id,
        kind=kind,
        attempts=invitation.attempts or 0,
        message=message,
        reminder_after=_minutes(rule.reminder_after_minutes) if rule else None,
        expires_after=expires_after,
    )


def _prepare_batch(p: _Pass, kind: str, ids: list[int], now: dt.datetime) -> list[_Job]:
    """Settle what needs no mail, build the messages, and store the token hashes (one commit).

    The token hash is stored before the send, so the link works as soon as the mail arrives,
    even if this process dies before it marks the row sent.
    """
    jobs: list[_Job] = []
    invitations = _load(ids)
    opted_out = _opted_out_addresses(invitations)
    for invitation in invitations:
        try:
            job = _prepare(p, kind, invitation, now, opted_out)
        except Exception as exc:  # noqa: BLE001 - one bad invitation must not stop the batch
            log_exception(log, "invitation %s: cannot compose the message", invitation.id)
            _temporary_failure(p, kind, invitation.id, invitation.attempts or 0, now, exc)
            continue
        if job is not None:
            jobs.append(job)
    db.session.commit()
    return jobs


# --- sending and recording the outcome -----------------------------------------------------------


def _still_due(kind: str, invitation_id: int) -> bool:
    """Re-read the row just before sending (locked on PostgreSQL until the outcome is stored):
    a reopen, an opt-out or an answer may have come in since the claim."""
    row = db.session.execute(
        select(Invitation.state, Invitation.responded_at)
        .where(Invitation.id == invitation_id)
        .with_for_update()
    ).one_or_none()
    if row is None or row.responded_at is not None:
        return False
    if kind == INVITATION:
        return row.state == InvitationState.PLANNED
    return row.state == InvitationState.SENT and not _has_response(invitation_id)


def _mark_sent(p: _Pass, job: _Job, now: dt.datetime) -> None:
    if job.kind == INVITATION:
        marked = _update(
            job.id,
            Invitation.state == InvitationState.PLANNED,
            state=InvitationState.SENT,
            sent_at=now,
            reminder_due_at=now + job.reminder_after if job.reminder_after else None,
            expires_at=now + job.expires_after,
            claimed_until=None,
            attempts=Invitation.attempts + 1,
            last_error=None,
        )
        if not marked:  # cancelled while the mail was on its way: keep that, record the send
            _update(job.id, sent_at=now, claimed_until=None, attempts=Invitation.attempts + 1)
        p.result.sent += 1
        log.info("invitation %s sent", job.id)
        return
    marked = _update(
        job.id,
        Invitation.state == InvitationState.SENT,
        state=InvitationState.REMINDED,
        reminded_at=now,
        reminder_due_at=None,
        claimed_until=None,
        attempts=Invitation.attempts + 1,
    )
    if not marked:
        _update(job.id, reminded_at=now, reminder_due_at=None, claimed_until=None)
    p.result.reminded += 1
    log.info("invitation %s reminded", job.id)


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
            claimed_until=None,
            reminder_due_at=None if give_up else retry_at,
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
        )
        p.result.failed += 1
        log.warning("invitation %s failed after %s attempts", invitation_id, attempts)
        return
    _update(
        invitation_id,
        Invitation.state == InvitationState.PLANNED,
        attempts=attempts,
        last_error=error,
        claimed_until=None,
        due_at=now + backoff(attempts),
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
    )
    p.result.failed += 1
    log.warning("invitation %s failed: refused by the mail server", job.id)


def _send(p: _Pass, job: _Job) -> None:
    """Send one prepared job and record the outcome (the caller commits).

    Raises _PassAborted, after committing, when the mail server is gone.
    """
    now = p.clock()
    if not _still_due(job.kind, job.id):
        _update(job.id, claimed_until=None)
        return
    try:
        p.backend.send(job.message, invitation_id=job.id)
    except MailServerUnavailable as exc:
        # Not this message's fault: no attempt is counted and nothing is failed; the whole
        # pass waits for the next one, so a server that is down for a while loses nothing.
        _update(job.id, last_error=str(exc), claimed_until=None)
        db.session.commit()
        p.result.retried += 1
        raise _PassAborted from exc
    except PermanentMailError as exc:
        _permanent_failure(p, job, exc)
    except TemporaryMailError as exc:
        _temporary_failure(p, job.kind, job.id, job.attempts, now, exc)
    except Exception as exc:  # noqa: BLE001 - an unexpected error counts as a temporary one
        log_exception(log, "invitation %s: unexpected error while sending", job.id)
        _temporary_failure(p, job.kind, job.id, job.attempts, now, exc)
    else:
        _mark_sent(p, job, now)


# --- passes --------------------------------------------------------------------------------------


def _run_batches(p: _Pass, kind: str) -> None:
    """Claim and work through batches of ``kind`` until nothing is due."""
    while not p.should_stop():
        now = p.clock()
        started = time.monotonic()  # the lease runs from here
        ids = claim_batch(kind, now, now + p.lease, p.batch_size)
        if not ids:
            return
        jobs = _prepare_batch(p, kind, ids, now)
        pending = [job.id for job in jobs]
        unsaved, saved_at = 0, time.monotonic()
        try:
            for job in jobs:
                if p.should_stop() or time.monotonic() - started > p.send_budget:
                    break  # leave the rest to a fresh claim with a fresh lease
                pending.remove(job.id)
                _send(p, job)
                unsaved += 1
                if unsaved >= p.commit_every or time.monotonic() - saved_at > GROUP_SECONDS:
                    db.session.commit()
                    unsaved, saved_at = 0, time.monotonic()
            db.session.commit()
        finally:
            if pending:  # not tried: free them at once for the next pass
                db.session.rollback()
                _release(pending)
        if jobs and len(pending) == len(jobs):
            return  # no progress possible now (stopping, or no time budget at all)


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


def _fixed_clock(moment: dt.datetime) -> Callable[[], dt.datetime]:
    return lambda: moment


def dispatch_due(
    now: dt.datetime | None = None,
    batch_size: int | None = None,
    *,
    should_stop: Callable[[], bool] | None = None,
) -> DispatchResult:
    """One pass: expire, send due invitations, then due reminders. Needs an app context.

    ``now`` fixes the clock (tests); otherwise each step reads the real time. ``should_stop``
    lets a scheduler that is shutting down end the pass between two messages.
    """
    config = current_app.config
    lease_seconds = int(config.get("MEMNUN_DISPATCH_LEASE_SECONDS") or 300)
    timeout = float(config.get("MEMNUN_SMTP_TIMEOUT") or 30)
    clock = _fixed_clock(now) if now else utcnow
    with get_backend(config) as backend:
        p = _Pass(
            backend=backend,
            clock=clock,
            batch_size=batch_size or int(config.get("MEMNUN_DISPATCH_BATCH_SIZE") or 100),
            lease=dt.timedelta(seconds=lease_seconds),
            max_attempts=int(config.get("MEMNUN_MAX_SEND_ATTEMPTS") or 8),
            send_budget=max(lease_seconds - 2 * timeout, lease_seconds / 2),
            should_stop=should_stop or (lambda: False),
            commit_every=GROUP_COMMIT.get(db.session.get_bind().dialect.name, 1),
        )
        p.result.expired += expire_overdue(clock())
        try:
            _run_batches(p, INVITATION)
            _run_batches(p, REMINDER)
        except _PassAborted:
            log.warning("mail server unavailable: dispatch pass stopped, the next one retries")
    if p.result.total:
        log.info("dispatch pass: %s", p.result.summary())
    return p.result
