"""The admins' operations view of the outbox: invitations by state, why surveys were suppressed,
what failed and why, and retrying failed invitations.

Counts come from the database (``GROUP BY``). Failures are listed with the invitation id, the
complaint reference, the channel and the stored error, which the dispatcher already scrubbed of
addresses and phone numbers: no personal data is read or shown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select, update

from app.distribution.windows import into_send_window
from app.extensions import db
from app.models import (
    AuditLog,
    Complaint,
    DistributionRule,
    Invitation,
    InvitationChannel,
    InvitationState,
    SuppressionReason,
)
from app.models.types import utcnow

FAILURES_SHOWN = 200


@dataclass(frozen=True)
class Failure:
    invitation_id: int
    reference: str
    channel: InvitationChannel
    attempts: int
    error: str
    due_at: dt.datetime | None


@dataclass(frozen=True)
class Operations:
    by_state: list[tuple[InvitationState, int]]
    by_channel: list[tuple[InvitationChannel, int]]
    suppressions: list[tuple[SuppressionReason, int]]
    failures: list[Failure]
    failed_total: int


def operations_summary(limit: int = FAILURES_SHOWN) -> Operations:
    """Everything the operations page shows: counts, and the newest ``limit`` failures."""
    states = dict(
        db.session.execute(
            select(Invitation.state, func.count()).group_by(Invitation.state)
        ).all()
    )
    channels = dict(
        db.session.execute(
            select(Invitation.channel, func.count()).group_by(Invitation.channel)
        ).all()
    )
    reasons = db.session.execute(
        select(Invitation.suppression_reason, func.count())
        .where(Invitation.state == InvitationState.SUPPRESSED,
               Invitation.suppression_reason.is_not(None))
        .group_by(Invitation.suppression_reason)
        .order_by(func.count().desc())
    ).all()
    rows = db.session.execute(
        select(Invitation.id, Complaint.external_id, Invitation.channel, Invitation.attempts,
               Invitation.last_error, Invitation.due_at)
        .join(Complaint, Complaint.id == Invitation.complaint_id)
        .where(Invitation.state == InvitationState.FAILED)
        .order_by(Invitation.id.desc())
        .limit(limit)
    ).all()
    return Operations(
        by_state=[(state, states.get(state, 0)) for state in InvitationState],
        by_channel=[(channel, channels.get(channel, 0)) for channel in InvitationChannel],
        suppressions=[(reason, count) for reason, count in reasons],
        failures=[Failure(i, ref, channel, attempts or 0, error or "", due)
                  for i, ref, channel, attempts, error, due in rows],
        failed_total=states.get(InvitationState.FAILED, 0),
    )


def retry_failed(actor: str, invitation_id: int | None = None,
                 now: dt.datetime | None = None) -> int:
    """Put failed invitations back in the queue: state planned, attempts 0, due at the next
    moment inside their rule's send window. One (``invitation_id``) or all; returns how many.

    Only rows still ``failed`` change, so a double click retries nothing twice. Audited.
    """
    now = now or utcnow()
    where = [Invitation.state == InvitationState.FAILED]
    if invitation_id is not None:
        where.append(Invitation.id == invitation_id)
    rule_ids = db.session.scalars(select(Invitation.rule_id).where(*where).distinct()).all()
    count = 0
    for rule_id in rule_ids:  # each rule has its own send window
        rule = db.session.get(DistributionRule, rule_id) if rule_id is not None else None
        statement = (
            update(Invitation)
            .where(*where, Invitation.rule_id.is_(None) if rule_id is None
                   else Invitation.rule_id == rule_id)
            .values(state=InvitationState.PLANNED, attempts=0, claimed_until=None,
                    due_at=into_send_window(now, rule))
            .execution_options(synchronize_session=False)
        )
        count += db.session.execute(statement).rowcount
    if count:
        target = f"invitation:{invitation_id}" if invitation_id is not None else "invitation:*"
        db.session.add(AuditLog(actor=actor, action="invitation.retry", target=target,
                                detail={"count": count}))
    db.session.commit()
    return count
