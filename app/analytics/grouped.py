"""Figures per segment (unit, category, channel or month) under any combination of filters, with
small-group and complementary suppression; behind ``GET /api/v1/metrics``.

The database does the counting with GROUP BY (with the aggregate expressions of
``app.analytics.aggregates`` and the month periods of ``app.analytics.periods``);
``app.analytics.metrics`` turns the counts into estimates. Knows no request. Survey figures are
suppressed by the rule of ``app.analytics.suppression``; keys that may read figures are given to
integrators, not to the public.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, literal_column, select

from app.analytics.aggregates import (
    COUNTED_ANSWER,
    HAS_DUE_TIME,
    AnswerTotals,
    answer_aggregates,
    invitation_aggregates,
    received_aggregates,
    resolved_aggregates,
    response_aggregates,
    totals_of,
)
from app.analytics.figures import Score, plain_proportion
from app.analytics.periods import Grain, Periods
from app.analytics.suppression import suppress_survey_figures
from app.extensions import db
from app.models import Answer, Complaint, Invitation, QuestionnaireVersion, Response

GROUPINGS = ("unit", "category", "channel", "month")
SURVEY_FIGURES = ("csat", "mean", "nps", "ces", "resolution_confirmed")
Key = Any  # a unit or category id, a channel value, a month's first day, or None


@dataclass(frozen=True)
class Segment:
    """What to count: a half-open period and optional filters (ids already expanded to the units
    and categories below the chosen ones)."""

    start: dt.datetime
    end: dt.datetime
    unit_ids: Collection[int] | None = None
    category_ids: Collection[int] | None = None
    channel: str | None = None
    questionnaire_id: int | None = None


@dataclass
class GroupFigures:
    """One group's figures; a survey figure is None-valued and ``suppressed`` when hidden."""

    key: Key
    responses: int = 0
    answers: AnswerTotals = field(default_factory=AnswerTotals)
    complaints: int = 0
    resolved_with_due: int = 0
    resolved_on_time: int = 0
    invitations: int = 0
    responded: int = 0
    suppressed: bool = False
    figures: dict[str, Score] = field(default_factory=dict)


def with_descendants(model: Any, ids: Iterable[int]) -> list[int]:
    """The given units or categories (``model``) and every one below them in their tree."""
    ids = list(ids)
    if not ids:
        return []
    tree = select(model.id).where(model.id.in_(ids)).cte(f"{model.__tablename__}_tree",
                                                         recursive=True)
    # UNION, not UNION ALL: a cycle in bad data then ends instead of recursing forever.
    tree = tree.union(select(model.id).where(model.parent_id == tree.c.id))
    return sorted(db.session.scalars(select(tree.c.id)))


# --- SQL -----------------------------------------------------------------------------------------


def _in(column: Any, ids: Collection[int] | None) -> list[ColumnElement[bool]]:
    return [] if ids is None else [column.in_(list(ids))]


class _Grouper:
    """Adds the group column of ``group_by`` to a statement and runs it."""

    def __init__(self, group_by: str | None, months: Periods | None) -> None:
        self.group_by = group_by
        self.months = months

    def column(self, unit: Any, category: Any, channel: Any, time: Any) -> Any:
        if self.group_by == "unit":
            return unit
        if self.group_by == "category":
            return category
        if self.group_by == "channel":
            return channel
        if self.group_by == "month":
            assert self.months is not None
            return self.months.bucket(time, db.session.get_bind().dialect.name)
        return None

    def run(self, stmt: Select[Any], group: Any) -> dict[Key, dict[str, Any]]:
        if group is not None:
            # By the output name: a one-month bucket is a constant, which would read as a
            # column position.
            stmt = stmt.add_columns(group.label("group_key")).group_by(
                literal_column("group_key"))
        result: dict[Key, dict[str, Any]] = {}
        for row in db.session.execute(stmt).mappings():
            values = dict(row)
            key = values.pop("group_key", None)
            if self.group_by == "month":
                assert self.months is not None
                key = self.months.decode(key)
            elif self.group_by == "channel" and key is not None:
                key = getattr(key, "value", key)
            result[key] = values
        return result


def _response_filters(segment: Segment) -> list[ColumnElement[bool]]:
    conditions = [
        Response.submitted_at >= segment.start,
        Response.submitted_at < segment.end,
        *_in(Response.unit_id, segment.unit_ids),
        *_in(Response.category_id, segment.category_ids),
    ]
    if segment.channel is not None:
        conditions.append(Response.channel == segment.channel)
    if segment.questionnaire_id is not None:
        conditions.append(Response.questionnaire_id == segment.questionnaire_id)
    return conditions


def _complaint_filters(segment: Segment) -> list[ColumnElement[bool]]:
    conditions = [
        *_in(Complaint.unit_id, segment.unit_ids),
        *_in(Complaint.category_id, segment.category_ids),
    ]
    if segment.channel is not None:
        conditions.append(Complaint.channel == segment.channel)
    return conditions


def _response_group(grouper: _Grouper) -> Any:
    return grouper.column(Response.unit_id, Response.category_id, Response.channel,
                          Response.submitted_at)


def _answer_rows(segment: Segment, grouper: _Grouper) -> dict[Key, dict[str, Any]]:
    stmt = (
        select(*answer_aggregates())
        .select_from(Answer)
        .join(Response, Response.id == Answer.response_id)
        .where(COUNTED_ANSWER, *_response_filters(segment))
    )
    return grouper.run(stmt, _response_group(grouper))


def _response_rows(segment: Segment, grouper: _Grouper) -> dict[Key, dict[str, Any]]:
    stmt = select(*response_aggregates()).where(*_response_filters(segment))
    return grouper.run(stmt, _response_group(grouper))


def _complaint_rows(
    segment: Segment, grouper: _Grouper
) -> tuple[dict[Key, dict[str, Any]], dict[Key, dict[str, Any]]]:
    """Complaints received in the period; and those resolved in it, by due time (each counted
    at its own moment, as in ``tallies.complaint_tally``)."""

    def group(time: Any) -> Any:
        return grouper.column(Complaint.unit_id, Complaint.category_id, Complaint.channel, time)

    received = select(*received_aggregates()).where(
        Complaint.received_at >= segment.start, Complaint.received_at < segment.end,
        *_complaint_filters(segment),
    )
    resolved = select(*resolved_aggregates()).where(
        Complaint.resolved_at >= segment.start, Complaint.resolved_at < segment.end,
        HAS_DUE_TIME, *_complaint_filters(segment),
    )
    return (grouper.run(received, group(Complaint.received_at)),
            grouper.run(resolved, group(Complaint.resolved_at)))


def _invitation_rows(segment: Segment, grouper: _Grouper) -> dict[Key, dict[str, Any]]:
    """Invitations sent in the period (the cohort) and how many of them were answered."""
    stmt = (
        select(*invitation_aggregates())
        .select_from(Invitation)
        .join(Complaint, Complaint.id == Invitation.complaint_id)
        .outerjoin(Response, Response.invitation_id == Invitation.id)
        .where(Invitation.sent_at >= segment.start, Invitation.sent_at < segment.end,
               *_complaint_filters(segment))
    )
    if segment.questionnaire_id is not None:
        versions = select(QuestionnaireVersion.id).where(
            QuestionnaireVersion.questionnaire_id == segment.questionnaire_id
        )
        stmt = stmt.where(Invitation.version_id.in_(versions))
    group = grouper.column(Complaint.unit_id, Complaint.category_id, Complaint.channel,
                           Invitation.sent_at)
    return grouper.run(stmt, group)


# --- figures -------------------------------------------------------------------------------------


def grouped_figures(
    segment: Segment, group_by: str | None, min_group: int, tz: str = "UTC"
) -> list[GroupFigures]:
    """The figures of ``segment`` per group of ``group_by`` (None: one group for everything).

    Groups are those with any complaint, invitation or response in the segment; grouped by
    month, every month of the period is listed, oldest first. Survey figures are suppressed as
    the module says.
    """
    if group_by not in (None, *GROUPINGS):
        raise ValueError(f"cannot group by {group_by!r}")
    months = (Periods.covering(segment.start, segment.end, Grain.MONTH, tz)
              if group_by == "month" else None)
    grouper = _Grouper(group_by, months)
    answers = _answer_rows(segment, grouper)
    responses = _response_rows(segment, grouper)
    received, resolved = _complaint_rows(segment, grouper)
    invitations = _invitation_rows(segment, grouper)

    if months is not None:
        keys: Iterable[Key] = months.starts
    elif group_by is None:
        keys = [None]
    else:
        keys = (answers.keys() | responses.keys() | received.keys() | resolved.keys()
                | invitations.keys()) - {None}
    groups = []
    for key in keys:
        a = answers.get(key)
        groups.append(GroupFigures(
            key=key,
            responses=int(responses.get(key, {}).get("responses", 0)),
            answers=totals_of(AnswerTotals, a) if a else AnswerTotals(),
            complaints=int(received.get(key, {}).get("received", 0)),
            resolved_with_due=int(resolved.get(key, {}).get("resolved_with_due", 0)),
            resolved_on_time=int(resolved.get(key, {}).get("resolved_on_time", 0)),
            invitations=int(invitations.get(key, {}).get("sent", 0)),
            responded=int(invitations.get(key, {}).get("responded", 0)),
        ))
    _suppress(groups, min_group)
    return groups


def _suppress(groups: list[GroupFigures], min_group: int) -> None:
    """Fill each group's figures: the survey figures as the module says, the others always."""
    suppress_survey_figures(groups, min_group)
    for group in groups:
        group.figures["response_rate"] = plain_proportion(group.responded, group.invitations)
        group.figures["on_time"] = plain_proportion(group.resolved_on_time,
                                                    group.resolved_with_due)
