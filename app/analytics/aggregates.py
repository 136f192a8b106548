"""The aggregate SQL expressions every figure starts from, and the totals they fill.

Every figure is computed from counts and sums that the database produces with GROUP BY; no
response, answer or complaint row is ever loaded into Python (docs/design.md, "How it scales"). The
same expressions are compiled into the hourly rollup's triggers (``app.analytics.rollup``), so a
figure read from the rollup equals one counted over the rows.

Which answers feed which figure (docs/design.md, "Metric definitions"):

- CSAT and mean score: rating answers to the "overall" attribute; satisfied = 4 or 5;
- NPS: nps answers; promoters 9-10, detractors 0-6;
- CES: effort answers;
- resolution confirmed: yes/no answers to the "resolution" attribute; yes = 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, and_, case, func, or_

from app.analytics.filters import INVITATION_CHANNEL, INVITATION_SOURCE, INVITATION_UNIT, NOT_HELD
from app.analytics.splits import WHOLE, Columns, Key
from app.models import (
    Answer,
    Complaint,
    ComplaintKind,
    Invitation,
    InvitationState,
    MessageDelivery,
    QuestionnaireVersion,
    Response,
    ServiceEvent,
)

CSAT_ANSWER = and_(Answer.question_type == "rating", Answer.attribute == "overall")
NPS_ANSWER = Answer.question_type == "nps"
CES_ANSWER = Answer.question_type == "effort"
RESOLUTION_ANSWER = and_(Answer.question_type == "yes_no", Answer.attribute == "resolution")
#: Only the answers some figure counts: fewer rows through the aggregate.
COUNTED_ANSWER = or_(CSAT_ANSWER, NPS_ANSWER, CES_ANSWER, RESOLUTION_ANSWER)
#: Which complaints count for timeliness: those with a committed due time.
HAS_DUE_TIME = Complaint.due_at.is_not(None)
#: A sent invitation that did not arrive: its mail bounced for good, or the SMS gateway (or a
#: hard bounce) reported its delivery failed. Counted as undelivered only while unanswered:
#: an answer proves the link arrived (docs/design.md, "Metric definitions").
#: Only complaints start the complaint life cycle: requests, suggestions and compliments are
#: never counted as complaints received, resolved or on time (compliments have a figure of
#: their own).
IS_COMPLAINT = Complaint.kind == ComplaintKind.COMPLAINT.value
IS_COMPLIMENT = Complaint.kind == ComplaintKind.COMPLIMENT.value
NOT_DELIVERED = or_(Invitation.state == InvitationState.BOUNCED,
                    Invitation.delivery == MessageDelivery.FAILED)

# The columns of each kind of row that put it in a period and a group, and that the filters
# look at (``app.analytics.filters``): the queries over the rows and the rollups' triggers
# both take them from here. Complaints have no questionnaire, language, source or mode; a
# service user's response no category (NULL: in no category's group).
RESPONSE_COLUMNS = Columns(
    time=Response.submitted_at, unit=Response.unit_id, category=Response.category_id,
    channel=Response.channel, language=Response.language,
    questionnaire=Response.questionnaire_id, source=Response.source, mode=Response.mode,
)
RECEIVED_COLUMNS = Columns(
    time=Complaint.received_at, unit=Complaint.unit_id, category=Complaint.category_id,
    channel=Complaint.channel,
)
RESOLVED_COLUMNS = replace(RECEIVED_COLUMNS, time=Complaint.resolved_at)
#: Invitations need their complaint or service event outer-joined (``join_subject``; and
#: their version, for the questionnaire); an invitation's mode is its channel.
INVITATION_COLUMNS = Columns(
    time=Invitation.sent_at, unit=INVITATION_UNIT, category=Complaint.category_id,
    channel=INVITATION_CHANNEL, language=Invitation.language,
    questionnaire=QuestionnaireVersion.questionnaire_id, source=INVITATION_SOURCE,
    mode=Invitation.channel,
)


def join_subject(stmt: Any) -> Any:
    """``stmt`` over invitations with what each is about joined: its complaint or its service
    event (one of the two, by the invitation's CHECK), for its unit, category and channel."""
    return (stmt.outerjoin(Complaint, Complaint.id == Invitation.complaint_id)
            .outerjoin(ServiceEvent, ServiceEvent.id == Invitation.service_event_id))


def with_response(stmt: Any) -> Any:
    """``stmt`` over invitations with their response outer-joined, if it is counted (a held
    response does not answer its invitation until it is accepted)."""
    return stmt.outerjoin(Response, and_(Response.invitation_id == Invitation.id, NOT_HELD))


# --- totals ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerTotals:
    """Counts and sums over the scored answers of responses submitted in a period."""

    csat_n: int = 0
    csat_satisfied: int = 0
    csat_sum: float = 0.0
    csat_sum_sq: float = 0.0
    nps_n: int = 0
    nps_promoters: int = 0
    nps_detractors: int = 0
    ces_n: int = 0
    ces_sum: float = 0.0
    ces_sum_sq: float = 0.0
    resolution_n: int = 0
    resolution_yes: int = 0


@dataclass(frozen=True)
class ResponseCount:
    """Responses submitted in a period."""

    responses: int = 0


@dataclass(frozen=True)
class ComplaintTotals:
    """Complaints received in a period; of those resolved in it with a due time, how many on
    time; compliments received in it (records of other kinds count in none of these)."""

    received: int = 0
    resolved_with_due: int = 0
    resolved_on_time: int = 0
    compliments: int = 0


@dataclass(frozen=True)
class InvitationTotals:
    """Invitations sent in a period, how many of them were answered (at any time since), and
    how many did not arrive (bounced or failed, and unanswered)."""

    sent: int = 0
    responded: int = 0
    undelivered: int = 0

    @property
    def delivered(self) -> int:
        """Sent and not known to have failed: the response rate's denominator."""
        return self.sent - self.undelivered


T = TypeVar("T")


def add(first: T, second: T) -> T:
    """Two totals of one kind added field by field: counts and sums add up."""
    return type(first)(**{f.name: getattr(first, f.name) + getattr(second, f.name)
                          for f in fields(first)})


def totals_of(kind: type[T], row: dict[str, Any]) -> T:
    """Totals of ``kind`` from a row of the aggregates below (other keys ignored; NULL is 0)."""
    values = {}
    for f in fields(kind):
        raw = row.get(f.name) or 0
        values[f.name] = float(raw) if f.type == "float" else int(raw)
    return kind(**values)


def answer_totals_of(row: dict[str, Any]) -> AnswerTotals:
    """``AnswerTotals`` from a row of ``answer_aggregates`` (other keys ignored)."""
    return totals_of(AnswerTotals, row)


@dataclass
class Tally(Generic[T]):
    """Totals by key for the period and, when asked, for the period before it."""

    kind: type[T]
    current: dict[Key, T] = field(default_factory=dict)
    previous: dict[Key, T] = field(default_factory=dict)

    def now(self, key: Key = WHOLE) -> T:
        return self.current.get(key) or self.kind()

    def before(self, key: Key = WHOLE) -> T:
        return self.previous.get(key) or self.kind()

    def total_now(self) -> T:
        return _sum(self.kind, self.current.values())

    def total_before(self) -> T:
        return _sum(self.kind, self.previous.values())

    def keys(self) -> set[Key]:
        return set(self.current) | set(self.previous)


def _sum(kind: type[T], items: Iterable[T]) -> T:
    total = kind()
    for item in items:
        total = add(total, item)
    return total


# --- aggregate expressions ---------------------------------------------------------------------


def _count_if(condition: ColumnElement[bool], column: Any) -> ColumnElement[int]:
    # COUNT skips NULLs, and CASE without ELSE gives NULL: portable and needs no bound literal.
    return func.count(case((condition, column)))


def _sum_if(condition: ColumnElement[bool], value: Any) -> ColumnElement[float]:
    return func.coalesce(func.sum(case((condition, value))), 0.0)


def answer_aggregates() -> list[ColumnElement[Any]]:
    """The counts and sums of ``AnswerTotals`` as labelled aggregates over ``Answer`` rows, for
    statements that join answers to what they want to group by."""
    value = Answer.value_number
    csat = and_(CSAT_ANSWER, value.is_not(None))
    nps = and_(NPS_ANSWER, value.is_not(None))
    ces = and_(CES_ANSWER, value.is_not(None))
    resolution = and_(RESOLUTION_ANSWER, value.is_not(None))
    return [
        _count_if(csat, Answer.id).label("csat_n"),
        _count_if(and_(csat, value >= 4), Answer.id).label("csat_satisfied"),
        _sum_if(csat, value).label("csat_sum"),
        _sum_if(csat, value * value).label("csat_sum_sq"),
        _count_if(nps, Answer.id).label("nps_n"),
        _count_if(and_(nps, value >= 9), Answer.id).label("nps_promoters"),
        _count_if(and_(nps, value <= 6), Answer.id).label("nps_detractors"),
        _count_if(ces, Answer.id).label("ces_n"),
        _sum_if(ces, value).label("ces_sum"),
        _sum_if(ces, value * value).label("ces_sum_sq"),
        _count_if(resolution, Answer.id).label("resolution_n"),
        _count_if(and_(resolution, value == 1), Answer.id).label("resolution_yes"),
    ]


def response_aggregates() -> list[ColumnElement[Any]]:
    """Responses counted (over ``Response`` rows)."""
    return [func.count(Response.id).label("responses")]


def received_aggregates() -> list[ColumnElement[Any]]:
    """Complaints and compliments counted, for frequency (over ``Complaint`` rows of their
    received_at, of every kind)."""
    return [_count_if(IS_COMPLAINT, Complaint.id).label("received"),
            _count_if(IS_COMPLIMENT, Complaint.id).label("compliments")]


def resolved_aggregates() -> list[ColumnElement[Any]]:
    """Timeliness of resolved complaints (over ``Complaint`` rows of their resolved_at that
    satisfy ``HAS_DUE_TIME`` and ``IS_COMPLAINT``): how many, and how many by their due
    time."""
    return [
        func.count(Complaint.id).label("resolved_with_due"),
        _count_if(Complaint.resolved_at <= Complaint.due_at, Complaint.id).label(
            "resolved_on_time"),
    ]


def invitation_aggregates() -> list[ColumnElement[Any]]:
    """Invitations sent, how many have a response, and how many did not arrive and have none
    (over ``Invitation`` rows outer-joined to their ``Response``)."""
    return [func.count(Invitation.id).label("sent"),
            func.count(Response.id).label("responded"),
            _count_if(and_(NOT_DELIVERED, Response.id.is_(None)), Invitation.id)
            .label("undelivered")]


def answered_aggregates() -> list[ColumnElement[Any]]:
    """What a response changes in its invitation's figures (over ``Response`` rows, not held,
    joined to their ``Invitation``): one more answered, and no longer undelivered if it was
    (the rollup counts a response on its own, ``app.analytics.rollup.ANSWERED``)."""
    return [func.count(Response.id).label("responded"),
            (-_count_if(NOT_DELIVERED, Response.id)).label("undelivered")]
