"""Segments that say more than averages.

- First-time against repeat complainants: a response is from a repeat complainant when the same
  complainant (``Complaint.complainant_id``, an id: analytics reads no personal data) had a
  complaint received before the one the response is about.
- Outcome against process against staff: the share of positive answers (4 or 5 on a 1-5 item,
  "yes" on a yes/no item) over the items whose ``attribute`` measures the outcome (was it solved),
  the process (speed, access, clarity, fairness) or the staff (courtesy, customer focus).
- The false-closure rate per unit is ``LinkageRow.false_closure`` (``app.analytics.linkage``).

Every segment below ``min_group`` responses shows no figure, with the complementary suppression
of ``app.analytics.suppression.hidden_groups`` among its siblings.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, exists, func, literal_column, select
from sqlalchemy.orm import aliased

from app.analytics import metrics
from app.analytics.aggregates import (
    COUNTED_ANSWER,
    AnswerTotals,
    answer_aggregates,
    answer_totals_of,
)
from app.analytics.figures import Score, survey_nps, survey_proportion
from app.analytics.filters import Filters, response_conditions
from app.analytics.suppression import hidden_groups
from app.extensions import db
from app.models import Answer, Complaint, Response

FIRST_TIME = "first_time"
REPEAT = "repeat"
UNKNOWN = "unknown"

OUTCOME = "outcome"
PROCESS = "process"
STAFF = "staff"
#: Which attributes (``Answer.attribute``) belong to which aspect of complaint handling.
ASPECTS: dict[str, tuple[str, ...]] = {
    OUTCOME: ("resolution", "outcome", "result", "solution"),
    PROCESS: ("timeliness", "accessibility", "responsiveness", "objectivity", "confidentiality",
              "clarity", "communication", "information", "process"),
    STAFF: ("courtesy", "customer_focus", "staff", "empathy", "competence", "helpfulness"),
}
POSITIVE_TYPES = ("rating", "likert")


@dataclass(frozen=True)
class SegmentFigures:
    key: str
    responses: int
    suppressed: bool
    csat: Score
    nps: Score
    resolution_confirmed: Score


def complainant_history(filters: Filters, min_group: int) -> list[SegmentFigures]:
    """CSAT, NPS and resolution confirmed of first-time against repeat complainants (and of
    complaints without a known complainant, when there are any)."""
    earlier = aliased(Complaint)
    repeat = exists(select(earlier.id).where(
        earlier.complainant_id == Complaint.complainant_id,
        earlier.received_at < Complaint.received_at,
    ))
    kind = case(
        (Complaint.complainant_id.is_(None), literal_column(f"'{UNKNOWN}'")),
        (repeat, literal_column(f"'{REPEAT}'")),
        else_=literal_column(f"'{FIRST_TIME}'"),
    )
    # Not "kind": GROUP BY a name reads a column of that name first, and complaints have one.
    base = (select(kind.label("history")).select_from(Response)
            .join(Complaint, Complaint.id == Response.complaint_id)
            .where(*response_conditions(filters)))
    responses_stmt = base.add_columns(func.count(Response.id).label("n")).group_by(
        literal_column("history"))
    responses = {row.history: int(row.n) for row in db.session.execute(responses_stmt)}
    answers_stmt = (base.add_columns(*answer_aggregates())
                    .join(Answer, Answer.response_id == Response.id)
                    .where(COUNTED_ANSWER).group_by(literal_column("history")))
    totals = {row["history"]: answer_totals_of(dict(row))
              for row in db.session.execute(answers_stmt).mappings()}
    keys = [FIRST_TIME, REPEAT] + ([UNKNOWN] if responses.get(UNKNOWN) else [])
    hidden = hidden_groups({key: responses.get(key, 0) for key in keys}, min_group)
    result = []
    for key in keys:
        n = responses.get(key, 0)
        a = totals.get(key, AnswerTotals())
        if key in hidden or n < min_group:
            result.append(SegmentFigures(key, n, True, Score(n=a.csat_n, suppressed=True),
                                         Score(n=a.nps_n, suppressed=True),
                                         Score(n=a.resolution_n, suppressed=True)))
            continue
        result.append(SegmentFigures(
            key, n, False, survey_proportion(a.csat_satisfied, a.csat_n, min_group),
            survey_nps(a, min_group),
            survey_proportion(a.resolution_yes, a.resolution_n, min_group)))
    return result


@dataclass(frozen=True)
class AspectFigures:
    """Positive answers about one aspect of complaint handling."""

    key: str
    responses: int
    answers: int
    positive: Score


def aspects(filters: Filters, min_group: int) -> list[AspectFigures]:
    """Share of positive answers per aspect (outcome, process, staff)."""
    aspect = case(*[(Answer.attribute.in_(attributes), literal_column(f"'{name}'"))
                    for name, attributes in ASPECTS.items()])
    value = Answer.value_number
    positive = case(
        (and_(Answer.question_type.in_(POSITIVE_TYPES), value >= 4), Answer.id),
        (and_(Answer.question_type == "yes_no", value == 1), Answer.id),
    )
    scored = Answer.question_type.in_((*POSITIVE_TYPES, "yes_no"))
    stmt = (select(aspect.label("aspect"),
                   func.count(func.distinct(Answer.response_id)).label("responses"),
                   func.count(Answer.id).label("answers"),
                   func.count(positive).label("positive"))
            .select_from(Answer).join(Response, Response.id == Answer.response_id)
            .where(scored, value.is_not(None), aspect.is_not(None),
                   *response_conditions(filters))
            .group_by(literal_column("aspect")))
    rows = {row.aspect: row for row in db.session.execute(stmt)}
    keys = list(ASPECTS)
    counts = {key: int(rows[key].responses) if key in rows else 0 for key in keys}
    hidden = hidden_groups(counts, min_group)
    result = []
    for key in keys:
        row = rows.get(key)
        answers, good = (int(row.answers), int(row.positive)) if row is not None else (0, 0)
        if key in hidden or counts[key] < min_group or answers == 0:
            score = Score(n=answers, suppressed=True)
        else:
            score = Score.of(metrics.wilson_interval(good, answers))
        result.append(AspectFigures(key, counts[key], answers, score))
    return result
