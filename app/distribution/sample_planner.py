"""The sample planner on the rule page: how many answers a rule will bring, and how precise the
CSAT they give will be, at the rule's sample rate and at the rate a target precision needs.

From the last three months: the resolved complaints the rule would survey (its filters, minus
those a rule of higher priority takes), the share of them that can be reached (consent, an
e-mail address or, with an SMS gateway, a phone number, no opt-out), the observed response rate
and the observed CSAT. Everything is counted by the database (``count`` with ``GROUP BY``); no
complaint row is loaded. The formulas below are pure functions.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import ColumnElement, and_, case, false, func, not_, or_, select

from app.analytics.aggregates import invitation_aggregates
from app.analytics.metrics import MIN_GROUP, wilson_interval
from app.distribution import channels
from app.extensions import db
from app.models import (
    Answer,
    Category,
    Complainant,
    Complaint,
    DistributionRule,
    Invitation,
    Response,
    Unit,
)
from app.models.types import utcnow

HISTORY_DAYS = 91  # three months
MONTHS = 3
UNKNOWN_CSAT = 0.5  # the widest interval: what to plan with before any answer is known
DEFAULT_RESPONSE_RATE = 0.25  # assumed until the organisation has sent surveys of its own
MAX_RESPONSES = 10_000_000


# --- formulas ------------------------------------------------------------------------------------


def expected_responses(
    complaints_per_month: float, reachable_share: float, sample_rate: float, response_rate: float
) -> float:
    """Answers a month: complaints x share reachable x share sampled x share answering."""
    return complaints_per_month * reachable_share * sample_rate * response_rate


def margin_of_error(csat: float, responses: float) -> float | None:
    """Half-width of the 95 % Wilson interval around ``csat`` (a share in [0, 1]) from
    ``responses`` answers, as a share (0.05 = +-5 points); None for fewer than one answer.

    Computed with ``app.analytics.metrics.wilson_interval`` on whole numbers (answers rounded
    down, satisfied answers rounded to nearest), exactly as the dashboards will show it.
    """
    n = math.floor(responses)
    if n < 1:
        return None
    estimate = wilson_interval(round(csat * n), n)
    return (estimate.high - estimate.low) / 2


def responses_needed(csat: float, target_margin: float) -> int | None:
    """The fewest answers whose Wilson interval around ``csat`` is at most +-``target_margin``
    wide; None when no realistic number is enough (a target of zero, say).

    The half-width falls as answers grow (about 1/sqrt(n)), so a binary search finds it.
    """
    if target_margin <= 0:
        return None
    low, high = 1, MAX_RESPONSES
    if margin_of_error(csat, high) > target_margin:  # type: ignore[operator]
        return None
    while low < high:
        middle = (low + high) // 2
        if margin_of_error(csat, middle) <= target_margin:  # type: ignore[operator]
            high = middle
        else:
            low = middle + 1
    return low


def sample_rate_needed(
    target_margin: float,
    csat: float,
    complaints_per_month: float,
    reachable_share: float,
    response_rate: float,
) -> float | None:
    """The sample rate that brings enough answers a month for +-``target_margin``; None when
    even surveying everyone reachable (rate 1) brings too few."""
    needed = responses_needed(csat, target_margin)
    full = expected_responses(complaints_per_month, reachable_share, 1.0, response_rate)
    if needed is None or full <= 0 or needed > full:
        return None
    return needed / full


# --- what the database says ----------------------------------------------------------------------


def _covered(model: type[Unit] | type[Category], codes: list[str]) -> list[int] | None:
    """Ids of the nodes with ``codes`` and all below them (a rule for a parent covers the tree);
    None when the filter is empty (everything). Trees are small: read as id/parent pairs."""
    if not codes:
        return None
    rows = db.session.execute(select(model.id, model.parent_id, model.code)).all()
    children: dict[int | None, list[int]] = {}
    for node_id, parent_id, _ in rows:
        children.setdefault(parent_id, []).append(node_id)
    found: set[int] = set()
    todo = [node_id for node_id, _, code in rows if code in set(codes)]
    while todo:
        node_id = todo.pop()
        if node_id not in found:
            found.add(node_id)
            todo.extend(children.get(node_id, []))
    return sorted(found)


def _filters(rule: DistributionRule, unit: object, category: object, channel: object
             ) -> list[ColumnElement[bool]]:
    """SQL conditions on (unit, category, channel) columns for ``rule``'s filters."""
    conditions: list[ColumnElement[bool]] = []
    units = _covered(Unit, list(rule.unit_codes or []))
    categories = _covered(Category, list(rule.category_codes or []))
    if units is not None:
        conditions.append(unit.in_(units))  # type: ignore[attr-defined]
    if categories is not None:
        conditions.append(category.in_(categories))  # type: ignore[attr-defined]
    if rule.channels:
        conditions.append(channel.in_(list(rule.channels)))  # type: ignore[attr-defined]
    return conditions


def _taken_by_others(rule: DistributionRule) -> list[ColumnElement[bool]]:
    """Complaints that an active rule ahead of ``rule`` (higher priority, or the same and older)
    would take: the planner gives each complaint one rule only."""
    ahead = db.session.scalars(
        select(DistributionRule).where(
            DistributionRule.active.is_(True),
            DistributionRule.triggered_by == rule.triggered_by,
            DistributionRule.id != rule.id,
            or_(
                DistributionRule.priority > rule.priority,
                and_(DistributionRule.priority == rule.priority, DistributionRule.id < rule.id),
            ),
        )
    ).all()
    conditions = []
    for other in ahead:
        taken = _filters(other, Complaint.unit_id, Complaint.category_id, Complaint.channel)
        conditions.append(not_(and_(*taken)) if taken else false())
        if not taken:
            break  # an unfiltered rule ahead takes everything
    return conditions


@dataclass(frozen=True)
class UnitHistory:
    unit_id: int
    name: str
    complaints: int
    reachable: int
    answers: int
    satisfied: int


@dataclass(frozen=True)
class History:
    since: dt.datetime
    complaints: int
    reachable: int
    delivered: int
    responded: int
    answers: int
    satisfied: int
    units: list[UnitHistory]


def _reachable() -> ColumnElement[bool]:
    return and_(
        Complainant.survey_consent.is_(True),
        Complainant.opted_out_at.is_(None),
        Complainant.erased_at.is_(None),
        channels.reachable(current_app.config),
    )


def _complaint_counts(rule: DistributionRule, since: dt.datetime) -> dict[int, tuple[int, int]]:
    """Per unit id: (resolved complaints the rule would take, of which reachable)."""
    reachable = func.count(case((_reachable(), 1)))
    rows = db.session.execute(
        select(Complaint.unit_id, func.count(Complaint.id), reachable)
        .outerjoin(Complainant, Complainant.id == Complaint.complainant_id)
        .where(
            Complaint.resolved_at >= since,
            *_filters(rule, Complaint.unit_id, Complaint.category_id, Complaint.channel),
            *_taken_by_others(rule),
        )
        .group_by(Complaint.unit_id)
    ).all()
    return {unit_id: (total, ok) for unit_id, total, ok in rows}


def _answer_counts(rule: DistributionRule, since: dt.datetime) -> dict[int, tuple[int, int]]:
    """Per unit id: (overall 1-5 ratings given, of which 4 or 5) in the rule's segment."""
    satisfied = func.count(case((Answer.value_number >= 4, 1)))
    rows = db.session.execute(
        select(Response.unit_id, func.count(Answer.id), satisfied)
        .join(Answer, Answer.response_id == Response.id)
        .where(
            Response.submitted_at >= since,
            Answer.question_type == "rating",
            Answer.attribute == "overall",
            Answer.value_number.is_not(None),
            *_filters(rule, Response.unit_id, Response.category_id, Response.channel),
        )
        .group_by(Response.unit_id)
    ).all()
    return {unit_id: (n, ok) for unit_id, n, ok in rows}


def _delivery_counts(rule: DistributionRule, since: dt.datetime) -> tuple[int, int]:
    """(invitations delivered, of which answered) since ``since``: the rule's own when it has
    sent any, else every rule's (a new rule borrows the organisation's response rate).
    Delivered as the response rate counts it: sent, less the unanswered that did not arrive."""
    totals = invitation_aggregates()
    base = (
        select(totals[0] - totals[2], totals[1])
        .outerjoin(Response, Response.invitation_id == Invitation.id)
        .where(Invitation.sent_at >= since)
    )
    delivered, responded = db.session.execute(base.where(Invitation.rule_id == rule.id)).one()
    if not delivered:
        delivered, responded = db.session.execute(base).one()
    return int(delivered or 0), int(responded or 0)


def rule_history(rule: DistributionRule, now: dt.datetime | None = None) -> History:
    """The last three months as the sample planner needs them, counted by the database."""
    since = (now or utcnow()) - dt.timedelta(days=HISTORY_DAYS)
    complaints = _complaint_counts(rule, since)
    answers = _answer_counts(rule, since)
    delivered, responded = _delivery_counts(rule, since)
    ids = sorted(set(complaints) | set(answers))
    names = dict(db.session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids))).all())
    units = [
        UnitHistory(unit_id, names.get(unit_id, str(unit_id)), *complaints.get(unit_id, (0, 0)),
                    *answers.get(unit_id, (0, 0)))
        for unit_id in ids
    ]
    units.sort(key=lambda u: (-u.complaints, u.name))
    return History(
        since=since,
        complaints=sum(u.complaints for u in units),
        reachable=sum(u.reachable for u in units),
        delivered=delivered,
        responded=responded,
        answers=sum(u.answers for u in units),
        satisfied=sum(u.satisfied for u in units),
        units=units,
    )


# --- the plan ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanLine:
    """One line of the planner: the whole rule, or one unit."""

    label: str
    complaints_per_month: float
    csat: float | None  # observed; None when unknown or too few answers to show
    expected: float  # answers a month at the rule's sample rate
    margin: float | None
    needed_rate: float | None  # for the target; None when out of reach
    expected_at_needed: float | None
    margin_at_needed: float | None


@dataclass(frozen=True)
class SamplePlan:
    sample_rate: float
    target_margin: float
    response_rate: float
    response_rate_assumed: bool
    reachable_share: float
    overall: PlanLine
    units: list[PlanLine]


def _line(label: str, complaints: int, reachable: int, answers: int, satisfied: int,
          sample_rate: float, response_rate: float, target: float, min_group: int) -> PlanLine:
    per_month = complaints / MONTHS
    share = reachable / complaints if complaints else 0.0
    shown = answers >= min_group  # small groups show no score (docs/design.md)
    csat = satisfied / answers if shown else None
    planning_csat = csat if csat is not None else UNKNOWN_CSAT
    expected = expected_responses(per_month, share, sample_rate, response_rate)
    rate = sample_rate_needed(target, planning_csat, per_month, share, response_rate)
    at_rate = expected_responses(per_month, share, rate, response_rate) if rate else None
    return PlanLine(
        label=label,
        complaints_per_month=per_month,
        csat=csat,
        expected=expected,
        margin=margin_of_error(planning_csat, expected),
        needed_rate=rate,
        expected_at_needed=at_rate,
        margin_at_needed=margin_of_error(planning_csat, at_rate) if at_rate else None,
    )


def plan_samples(rule: DistributionRule, target_margin: float, overall_label: str,
                 now: dt.datetime | None = None) -> SamplePlan:
    """The sample plan for ``rule`` and a target margin (a share: 0.05 for +-5 points)."""
    history = rule_history(rule, now)
    assumed = history.delivered == 0
    response_rate = DEFAULT_RESPONSE_RATE if assumed else history.responded / history.delivered
    min_group = int(current_app.config.get("MEMNUN_MIN_GROUP_SIZE") or MIN_GROUP)

    def line(label: str, c: int, r: int, a: int, s: int) -> PlanLine:
        return _line(label, c, r, a, s, rule.sample_rate, response_rate, target_margin,
                     min_group)

    return SamplePlan(
        sample_rate=rule.sample_rate,
        target_margin=target_margin,
        response_rate=response_rate,
        response_rate_assumed=assumed,
        reachable_share=history.reachable / history.complaints if history.complaints else 0.0,
        overall=line(overall_label, history.complaints, history.reachable, history.answers,
                     history.satisfied),
        units=[line(u.name, u.complaints, u.reachable, u.answers, u.satisfied)
               for u in history.units],
    )
