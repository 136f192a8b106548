"""What each member of staff sees first, by what they do (the home page).

- Executives and viewers (no units): the headline figures of the last ``HEADLINE_DAYS`` days
  (CSAT, NPS, response rate, on-time resolution) against their targets, and the current alerts.
- The satisfaction team (designers): today's sending and this week's response rate, failures
  waiting for a retry, and the questionnaires in draft.
- Unit managers (anyone given units): their units' headline figures and alerts, their open
  follow-ups and their improvement actions still to do. Never another unit's.
- Admins: all of it that their units allow, and links to what they administer.

Every figure comes from ``app.analytics`` with the dashboards' suppression (``min_group``), so a
small group shows no score here either; no section names a complainant. A fixed number of
statements, whatever the data (``tests/main/test_home.py`` counts them).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from app.actions.services import ActionRow, list_actions
from app.analytics.figures import Score
from app.analytics.filters import Filters
from app.analytics.operations import Activity, activity, response_rate
from app.analytics.overview import Overview, overview
from app.analytics.periods import to_instant
from app.analytics.targets import all_targets, overview_scores, targets_for
from app.analytics.tree import unit_tree
from app.auth.scope import units_in_scope
from app.extensions import db
from app.followup.services import FollowUpRow, list_follow_ups, may_use_follow_ups
from app.models import (
    ActionStatus,
    FollowUpState,
    Questionnaire,
    QuestionnaireVersion,
    Role,
    User,
    VersionStatus,
)
from app.organisation.settings import organisation_settings
from app.reports.alerts import Alert, current_alerts

HEADLINE_DAYS = 90
HEADLINE_METRICS = ("csat", "nps", "response_rate", "on_time_resolution")
LISTED = 10  # follow-ups and actions shown; the full lists are a link away


@dataclass(frozen=True)
class Headline:
    start: dt.date
    last: dt.date
    figures: Overview
    scores: dict[str, Score]
    targets: dict[str, float]


@dataclass(frozen=True)
class Operations:
    today: Activity
    week_rate: Score


@dataclass(frozen=True)
class Draft:
    key: str
    title: str
    number: int


@dataclass
class Home:
    """The sections one person's home page shows (None: not theirs)."""

    headline: Headline | None = None
    alerts: list[Alert] | None = None
    operations: Operations | None = None
    drafts: list[Draft] | None = None
    follow_ups: list[FollowUpRow] | None = None
    open_follow_ups: int = 0
    actions: list[ActionRow] | None = None
    administers: bool = False
    unit_names: list[str] = field(default_factory=list)


def _today() -> dt.date:
    return dt.datetime.now(ZoneInfo(organisation_settings().timezone)).date()


def headline(user: User, today: dt.date) -> Headline:
    """The last ``HEADLINE_DAYS`` full days, within the user's units."""
    tz = organisation_settings().timezone
    min_group = current_app.config["MEMNUN_MIN_GROUP_SIZE"]
    start = today - dt.timedelta(days=HEADLINE_DAYS)
    own = [unit.id for unit in user.units] or None
    figures = overview(start, today, own, min_group, tz=tz)
    focus = own[0] if own and len(own) == 1 else None
    targets = {} if own and focus is None else targets_for(focus, unit_tree(), all_targets())
    scores = overview_scores(figures)
    return Headline(
        start,
        today - dt.timedelta(days=1),
        figures,
        {metric: scores[metric] for metric in HEADLINE_METRICS},
        {metric: value for metric, value in targets.items() if metric in HEADLINE_METRICS},
    )


def alerts(user: User, today: dt.date) -> list[Alert]:
    own = [unit.id for unit in user.units] or None
    return current_alerts(
        today - dt.timedelta(days=1),
        own,
        tz=organisation_settings().timezone,
        min_group=current_app.config["MEMNUN_MIN_GROUP_SIZE"],
    )


def operations(today: dt.date) -> Operations:
    tz = organisation_settings().timezone
    day = Filters(to_instant(today, tz), to_instant(today + dt.timedelta(days=1), tz))
    week_start = today - dt.timedelta(days=today.weekday())
    week = Filters(to_instant(week_start, tz), to_instant(today + dt.timedelta(days=1), tz))
    return Operations(activity(day), response_rate(week))


def drafts() -> list[Draft]:
    """Questionnaire versions in draft, by questionnaire key."""
    rows = db.session.execute(
        select(Questionnaire.key, QuestionnaireVersion.number, QuestionnaireVersion.definition)
        .join(Questionnaire, Questionnaire.id == QuestionnaireVersion.questionnaire_id)
        .where(QuestionnaireVersion.status == VersionStatus.DRAFT)
        .order_by(Questionnaire.key)
    ).all()
    language = organisation_settings().default_language
    result = []
    for key, number, definition in rows:
        titles = (definition or {}).get("title") or {}
        title = titles.get(language) or next(iter(titles.values()), key) if titles else key
        result.append(Draft(key, str(title), number))
    return result


def home_for(user: User) -> Home:
    """The sections of ``user``'s home page (see the module)."""
    today = _today()
    home = Home(
        administers=user.role == Role.ADMIN, unit_names=sorted(unit.name for unit in user.units)
    )
    limited = units_in_scope(user) is not None
    if user.role != Role.DESIGNER or limited:
        home.headline = headline(user, today)
        home.alerts = alerts(user, today)
    if user.has_role(Role.DESIGNER) and not limited:
        home.operations = operations(today)
        home.drafts = drafts()
    if limited or user.role == Role.ADMIN:
        if may_use_follow_ups(user):
            open_rows = list_follow_ups(user, FollowUpState.OPEN, limit=LISTED + 1)
            home.open_follow_ups = len(open_rows)
            home.follow_ups = open_rows[:LISTED]
        home.actions = [
            row
            for row in list_actions(user, today, limit=100)
            if row.action.status in (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)
        ][:LISTED]
    return home
