"""Figures per group (unit with its tree rolled up, category, channel, language, questionnaire,
or period) with small-group suppression and the change against the previous period: the
dashboards' ``breakdown``, and ``grouped_figures`` for the metrics API (``GET /api/v1/metrics``)
and the review pack, which are the same counts without changes.

Suppression, for every survey figure (CSAT, mean score, NPS, CES, resolution confirmed), is the
rule of ``app.analytics.suppression`` (so a figure hidden on a dashboard is hidden in the API and
the pack too): a group below ``min_group`` responses shows no survey figure; when that leaves
exactly one non-empty group hidden, the smallest other group is hidden as well, so that the
shown total minus the visible groups never gives a hidden group's figure away.

Complaint and invitation figures describe the organisation, not what a respondent said, and are
shown whatever the group size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.analytics.aggregates import AnswerTotals, ComplaintTotals, InvitationTotals
from app.analytics.changes import SURVEY_CHANGES, count_change, proportion_change
from app.analytics.figures import Score, bounce_share, plain_proportion, response_share
from app.analytics.filters import Filters
from app.analytics.metrics import CountTest, ZTest
from app.analytics.periods import Grain, Periods
from app.analytics.splits import WHOLE, ByDimension, ByPeriod, Dimension, Key, Split
from app.analytics.suppression import suppress_survey_figures
from app.analytics.tallies import answer_tally, complaint_tally, invitation_tally, response_tally
from app.analytics.tree import Level

#: What ``grouped_figures`` groups by (None: nothing, one group for the whole).
GROUPINGS = ("unit", "category", "channel", "month", "source", "mode")


@dataclass
class Group:
    """One group's counts and figures. ``own`` marks a parent unit's (or category's) own rows,
    shown next to its children. A hidden survey figure is a ``Score`` with ``suppressed``."""

    key: Key
    responses: int = 0
    answers: AnswerTotals = field(default_factory=AnswerTotals)
    complaints: ComplaintTotals = field(default_factory=ComplaintTotals)
    invitations: InvitationTotals = field(default_factory=InvitationTotals)
    previous_answers: AnswerTotals = field(default_factory=AnswerTotals)
    previous_complaints: ComplaintTotals = field(default_factory=ComplaintTotals)
    own: bool = False
    suppressed: bool = False
    figures: dict[str, Score] = field(default_factory=dict)
    changes: dict[str, ZTest | None] = field(default_factory=dict)
    complaints_change: CountTest | None = None

    @property
    def has_data(self) -> bool:
        return bool(self.responses or self.complaints.received or self.complaints.resolved_with_due
                    or self.invitations.sent)


def breakdown(filters: Filters, by: Dimension | Grain | str, min_group: int, *,
              level: Level | None = None, tz: str = "UTC") -> list[Group]:
    """Figures of ``filters`` per group of ``by``.

    ``by`` a dimension (unit, category, channel, language, questionnaire) or a grain (day,
    week, month, quarter). For units and categories, ``level`` (``app.analytics.tree.level``)
    says which nodes are shown and what rolls up into each; without one, each id is a group.
    Periods are every period listed, oldest first; other groups are those with data, in the
    level's order (a parent's own rows last) or by key. Changes (CSAT, NPS, resolution
    confirmed, complaints, on time) compare each group with itself in the compared period
    (``Filters.comparison``; not for periods).
    """
    split, keys = _split(filters, by, level, tz)
    by_period = isinstance(split, ByPeriod)
    groups = _count(filters, split, keys, level, previous=not by_period)
    suppress(groups, min_group)
    if not by_period:
        for group in groups:
            _changes(group, min_group, filters.lengths)
    return groups


def _count(filters: Filters, split: Split | None, keys: list[Key] | None,
           level: Level | None, *, previous: bool) -> list[Group]:
    """The groups' counts (no figures yet): ``keys`` in order, or those with data by key."""
    answers = answer_tally(filters, split, previous=previous)
    responses = response_tally(filters, split)
    complaints = complaint_tally(filters, split, previous=previous)
    invitations = invitation_tally(filters, split)
    if keys is None:
        found = (answers.keys() | complaints.keys() | invitations.current.keys()
                 | responses.current.keys())
        keys = sorted(found, key=lambda k: (k is None, str(k)))
    groups = []
    for key in keys:
        counted = responses.current.get(key)
        group = Group(
            key=key,
            responses=counted.responses if counted is not None else 0,
            answers=answers.now(key), complaints=complaints.now(key),
            invitations=invitations.now(key), previous_answers=answers.before(key),
            previous_complaints=complaints.before(key),
            own=level is not None and key == level.parent,
        )
        if level is not None and not group.has_data:
            continue  # e.g. a parent without rows of its own, a unit without complaints
        groups.append(group)
    return groups


def _split(filters: Filters, by: Dimension | Grain | str, level: Level | None,
           tz: str) -> tuple[Split, list[Key] | None]:
    if by in {grain.value for grain in Grain}:
        periods = Periods.covering(filters.start, filters.end, Grain(by), tz)
        return ByPeriod(periods), list(periods.starts)
    dimension = Dimension(by)
    if level is not None:
        if dimension not in (Dimension.UNIT, Dimension.CATEGORY):
            raise ValueError("a level applies to units and categories only")
        keys = list(level.nodes) + ([level.parent] if level.parent is not None else [])
        return ByDimension(dimension, roll_up=level.mapping), keys
    return ByDimension(dimension), None


def suppress(groups: list[Group], min_group: int) -> None:
    """Fill each group's figures, hiding survey figures as the module says."""
    suppress_survey_figures(groups, min_group)
    for group in groups:
        group.figures["on_time"] = plain_proportion(group.complaints.resolved_on_time,
                                                    group.complaints.resolved_with_due)
        group.figures["response_rate"] = response_share(group.invitations)
        group.figures["bounce_rate"] = bounce_share(group.invitations)


def _changes(group: Group, min_group: int, lengths: tuple[float, float]) -> None:
    """Tested changes of the shown survey figures, and of complaints and on-time resolution."""
    for name, test in SURVEY_CHANGES.items():
        shown = group.figures[name].shown
        group.changes[name] = (test(group.answers, group.previous_answers, min_group)
                               if shown else None)
    now, before = group.complaints, group.previous_complaints
    group.changes["on_time"] = proportion_change(
        now.resolved_on_time, now.resolved_with_due,
        before.resolved_on_time, before.resolved_with_due, 1)
    group.complaints_change = count_change(now.received, before.received, lengths)


# --- the metrics API's and the review pack's view ------------------------------------------------


@dataclass(frozen=True)
class GroupFigures:
    """One group's counts and figures as the metrics API and the review pack name them; a
    hidden survey figure is a ``Score`` with ``suppressed``."""

    key: Key
    responses: int
    answers: AnswerTotals
    complaints: int
    resolved_with_due: int
    resolved_on_time: int
    invitations: int
    responded: int
    suppressed: bool
    figures: dict[str, Score]
    delivered: int = 0  # invitations sent and not known to have failed
    compliments: int = 0  # compliments received (not complaints)

    @classmethod
    def of(cls, group: Group) -> GroupFigures:
        return cls(key=group.key, responses=group.responses, answers=group.answers,
                   complaints=group.complaints.received,
                   resolved_with_due=group.complaints.resolved_with_due,
                   resolved_on_time=group.complaints.resolved_on_time,
                   invitations=group.invitations.sent, responded=group.invitations.responded,
                   suppressed=group.suppressed, figures=group.figures,
                   delivered=group.invitations.delivered,
                   compliments=group.complaints.compliments)


def grouped_figures(filters: Filters, group_by: str | None, min_group: int,
                    tz: str = "UTC") -> list[GroupFigures]:
    """The figures of ``filters`` per group of ``group_by`` (None: one group, the whole).

    As ``breakdown`` counts and suppresses them, without changes. Groups are those with any
    complaint, invitation or response (rows without a unit, category or channel form no group,
    and take no part in suppression); by month, every month of the period is listed, oldest
    first; otherwise in the order of the keys (unit and category ids, channel values).
    """
    if group_by not in (None, *GROUPINGS):
        raise ValueError(f"cannot group by {group_by!r}")
    split: Split | None = None
    keys: list[Key] | None = [WHOLE]
    if group_by is not None:
        split, keys = _split(filters, Grain.MONTH if group_by == "month" else group_by, None, tz)
    groups = _count(filters, split, keys, None, previous=False)
    if split is not None and not isinstance(split, ByPeriod):
        # By the key itself, not its text: ids in numeric order ("2" before "10"), close to the
        # set order the API listed them in before, which was never specified.
        groups = sorted((group for group in groups if group.key is not None),
                        key=lambda group: group.key)
    suppress(groups, min_group)
    return [GroupFigures.of(group) for group in groups]
