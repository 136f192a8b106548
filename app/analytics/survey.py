"""Survey results per questionnaire and question: distributions, NPS split, importance-performance,
key drivers, Cronbach's alpha and the free-text comments.

Answers are compared across versions by question key, and a key whose type (so its scale)
changed is never mixed: for each key only the versions that ``app.questionnaires.versions.
comparable_versions`` names (those asking it with the type of the newest version) are counted,
and the others are reported as left out. Queries group by version as well as by value, so the
choice of versions is made on a handful of count rows, never on answers.

Which items form a scale: the ``rating`` and ``likert`` questions (1-5) of the questionnaire.
Key drivers correlate each such item (except the overall rating itself) with the overall rating
of the same response; alpha takes the responses that answered every item.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import aliased

from app.analytics import metrics, redaction
from app.analytics.figures import Score, survey_mean
from app.analytics.filters import Filters, response_conditions
from app.analytics.metrics import Pearson
from app.extensions import db
from app.models import (
    Answer,
    Complainant,
    Complaint,
    Questionnaire,
    QuestionnaireVersion,
    Response,
    VersionStatus,
)
from app.questionnaires.versions import comparable_versions

SCALE_TYPES = ("rating", "likert")
PERFORMANCE_TYPES = SCALE_TYPES
NOT_DISTRIBUTED = ("text",)


@dataclass(frozen=True)
class Question:
    """A question as the newest version of its questionnaire asks it."""

    key: str
    type: str
    attribute: str | None
    text: dict[str, str]
    options: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Catalogue:
    """A questionnaire's questions (newest version first published, else newest draft) and,
    per question key, the version ids that may be counted together and the numbers left out."""

    questionnaire_id: int
    key: str
    title: str
    questions: tuple[Question, ...]
    versions: dict[str, frozenset[int]]
    left_out: dict[str, tuple[int, ...]]
    titles: dict[str, str] = field(default_factory=dict)  # per language, from the definition

    def question(self, key: str) -> Question | None:
        return next((q for q in self.questions if q.key == key), None)

    def scale_keys(self) -> list[str]:
        return [q.key for q in self.questions if q.type in SCALE_TYPES]


def questionnaires() -> list[tuple[int, str, str]]:
    """(id, key, title) of every questionnaire, by title."""
    rows = db.session.execute(select(Questionnaire.id, Questionnaire.key, Questionnaire.title)
                              .order_by(Questionnaire.title, Questionnaire.id))
    return [(row.id, row.key, row.title) for row in rows]


def catalogue(questionnaire_id: int) -> Catalogue | None:
    """The questions of a questionnaire and which versions of each may be compared."""
    questionnaire = db.session.get(Questionnaire, questionnaire_id)
    if questionnaire is None:
        return None
    versions = list(db.session.scalars(
        select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id
                                           == questionnaire_id)
        .order_by(QuestionnaireVersion.number)))
    if not versions:
        return None
    published = [v for v in versions if v.status == VersionStatus.PUBLISHED]
    newest = (published or versions)[-1]
    questions = tuple(_question(q) for q in newest.definition.get("questions") or []
                      if isinstance(q, dict) and q.get("key"))
    ids_by_number = {v.number: v.id for v in versions}
    comparable: dict[str, frozenset[int]] = {}
    left_out: dict[str, tuple[int, ...]] = {}
    for question in questions:
        numbers = _comparable_numbers(questionnaire.key, question.key, versions)
        comparable[question.key] = frozenset(ids_by_number[n] for n in numbers
                                             if n in ids_by_number)
        asked = [v.number for v in versions if _asks(v.definition, question.key)]
        left_out[question.key] = tuple(n for n in asked if n not in numbers)
    titles = newest.definition.get("title")
    return Catalogue(questionnaire_id, questionnaire.key, questionnaire.title, questions,
                     comparable, left_out, dict(titles) if isinstance(titles, dict) else {})


def _question(raw: dict[str, Any]) -> Question:
    return Question(key=str(raw["key"]), type=str(raw.get("type", "")),
                    attribute=raw.get("attribute"), text=dict(raw.get("text") or {}),
                    options=tuple(raw.get("options") or ()))


def _asks(definition: dict[str, Any], key: str) -> bool:
    return any(isinstance(q, dict) and q.get("key") == key
               for q in definition.get("questions") or [])


def _comparable_numbers(questionnaire_key: str, question_key: str,
                        versions: Sequence[QuestionnaireVersion]) -> list[int]:
    """Version numbers whose answers to ``question_key`` may be counted together."""
    numbers = comparable_versions(questionnaire_key, question_key)
    if numbers:
        return numbers
    # No published version asks it (e.g. only drafts): the versions with the newest type.
    typed = [(v.number, _type_of(v.definition, question_key)) for v in versions]
    typed = [(n, t) for n, t in typed if t is not None]
    if not typed:
        return []
    newest = typed[-1][1]
    return [n for n, t in typed if t == newest]


def _type_of(definition: dict[str, Any], key: str) -> str | None:
    for q in definition.get("questions") or []:
        if isinstance(q, dict) and q.get("key") == key:
            return str(q.get("type"))
    return None


def _comparable(catalogue: Catalogue, key: str, version_id: int) -> bool:
    return version_id in catalogue.versions.get(key, frozenset())


# --- distributions -------------------------------------------------------------------------------


@dataclass
class Distribution:
    """How one question was answered: counts per value (numbers as floats, choices as keys)."""

    key: str
    type: str
    responses: int = 0
    counts: dict[Any, int] = field(default_factory=dict)
    suppressed: bool = False
    mean: Score | None = None
    nps: NpsSplit | None = None
    left_out: tuple[int, ...] = ()


@dataclass(frozen=True)
class NpsSplit:
    promoters: int
    passives: int
    detractors: int
    score: Score


def distributions(filters: Filters, cat: Catalogue, min_group: int) -> list[Distribution]:
    """One distribution per question of ``cat`` (free text excluded), in questionnaire order."""
    filters = filters.but(questionnaire_id=cat.questionnaire_id)
    conditions = [Answer.question_type.not_in(NOT_DISTRIBUTED), *response_conditions(filters)]
    value_rows = db.session.execute(
        select(Answer.question_key, Response.version_id, Answer.value_number,
               Answer.value_choice, func.count(Answer.id).label("n"))
        .join(Response, Response.id == Answer.response_id).where(*conditions)
        .group_by(Answer.question_key, Response.version_id, Answer.value_number,
                  Answer.value_choice))
    response_rows = db.session.execute(
        select(Answer.question_key, Response.version_id,
               func.count(func.distinct(Answer.response_id)).label("n"))
        .join(Response, Response.id == Answer.response_id).where(*conditions)
        .group_by(Answer.question_key, Response.version_id))
    found = {q.key: Distribution(q.key, q.type, left_out=cat.left_out.get(q.key, ()))
             for q in cat.questions if q.type not in NOT_DISTRIBUTED}
    for key, version_id, number, choice, n in value_rows:
        if key in found and _comparable(cat, key, version_id):
            value = float(number) if number is not None and choice is None else (
                choice if choice is not None else None)
            if value is not None:
                counts = found[key].counts
                counts[value] = counts.get(value, 0) + int(n)
    for key, version_id, n in response_rows:
        if key in found and _comparable(cat, key, version_id):
            found[key].responses += int(n)
    for distribution in found.values():
        _finish(distribution, min_group)
    return list(found.values())


def _finish(d: Distribution, min_group: int) -> None:
    if d.responses < min_group:
        d.suppressed = True
        d.counts = {}
        return
    numeric = {v: n for v, n in d.counts.items() if isinstance(v, float)}
    if numeric and d.type not in ("yes_no", "single_choice", "multi_choice"):
        n = sum(numeric.values())
        total = sum(v * c for v, c in numeric.items())
        total_sq = sum(v * v * c for v, c in numeric.items())
        d.mean = survey_mean(n, total, total_sq, min_group)
    if d.type == "nps" and numeric:
        promoters = sum(c for v, c in numeric.items() if v >= 9)
        detractors = sum(c for v, c in numeric.items() if v <= 6)
        n = sum(numeric.values())
        d.nps = NpsSplit(promoters, n - promoters - detractors, detractors,
                         Score.of(metrics.nps(promoters, detractors, n)))


# --- importance-performance ----------------------------------------------------------------------


@dataclass(frozen=True)
class IpaPoint:
    attribute: str
    importance: Score  # mean importance, 1-5
    performance: Score  # mean performance, 1-5
    quadrant: str | None  # None when either mean is hidden


@dataclass(frozen=True)
class ImportancePerformance:
    points: list[IpaPoint]
    importance_centre: float | None
    performance_centre: float | None


def importance_performance(filters: Filters, cat: Catalogue,
                           min_group: int) -> ImportancePerformance:
    """Mean importance and mean performance per attribute, with quadrants around the means of
    the shown attributes (data-centred cross-hairs)."""
    filters = filters.but(questionnaire_id=cat.questionnaire_id)
    value = Answer.value_number
    rows = db.session.execute(
        select(Answer.question_key, Answer.attribute, Answer.question_type, Response.version_id,
               func.count(value).label("n"), func.sum(value).label("s"),
               func.sum(value * value).label("q"))
        .join(Response, Response.id == Answer.response_id)
        .where(Answer.question_type.in_(("importance", *PERFORMANCE_TYPES)),
               Answer.attribute.is_not(None), Answer.attribute != "overall",
               value.is_not(None), *response_conditions(filters))
        .group_by(Answer.question_key, Answer.attribute, Answer.question_type,
                  Response.version_id))
    sums: dict[tuple[str, str], list[float]] = {}
    for key, attribute, kind, version_id, n, s, q in rows:
        if not _comparable(cat, key, version_id):
            continue
        side = "importance" if kind == "importance" else "performance"
        entry = sums.setdefault((attribute, side), [0, 0.0, 0.0])
        entry[0] += int(n)
        entry[1] += float(s or 0)
        entry[2] += float(q or 0)
    attributes = sorted({attribute for attribute, side in sums if side == "importance"}
                        & {attribute for attribute, side in sums if side == "performance"})
    means = {}
    for attribute in attributes:
        means[attribute] = tuple(
            survey_mean(int(n), s, q, min_group)
            for n, s, q in (sums[(attribute, "importance")], sums[(attribute, "performance")]))
    shown = [(a, imp, perf) for a, (imp, perf) in means.items() if imp.shown and perf.shown]
    if not shown:
        return ImportancePerformance(
            [IpaPoint(a, imp, perf, None) for a, (imp, perf) in means.items()], None, None)
    importance_centre = sum(imp.value for _, imp, _ in shown) / len(shown)  # type: ignore[misc]
    performance_centre = sum(p.value for _, _, p in shown) / len(shown)  # type: ignore[misc]
    points = []
    for attribute, (imp, perf) in means.items():
        quadrant = (metrics.ipa_quadrant(imp.value, perf.value, importance_centre,
                                         performance_centre)
                    if imp.shown and perf.shown else None)
        points.append(IpaPoint(attribute, imp, perf, quadrant))
    return ImportancePerformance(points, importance_centre, performance_centre)


# --- key drivers and alpha -----------------------------------------------------------------------


@dataclass(frozen=True)
class Driver:
    key: str
    attribute: str | None
    correlation: Pearson | None  # None when hidden (fewer than min_group pairs) or undefined
    pairs: int


def key_drivers(filters: Filters, cat: Catalogue, min_group: int) -> list[Driver]:
    """Pearson's r of each 1-5 item with the overall rating, pairing answers of one response;
    strongest first. The database returns five sums per item and version."""
    filters = filters.but(questionnaire_id=cat.questionnaire_id)
    item, overall = aliased(Answer), aliased(Answer)
    x, y = item.value_number, overall.value_number
    rows = db.session.execute(
        select(item.question_key, Response.version_id, func.count().label("n"),
               func.sum(x).label("sx"), func.sum(y).label("sy"), func.sum(x * y).label("sxy"),
               func.sum(x * x).label("sxx"), func.sum(y * y).label("syy"))
        .select_from(item)
        .join(overall, and_(overall.response_id == item.response_id,
                            overall.question_type == "rating", overall.attribute == "overall"))
        .join(Response, Response.id == item.response_id)
        .where(item.question_type.in_(SCALE_TYPES), item.id != overall.id,
               item.question_key != overall.question_key,
               x.is_not(None), y.is_not(None), *response_conditions(filters))
        .group_by(item.question_key, Response.version_id))
    sums: dict[str, list[float]] = {}
    for key, version_id, *values in rows:
        if _comparable(cat, key, version_id):
            entry = sums.setdefault(key, [0.0] * 6)
            for i, value in enumerate(values):
                entry[i] += float(value or 0)
    drivers = []
    for key, (n, sx, sy, sxy, sxx, syy) in sums.items():
        question = cat.question(key)
        pearson = None
        if n >= max(min_group, 3):
            pearson = metrics.pearson_from_sums(int(n), sx, sy, sxy, sxx, syy)
            if math.isnan(pearson.r):
                pearson = None
        drivers.append(Driver(key, question.attribute if question else None, pearson, int(n)))
    return sorted(drivers, key=lambda d: (d.correlation is None,
                                          -(d.correlation.r if d.correlation else 0), d.key))


@dataclass(frozen=True)
class Alpha:
    items: tuple[str, ...]
    responses: int  # complete responses (every item answered)
    alpha: float | None  # None when hidden, undefined or with fewer than two items


def cronbach_alpha(filters: Filters, cat: Catalogue, min_group: int,
                   items: Sequence[str] | None = None) -> Alpha:
    """Cronbach's alpha of the questionnaire's 1-5 items (or ``items``) over the responses that
    answered all of them, from per-response sums the database computes: one row back."""
    keys = tuple(items if items is not None else cat.scale_keys())
    if len(keys) < 2:
        return Alpha(keys, 0, None)
    filters = filters.but(questionnaire_id=cat.questionnaire_id)
    allowed = frozenset.intersection(*(cat.versions.get(k, frozenset()) for k in keys))
    if not allowed:
        return Alpha(keys, 0, None)
    value = Answer.value_number
    per_response = (
        select(func.sum(value).label("total"),
               *[func.max(case((Answer.question_key == key, value))).label(f"x{i}")
                 for i, key in enumerate(keys)])
        .join(Response, Response.id == Answer.response_id)
        .where(Answer.question_key.in_(keys), value.is_not(None),
               Response.version_id.in_(sorted(allowed)), *response_conditions(filters))
        .group_by(Answer.response_id)
        .having(func.count(func.distinct(Answer.question_key)) == len(keys))
    ).subquery()
    columns = [func.count().label("n"), func.sum(per_response.c.total).label("t"),
               func.sum(per_response.c.total * per_response.c.total).label("tt")]
    for i in range(len(keys)):
        column = per_response.c[f"x{i}"]
        columns += [func.sum(column).label(f"s{i}"), func.sum(column * column).label(f"q{i}")]
    row = db.session.execute(select(*columns)).mappings().one()
    n = int(row["n"] or 0)
    if n < max(min_group, 2):
        return Alpha(keys, n, None)
    alpha = metrics.cronbach_alpha(
        n, [float(row[f"s{i}"]) for i in range(len(keys))],
        [float(row[f"q{i}"]) for i in range(len(keys))], float(row["t"]), float(row["tt"]))
    return Alpha(keys, n, None if math.isnan(alpha) else alpha)


# --- comments ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comment:
    submitted_at: dt.datetime
    unit_id: int
    category_id: int
    question_key: str
    text: str


def comments(filters: Filters, limit: int = 50,
             redact_with: Mapping[str, str] | None = None) -> list[Comment]:
    """The newest free-text answers (at most ``limit``). Who may read them is the caller's
    decision; the text is returned as typed, or with ``redact_with`` (the labels of
    ``app.analytics.redaction``) with personal data masked, the complainant's name included;
    it must be escaped where it is shown."""
    stmt = (select(Response.submitted_at, Response.unit_id, Response.category_id,
                   Answer.question_key, Answer.value_text, Response.language, Complainant.name)
            .join(Response, Response.id == Answer.response_id)
            .join(Complaint, Complaint.id == Response.complaint_id)
            .outerjoin(Complainant, Complainant.id == Complaint.complainant_id)
            .where(Answer.question_type == "text", Answer.value_text.is_not(None),
                   Answer.value_text != "", *response_conditions(filters))
            .order_by(Response.submitted_at.desc(), Answer.id.desc())
            .limit(limit))
    found = []
    for *row, language, name in db.session.execute(stmt):
        if redact_with is not None:
            row[4] = redaction.redact(row[4], names=[name] if name else [], language=language,
                                      labels=redact_with)
        found.append(Comment(*row))
    return found


def responses_per_questionnaire(filters: Filters) -> dict[int, int]:
    """Responses per questionnaire in the period (to pick the one to show first)."""
    stmt = (select(Response.questionnaire_id, func.count(Response.id))
            .where(*response_conditions(filters.but(questionnaire_id=None)))
            .group_by(Response.questionnaire_id))
    return {qid: int(n) for qid, n in db.session.execute(stmt)}

