"""Writing the simulated two years into the database, in bulk."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import func, select, update

from app.demo import catalogue as cat
from app.demo.actions import needs_follow_up, open_follow_ups, store_actions
from app.demo.answers import answer, mood_of
from app.demo.campaigns import store_campaigns
from app.demo.phone import call_people_with_only_a_phone, store_phone_calls
from app.demo.rows import insert_all, insert_returning_ids
from app.demo.service_surveys import store_service_surveys
from app.demo.simulation import (
    TIMEZONE,
    Case,
    Clock,
    Person,
    RuleSettings,
    Survey,
    assign_people,
    plan_surveys,
    seasonal,
    simulate_cases,
)
from app.demo.walkin import store_walk_ins
from app.extensions import db
from app.models import (
    Answer,
    AuditLog,
    Category,
    Channel,
    Complainant,
    Complaint,
    ComplaintEvent,
    ComplaintKind,
    ComplaintStatus,
    DistributionRule,
    EventType,
    Invitation,
    InvitationChannel,
    InvitationState,
    QuestionnaireVersion,
    Response,
    ResponseMode,
    Service,
    ServiceEvent,
    ServiceVolume,
    SuppressionReason,
    Target,
    Unit,
    bulk,
)
from app.organisation.settings import save_settings
from app.progress import Advance, nothing
from app.wordforms import search_terms

COMPLAINTS_PER_YEAR = 3000  # in the last 12 months; the year before has as many, seasons alike
ACTOR = "demo"


class DemoError(RuntimeError):
    """The demo cannot be loaded as asked; the message says why."""

STEPS = 8  # the progress steps of load_demo: seven in _load, then the follow-ups


def load_demo(
    seed: int = 10004,
    only_if_empty: bool = False,
    *,
    today: dt.date | dt.datetime | None = None,
    scale: float = 1.0,
    progress: Advance = nothing,
) -> str:
    """Fill the database with two years of the demo municipality (this month and the 24
    before: the last 12 months have a year before them to compare with); returns a summary.

    The same ``seed`` and ``today`` give the same data. ``today`` defaults to now (a date means
    15:00 Istanbul time that day); ``scale`` multiplies the number of complaints (tests use a
    small one). The demo refuses to mix with existing units, categories or complaints: with
    ``only_if_empty`` it then does nothing and says so, otherwise it raises ``DemoError``.
    """
    existing = _existing_data()
    if existing:
        if only_if_empty:
            return f"The database already holds {existing}; the demo data was not loaded."
        raise DemoError(f"the database already holds {existing}; the demo needs an empty one")
    if scale <= 0:
        raise DemoError("scale must be positive")
    try:
        clock = Clock.ending(_now(today))
        summary, unhappy = _load(seed, clock, scale, progress)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    save_settings("demo", cat.ORGANISATION_SETTINGS)
    # After the commit: the follow-up service commits each follow-up it opens.
    follow_ups = open_follow_ups(clock, unhappy)
    progress(1, "follow-ups")
    campaigns = store_campaigns(clock, seed)
    return f"{summary}; {follow_ups} follow-ups; {campaigns} campaign invitations"


def _existing_data() -> str | None:
    for model, label in ((Complaint, "complaints"), (Unit, "units"), (Category, "categories")):
        if db.session.scalar(select(model.id).limit(1)) is not None:
            return label
    return None


def _now(today: dt.date | dt.datetime | None) -> dt.datetime:
    if today is None:
        return dt.datetime.now(dt.UTC)
    if isinstance(today, dt.datetime):
        if today.tzinfo is None:
            raise DemoError("today must be an aware datetime (or a date)")
        return today.astimezone(dt.UTC)
    return dt.datetime.combine(today, dt.time(15, 0), TIMEZONE).astimezone(dt.UTC)


def _load(seed: int, clock: Clock, scale: float,
          progress: Advance = nothing) -> tuple[str, list[int]]:
    """Store everything but the follow-ups; returns the summary and the invitations whose
    responses need one. ``progress`` advances once per step (``STEPS`` with the follow-ups)."""
    rule, version = _questionnaire_and_rule()
    progress(1, "questionnaires")
    rng = random.Random(seed)  # noqa: S311 - made-up data, nothing secret
    unit_ids = _store_units()
    category_ids = _store_categories()
    progress(1, "units and categories")
    cases = simulate_cases(rng, clock, max(round(COMPLAINTS_PER_YEAR * scale), 1))
    people = assign_people(rng, clock, cases)
    _store_people(people)
    progress(1, "complainants")
    _store_cases(cases, unit_ids, category_ids)
    progress(1, "complaints")
    surveys = plan_surveys(rng, clock, cases, RuleSettings.of(rule))
    _store_invitations(surveys, rule, version)
    progress(1, "invitations")
    responses = _store_responses(rng, clock, surveys, version, unit_ids, category_ids)
    calls = store_phone_calls(rng, clock, surveys, call_people_with_only_a_phone(rule), version)
    progress(1, "responses")
    volumes = _store_volumes(rng, clock, unit_ids)
    served = _store_service_events(rng, clock, unit_ids, scale)
    surveyed = store_service_surveys(random.Random(seed), clock)  # noqa: S311 - made-up
    others = _store_other_kinds(rng, clock, unit_ids, category_ids, len(cases))
    _store_targets(unit_ids)
    actions = store_actions(clock, unit_ids)
    walk_ins = store_walk_ins(random.Random(seed), clock, unit_ids)  # noqa: S311 - made-up
    progress(1, "targets and actions")
    db.session.add(AuditLog(actor="cli", action="demo.load", target=f"seed:{seed}"))
    unhappy = [s.id for s in surveys if s.state == "responded" and needs_follow_up(s)]
    summary = _summary(seed, clock, cases, people, surveys, responses, volumes)
    return (f"{summary}; {served} service events ({surveyed} answered a survey); {others} "
            f"compliments, suggestions and requests; {actions} improvement actions; "
            f"{calls} phone calls; {walk_ins} walk-in answers"), unhappy


def _questionnaire_and_rule() -> tuple[DistributionRule, QuestionnaireVersion]:
    """The shipped questionnaires and the default rule, installed the way ``make run`` does."""
    from app.design.services import install_all_templates
    from app.distribution.rules import ensure_default_rule

    install_all_templates()
    rule = ensure_default_rule()
    version = rule.questionnaire.published_version
    if version is None:
        raise DemoError(f"questionnaire {rule.questionnaire.key!r} has no published version")
    return rule, version


# --- organisation ------------------------------------------------------------------------------


def _store_units() -> dict[str, int]:
    """Units in catalogue order (parents first); returns code -> id."""
    ids: dict[str, int] = {}
    for profile in cat.UNITS:
        unit = Unit(code=profile.code, name=profile.name,
                    parent_id=ids[profile.parent] if profile.parent else None)
        db.session.add(unit)
        db.session.flush()
        ids[profile.code] = unit.id
    return ids


def _store_categories() -> dict[str, int]:
    ids: dict[str, int] = {}
    for profile in cat.CATEGORIES:
        category = Category(
            code=profile.code, name=profile.name, committed_response_days=profile.days,
            parent_id=ids[profile.parent] if profile.parent else None,
        )
        db.session.add(category)
        db.session.flush()
        ids[profile.code] = category.id
    return ids


# --- complainants and complaints ---------------------------------------------------------------


def _store_people(people: list[Person]) -> None:
    rows = [
        {"name": p.name, "email": p.email, "phone": p.phone, "language": p.language,
         "survey_consent": p.consent, "opted_out_at": p.opted_out_at, "created_at": p.created_at,
         "erased_at": None}
        for p in people
    ]
    for person, new_id in zip(people, insert_returning_ids(Complainant, rows), strict=True):
        person.id = new_id


def _store_cases(cases: list[Case], unit_ids: dict[str, int], category_ids: dict[str, int]) -> None:
    rows = [
        {
            "source": "default", "external_id": c.external_id, "received_at": c.received_at,
            "channel": Channel(c.channel), "category_id": category_ids[c.category.code],
            "unit_id": unit_ids[c.unit.code], "complainant_id": c.person.id if c.person else None,
            "subject": c.subject, "description": c.description,
            "status": ComplaintStatus(c.status), "due_at": c.due_at,
            "acknowledged_at": c.acknowledged_at, "resolved_at": c.resolved_at,
            "closed_at": c.closed_at, "reopen_count": 1 if c.reopened_at else 0,
            "created_at": c.received_at, "updated_at": c.updated_at,
        }
        for c in cases
    ]
    for case, new_id in zip(cases, insert_returning_ids(Complaint, rows), strict=True):
        case.id = new_id
    events = [
        {"complaint_id": c.id, "type": EventType(kind), "at": at, "note": None, "actor": ACTOR,
         "recorded_at": at}
        for c in cases
        for kind, at in c.events()
    ]
    insert_all(ComplaintEvent, events)


# --- invitations, responses and answers --------------------------------------------------------


def _store_invitations(
    surveys: list[Survey], rule: DistributionRule, version: QuestionnaireVersion
) -> None:
    rows = [
        {
            "complaint_id": s.case.id, "rule_id": rule.id, "version_id": version.id,
            "token_hash": None, "state": InvitationState(s.state),
            "suppression_reason": SuppressionReason(s.reason) if s.reason else None,
            "language": s.language, "channel": InvitationChannel(s.channel),
            "due_at": s.due_at, "claimed_until": None,
            "sent_at": s.sent_at, "reminder_due_at": s.reminder_due_at,
            "reminded_at": s.reminded_at, "expires_at": s.expires_at,
            "responded_at": s.responded_at, "attempts": s.attempts, "last_error": s.last_error,
            "created_at": s.resolved_at,
        }
        for s in surveys
    ]
    for survey, new_id in zip(surveys, insert_returning_ids(Invitation, rows), strict=True):
        survey.id = new_id
    _store_token_hashes([s for s in surveys if s.state != "suppressed"])


def _store_token_hashes(surveys: list[Survey]) -> None:
    """Give every invitation that has (or will have) a link the hash of its token, as the
    planner does; the token itself is derived from the id and the secret key, never stored."""
    from app.distribution.tokens import hash_token, token_for

    rows = [{"id": s.id, "token_hash": hash_token(token_for(s.id))} for s in surveys]
    if rows:
        db.session.execute(update(Invitation), rows)


def _store_responses(
    rng: random.Random, clock: Clock, surveys: list[Survey], version: QuestionnaireVersion,
    unit_ids: dict[str, int], category_ids: dict[str, int],
) -> int:
    questions = version.definition.get("questions", [])
    answered = [s for s in surveys if s.state == "responded"]
    for survey in answered:
        mood = mood_of(rng, survey.case, clock, survey.resolved_at)
        survey.answers = answer(rng, mood, questions, survey.language)
    rows = [
        {
            "invitation_id": s.id, "version_id": version.id,
            "questionnaire_id": version.questionnaire_id, "complaint_id": s.case.id,
            "unit_id": unit_ids[s.case.unit.code],
            "category_id": category_ids[s.case.category.code],
            "channel": Channel(s.case.channel), "language": s.language,
            "submitted_at": s.responded_at, "mode": ResponseMode.answering(s.channel),
        }
        for s in answered
    ]
    response_ids = insert_returning_ids(Response, rows)
    answer_rows = [
        {**row, "response_id": response_id,
         "search_terms": search_terms(row.get("value_text"), survey.language)}
        for survey, response_id in zip(answered, response_ids, strict=True)
        for row in survey.answers
    ]
    insert_all(Answer, answer_rows)
    return len(response_ids)


# --- service volumes and targets ---------------------------------------------------------------


def _store_volumes(rng: random.Random, clock: Clock, unit_ids: dict[str, int]) -> int:
    """Transactions per unit and month; the current month only as far as it has gone."""
    local_now = clock.now.astimezone(TIMEZONE)
    rows = []
    for month in clock.month_starts():
        share = 1.0
        if (month.year, month.month) == (local_now.year, local_now.month):
            share = max(local_now.day - 1 + local_now.hour / 24, 1) / 30.4
        for unit in cat.UNITS:
            if unit.transactions:
                volume = unit.transactions * seasonal(unit, month.month) ** 0.5
                volume *= share * rng.gauss(1, 0.04)
                rows.append({"unit_id": unit_ids[unit.code], "period_start": month,
                             "transactions": max(int(volume), 1)})
    insert_all(ServiceVolume, rows)
    return len(rows)


EVENT_COLUMNS = ("source", "external_id", "occurred_at", "unit_id", "service_id", "channel",
                 "created_at")


def _store_service_events(rng: random.Random, clock: Clock, unit_ids: dict[str, int],
                          scale: float) -> int:
    """The service catalogue, and for the units of ``SERVICE_EVENT_UNITS`` one event per
    service delivered in the last 12 months (their volume, seasonal, times ``scale``), spread
    over working hours: those units' volumes are counted there, typed in before. The year
    before has none: it would cost ``memnun demo`` a fifth more time, for nothing to show."""
    service_ids: dict[str, int] = {}
    for code, name, parent in cat.SERVICES:
        service_ids[code] = insert_returning_ids(Service, [{"code": code, "name": name,
                                             "parent_id": service_ids.get(parent or "")}])[0]
    profiles = {unit.code: unit for unit in cat.UNITS}
    first = clock.year_start.astimezone(TIMEZONE).date()
    rows = []
    for code, services in cat.SERVICE_EVENT_UNITS.items():
        unit, codes = profiles[code], [service_ids[service] for service in services]
        for month in (m for m in clock.month_starts() if m >= first):
            begin = dt.datetime.combine(month, dt.time(8, 30), TIMEZONE).astimezone(dt.UTC)
            days = ((month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - month).days
            count = int(unit.transactions * seasonal(unit, month.month) ** 0.5 * scale)
            for number in range(count):
                at = begin + dt.timedelta(minutes=rng.randrange(days) * 1440
                                          + rng.randrange(480))
                if at < clock.now:
                    rows.append(("default", f"HZ-{len(rows) + 1:07d}", at, unit_ids[code],
                                 codes[number % len(codes)],
                                 Channel.WEB if number % 4 == 0 else Channel.WALK_IN, at))
    if bulk.on_postgresql():
        bulk.insert_rows(ServiceEvent.__table__, EVENT_COLUMNS, rows)  # COPY
    else:  # executemany: SQLite's C loop beats compiling multi-row statements
        insert_all(ServiceEvent, [dict(zip(EVENT_COLUMNS, row, strict=True)) for row in rows])
    return len(rows)


def _store_other_kinds(rng: random.Random, clock: Clock, unit_ids: dict[str, int],
                       category_ids: dict[str, int], complaints: int) -> int:
    """Compliments, suggestions and requests beside the complaints: taken in and closed two
    days later, without a due time and without a survey (only complaints have those)."""
    units = [unit for unit in cat.UNITS if unit.categories]
    kinds, weights = zip(*cat.OTHER_KINDS, strict=True)
    span = (clock.now - clock.start).total_seconds()
    rows, events = [], []
    for number in range(int(complaints * cat.OTHER_KINDS_SHARE)):
        unit = rng.choices(units, weights=[u.weight for u in units])[0]
        received = clock.start + dt.timedelta(seconds=rng.uniform(0, span))
        closed = received + dt.timedelta(days=2)
        done = closed < clock.now
        rows.append({
            "source": "default", "external_id": f"OK-{number:06d}",
            "kind": ComplaintKind(rng.choices(kinds, weights=weights)[0]),
            "received_at": received, "channel": Channel.WEB,
            "category_id": category_ids[rng.choice(list(unit.categories))],
            "unit_id": unit_ids[unit.code], "complainant_id": None, "due_at": None,
            "status": ComplaintStatus.CLOSED if done else ComplaintStatus.RECEIVED,
            "closed_at": closed if done else None, "reopen_count": 0,
            "created_at": received, "updated_at": closed if done else received,
        })
    ids = insert_returning_ids(Complaint, rows)
    for row, complaint_id in zip(rows, ids, strict=True):
        events.append({"complaint_id": complaint_id, "type": EventType.RECEIVED,
                       "at": row["received_at"], "note": None, "actor": ACTOR,
                       "recorded_at": row["received_at"]})
        if row["closed_at"] is not None:
            events.append({"complaint_id": complaint_id, "type": EventType.CLOSED,
                           "at": row["closed_at"], "note": None, "actor": ACTOR,
                           "recorded_at": row["closed_at"]})
    insert_all(ComplaintEvent, events)
    return len(rows)


def _store_targets(unit_ids: dict[str, int]) -> None:
    rows = [
        {"unit_id": unit_ids[code] if code else None, "metric": metric, "value": value}
        for code, metric, value in cat.TARGETS
    ]
    insert_all(Target, rows)


def _summary(
    seed: int, clock: Clock, cases: list[Case], people: list[Person], surveys: list[Survey],
    responses: int, volumes: int,
) -> str:
    resolved = [c for c in cases if c.resolved_at is not None]
    late = sum(c.late for c in resolved)
    states: dict[str, int] = {}
    for survey in surveys:
        states[survey.state] = states.get(survey.state, 0) + 1
    first = clock.start.astimezone(TIMEZONE).date()
    last = clock.now.astimezone(TIMEZONE).date()
    in_year = sum(c.received_at >= clock.year_start for c in cases)
    units = db.session.scalar(select(func.count(Unit.id)))
    categories = db.session.scalar(select(func.count(Category.id)))
    return "\n".join([
        f"Demo data for {cat.ORGANISATION} (seed {seed}), {first} to {last}:",
        f"  {units} units, {categories} complaint categories",
        f"  {in_year} complaints in the last 12 months ({len(cases)} in all) "
        f"from {len(people)} complainants; {len(resolved)} resolved, "
        f"{late} of them late ({late / max(len(resolved), 1):.0%})",
        f"  {len(surveys)} invitations: "
        + ", ".join(f"{n} {state}" for state, n in sorted(states.items())),
        f"  {responses} responses; {volumes} monthly service volumes; {len(cat.TARGETS)} targets",
    ])
