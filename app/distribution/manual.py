"""What staff may do to one invitation by hand: send it now, cancel it, plan it for another time.

Each is one conditional UPDATE on the row (planned, and no dispatcher holding it: its lease is
free or ran out), so a row that a dispatcher is sending at that moment is never changed under
it, and a double click does nothing twice. Each is written to the audit log (ids only).

"Send now" brings the due time forward and then runs the dispatcher for that one row
(``dispatch_due(invitation_id=...)``): the row is claimed, re-checked and recorded exactly as
the scheduler's pass does (docs/design.md, "Sending: the guarantee"), so a scheduler that claims
it first simply sends it instead, and it never goes out twice because of the button. Outside
the rule's sending hours it is refused unless the member of staff confirms.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import update

from app.distribution.calling import in_calling_hours, into_calling_hours
from app.distribution.dispatcher import dispatch_due
from app.distribution.windows import in_send_window, into_send_window
from app.errors import Conflict
from app.extensions import db
from app.models import AuditLog, DistributionRule, Invitation, InvitationChannel, InvitationState
from app.models.types import utcnow

#: The states staff may cancel or re-plan: not sent yet.
NOT_SENT = (InvitationState.PLANNED, InvitationState.FAILED)


class OutsideSendingHours(Conflict):
    """The moment is outside the rule's sending hours and the user did not confirm it."""

    reason = "outside the rule's sending hours"

    def __init__(self, next_opening: dt.datetime) -> None:
        super().__init__(self.reason)
        self.next_opening = next_opening


class OutsideCallingHours(OutsideSendingHours):
    """A call planned outside the rule's calling hours, and the user did not confirm it."""

    reason = "outside the rule's calling hours"


class MadeByPhone(Conflict):
    """An invitation by phone is a call an interviewer makes (``app.phone``): nothing is sent,
    so "send now" has nothing to do."""

    def __init__(self) -> None:
        super().__init__("an invitation by phone is called, not sent")


class SendOutcome(enum.StrEnum):
    SENT = "sent"  # this request sent it
    SENT_ELSEWHERE = "sent_elsewhere"  # a scheduler's pass claimed it first and sent it
    IN_FLIGHT = "in_flight"  # a scheduler's pass claimed it first and is sending it
    RETRYING = "retrying"  # a temporary failure: the dispatcher tries again later
    FAILED = "failed"
    NOT_SENT = "not_sent"  # cancelled meanwhile (opt-out, erased contact), or expired


@dataclass(frozen=True)
class SendResult:
    outcome: SendOutcome
    state: InvitationState


def _audit(
    actor: str, action: str, invitation_id: int, at: dt.datetime | None = None, **detail: object
) -> None:
    db.session.add(
        AuditLog(
            at=at or utcnow(),
            actor=actor,
            action=action,
            target=f"invitation:{invitation_id}",
            detail=detail or None,
        )
    )


def _free(now: dt.datetime) -> object:
    return Invitation.claimed_until.is_(None) | (Invitation.claimed_until < now)


def _change(
    invitation_id: int, now: dt.datetime, states: tuple[InvitationState, ...], **values: object
) -> bool:
    statement = (
        update(Invitation)
        .where(Invitation.id == invitation_id, Invitation.state.in_(states), _free(now))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return db.session.execute(statement).rowcount == 1


def check_sending_hours(
    moment: dt.datetime, rule: DistributionRule | None, confirmed: bool
) -> None:
    """Raise ``OutsideSendingHours`` unless ``moment`` is inside ``rule``'s hours or the user
    confirmed sending outside them."""
    if not confirmed and not in_send_window(moment, rule):
        raise OutsideSendingHours(into_send_window(moment, rule))


def send_now(
    invitation: Invitation, actor: str, *, confirmed: bool = False, now: dt.datetime | None = None
) -> SendResult:
    """Send a planned invitation at once. ``Conflict`` when it is not planned any more or a
    dispatcher holds it; ``OutsideSendingHours`` outside its rule's hours unless ``confirmed``;
    ``MadeByPhone`` for a call, which is made from the call list."""
    now = now or utcnow()
    if invitation.channel == InvitationChannel.PHONE:
        raise MadeByPhone
    check_sending_hours(now, invitation.rule, confirmed)
    invitation_id = invitation.id
    if not _change(invitation_id, now, (InvitationState.PLANNED,), due_at=now):
        db.session.rollback()
        raise Conflict("the invitation is not waiting to be sent (any more)")
    _audit(
        actor,
        "invitation.send_now",
        invitation_id,
        now,
        outside_hours=not in_send_window(now, invitation.rule),
    )
    db.session.commit()
    result = dispatch_due(now=now, invitation_id=invitation_id)
    db.session.expire_all()
    row = db.session.get(Invitation, invitation_id)
    assert row is not None
    if result.sent:
        outcome = SendOutcome.SENT
    elif row.state in (InvitationState.SENT, InvitationState.REMINDED, InvitationState.RESPONDED):
        outcome = SendOutcome.SENT_ELSEWHERE
    elif row.state == InvitationState.FAILED:
        outcome = SendOutcome.FAILED
    elif row.state == InvitationState.PLANNED and row.claimed_until and row.claimed_until > now:
        outcome = SendOutcome.IN_FLIGHT
    elif row.state == InvitationState.PLANNED:
        outcome = SendOutcome.RETRYING
    else:
        outcome = SendOutcome.NOT_SENT
    return SendResult(outcome, row.state)


def cancel(invitation: Invitation, actor: str, now: dt.datetime | None = None) -> None:
    """Cancel an invitation not sent yet (planned or failed): it will never go out."""
    now = now or utcnow()
    if not _change(
        invitation.id,
        now,
        NOT_SENT,
        state=InvitationState.CANCELLED,
        claimed_until=None,
        reminder_due_at=None,
    ):
        db.session.rollback()
        raise Conflict("only an invitation not sent yet can be cancelled")
    _audit(actor, "invitation.cancel", invitation.id, was=invitation.state.value)
    db.session.commit()


def replan(
    invitation: Invitation,
    when: dt.datetime,
    actor: str,
    *,
    confirmed: bool = False,
    now: dt.datetime | None = None,
) -> None:
    """Plan an invitation not sent yet (planned or failed) for ``when`` (aware, not in the
    past); a failed one starts its attempts again. ``OutsideSendingHours`` when ``when`` is
    outside the rule's hours, unless ``confirmed``. A call keeps the calls made so far (the
    rule's maximum counts them) and is held to the calling hours (``OutsideCallingHours``)."""
    now = now or utcnow()
    if when < now - dt.timedelta(minutes=1):
        raise Conflict("the new time is in the past")
    call = invitation.channel == InvitationChannel.PHONE and invitation.rule is not None
    if call:
        if not confirmed and not in_calling_hours(when, invitation.rule):
            raise OutsideCallingHours(into_calling_hours(when, invitation.rule))
    else:
        check_sending_hours(when, invitation.rule, confirmed)
    before = invitation.due_at
    if not _change(
        invitation.id,
        now,
        NOT_SENT,
        state=InvitationState.PLANNED,
        due_at=when.astimezone(dt.UTC),
        claimed_until=None,
        **({} if call else {"attempts": 0}),
    ):
        db.session.rollback()
        raise Conflict("only an invitation not sent yet can be planned again")
    _audit(
        actor,
        "invitation.replan",
        invitation.id,
        was=before.isoformat() if before else None,
        due_at=when.astimezone(dt.UTC).isoformat(),
    )
    db.session.commit()
