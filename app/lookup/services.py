"""Finding complaints and invitations, and a complaint's story, as one member of staff may see
them.

Who sees what (the views call these; nothing here trusts the browser):

- everyone signed in: complaints and invitations of the units in their scope
  (``app.auth.scope.units_in_scope``; staff without units: all), by reference, unit, category,
  state and period: never by personal data;
- the complaint's subject, description, event notes and text answers: those who read comments
  (``may_read_comments``: admins and designers);
- the complainant's name, e-mail and phone, and searching by them: admins only
  (``app.followup.services.may_see_contact``);
- acting on an invitation (send now, cancel, plan again, retry): admins and designers
  (``may_act_on_invitations``). "Their rules": rules have no owner, and every designer may
  edit every rule, so a designer acts on the invitations of every rule, inside their units
  (docs/design.md, "Staff pages").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, func, or_, select

from app.analytics.tree import unit_tree
from app.auth.scope import may_read_comments, units_in_scope
from app.distribution.windows import in_send_window, into_send_window
from app.extensions import db
from app.followup.services import may_see_contact, worded_answers
from app.models import (
    AuditLog,
    Category,
    Complainant,
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    FollowUp,
    Invitation,
    InvitationState,
    Response,
    Role,
    SuppressionReason,
    Unit,
    User,
)
from app.models.types import utcnow
from app.questionnaires.questions import AnswerLine

PAGE_SIZE = 50


def may_act_on_invitations(user: User) -> bool:
    """Send now, cancel, plan again, retry: the satisfaction team and admins."""
    return user.has_role(Role.DESIGNER)


@dataclass(frozen=True)
class Search:
    """What staff search by. ``contact`` (an e-mail address or phone number) counts only for
    those who may see contact data."""

    reference: str = ""
    unit_id: int | None = None
    category_id: int | None = None
    status: ComplaintStatus | None = None
    invitation_state: InvitationState | None = None
    received_from: dt.datetime | None = None  # instants: the view turns local days into them
    received_before: dt.datetime | None = None
    contact: str = ""


@dataclass(frozen=True)
class FoundComplaint:
    id: int
    reference: str
    unit_name: str
    category_name: str
    status: ComplaintStatus
    received_at: dt.datetime
    resolved_at: dt.datetime | None
    invitation_id: int | None
    invitation_state: InvitationState | None
    due_at: dt.datetime | None
    suppression_reason: SuppressionReason | None


def _scope(user: User) -> list[ColumnElement[bool]]:
    units = units_in_scope(user)
    return [] if units is None else [Complaint.unit_id.in_(units)]


def _filters(user: User, search: Search, latest: object) -> list[ColumnElement[bool]]:
    where = _scope(user)
    if search.reference.strip():
        needle = search.reference.strip().lower()
        where.append(func.lower(Complaint.external_id).contains(needle, autoescape=True))
    if search.unit_id is not None:
        where.append(Complaint.unit_id.in_(unit_tree().below([search.unit_id])))
    if search.category_id is not None:
        where.append(Complaint.category_id == search.category_id)
    if search.status is not None:
        where.append(Complaint.status == search.status)
    if search.invitation_state is not None:
        where.append(latest.c.state == search.invitation_state)  # type: ignore[attr-defined]
    if search.received_from is not None:
        where.append(Complaint.received_at >= search.received_from)
    if search.received_before is not None:
        where.append(Complaint.received_at < search.received_before)
    if search.contact.strip() and may_see_contact(user):
        contact = search.contact.strip()
        where.append(
            Complaint.complainant_id.in_(
                select(Complainant.id).where(
                    or_(
                        func.lower(Complainant.email) == contact.lower(),
                        Complainant.phone == contact,
                    )
                )
            )
        )
    return where


def find_complaints(
    user: User, search: Search, page: int = 1, size: int = PAGE_SIZE
) -> tuple[list[FoundComplaint], bool]:
    """A page of the complaints ``user`` may see that match ``search``, newest first, each with
    its latest invitation; and whether there is a next page. One statement, however many rows
    (two with a unit filter, which reads the unit tree)."""
    newest = (
        select(func.max(Invitation.id))
        .where(Invitation.complaint_id == Complaint.id)
        .correlate(Complaint)
        .scalar_subquery()
    )
    latest = select(Invitation).subquery("latest")
    statement = (
        select(
            Complaint.id,
            Complaint.external_id,
            Unit.name,
            Category.name,
            Complaint.status,
            Complaint.received_at,
            Complaint.resolved_at,
            latest.c.id,
            latest.c.state,
            latest.c.due_at,
            latest.c.suppression_reason,
        )
        .join(Unit, Unit.id == Complaint.unit_id)
        .join(Category, Category.id == Complaint.category_id)
        .outerjoin(latest, latest.c.id == newest)
        .where(*_filters(user, search, latest))
        .order_by(Complaint.received_at.desc(), Complaint.id.desc())
        .offset((page - 1) * size)
        .limit(size + 1)
    )
    rows = [FoundComplaint(*row) for row in db.session.execute(statement)]
    return rows[:size], len(rows) > size


def visible_complaint(user: User, complaint_id: int) -> Complaint | None:
    """The complaint if ``user`` may see it; None also for another unit's (as if missing)."""
    return db.session.scalar(select(Complaint).where(Complaint.id == complaint_id, *_scope(user)))


def visible_invitation(user: User, invitation_id: int) -> Invitation | None:
    return db.session.scalar(
        select(Invitation)
        .join(Complaint, Complaint.id == Invitation.complaint_id)
        .where(Invitation.id == invitation_id, *_scope(user))
    )


@dataclass
class StaffAction:
    """Something staff did to an invitation, from the audit log."""

    at: dt.datetime
    action: str  # invitation.send_now, .cancel, .replan, .retry
    who: str
    detail: dict[str, object]


@dataclass
class InvitationStory:
    invitation: Invitation
    rule_key: str | None
    response: Response | None
    answers: list[AnswerLine]
    follow_up: FollowUp | None
    actions: list[StaffAction]
    inside_hours_now: bool
    next_opening: dt.datetime | None  # when the rule's sending hours open next, if now is outside


@dataclass(frozen=True)
class Moment:
    """One line of a complaint's timeline: what happened (or is planned) when."""

    at: dt.datetime
    kind: str  # event, planned, suppressed, sent, reminder_due, reminded, answered, follow_up,
    #            failed, cancelled, expired, staff
    invitation_id: int | None = None
    event: ComplaintEvent | None = None
    staff: StaffAction | None = None
    upcoming: bool = False


def _invitation_moments(story: InvitationStory, now: dt.datetime) -> list[Moment]:
    row, i = story.invitation, story.invitation.id
    found = []
    if row.state == InvitationState.SUPPRESSED:
        found.append(Moment(row.created_at, "suppressed", i))
    elif row.due_at is not None and row.sent_at is None:
        found.append(Moment(row.due_at, "planned", i, upcoming=row.due_at > now))
    for at, kind in (
        (row.sent_at, "sent"),
        (row.reminded_at, "reminded"),
        (story.response.submitted_at if story.response else None, "answered"),
        (story.follow_up.created_at if story.follow_up else None, "follow_up"),
    ):
        if at is not None:
            found.append(Moment(at, kind, i))
    if (
        row.reminder_due_at is not None
        and row.reminded_at is None
        and row.state in (InvitationState.SENT,)
    ):
        found.append(
            Moment(row.reminder_due_at, "reminder_due", i, upcoming=row.reminder_due_at > now)
        )
    if row.state == InvitationState.EXPIRED:
        found.append(Moment(row.expires_at or row.due_at or row.created_at, "expired", i))
    if row.state in (InvitationState.FAILED, InvitationState.CANCELLED, InvitationState.BOUNCED):
        last = story.actions[-1].at if story.actions else None
        found.append(
            Moment(
                max(filter(None, (last, row.sent_at, row.due_at, row.created_at))),
                row.state.value,
                i,
            )
        )
    found += [Moment(action.at, "staff", i, staff=action) for action in story.actions]
    return found


@dataclass
class ComplaintStory:
    complaint: Complaint
    subject: str | None  # None: the user may not read it
    description: str | None
    contact: Complainant | None  # admins only, and not erased
    events: list[ComplaintEvent]
    notes_visible: bool
    invitations: list[InvitationStory] = field(default_factory=list)

    def timeline(self, now: dt.datetime) -> list[Moment]:
        """Events, and each invitation's plan, sends, answer and follow-up, oldest first."""
        moments = [Moment(event.at, "event", event=event) for event in self.events]
        for story in self.invitations:
            moments += _invitation_moments(story, now)
        # What staff did comes before what it caused at the same moment (send now, then sent).
        return sorted(moments, key=lambda moment: (moment.at, moment.kind != "staff"))


def complaint_story(
    user: User, complaint: Complaint, language: str, now: dt.datetime | None = None
) -> ComplaintStory:
    """Everything the complaint page shows ``user``: the complaint, its events, and each
    invitation with its response (worded in ``language``), follow-up and staff actions."""
    now = now or utcnow()
    reads = may_read_comments(user)
    contact = complaint.complainant if may_see_contact(user) else None
    story = ComplaintStory(
        complaint=complaint,
        subject=complaint.subject if reads else None,
        description=complaint.description if reads else None,
        contact=contact if contact is not None and contact.erased_at is None else None,
        events=list(complaint.events),
        notes_visible=reads,
    )
    invitations = list(
        db.session.scalars(
            select(Invitation)
            .where(Invitation.complaint_id == complaint.id)
            .order_by(Invitation.created_at, Invitation.id)
        )
    )
    if not invitations:
        return story
    ids = [invitation.id for invitation in invitations]
    responses = {
        r.invitation_id: r
        for r in db.session.scalars(select(Response).where(Response.invitation_id.in_(ids)))
    }
    follow_ups = {
        f.response_id: f
        for f in db.session.scalars(select(FollowUp).where(FollowUp.complaint_id == complaint.id))
    }
    actions = _staff_actions(ids)
    for invitation in invitations:
        response = responses.get(invitation.id)
        inside = in_send_window(now, invitation.rule)
        story.invitations.append(
            InvitationStory(
                invitation=invitation,
                rule_key=invitation.rule.key if invitation.rule else None,
                response=response,
                answers=worded_answers(user, response, language) if response else [],
                follow_up=follow_ups.get(response.id) if response else None,
                actions=actions.get(invitation.id, []),
                inside_hours_now=inside,
                next_opening=None if inside else into_send_window(now, invitation.rule),
            )
        )
    return story


def _staff_actions(invitation_ids: list[int]) -> dict[int, list[StaffAction]]:
    targets = {f"invitation:{i}": i for i in invitation_ids}
    rows = db.session.execute(
        select(AuditLog.at, AuditLog.action, AuditLog.actor, AuditLog.detail, AuditLog.target)
        .where(AuditLog.target.in_(targets))
        .order_by(AuditLog.at, AuditLog.id)
    ).all()
    user_ids = {
        int(actor.split(":", 1)[1])
        for _, _, actor, _, _ in rows
        if actor.startswith("user:") and actor.split(":", 1)[1].isdigit()
    }
    emails = (
        dict(db.session.execute(select(User.id, User.email).where(User.id.in_(user_ids))).all())
        if user_ids
        else {}
    )
    found: dict[int, list[StaffAction]] = {}
    for at, action, actor, detail, target in rows:
        _, _, raw_id = actor.partition(":")
        who = emails.get(int(raw_id), actor) if raw_id.isdigit() else actor
        found.setdefault(targets[target], []).append(StaffAction(at, action, who, detail or {}))
    return found
