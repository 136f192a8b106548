"""Counting: the totals of ``app.analytics.aggregates`` for ``Filters``, by ``Split``.

Each tally function counts one kind of row (answers, responses, complaints, invitations) in the
period of ``filters``, grouped by a split (``app.analytics.splits``: period, unit, category,
channel, language, questionnaire, or several at once) and, with ``previous``, the period of the
same length before it in the same pass. Where the hourly rollup holds exactly what is asked
(``app.analytics.hourly.rollup_covers``) it is read instead of the rows; the totals are the same.

Which moment puts a row in a period: a response's submitted_at, a complaint's received_at (for
frequency) or resolved_at (for timeliness), an invitation's sent_at (the cohort; its response
counts whenever it came).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select

from app.analytics.aggregates import (
    COUNTED_ANSWER,
    HAS_DUE_TIME,
    INVITATION_COLUMNS,
    IS_COMPLAINT,
    RECEIVED_COLUMNS,
    RESOLVED_COLUMNS,
    RESPONSE_COLUMNS,
    AnswerTotals,
    ComplaintTotals,
    InvitationTotals,
    ResponseCount,
    Tally,
    add,
    answer_aggregates,
    invitation_aggregates,
    join_subject,
    received_aggregates,
    resolved_aggregates,
    response_aggregates,
    totals_of,
    with_response,
)
from app.analytics.filters import (
    Filters,
    complaint_conditions,
    invitation_conditions,
    needs_complaint_join,
    response_conditions,
)
from app.analytics.hourly import rollup_covers, rollup_tallies
from app.analytics.splits import Columns, Dimension, Split, run
from app.models import Answer, Invitation, QuestionnaireVersion, Response

T = TypeVar("T")


def _tally(kind: type[T], stmt: Any, columns: Columns, filters: Filters, split: Split | None,
           previous: bool) -> Tally[T]:
    table = run(stmt, columns, filters, split, previous=previous)
    return Tally(
        kind,
        {key: totals_of(kind, row) for key, row in table.current.items()},
        {key: totals_of(kind, row) for key, row in table.previous.items()},
    )


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
    resolved_stmt = select(*resolved_aggregates()).where(HAS_DUE_TIME, IS_COMPLAINT,
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
    dimensions = split.dimensions() if split is not None else set()
    if needs_complaint_join(filters) or dimensions & {
        Dimension.UNIT, Dimension.CATEGORY, Dimension.CHANNEL
    }:
        stmt = join_subject(stmt)
    if Dimension.QUESTIONNAIRE in dimensions:
        stmt = stmt.join(QuestionnaireVersion, QuestionnaireVersion.id == Invitation.version_id)
    stmt = with_response(stmt).where(*invitation_conditions(filters))
    return _tally(InvitationTotals, stmt, INVITATION_COLUMNS, filters, split, previous)


@dataclass(frozen=True)
class Tallies:
    """The four tallies a set of figures needs, counted together."""

    answers: Tally[AnswerTotals]
    responses: Tally[ResponseCount]
    complaints: Tally[ComplaintTotals]
    invitations: Tally[InvitationTotals]


def all_tallies(filters: Filters, split: Split | None = None, *, previous: bool = False,
                with_responses: bool = True) -> Tallies:
    """Answers, responses, complaints and invitations of ``filters`` by ``split``: one pass over
    the hourly rollup where it covers the question, else a query per kind of row. Responses are
    counted for the period only (no figure compares them with the previous one), and over the
    rows only ``with_responses`` (else left empty: the alerts look at answers, not responses)."""
    if rollup_covers(filters, split, previous):
        found = rollup_tallies(filters, split, previous, [
            AnswerTotals, ResponseCount, ComplaintTotals, InvitationTotals])
        return Tallies(found[AnswerTotals], found[ResponseCount], found[ComplaintTotals],
                       found[InvitationTotals])
    return Tallies(answer_tally(filters, split, previous=previous),
                   response_tally(filters, split) if with_responses else Tally(ResponseCount),
                   complaint_tally(filters, split, previous=previous),
                   invitation_tally(filters, split, previous=previous))
