"""SQL aggregate queries behind the figures, and the overview that combines them with the metrics.

Every figure is computed from counts and sums that the database produces with GROUP BY; no
response, answer or complaint row is ever loaded into Python (DESIGN.md, "How it scales").
Periods are half-open, [start, end), as aware datetimes; a plain date means local midnight in the
organisation's time zone (``tz``), since that is where months and days begin for the people who
read the dashboards. Needs an application context (the database session), never a request.

The counting functions take ``Filters`` (``app.analytics.filters``) and an optional ``Split``
(``app.analytics.splits``: by period, unit, category, channel, language or questionnaire), and
can count the previous period of the same length in the same pass, for changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, fields, replace
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select

from app.analytics import metrics
from app.analytics.filters import (
    Filters,
    complaint_conditions,
    expand,
    invitation_conditions,
    needs_complaint_join,
    response_conditions,
)
from app.analytics.metrics import MIN_GROUP, CountTest, Estimate, ZTest, suppress_small
from app.analytics.periods import Grain, Periods
from app.analytics.splits import ByDimension, ByPeriod, Columns, Dimension, Key, Split, run
from app.extensions import db
from app.models import (
    Answer,
    Category,
    Complaint,
    HourlyFigures,
    Invitation,
    QuestionnaireVersion,
    Response,
    Unit,
)

DateLike = dt.date | dt.datetime
#: Key of an ungrouped result in the dictionaries the queries return.
WHOLE_PERIOD = None

# Which answers feed which metric (DESIGN.md, "Contracts inside the code").
CSAT_ANSWER = and_(Answer.question_type == "rating", Answer.attribute == "overall")
NPS_ANSWER = Answer.question_type == "nps"
CES_ANSWER = Answer.question_type == "effort"
RESOLUTION_ANSWER = and_(Answer.question_type == "yes_no", Answer.attribute == "resolution")
SCORED_TYPES = ("rating", "nps", "effort", "yes_no")


# --- periods -----------------------------------------------------------------------------------


def to_instant(value: DateLike, tz: str = "UTC") -> dt.datetime:
    """An aware UTC datetime: a date is midnight in ``tz``; a naive datetime is refused."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given; pass an aware one or a date")
        return value.astimezone(dt.UTC)
    return dt.datetime.combine(value, dt.time(), ZoneInfo(tz)).astimezone(dt.UTC)


@dataclass(frozen=True)
class Months:
    """The calendar months, in time zone ``tz``, that overlap a period; used to group by month.

    (``app.analytics.periods.Periods`` generalises this to days, weeks and quarters.)
    """

    tz: str
    firsts: tuple[dt.date, ...]

    @classmethod
    def covering(cls, start: dt.datetime, end: dt.datetime, tz: str) -> Months:
        zone = ZoneInfo(tz)
        first = start.astimezone(zone).date().replace(day=1)
        last_moment = (end - dt.timedelta(microseconds=1)).astimezone(zone).date()
        firsts = []
        while first <= last_moment:
            firsts.append(first)
            first = _next_month(first)
        return cls(tz=tz, firsts=tuple(firsts))

    def boundaries(self) -> list[dt.datetime]:
        """UTC instants at which each month after the first begins."""
        zone = ZoneInfo(self.tz)
        return [
            dt.datetime.combine(first, dt.time(), zone).astimezone(dt.UTC)
            for first in self.firsts[1:]
        ]

    def bucket(self, column: Any, dialect: str) -> ColumnElement[str]:
        """The month of ``column`` as 'YYYY-MM' in the local time zone (dialect-aware).

        PostgreSQL knows time zones, so it converts and formats each value. SQLite has no time
        zone database, so the month is found by comparing with the UTC instants at which local
        months begin (exact across daylight-saving changes); this form works on any database.
        """
        if dialect == "postgresql":
            return func.to_char(func.timezone(self.tz, column), "YYYY-MM")
        labels = [first.strftime("%Y-%m") for first in self.firsts]
        if len(labels) == 1:
            return literal(labels[0])
        whens = [
            (column < boundary, literal(label))
            for boundary, label in zip(self.boundaries(), labels, strict=False)
        ]
        return case(*whens, else_=literal(labels[-1]))

    @staticmethod
    def key(label: str) -> dt.date:
        year, month = label.split("-")
        return dt.date(int(year), int(month), 1)

    def periods(self) -> Periods:
        return Periods(grain=Grain.MONTH, tz=self.tz, starts=self.firsts)


def _next_month(first: dt.date) -> dt.date:
    return dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)


def _dialect() -> str:
    return db.session.get_bind().dialect.name


# --- units -------------------------------------------------------------------------------------


def units_with_descendants(unit_ids: Iterable[int]) -> list[int]:
    """The given units and every unit below them in the tree (figures roll up the tree)."""
    return sorted(expand(Unit, unit_ids))


# --- aggregate queries -------------------------------------------------------------------------


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
class ComplaintTotals:
    """Complaints received in a period; of those resolved in it with a due time, how many on
    time."""

    received: int = 0
    resolved_with_due: int = 0
    resolved_on_time: int = 0


@dataclass(frozen=True)
class InvitationTotals:
    """Invitations sent in a period, and how many of them were answered (at any time since)."""

    sent: int = 0
    responded: int = 0


T = TypeVar("T")


def add(first: T, second: T) -> T:
    """Two totals of one kind added field by field: counts and sums add up."""
    return type(first)(**{f.name: getattr(first, f.name) + getattr(second, f.name)
                          for f in fields(first)})


def _from_row(kind: type[T], row: dict[str, Any]) -> T:
    values = {}
    for f in fields(kind):
        raw = row.get(f.name) or 0
        values[f.name] = float(raw) if f.type == "float" else int(raw)
    return kind(**values)


@dataclass
class Tally(Generic[T]):
    """Totals by key for the period and, when asked, for the period before it."""

    kind: type[T]
    current: dict[Key, T] = field(default_factory=dict)
    previous: dict[Key, T] = field(default_factory=dict)

    def now(self, key: Key = WHOLE_PERIOD) -> T:
        return self.current.get(key) or self.kind()

    def before(self, key: Key = WHOLE_PERIOD) -> T:
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


def _count_if(condition: ColumnElement[bool], column: Any) -> ColumnElement[int]:
    # COUNT skips NULLs, and CASE without ELSE gives NULL: portable and needs no bound literal.
    return func.count(case((condition, column)))


def _sum_if(condition: ColumnElement[bool], value: Any) -> ColumnElement[float]:
    return func.coalesce(func.sum(case((condition, value))), 0.0)


RESPONSE_COLUMNS = Columns(
    time=Response.submitted_at, unit=Response.unit_id, category=Response.category_id,
    channel=Response.channel, language=Response.language,
    questionnaire=Response.questionnaire_id,
)
RECEIVED_COLUMNS = Columns(
    time=Complaint.received_at, unit=Complaint.unit_id, category=Complaint.category_id,
    channel=Complaint.channel,
)
RESOLVED_COLUMNS = replace(RECEIVED_COLUMNS, time=Complaint.resolved_at)
INVITATION_COLUMNS = Columns(
    time=Invitation.sent_at, unit=Complaint.unit_id, category=Complaint.category_id,
    channel=Complaint.channel, language=Invitation.language,
    questionnaire=QuestionnaireVersion.questionnaire_id,
)


# --- the hourly rollup --------------------------------------------------------------------------

#: Off (``without_rollup``) to compute from the source rows, e.g. to check the rollup.
_use_rollup: ContextVar[bool] = ContextVar("memnun_use_rollup", default=True)
ROLLUP_COLUMNS = Columns(time=HourlyFigures.hour, unit=HourlyFigures.unit_id)


@contextmanager
def without_rollup() -> Iterator[None]:
    """Compute every figure from the source rows inside this block."""
    token = _use_rollup.set(False)
    try:
        yield
    finally:
        _use_rollup.reset(token)


def _on_the_hour(moment: dt.datetime) -> bool:
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0) == moment


def rollup_covers(filters: Filters, split: Split | None, previous: bool) -> bool:
    """Whether ``hourly_figures`` holds exactly what is asked: filtered by unit at most, every
    boundary (the periods', the groups') on a whole UTC hour, grouped by period or unit."""
    if not _use_rollup.get() or any(value is not None for value in (
            filters.category_ids, filters.channel, filters.questionnaire_id, filters.language)):
        return False
    edges = [filters.start, filters.end, *([filters.start - filters.length] if previous else [])]
    if isinstance(split, ByPeriod):
        edges += split.periods.boundaries()
    elif split is not None and not (isinstance(split, ByDimension)
                                    and split.dimension is Dimension.UNIT):
        return False
    return all(_on_the_hour(edge) for edge in edges)


def rollup_tallies(filters: Filters, split: Split | None, previous: bool,
                   kinds: Iterable[type]) -> dict[type, Tally[Any]]:
    """Tallies of several kinds of totals in one pass over ``hourly_figures`` (where
    ``rollup_covers``); a group none of whose figures of a kind is counted is left out of that
    kind, as the queries over the source rows leave it out."""
    kinds = list(kinds)
    names = [f.name for kind in kinds for f in fields(kind)]
    table = HourlyFigures.__table__
    stmt = select(*[func.coalesce(func.sum(table.c[name]), 0).label(name) for name in names])
    stmt = stmt.where(*_in_ids(HourlyFigures.unit_id, filters.unit_ids))
    rows = run(stmt, ROLLUP_COLUMNS, filters, split, previous=previous)

    def counted(kind: type, side: dict[Key, dict[str, Any]]) -> dict[Key, Any]:
        totals = {key: _from_row(kind, row) for key, row in side.items()}
        return {key: value for key, value in totals.items() if value != kind()}

    return {kind: Tally(kind, counted(kind, rows.current), counted(kind, rows.previous))
            for kind in kinds}


def _in_ids(column: Any, ids: Collection[int] | None) -> list[ColumnElement[bool]]:
    return [] if ids is None else [column.in_(sorted(ids))]


def _tally(kind: type[T], stmt: Any, columns: Columns, filters: Filters, split: Split | None,
           previous: bool) -> Tally[T]:
    table = run(stmt, columns, filters, split, previous=previous)
    return Tally(
        kind,
        {key: _from_row(kind, row) for key, row in table.current.items()},
        {key: _from_row(kind, row) for key, row in table.previous.items()},
    )


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


#: Only the answers some figure counts: fewer rows through the aggregate.
COUNTED_ANSWER = or_(CSAT_ANSWER, NPS_ANSWER, CES_ANSWER, RESOLUTION_ANSWER)


def answer_totals_of(row: dict[str, Any]) -> AnswerTotals:
    """``AnswerTotals`` from a row of ``answer_aggregates`` (other keys ignored)."""
    return _from_row(AnswerTotals, row)


def response_aggregates() -> list[ColumnElement[Any]]:
    """Responses counted (over ``Response`` rows)."""
    return [func.count(Response.id).label("responses")]


def received_aggregates() -> list[ColumnElement[Any]]:
    """Complaints counted, for frequency (over ``Complaint`` rows of their received_at)."""
    return [func.count(Complaint.id).label("received")]


#: Which complaints count for timeliness: those with a committed due time.
HAS_DUE_TIME = Complaint.due_at.is_not(None)


def resolved_aggregates() -> list[ColumnElement[Any]]:
    """Timeliness of resolved complaints (over ``Complaint`` rows of their resolved_at that
    satisfy ``HAS_DUE_TIME``): how many, and how many by their due time."""
    return [
        func.count(Complaint.id).label("resolved_with_due"),
        _count_if(Complaint.resolved_at <= Complaint.due_at, Complaint.id).label(
            "resolved_on_time"),
    ]


def invitation_aggregates() -> list[ColumnElement[Any]]:
    """Invitations sent and how many have a response (over ``Invitation`` rows outer-joined
    to their ``Response``)."""
    return [func.count(Invitation.id).label("sent"),
            func.count(Response.id).label("responded")]


def totals_of(kind: type[T], row: dict[str, Any]) -> T:
    """Totals of ``kind`` from a row of the aggregates above (other keys ignored)."""
    return _from_row(kind, row)


def answer_tally(filters: Filters, split: Split | None = None, *,
                 previous: bool = False) -> Tally[AnswerTotals]:
    """Counts and sums for CSAT, mean score, NPS, CES and resolution confirmed, in one pass over
    the answers of the responses that ``filters`` selects."""
    if rollup_covers(filters, split, previous):
        return rollup_tallies(filters, split, previous, [AnswerTotals])[AnswerTotals]
    stmt = (
        select(*answer_aggregates())
        .select_from(Answer)
        .join(Response, Response.id == Answer.response_id)
        .where(COUNTED_ANSWER, *response_conditions(filters, timed=False))
    )
    return _tally(AnswerTotals, stmt, RESPONSE_COLUMNS, filters, split, previous)


@dataclass(frozen=True)
class ResponseCount:
    responses: int = 0


def response_tally(filters: Filters, split: Split | None = None, *,
                   previous: bool = False) -> Tally[ResponseCount]:
    """Responses that ``filters`` selects."""
    if rollup_covers(filters, split, previous):
        return rollup_tallies(filters, split, previous, [ResponseCount])[ResponseCount]
    stmt = select(*response_aggregates()).where(*response_conditions(filters, timed=False))
    return _tally(ResponseCount, stmt, RESPONSE_COLUMNS, filters, split, previous)


def complaint_tally(filters: Filters, split: Split | None = None, *,
                    previous: bool = False) -> Tally[ComplaintTotals]:
    """Complaints received in the period, and timeliness of those resolved in it.

    Two queries because the two figures belong to different moments of a complaint: received_at
    for frequency, resolved_at for timeliness (a complaint counts where its resolution happened).
    """
    if rollup_covers(filters, split, previous):
        return rollup_tallies(filters, split, previous, [ComplaintTotals])[ComplaintTotals]
    received_stmt = select(*received_aggregates()).where(*complaint_conditions(filters))
    received = _tally(ComplaintTotals, received_stmt, RECEIVED_COLUMNS, filters, split, previous)
    resolved_stmt = select(*resolved_aggregates()).where(HAS_DUE_TIME,
                                                         *complaint_conditions(filters))
    resolved = _tally(ComplaintTotals, resolved_stmt, RESOLVED_COLUMNS, filters, split, previous)
    return Tally(
        ComplaintTotals,
        {key: add(received.now(key), resolved.now(key))
         for key in received.current.keys() | resolved.current.keys()},
        {key: add(received.before(key), resolved.before(key))
         for key in received.previous.keys() | resolved.previous.keys()},
    )


def invitation_tally(filters: Filters, split: Split | None = None, *,
                     previous: bool = False) -> Tally[InvitationTotals]:
    """Invitations sent in the period (the cohort) and how many of them have a response."""
    if rollup_covers(filters, split, previous):
        return rollup_tallies(filters, split, previous, [InvitationTotals])[InvitationTotals]
    stmt = select(*invitation_aggregates()).select_from(Invitation)
    dimension = split.dimension if isinstance(split, ByDimension) else None
    if needs_complaint_join(filters) or dimension in (
        Dimension.UNIT, Dimension.CATEGORY, Dimension.CHANNEL
    ):
        stmt = stmt.join(Complaint, Complaint.id == Invitation.complaint_id)
    if dimension is Dimension.QUESTIONNAIRE:
        stmt = stmt.join(QuestionnaireVersion, QuestionnaireVersion.id == Invitation.version_id)
    stmt = stmt.outerjoin(Response, Response.invitation_id == Invitation.id).where(
        *invitation_conditions(filters)
    )
    return _tally(InvitationTotals, stmt, INVITATION_COLUMNS, filters, split, previous)


def _month_split(months: Months | None) -> Split | None:
    return None if months is None else ByPeriod(months.periods())


def answer_totals(
    start: dt.datetime,
    end: dt.datetime,
    unit_ids: Collection[int] | None = None,
    months: Months | None = None,
) -> dict[dt.date | None, AnswerTotals]:
    """Counts and sums for CSAT, mean score, NPS, CES and resolution confirmed, in one pass over
    the answers of responses submitted in [start, end) in ``unit_ids`` (None: all units)."""
    return answer_tally(Filters(start, end, unit_ids=unit_ids), _month_split(months)).current


def response_counts(
    start: dt.datetime,
    end: dt.datetime,
    unit_ids: Collection[int] | None = None,
    months: Months | None = None,
) -> dict[dt.date | None, int]:
    """Responses submitted in [start, end)."""
    tally = response_tally(Filters(start, end, unit_ids=unit_ids), _month_split(months))
    return {key: counted.responses for key, counted in tally.current.items()}


def complaint_totals(
    start: dt.datetime,
    end: dt.datetime,
    unit_ids: Collection[int] | None = None,
    months: Months | None = None,
) -> dict[dt.date | None, ComplaintTotals]:
    """Complaints received in [start, end), and timeliness of those resolved in it."""
    return complaint_tally(Filters(start, end, unit_ids=unit_ids), _month_split(months)).current


def invitation_totals(
    start: dt.datetime,
    end: dt.datetime,
    unit_ids: Collection[int] | None = None,
    months: Months | None = None,
) -> dict[dt.date | None, InvitationTotals]:
    """Invitations sent in [start, end) (the cohort) and how many of them have a response."""
    return invitation_tally(Filters(start, end, unit_ids=unit_ids), _month_split(months)).current


# --- figures -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    """A figure ready to show: value and interval, or nothing when suppressed or without data.

    ``suppressed`` means "too few responses" (below the smallest group); a figure with no data at
    all that is not about respondents (e.g. on-time resolution) has ``value`` None and is not
    suppressed.
    """

    n: int
    value: float | None = None
    low: float | None = None
    high: float | None = None
    suppressed: bool = False

    @classmethod
    def of(cls, estimate: Estimate) -> Score:
        return cls(n=estimate.n, value=estimate.value, low=estimate.low, high=estimate.high)

    @property
    def shown(self) -> bool:
        return self.value is not None and not self.suppressed


def survey_proportion(successes: int, n: int, min_group: int) -> Score:
    if suppress_small(n, min_group) or n == 0:
        return Score(n=n, suppressed=True)
    return Score.of(metrics.wilson_interval(successes, n))


def survey_mean(n: int, total: float, total_sq: float, min_group: int) -> Score:
    if suppress_small(n, min_group) or n < 2:  # one value has no interval
        return Score(n=n, suppressed=True)
    return Score.of(metrics.mean_interval(n, total, total_sq))


def survey_nps(totals: AnswerTotals, min_group: int) -> Score:
    if suppress_small(totals.nps_n, min_group) or totals.nps_n == 0:
        return Score(n=totals.nps_n, suppressed=True)
    return Score.of(metrics.nps(totals.nps_promoters, totals.nps_detractors, totals.nps_n))


def survey_figure(name: str, a: AnswerTotals, min_group: int) -> Score:
    """The survey figure ``name`` (csat, mean, nps, ces or resolution_confirmed) of ``a``."""
    if name == "csat":
        return survey_proportion(a.csat_satisfied, a.csat_n, min_group)
    if name == "mean":
        return survey_mean(a.csat_n, a.csat_sum, a.csat_sum_sq, min_group)
    if name == "nps":
        return survey_nps(a, min_group)
    if name == "ces":
        return survey_mean(a.ces_n, a.ces_sum, a.ces_sum_sq, min_group)
    return survey_proportion(a.resolution_yes, a.resolution_n, min_group)


def plain_proportion(successes: int, n: int) -> Score:
    """A share about complaints or invitations, not respondents: shown whenever there is data."""
    return Score(n=0) if n == 0 else Score.of(metrics.wilson_interval(successes, n))


@dataclass(frozen=True)
class Overview:
    """The executive overview for one period and set of units.

    Changes compare with the previous period of the same length; each is None when either
    period may not be shown (too few responses) or has no data.
    """

    start: dt.datetime
    end: dt.datetime
    min_group: int
    responses: int
    suppressed: bool  # fewer than min_group responses: no survey score is shown
    csat: Score
    csat_change: ZTest | None  # against the previous period of the same length
    mean_score: Score
    nps: Score
    nps_change: ZTest | None
    ces: Score
    resolution_confirmed: Score
    complaints: int
    on_time: Score
    invitations_sent: int
    response_rate: Score
    resolution_change: ZTest | None = None
    complaints_previous: int = 0
    complaints_change: CountTest | None = None
    on_time_change: ZTest | None = None
    response_rate_change: ZTest | None = None


def overview(
    start: DateLike,
    end: DateLike,
    unit_ids: Iterable[int] | None = None,
    min_group: int = MIN_GROUP,
    *,
    tz: str = "UTC",
    category_ids: Iterable[int] | None = None,
    channel: str | None = None,
    questionnaire_id: int | None = None,
    language: str | None = None,
) -> Overview:
    """Figures for [start, end) in ``unit_ids`` and the units below them (None: everything),
    optionally only for some categories (and those below), a channel, a questionnaire or a
    language.

    Survey scores with fewer than ``min_group`` answers are suppressed. Changes against the
    previous period of the same length are tested only when both periods may be shown.
    """
    filters = Filters(
        to_instant(start, tz), to_instant(end, tz),
        unit_ids=None if unit_ids is None else expand(Unit, unit_ids),
        category_ids=None if category_ids is None else expand(Category, category_ids),
        channel=channel, questionnaire_id=questionnaire_id, language=language,
    )
    return overview_of(filters, min_group)


def overview_of(filters: Filters, min_group: int = MIN_GROUP) -> Overview:
    """The overview for ``filters`` (unit and category ids already expanded)."""
    return _overview(filters, min_group, None)[0]


@dataclass(frozen=True)
class PeriodFigures:
    """One period (day, week, month or quarter) of a trend; ``start`` is its first local day."""

    start: dt.date
    responses: int
    csat: Score
    mean_score: Score
    nps: Score
    resolution_confirmed: Score
    complaints: int
    on_time: Score
    invitations_sent: int
    response_rate: Score


def overview_and_trend(
    filters: Filters, grain: Grain | str, min_group: int = MIN_GROUP, tz: str = "UTC"
) -> tuple[Overview, list[PeriodFigures]]:
    """The overview and its trend per period of ``grain`` (every period listed, oldest first),
    from the same queries: each counts the previous period and this one's periods in one pass,
    and the overview adds the periods up (counts and sums add up)."""
    periods = Periods.covering(filters.start, filters.end, grain, tz)
    return _overview(filters, min_group, periods)  # type: ignore[return-value]


def _overview(filters: Filters, min_group: int,
              periods: Periods | None) -> tuple[Overview, list[PeriodFigures] | None]:
    split = None if periods is None else ByPeriod(periods)
    if rollup_covers(filters, split, True):  # one pass for every figure
        tallies = rollup_tallies(filters, split, True, [
            AnswerTotals, ResponseCount, ComplaintTotals, InvitationTotals])
        answers, responses = tallies[AnswerTotals], tallies[ResponseCount]
        complaints, invitations = tallies[ComplaintTotals], tallies[InvitationTotals]
    else:
        answers = answer_tally(filters, split, previous=True)
        responses = response_tally(filters, split)
        complaints = complaint_tally(filters, split, previous=True)
        invitations = invitation_tally(filters, split, previous=True)
    now, before = answers.total_now(), answers.total_before()
    complaints_now, complaints_before = complaints.total_now(), complaints.total_before()
    sent_now, sent_before = invitations.total_now(), invitations.total_before()
    response_total = sum(count.responses for count in responses.current.values())
    figures = Overview(
        start=filters.start,
        end=filters.end,
        min_group=min_group,
        responses=response_total,
        suppressed=suppress_small(response_total, min_group),
        csat=survey_proportion(now.csat_satisfied, now.csat_n, min_group),
        csat_change=_csat_change(now, before, min_group),
        mean_score=survey_mean(now.csat_n, now.csat_sum, now.csat_sum_sq, min_group),
        nps=survey_nps(now, min_group),
        nps_change=_nps_change(now, before, min_group),
        ces=survey_mean(now.ces_n, now.ces_sum, now.ces_sum_sq, min_group),
        resolution_confirmed=survey_proportion(now.resolution_yes, now.resolution_n, min_group),
        resolution_change=proportion_change(now.resolution_yes, now.resolution_n,
                                            before.resolution_yes, before.resolution_n,
                                            min_group),
        complaints=complaints_now.received,
        complaints_previous=complaints_before.received,
        complaints_change=count_change(complaints_now.received, complaints_before.received),
        on_time=plain_proportion(complaints_now.resolved_on_time,
                                 complaints_now.resolved_with_due),
        on_time_change=proportion_change(
            complaints_now.resolved_on_time, complaints_now.resolved_with_due,
            complaints_before.resolved_on_time, complaints_before.resolved_with_due, 1),
        invitations_sent=sent_now.sent,
        response_rate=plain_proportion(sent_now.responded, sent_now.sent),
        response_rate_change=proportion_change(sent_now.responded, sent_now.sent,
                                               sent_before.responded, sent_before.sent, 1),
    )
    if periods is None:
        return figures, None
    trend = [
        _period_figures(first, answers.now(first), responses.current.get(first),
                        complaints.now(first), invitations.now(first), min_group)
        for first in periods.starts
    ]
    return figures, _complementary(trend, answers, min_group)


#: The survey figures of a period and the count each is computed from.
PERIOD_SURVEY_FIGURES: dict[str, Callable[[AnswerTotals], int]] = {
    "csat": lambda a: a.csat_n, "mean_score": lambda a: a.csat_n, "nps": lambda a: a.nps_n,
    "resolution_confirmed": lambda a: a.resolution_n,
}


def _complementary(trend: list[PeriodFigures], answers: Tally[AnswerTotals],
                   min_group: int) -> list[PeriodFigures]:
    """Hide a second period where only one is hidden: the periods add up to the overview's
    figure, so one hidden period could be worked out from the others (the rule of
    ``app.analytics.grouped.hidden_groups``)."""
    from app.analytics.grouped import hidden_groups  # grouped imports this module

    hidden_by_figure = {
        name: hidden_groups({p.start: count(answers.now(p.start)) for p in trend}, min_group)
        for name, count in PERIOD_SURVEY_FIGURES.items()
    }
    result = []
    for period in trend:
        changes = {name: Score(n=getattr(period, name).n, suppressed=True)
                   for name, hidden in hidden_by_figure.items()
                   if period.start in hidden and getattr(period, name).shown}
        result.append(replace(period, **changes) if changes else period)
    return result


def _period_figures(first: dt.date, a: AnswerTotals, responses: ResponseCount | None,
                    c: ComplaintTotals, i: InvitationTotals, min_group: int) -> PeriodFigures:
    return PeriodFigures(
        start=first,
        responses=responses.responses if responses is not None else 0,
        csat=survey_proportion(a.csat_satisfied, a.csat_n, min_group),
        mean_score=survey_mean(a.csat_n, a.csat_sum, a.csat_sum_sq, min_group),
        nps=survey_nps(a, min_group),
        resolution_confirmed=survey_proportion(a.resolution_yes, a.resolution_n, min_group),
        complaints=c.received,
        on_time=plain_proportion(c.resolved_on_time, c.resolved_with_due),
        invitations_sent=i.sent,
        response_rate=plain_proportion(i.responded, i.sent),
    )


# --- changes -----------------------------------------------------------------------------------


def proportion_change(x_now: int, n_now: int, x_before: int, n_before: int,
                      min_group: int) -> ZTest | None:
    """Two-proportion z test of a share against the previous period; None when either period
    has no data or fewer than ``min_group`` observations (1 for shares about complaints)."""
    smaller = min(n_now, n_before)
    if smaller == 0 or suppress_small(smaller, min_group):
        return None
    return metrics.two_proportion_z_test(x_now, n_now, x_before, n_before)


def count_change(now: int, before: int) -> CountTest | None:
    """Exact test of complaints now against the previous period of the same length. None when
    the previous period had none: that is usually before records began, not a real rise."""
    if before == 0:
        return None
    return metrics.poisson_rate_test(now, 1.0, before, 1.0)


def _csat_change(now: AnswerTotals, before: AnswerTotals, min_group: int) -> ZTest | None:
    return proportion_change(now.csat_satisfied, now.csat_n, before.csat_satisfied,
                             before.csat_n, min_group)


def _nps_change(now: AnswerTotals, before: AnswerTotals, min_group: int) -> ZTest | None:
    smaller = min(now.nps_n, before.nps_n)
    if smaller == 0 or suppress_small(smaller, min_group):
        return None
    return metrics.nps_difference_test(
        metrics.nps(now.nps_promoters, now.nps_detractors, now.nps_n),
        metrics.nps(before.nps_promoters, before.nps_detractors, before.nps_n),
    )


SURVEY_CHANGES: dict[str, Callable[[AnswerTotals, AnswerTotals, int], ZTest | None]] = {
    "csat": _csat_change,
    "nps": _nps_change,
    "resolution_confirmed": lambda now, before, k: proportion_change(
        now.resolution_yes, now.resolution_n, before.resolution_yes, before.resolution_n, k),
}


# --- monthly trend (kept for its callers; ``overview_and_trend`` is the general form) ----------


@dataclass(frozen=True)
class MonthFigures:
    """One month of the trend; ``month`` is its first day in the organisation's time zone."""

    month: dt.date
    responses: int
    csat: Score
    mean_score: Score
    nps: Score
    complaints: int
    on_time: Score
    invitations_sent: int
    response_rate: Score


def monthly_series(
    start: DateLike,
    end: DateLike,
    unit_ids: Iterable[int] | None = None,
    min_group: int = MIN_GROUP,
    *,
    tz: str = "UTC",
) -> list[MonthFigures]:
    """The overview's figures per calendar month of ``tz`` within [start, end), every month listed
    (empty ones too), oldest first. Each month is suppressed on its own responses."""
    start_at, end_at = to_instant(start, tz), to_instant(end, tz)
    if end_at <= start_at:
        return []
    filters = Filters(start_at, end_at,
                      unit_ids=None if unit_ids is None else expand(Unit, unit_ids))
    _, trend = overview_and_trend(filters, Grain.MONTH, min_group, tz)
    return [
        MonthFigures(month=p.start, responses=p.responses, csat=p.csat, mean_score=p.mean_score,
                     nps=p.nps, complaints=p.complaints, on_time=p.on_time,
                     invitations_sent=p.invitations_sent, response_rate=p.response_rate)
        for p in trend
    ]
