"""How a simulated complainant answers whatever questionnaire is installed.

The questions come from the published version's definition (type, attribute, ``show_if``), so
the demo follows the shipped template as it changes instead of keeping its own copy. One hidden
"mood" per respondent drives every answer, which is what makes the items correlate the way real
answers do: the unit's usual satisfaction, its trend, the kind of complaint, a reopening, a late
resolution (a large drop), and whether the problem was really solved.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.demo import catalogue as cat
from app.demo.comments import compose
from app.demo.simulation import Case, Clock

SCALES = {
    "rating": (1, 5), "likert": (1, 5), "importance": (1, 5), "effort": (1, 7), "nps": (0, 10),
}
SKIP_OPTIONAL = 0.04
COMMENT_SHARE = 0.6
PRAISE_SHARE = 0.15  # of satisfied respondents, who write less often than the unhappy
# Where a middling respondent lands on each scale.
OVERALL_CENTRE, ITEM_CENTRE, NPS_CENTRE = 4.4, 4.2, 8.3


@dataclass(frozen=True)
class Mood:
    level: float  # 0 is a middling respondent; each unit is about one point on a 1-5 scale
    late: bool
    resolved: bool
    case: Case


def mood_of(rng: random.Random, case: Case, clock: Clock, resolved_at: dt.datetime) -> Mood:
    """How a respondent feels about the resolution at ``resolved_at`` that their invitation
    follows up: a reopened complaint's first survey can be answered while the complaint is
    open again, so the case's own ``resolved_at`` may not be set."""
    unit = case.unit
    level = unit.satisfaction + case.category.effect
    level += unit.trend * clock.months_from_middle(resolved_at)
    if case.reopened_at is not None:
        level -= 0.5
    if case.late:
        overdue = (case.resolved_at - case.due_at) / (case.due_at - case.received_at)
        level -= 0.8 + 0.4 * min(overdue, 1.5)
    resolved_share = unit.resolved_share - (0.12 if case.late else 0) - (
        0.25 if case.reopened_at else 0
    )
    resolved = rng.random() < max(resolved_share, 0.3)
    if not resolved:
        level -= 1.2
    level += rng.gauss(0, 0.85)
    return Mood(level, case.late, resolved, case)


def answer(
    rng: random.Random, mood: Mood, questions: list[Mapping[str, Any]], language: str
) -> list[dict[str, Any]]:
    """The answer rows for one response, questions in order, ``show_if`` applied."""
    from app.questionnaires.expressions import evaluate

    given: dict[str, object] = {}
    rows = []
    for question in questions:
        condition = question.get("show_if")
        if condition and not evaluate(condition, given):
            continue
        row = _answer_one(rng, mood, question, given, language)
        if row is None:
            continue
        given[question["key"]] = row.pop("_value")
        rows.append(row)
    return rows


def _answer_one(
    rng: random.Random, mood: Mood, question: Mapping[str, Any], given: Mapping[str, object],
    language: str,
) -> dict[str, Any] | None:
    kind, attribute = question["type"], question.get("attribute")
    if kind == "text":
        return _comment(rng, mood, question, given, language)
    if not question.get("required") and rng.random() < SKIP_OPTIONAL:
        return None
    row: dict[str, Any] = {
        "question_key": question["key"], "question_type": kind, "attribute": attribute,
        "value_number": None, "value_choice": None, "value_text": None,
    }
    if kind in SCALES:
        value = _scaled(rng, mood, kind, attribute)
        row["value_number"], row["_value"] = float(value), value
    elif kind == "yes_no":
        yes = mood.resolved if attribute == "resolution" else rng.random() < 0.5 + 0.15 * mood.level
        row["value_choice"], row["value_number"] = ("yes", 1.0) if yes else ("no", 0.0)
        row["_value"] = row["value_choice"]
    elif kind == "single_choice" and question.get("options"):
        row["value_choice"] = row["_value"] = rng.choice(question["options"])["key"]
    else:
        return None  # multi_choice and unknown types: the demo leaves them unanswered
    return row


def _scaled(rng: random.Random, mood: Mood, kind: str, attribute: str | None) -> int:
    low, high = SCALES[kind]
    if kind == "nps":
        value = NPS_CENTRE + 1.9 * mood.level + rng.gauss(0, 1.1)
    elif kind == "importance":
        value = cat.IMPORTANCE.get(attribute or "", 4.0) + rng.gauss(0, 0.7)
    elif kind == "effort":  # 7 is "very easy"
        value = 5.0 + 0.9 * mood.level + rng.gauss(0, 0.8)
    elif attribute == "overall":
        value = OVERALL_CENTRE + mood.level
    else:
        value = ITEM_CENTRE + 0.55 * mood.level + _item_shift(mood, attribute) + rng.gauss(0, 0.6)
    return int(min(max(round(value), low), high))


def _item_shift(mood: Mood, attribute: str | None) -> float:
    """What moves one item apart from the general mood: lateness, a unit's manners or letters."""
    unit = mood.case.unit
    if attribute in ("timeliness", "responsiveness"):
        return -1.3 if mood.late else 0.35
    if attribute == "courtesy":
        staff = -0.8 if mood.case.category.code == cat.STAFF_CATEGORY else 0.0
        return unit.courtesy + staff
    if attribute in ("clarity", "information"):
        return unit.clarity
    if attribute in ("outcome", "resolution"):
        return 0.0 if mood.resolved else -0.8
    return 0.0


def _comment(
    rng: random.Random, mood: Mood, question: Mapping[str, Any], given: Mapping[str, object],
    language: str,
) -> dict[str, Any] | None:
    """Some unsatisfied respondents say why, and some satisfied ones thank, in their own
    language, about what their complaint was (``app.demo.comments``)."""
    overall = given.get("overall")
    unhappy = (isinstance(overall, int) and overall <= 2) or given.get("resolved") == "no"
    pleased = isinstance(overall, int) and overall >= 4 and given.get("resolved") != "no"
    if unhappy:
        if rng.random() > COMMENT_SHARE:
            return None
    elif not pleased or rng.random() > PRAISE_SHARE:
        return None
    if pleased:
        reason = "praise"
    elif not mood.resolved:
        reason = "unresolved"
    elif mood.late:
        reason = "late"
    elif isinstance(given.get("courtesy"), int) and given["courtesy"] <= 2:  # type: ignore[operator]
        reason = "courtesy"
    elif isinstance(given.get("clarity"), int) and given["clarity"] <= 2:  # type: ignore[operator]
        reason = "clarity"
    else:
        reason = "other"
    text = compose(rng, language, mood.case.category.code, reason, mood.case.subject)
    text = text[: int(question.get("max_length") or 1000)]
    return {
        "question_key": question["key"], "question_type": "text",
        "attribute": question.get("attribute"), "value_number": None, "value_choice": None,
        "value_text": text, "_value": text,
    }
