"""Campaigns: a periodic survey of a random sample of the people served in a past period.

The satisfaction team plans one (questionnaire, served period, target margin of error, expected
response rate, closing date), previews it, starts it and watches it; it closes on its date
(``close_due_campaigns``, a job of the scheduler).

The sample is stratified by unit: each person served in the period counts once, in the unit of
their latest service event, and each unit's sample is sized for the target margin on its own
(``unit_plan``: the sample planner's answers needed for the margin at a CSAT of 50 %, the
widest, with the finite population correction, divided by the expected response rate, capped
at the unit's population). People are drawn at random among those who may be asked: consent, a
contact some channel reaches, no opt-out (under any record with the same address) and no survey
inside the fatigue window. Counting, drawing and planning are each one SQL statement (window
functions, ``INSERT ... SELECT``): no person is loaded into Python, whatever the population.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import (
    CTE,
    Column,
    ColumnElement,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    cast,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from app.distribution import channels
from app.distribution.planner import OPEN_STATES, latest_published_version
from app.distribution.sample_planner import UNKNOWN_CSAT, margin_of_error, responses_needed
from app.extensions import db
from app.models import (
    AuditLog,
    Campaign,
    CampaignState,
    Complainant,
    Complaint,
    DistributionRule,
    Invitation,
    InvitationState,
    QuestionnaireVersion,
    Response,
    ServiceEvent,
    Unit,
)
from app.models.types import UTCDateTime, utcnow

DEFAULT_FATIGUE_DAYS = 30


class CampaignError(ValueError):
    """The campaign cannot be started (or changed) as asked; the message says why."""


# --- the sample size of one unit ----------------------------------------------------------------


@dataclass(frozen=True)
class UnitPlan:
    """One unit of a campaign's plan."""

    unit_id: int
    name: str
    served: int  # distinct people served in the period: the population
    reachable: int  # of whom may be asked now
    sample: int  # invitations to plan
    expected_responses: float
    expected_margin: float | None  # at the expected responses, with the population correction


def finite_population_correction(population: int, responses: float) -> float:
    """The factor by which a margin shrinks when ``responses`` of ``population`` answer:
    sqrt((N - n) / (N - 1)); 0 when everyone answered."""
    if population <= 1:
        return 0.0
    return math.sqrt(max(population - responses, 0.0) / (population - 1))


def responses_for(population: int, target_margin: float) -> int | None:
    """Answers needed from a population of ``population`` for +-``target_margin``: the sample
    planner's (Wilson, at the widest CSAT) with the finite population correction
    n = n0 / (1 + (n0 - 1) / N)."""
    needed = responses_needed(UNKNOWN_CSAT, target_margin)
    if needed is None or population <= 0:
        return None if needed is None else 0
    return min(population, math.ceil(needed / (1 + (needed - 1) / population)))


def expected_margin(population: int, responses: float) -> float | None:
    """The margin of error from ``responses`` answers of ``population`` people."""
    base = margin_of_error(UNKNOWN_CSAT, responses)
    if base is None:
        return None
    return base * finite_population_correction(population, math.floor(responses))


def unit_plan(unit_id: int, name: str, served: int, reachable: int, target_margin: float,
              response_rate: float) -> UnitPlan:
    """How many of a unit's people to invite: the answers needed over the response rate,
    capped at the people who may be asked (none of them twice)."""
    needed = responses_for(served, target_margin)
    wanted = served if needed is None else math.ceil(needed / response_rate) if needed else 0
    sample = min(wanted, reachable, served)
    expected = sample * response_rate
    return UnitPlan(unit_id, name, served, reachable, sample, expected,
                    expected_margin(served, expected))


# --- who was served, who may be asked -----------------------------------------------------------


def fatigue_days() -> int:
    """The campaign's fatigue window: the longest of the active rules' (30 days without)."""
    days = db.session.scalar(
        select(func.max(DistributionRule.fatigue_days)).where(DistributionRule.active.is_(True)))
    return int(days) if days is not None else DEFAULT_FATIGUE_DAYS


def person_key(person: Any = Complainant) -> ColumnElement[str]:
    """One person, however many records they have: the e-mail address, else the record."""
    return func.coalesce(person.email, cast(person.id, String))


def _not_to_ask(since: dt.datetime) -> CTE:
    """The person keys not to ask now: an address that opted out under any record, or anyone
    who got a survey since ``since`` or has one planned, started by a complaint or by a service
    event (a campaign's too). One set, so the draw tests each person with one hashed lookup."""
    asked = or_(Invitation.sent_at >= since, Invitation.state == InvitationState.PLANNED)
    opted_out = select(Complainant.email.label("key")).where(
        Complainant.opted_out_at.is_not(None), Complainant.email.is_not(None))
    by_complaint = (
        select(person_key().label("key"))
        .select_from(Invitation)
        .join(Complaint, Complaint.id == Invitation.complaint_id)
        .join(Complainant, Complainant.id == Complaint.complainant_id)
        .where(asked))
    by_service = (
        select(person_key().label("key"))
        .select_from(Invitation)
        .join(ServiceEvent, ServiceEvent.id == Invitation.service_event_id)
        .join(Complainant, Complainant.id == ServiceEvent.complainant_id)
        .where(asked))
    return opted_out.union(by_complaint, by_service).cte("not_to_ask")


def _may_be_asked(now: dt.datetime) -> ColumnElement[bool]:
    blocked = _not_to_ask(now - dt.timedelta(days=fatigue_days()))
    return and_(
        Complainant.survey_consent.is_(True),
        Complainant.opted_out_at.is_(None),
        channels.reachable(current_app.config),
        person_key().not_in(select(blocked.c.key)),
    )


def _served(campaign: Campaign, now: dt.datetime,
            version: QuestionnaireVersion | None = None) -> CTE:
    """Each person served in the campaign's period once (their latest event there), with
    whether they may be asked now; with ``version``, their survey language and channel too."""
    latest = func.row_number().over(
        partition_by=person_key(),
        order_by=(ServiceEvent.occurred_at.desc(), ServiceEvent.id.desc()))
    extra = [] if version is None else [_language(version).label("language"),
                                        _channel().label("channel")]
    ranked = (
        select(
            ServiceEvent.id.label("event_id"),
            ServiceEvent.unit_id.label("unit_id"),
            case((_may_be_asked(now), 1), else_=0).label("askable"),
            *extra,
            latest.label("latest"),
        )
        .join(Complainant, Complainant.id == ServiceEvent.complainant_id)
        .where(ServiceEvent.occurred_at >= campaign.served_from,
               ServiceEvent.occurred_at < campaign.served_until,
               Complainant.erased_at.is_(None))
    ).cte("ranked")
    return select(ranked).where(ranked.c.latest == 1).cte("served")


def population(campaign: Campaign, now: dt.datetime | None = None
               ) -> dict[int, tuple[int, int]]:
    """Per unit id: (people served in the period, of whom may be asked now). One statement."""
    return _counts(_served(campaign, now or utcnow()))


def _counts(served: Any) -> dict[int, tuple[int, int]]:
    rows = db.session.execute(
        select(served.c.unit_id, func.count(), func.sum(served.c.askable))
        .group_by(served.c.unit_id)).all()
    return {unit_id: (int(total), int(askable or 0)) for unit_id, total, askable in rows}


# --- preview and start --------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    units: list[UnitPlan]

    @property
    def served(self) -> int:
        return sum(u.served for u in self.units)

    @property
    def sample(self) -> int:
        return sum(u.sample for u in self.units)

    @property
    def expected_responses(self) -> float:
        return sum(u.expected_responses for u in self.units)


def preview(campaign: Campaign, now: dt.datetime | None = None) -> Preview:
    """The plan per unit (largest first), counted by the database."""
    return _plan(campaign, population(campaign, now))


def _plan(campaign: Campaign, counts: dict[int, tuple[int, int]]) -> Preview:
    names = dict(db.session.execute(
        select(Unit.id, Unit.name).where(Unit.id.in_(list(counts)))).all())
    units = [unit_plan(unit_id, names.get(unit_id, str(unit_id)), served, askable,
                       campaign.margin_of_error, campaign.expected_response_rate)
             for unit_id, (served, askable) in counts.items()]
    units.sort(key=lambda u: (-u.served, u.name))
    return Preview(units)


def _language(version: QuestionnaireVersion) -> ColumnElement[str]:
    """SQL: the survey language of the person (as ``planner.survey_language``): theirs when
    the version offers it (``tr-TR`` is served in ``tr``), else the version's first."""
    languages = [str(code) for code in version.definition.get("languages") or ["tr"]]
    wanted = func.lower(func.replace(func.coalesce(Complainant.language, ""), "_", "-"))
    return case(
        (wanted.in_(languages), wanted),
        (func.substr(wanted, 1, 2).in_(languages), func.substr(wanted, 1, 2)),
        else_=literal(languages[0]),
    )


def _channel() -> ColumnElement[str]:
    """SQL: the first channel that reaches the person (as ``channels.reaching``)."""
    config = current_app.config
    whens = []
    for candidate in channels.CHANNELS.values():
        if not candidate.configured(config):
            continue
        present = func.coalesce(func.trim(candidate.contact_column()), "") != ""
        if candidate.dead_column is not None:
            present = and_(present, ~candidate.dead_column())
        whens.append((present, literal(candidate.kind.value)))
    return case(*whens, else_=literal(channels.EMAIL.kind.value))


# Each person served, once, with what the draw needs: counted and drawn from without reading
# the service events again. Temporary: it lives in the starting transaction only.
SERVED = Table(
    "campaign_served", MetaData(),
    Column("event_id", Integer), Column("unit_id", Integer), Column("askable", Integer),
    Column("language", String(8)), Column("channel", String(16)),
    prefixes=["TEMPORARY"],
)


def _take_in_served(campaign: Campaign, version: QuestionnaireVersion,
                    now: dt.datetime) -> None:
    """Fill ``SERVED`` (made afresh) with the campaign's people: one pass over the events."""
    connection = db.session.connection()
    SERVED.drop(connection, checkfirst=True)
    SERVED.create(connection)
    served = _served(campaign, now, version)
    connection.execute(SERVED.insert().from_select(
        ["event_id", "unit_id", "askable", "language", "channel"],
        select(served.c.event_id, served.c.unit_id, served.c.askable, served.c.language,
               served.c.channel)))


def draw_statement(campaign: Campaign, sizes: dict[int, int], version: QuestionnaireVersion,
                   now: dt.datetime) -> Any:
    """The ``INSERT ... SELECT`` that draws each unit's sample (``sizes``: unit id -> people)
    at random among the people of ``SERVED`` who may be asked, and plans their invitations,
    due now."""
    draw = func.row_number().over(partition_by=SERVED.c.unit_id, order_by=func.random())
    wanted = case(sizes, value=SERVED.c.unit_id, else_=0) if sizes else literal(0)
    drawn = (
        select(SERVED, draw.label("draw"), wanted.label("wanted"))
        .where(SERVED.c.askable == 1)
    ).subquery("drawn")
    chosen = select(
        drawn.c.event_id,
        literal(campaign.id),
        literal(version.id),
        literal(InvitationState.PLANNED.value),
        drawn.c.language,
        drawn.c.channel,
        literal(now, UTCDateTime()),
        literal(0),
        literal(now, UTCDateTime()),
    ).where(drawn.c.draw <= drawn.c.wanted)
    columns = ["service_event_id", "campaign_id", "version_id", "state", "language", "channel",
               "due_at", "attempts", "created_at"]
    return insert(Invitation.__table__).from_select(columns, chosen)


def start_campaign(campaign: Campaign, actor: str, now: dt.datetime | None = None) -> int:
    """Draw the sample and plan its invitations (one statement), and set the campaign
    running; returns how many were planned. Commits, and writes the audit log."""
    now = now or utcnow()
    if campaign.state != CampaignState.DRAFT:
        raise CampaignError(_("Only a draft campaign can be started."))
    if campaign.closes_at <= now:
        raise CampaignError(_("The closing date has passed."))
    version = latest_published_version(campaign.questionnaire_id)
    if version is None:
        raise CampaignError(_("The questionnaire has no published version."))
    # Claim the campaign first: a second start at the same moment changes no row and stops.
    claimed = db.session.execute(
        update(Campaign).where(Campaign.id == campaign.id, Campaign.state == CampaignState.DRAFT)
        .values(state=CampaignState.RUNNING, started_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if not claimed:
        db.session.rollback()
        raise CampaignError(_("The campaign was started already."))
    _take_in_served(campaign, version, now)
    plan = _plan(campaign, _counts(SERVED))
    sizes = {u.unit_id: u.sample for u in plan.units if u.sample}
    db.session.execute(draw_statement(campaign, sizes, version, now))
    SERVED.drop(db.session.connection())
    # Counted (by the index on campaign_id): drivers do not all report an INSERT ... SELECT's
    # row count.
    planned = db.session.scalar(
        select(func.count()).select_from(Invitation).where(Invitation.campaign_id == campaign.id))
    db.session.add(AuditLog(actor=actor, action="campaign.start", target=f"campaign:{campaign.key}",
                            detail={"planned": planned, "units": len(sizes)}))
    db.session.commit()
    db.session.refresh(campaign)
    return int(planned)


# --- progress and closing -----------------------------------------------------------------------


@dataclass(frozen=True)
class UnitProgress:
    unit_id: int
    name: str
    served: int
    sampled: int
    sent: int
    responded: int
    current_margin: float | None

    @property
    def response_rate(self) -> float | None:
        return self.responded / self.sent if self.sent else None


def progress(campaign: Campaign) -> list[UnitProgress]:
    """Per unit of the sample: sampled, sent, responded (one GROUP BY) and the margin of error
    the responses so far give over the unit's population."""
    responded = func.count(Response.id)
    rows = db.session.execute(
        select(ServiceEvent.unit_id, Unit.name, func.count(Invitation.id),
               func.count(Invitation.sent_at), responded)
        .select_from(Invitation)
        .join(ServiceEvent, ServiceEvent.id == Invitation.service_event_id)
        .join(Unit, Unit.id == ServiceEvent.unit_id)
        .outerjoin(Response, Response.invitation_id == Invitation.id)
        .where(Invitation.campaign_id == campaign.id)
        .group_by(ServiceEvent.unit_id, Unit.name)
        .order_by(Unit.name)).all()
    served = {unit_id: total for unit_id, (total, _) in population(campaign).items()}
    return [UnitProgress(unit_id, name, served.get(unit_id, 0), int(sampled), int(sent),
                         int(answered), expected_margin(served.get(unit_id, 0), int(answered)))
            for unit_id, name, sampled, sent, answered in rows]


def close_campaign(campaign: Campaign, actor: str, now: dt.datetime | None = None) -> int | None:
    """Close a running campaign: its open invitations expire (the links stop working);
    returns how many, or None when it was not running (closed by someone else meanwhile).
    Commits, and writes the audit log."""
    now = now or utcnow()
    claimed = db.session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id, Campaign.state == CampaignState.RUNNING)
        .values(state=CampaignState.CLOSED, closed_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if not claimed:
        db.session.rollback()
        return None
    expired = db.session.execute(
        update(Invitation)
        .where(Invitation.campaign_id == campaign.id, Invitation.state.in_(OPEN_STATES),
               Invitation.responded_at.is_(None))
        .values(state=InvitationState.EXPIRED, claimed_until=None, reminder_due_at=None)
        .execution_options(synchronize_session=False)).rowcount
    db.session.add(AuditLog(actor=actor, action="campaign.close", target=f"campaign:{campaign.key}",
                            detail={"expired": expired}))
    db.session.commit()
    db.session.refresh(campaign)
    return int(expired)


def close_due_campaigns(now: dt.datetime | None = None) -> int:
    """The scheduler's job: close every running campaign whose closing date has come."""
    now = now or utcnow()
    due = db.session.scalars(select(Campaign).where(
        Campaign.state == CampaignState.RUNNING, Campaign.closes_at <= now)).all()
    return sum(close_campaign(campaign, "scheduler", now) is not None for campaign in due)


def list_campaigns() -> list[Campaign]:
    return list(db.session.scalars(select(Campaign).order_by(Campaign.created_at.desc(),
                                                             Campaign.id.desc())))


def get_campaign(key: str) -> Campaign | None:
    return db.session.scalar(select(Campaign).where(Campaign.key == key))


def create_campaign(values: dict[str, Any], actor: str) -> Campaign:
    """A draft campaign from checked ``values`` (the form's); commits, audited."""
    if get_campaign(values["key"]) is not None:
        raise CampaignError(_("A campaign with this key exists already."))
    campaign = Campaign(state=CampaignState.DRAFT, **values)
    db.session.add(campaign)
    db.session.flush()
    db.session.add(AuditLog(actor=actor, action="campaign.create",
                            target=f"campaign:{campaign.key}",
                            detail={"questionnaire_id": campaign.questionnaire_id}))
    db.session.commit()
    return campaign

