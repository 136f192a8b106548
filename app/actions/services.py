"""Improvement actions: listing, creating, editing and moving them through their statuses.

Who may do what (the views enforce it, these functions decide):

- admins and the satisfaction team (designers): create and edit any action they can see;
- unit managers (staff with units, any role): see the actions of their units and the units below
  them, and change their status and outcome; a unit manager's units limit even an admin or a
  designer, who then works as that unit's manager;
- everyone else on the staff (viewers): read every action, change nothing.

Every write leaves an ``AuditLog`` row holding ids, codes and the status, never free text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, or_, select

from app.auth.scope import organisation_unit, units_in_scope
from app.extensions import db
from app.models import ACTION_METRICS, ActionStatus, AuditLog, ImprovementAction, Role, Unit, User
from app.models.types import utcnow

TITLE_MAX_LENGTH = 200
OWNER_MAX_LENGTH = 200
TEXT_MAX_LENGTH = 4000
#: Open work first, then finished work (the order of the list and of the pack).
STATUS_ORDER = {ActionStatus.IN_PROGRESS: 0, ActionStatus.OPEN: 1, ActionStatus.DONE: 2,
                ActionStatus.DROPPED: 3}


class ActionError(ValueError):
    """An action that cannot be stored; the message says why."""


# --- who may see and change which actions ---------------------------------------------------------


def may_edit(user: User) -> bool:
    """Admins and the satisfaction team create and edit actions."""
    return user.has_role(Role.DESIGNER)


def may_change_status(user: User) -> bool:
    """Whoever may edit, and unit managers (on the actions they can see)."""
    return may_edit(user) or bool(user.units)


def _visible(stmt: Select, user: User) -> Select:  # type: ignore[type-arg]
    units = units_in_scope(user)
    return stmt if units is None else stmt.where(ImprovementAction.unit_id.in_(units))


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionRow:
    action: ImprovementAction
    unit_name: str | None  # None: the whole organisation
    overdue: bool


def _rows(stmt: Select, today: dt.date) -> list[ActionRow]:  # type: ignore[type-arg]
    found = db.session.execute(
        stmt.add_columns(Unit.name).outerjoin(Unit, Unit.id == ImprovementAction.unit_id)).all()
    rows = [ActionRow(action, name, action.overdue(today)) for action, name in found]
    return sorted(rows, key=lambda row: (
        STATUS_ORDER[row.action.status], row.action.due_on or dt.date.max, row.action.id))


def list_actions(user: User, today: dt.date, *, unit_id: int | None = None,
                 status: ActionStatus | None = None, limit: int = 500) -> list[ActionRow]:
    """The actions ``user`` may see, work still to do first (soonest due first)."""
    stmt = _visible(select(ImprovementAction), user)
    if unit_id is not None:
        stmt = stmt.where(ImprovementAction.unit_id == unit_id)
    if status is not None:
        stmt = stmt.where(ImprovementAction.status == status)
    return _rows(stmt.order_by(ImprovementAction.id.desc()).limit(limit), today)


def get_action(user: User, action_id: int) -> ImprovementAction | None:
    """The action if ``user`` may see it (else None, as if it did not exist)."""
    return db.session.scalar(_visible(
        select(ImprovementAction).where(ImprovementAction.id == action_id), user))


def actions_for_review(start_at: dt.datetime, end_at: dt.datetime, unit_ids: set[int] | None,
                       today: dt.date) -> list[ActionRow]:
    """The actions a review of [start_at, end_at) looks at: created before its end and not
    finished before its start, of ``unit_ids`` (None: all of them, organisation-wide ones
    included)."""
    stmt = select(ImprovementAction).where(
        ImprovementAction.created_at < end_at,
        or_(ImprovementAction.closed_at.is_(None), ImprovementAction.closed_at >= start_at))
    if unit_ids is not None:
        stmt = stmt.where(ImprovementAction.unit_id.in_(unit_ids))
    return _rows(stmt, today)


# --- writing ------------------------------------------------------------------------------------


def _text(value: str | None, name: str, limit: int, *, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ActionError(f"the {name} cannot be empty")
    if len(text) > limit:
        raise ActionError(f"the {name} may have at most {limit} characters")
    return text


def _check_unit(user: User, unit_id: int | None) -> None:
    allowed = units_in_scope(user)
    if unit_id is None:
        if allowed is not None:
            raise ActionError("a unit manager gives actions to their own units")
        return
    if db.session.get(Unit, unit_id) is None:
        raise ActionError("no such unit")
    if allowed is not None and unit_id not in allowed:
        raise ActionError("not one of your units")


def _apply(action: ImprovementAction, user: User, fields: dict[str, Any]) -> None:
    metric = fields.get("metric")
    if metric not in ACTION_METRICS:
        raise ActionError(f"unknown metric {metric!r}")
    unit_id = fields.get("unit_id")
    _check_unit(user, unit_id)
    # The single root unit is the organisation (app.auth.scope.organisation_unit); someone given
    # units keeps their unit's id, which is how their own list finds the action.
    action.unit_id = organisation_unit(unit_id) if units_in_scope(user) is None else unit_id
    action.metric = metric
    action.title = _text(fields.get("title"), "title", TITLE_MAX_LENGTH, required=True)
    action.owner = _text(fields.get("owner"), "owner", OWNER_MAX_LENGTH, required=True)
    action.description = _text(fields.get("description"), "description", TEXT_MAX_LENGTH,
                               required=False)
    action.due_on = fields.get("due_on")
    status = fields.get("status") or ActionStatus.OPEN
    if status not in ActionStatus._value2member_map_:
        raise ActionError(f"unknown status {status!r}")
    _set_status(action, ActionStatus(status), fields.get("outcome"))


def _set_status(action: ImprovementAction, status: ActionStatus, outcome: str | None) -> None:
    action.outcome = _text(outcome, "outcome", TEXT_MAX_LENGTH, required=False)
    if status == action.status and action.closed_at is not None:
        return
    action.status = status
    action.closed_at = utcnow() if action.closed else None


def _audit(user: User, verb: str, action: ImprovementAction, **detail: Any) -> None:
    db.session.add(AuditLog(actor=f"user:{user.id}", action=f"improvement_action.{verb}",
                            target=f"improvement_action:{action.id}",
                            detail={"unit_id": action.unit_id, "metric": action.metric,
                                    "status": action.status.value, **detail}))


def create_action(user: User, **fields: Any) -> ImprovementAction:
    """A new action from ``fields`` (unit_id, metric, title, owner, description, due_on, status,
    outcome); raises ``ActionError`` and stores nothing when one is wrong."""
    action = ImprovementAction(status=ActionStatus.OPEN)
    try:
        _apply(action, user, fields)
        db.session.add(action)
        db.session.flush()
        _audit(user, "create", action)
        db.session.commit()
    except ActionError:
        db.session.rollback()
        raise
    return action


def update_action(action: ImprovementAction, user: User, **fields: Any) -> None:
    """Change every field of ``action``; nothing changes when one of them is wrong."""
    before = action.status
    try:
        _apply(action, user, fields)
        _audit(user, "update", action, previous_status=before.value)
        db.session.commit()
    except ActionError:
        db.session.rollback()
        raise


def change_status(action: ImprovementAction, user: User, status: ActionStatus,
                  outcome: str | None) -> None:
    """Move ``action`` to ``status`` (any may follow any: a dropped action can be taken up
    again), with the outcome so far; ``closed_at`` is stamped when it is done or dropped."""
    before = action.status
    try:
        _set_status(action, status, outcome)
        _audit(user, "status", action, previous_status=before.value)
        db.session.commit()
    except ActionError:
        db.session.rollback()
        raise
