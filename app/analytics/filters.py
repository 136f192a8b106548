"""What a figure is computed over: a period and optional unit, category, channel, questionnaire,
language, source and mode filters, turned into SQL conditions for each kind of row.

Unit and category ids are taken as given: callers expand a chosen unit to the units below it
(``expand``) and intersect with what the person may see before building ``Filters``, so the
queries never have to know about people or trees.

Which filter applies to which rows:

============== ========================= ======================== =============================
filter         responses and answers     complaints               invitations
============== ========================= ======================== =============================
unit, category the response's (copied)   the complaint's          the complaint's
channel        the response's            the complaint's          the complaint's
questionnaire  the response's            (does not apply)         the version's questionnaire
language       the response's            (does not apply)         the invitation's
source         the response's            (does not apply)         its subject's (complaint:
                                                                  complainant; campaign;
                                                                  else service user)
mode           the response's            (does not apply)         the invitation's channel
============== ========================= ======================== =============================

Held responses (``Response.held``) are left out of every figure, whatever the filters, until a
person accepts them; a response without a category (a service user's) is in no category.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, case, false, func, literal_column, select

from app.extensions import db
from app.models import (
    Complaint,
    Invitation,
    Questionnaire,
    QuestionnaireVersion,
    Response,
    ResponseMode,
    ResponseSource,
    ServiceEvent,
)
from app.storable import storable

#: A response counted in the figures: not held (a walk-in burst waiting for a person to accept
#: it counts nowhere, its answers neither, until accepted).
NOT_HELD = Response.held == false()
#: An invitation's unit and channel: its complaint's, or its service event's (one of the two is
#: outer-joined, ``aggregates.join_subject``).
INVITATION_UNIT = func.coalesce(Complaint.unit_id, ServiceEvent.unit_id)
INVITATION_CHANNEL = func.coalesce(Complaint.channel, ServiceEvent.channel)
#: Whom an invitation asks: the complainant of its complaint, else the person a campaign
#: sampled, else the service user of its service event (a response's own ``source``).
INVITATION_SOURCE = case(
    (Invitation.complaint_id.is_not(None),
     literal_column(f"'{ResponseSource.COMPLAINANT.value}'")),
    (Invitation.campaign_id.is_not(None), literal_column(f"'{ResponseSource.CAMPAIGN.value}'")),
    else_=literal_column(f"'{ResponseSource.SERVICE_USER.value}'"))

#: The values of the source and mode filters.
SOURCES = tuple(source.value for source in ResponseSource)
MODES = tuple(mode.value for mode in ResponseMode)


@dataclass(frozen=True)
class Filters:
    """A half-open period [start, end) of aware UTC datetimes and optional filters; ``None``
    means "all". An empty ``unit_ids`` means no unit at all (nothing to show).

    Changes compare with ``compared`` ([start, end) before ``start``): by default the period of
    the same length just before; a period running to today compares with the same days of the
    previous month or year (``app.analytics.periods.comparison``)."""

    start: dt.datetime
    end: dt.datetime
    unit_ids: frozenset[int] | None = None
    category_ids: frozenset[int] | None = None
    channel: str | None = None
    questionnaire_id: int | None = None
    language: str | None = None
    source: str | None = None
    mode: str | None = None
    compared: tuple[dt.datetime, dt.datetime] | None = None

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("periods are aware datetimes")
        if self.end <= self.start:
            raise ValueError("a period must end after it starts")
        if self.compared is not None:
            first, last = self.compared
            if first.tzinfo is None or last.tzinfo is None or not first < last <= self.start:
                raise ValueError("the compared period must end by the period's start")
        if self.source is not None and self.source not in SOURCES:
            raise ValueError("unknown source")
        if self.mode is not None and self.mode not in MODES:
            raise ValueError("unknown mode")
        for name in ("unit_ids", "category_ids"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, frozenset):
                object.__setattr__(self, name, frozenset(value))

    @property
    def length(self) -> dt.timedelta:
        return self.end - self.start

    @property
    def comparison(self) -> tuple[dt.datetime, dt.datetime]:
        """The period changes are measured against."""
        return self.compared or (self.start - self.length, self.start)

    def previous(self) -> Filters:
        """The same filters over the compared period."""
        first, last = self.comparison
        return replace(self, start=first, end=last, compared=None)

    @property
    def lengths(self) -> tuple[float, float]:
        """Seconds in this period and in the compared one: the exposures of a count's test."""
        first, last = self.comparison
        return self.length.total_seconds(), (last - first).total_seconds()

    def contiguous_with_previous(self) -> bool:
        """Whether the compared period ends where this one starts (one range covers both)."""
        return self.comparison[1] == self.start

    def but(self, **changes: Any) -> Filters:
        return replace(self, **changes)


def expand(model: Any, ids: Iterable[int]) -> frozenset[int]:
    """The given units or categories (``model``) and every one below them in their tree."""
    ids = list(ids)
    if not ids:
        return frozenset()
    tree = select(model.id).where(model.id.in_(ids)).cte(
        f"{model.__tablename__}_below", recursive=True
    )
    # UNION, not UNION ALL: a cycle in bad data then ends instead of recursing forever.
    tree = tree.union(select(model.id).where(model.parent_id == tree.c.id))
    return frozenset(db.session.scalars(select(tree.c.id)))


def in_ids(column: Any, ids: Collection[int] | None) -> list[ColumnElement[bool]]:
    """``column IN ids`` as a list of conditions, none when ``ids`` is None ("all"). Sorted, so
    the same ids give the same SQL (and the same cached plan)."""
    return [] if ids is None else [column.in_(sorted(ids))]


def in_period(column: Any, filters: Filters) -> list[ColumnElement[bool]]:
    return [column >= filters.start, column < filters.end]


def response_conditions(filters: Filters, *, timed: bool = True) -> list[ColumnElement[bool]]:
    """Conditions on ``Response`` (submitted in the period unless ``timed`` is false; never
    held)."""
    conditions = in_period(Response.submitted_at, filters) if timed else []
    conditions.append(NOT_HELD)
    conditions += in_ids(Response.unit_id, filters.unit_ids)
    conditions += in_ids(Response.category_id, filters.category_ids)
    if filters.channel is not None:
        conditions.append(Response.channel == filters.channel)
    if filters.questionnaire_id is not None:
        conditions.append(Response.questionnaire_id == filters.questionnaire_id)
    if filters.language is not None:
        conditions.append(Response.language == filters.language)
    if filters.source is not None:
        conditions.append(Response.source == filters.source)
    if filters.mode is not None:
        conditions.append(Response.mode == filters.mode)
    return conditions


def complaint_conditions(filters: Filters) -> list[ColumnElement[bool]]:
    """Conditions on ``Complaint``, without time: a complaint has several moments (received,
    resolved) and the caller picks the one its figure belongs to."""
    conditions = in_ids(Complaint.unit_id, filters.unit_ids)
    conditions += in_ids(Complaint.category_id, filters.category_ids)
    if filters.channel is not None:
        conditions.append(Complaint.channel == filters.channel)
    return conditions


def needs_complaint_join(filters: Filters) -> bool:
    """Whether invitation figures need their subject (``aggregates.join_subject``: for unit,
    category or channel)."""
    return (filters.unit_ids is not None or filters.category_ids is not None
            or filters.channel is not None)


def invitation_conditions(filters: Filters) -> list[ColumnElement[bool]]:
    """Conditions on ``Invitation`` (and on its complaint or service event, which the statement
    must join, ``aggregates.join_subject``, when ``needs_complaint_join``), without time."""
    conditions = in_ids(INVITATION_UNIT, filters.unit_ids)
    conditions += in_ids(Complaint.category_id, filters.category_ids)
    if filters.channel is not None:
        conditions.append(filters.channel == INVITATION_CHANNEL)
    if filters.source is not None:
        conditions.append(filters.source == INVITATION_SOURCE)
    if filters.mode is not None:
        conditions.append(Invitation.channel == filters.mode)
    if filters.questionnaire_id is not None:
        versions = select(QuestionnaireVersion.id).where(
            QuestionnaireVersion.questionnaire_id == filters.questionnaire_id
        )
        conditions.append(Invitation.version_id.in_(versions))
    if filters.language is not None:
        conditions.append(Invitation.language == filters.language)
    return conditions


def questionnaire_id_of(key: str | None) -> int | None:
    """The questionnaire a filter's key names, or None (no key, or no such questionnaire).
    A key no questionnaire can have (NUL, a lone surrogate: a callback's crafted value) is not
    looked up: the database would refuse it with an error."""
    if not key or not storable(key):
        return None
    return db.session.scalar(select(Questionnaire.id).where(Questionnaire.key == key))


def questionnaire_choices() -> list[tuple[str, str]]:
    """(key, title) of every questionnaire, by title: the questionnaire filter's options."""
    rows = db.session.execute(select(Questionnaire.key, Questionnaire.title)
                              .order_by(Questionnaire.title))
    return [(key, title) for key, title in rows]
