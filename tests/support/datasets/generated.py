"""A random but reproducible dataset for the analytics tests, kept in Python as well as in the
database, so that every SQL figure can be checked against a direct computation (numpy, scipy)
on the same rows.

Used by tests/analytics/ (breakdown, linkage, survey) and tests/dashboards/ (pages, browser).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from app.extensions import db
from app.models import (
    Answer,
    Category,
    Channel,
    Complainant,
    Complaint,
    ComplaintStatus,
    Invitation,
    InvitationState,
    Questionnaire,
    QuestionnaireVersion,
    Response,
    ServiceVolume,
    SuppressionReason,
    Target,
    Unit,
    VersionStatus,
)
from tests.support.factories import make_complaint

UTC = dt.UTC
START = dt.datetime(2024, 10, 1, tzinfo=UTC)
END = dt.datetime(2025, 4, 1, tzinfo=UTC)

# code -> parent code: a tree with a unit that has complaints of its own ("a") and children.
UNITS = {"org": None, "a": "org", "a1": "a", "a2": "a", "b": "org", "b1": "b", "solo": None}
LEAF_UNITS = ["a", "a1", "a2", "b1", "solo"]
CATEGORIES = {"c1": None, "c1a": "c1", "c1b": "c1", "c2": None}
LEAF_CATEGORIES = ["c1a", "c1b", "c2"]
CHANNELS = [Channel.WEB, Channel.PHONE, Channel.EMAIL]
LANGUAGES = ["tr", "en"]
VOLUMES = {"a": 4000, "a1": 9000, "a2": 2500, "b1": 7000, "solo": 1200}

# The satisfaction questionnaire: in version 2 "ease" changed from a 1-5 rating to a 1-7 effort
# question, so its two versions must never be counted together.
QUESTIONS_V1 = [
    {"key": "overall", "type": "rating", "attribute": "overall"},
    {"key": "resolved", "type": "yes_no", "attribute": "resolution"},
    {"key": "timeliness", "type": "rating", "attribute": "timeliness"},
    {"key": "courtesy", "type": "rating", "attribute": "courtesy"},
    {"key": "ease", "type": "rating", "attribute": "accessibility"},
    {"key": "recommend", "type": "nps", "attribute": "loyalty"},
    {"key": "improve", "type": "text", "attribute": None},
]
QUESTIONS_V2 = [dict(q, type="effort") if q["key"] == "ease" else q for q in QUESTIONS_V1]
# Importance-performance pairs (a second questionnaire).
IPA_ATTRIBUTES = ["accessibility", "responsiveness", "objectivity"]
QUESTIONS_IPA = [{"key": "overall", "type": "rating", "attribute": "overall"}] + [
    q for attribute in IPA_ATTRIBUTES for q in (
        {"key": attribute, "type": "rating", "attribute": attribute},
        {"key": f"{attribute}_importance", "type": "importance", "attribute": attribute},
    )
]


def _definition(key: str, questions: list[dict[str, Any]]) -> dict[str, Any]:
    return {"key": key, "languages": ["tr", "en"], "title": {"tr": key, "en": key},
            "questions": [dict(q, text={"tr": q["key"], "en": q["key"]}) for q in questions]}


@dataclass
class RawResponse:
    id: int
    unit: str
    category: str
    channel: str
    language: str
    questionnaire: str
    version: int
    submitted_at: dt.datetime
    complaint: RawComplaint
    answers: dict[str, tuple[str, str | None, float | None, str | None, str | None]]

    def number(self, key: str) -> float | None:
        answer = self.answers.get(key)
        return answer[2] if answer else None


@dataclass
class RawComplaint:
    id: int
    unit: str
    category: str
    channel: str
    complainant: int | None
    received_at: dt.datetime
    resolved_at: dt.datetime | None
    due_at: dt.datetime | None


@dataclass
class RawInvitation:
    complaint: RawComplaint
    state: str
    reason: str | None
    sent_at: dt.datetime | None
    created_at: dt.datetime
    language: str
    questionnaire: str
    responded: bool


@dataclass
class Dataset:
    """What was inserted, with the ids the database gave."""

    unit_ids: dict[str, int] = field(default_factory=dict)
    category_ids: dict[str, int] = field(default_factory=dict)
    questionnaire_ids: dict[str, int] = field(default_factory=dict)
    version_ids: dict[tuple[str, int], int] = field(default_factory=dict)
    complaints: list[RawComplaint] = field(default_factory=list)
    invitations: list[RawInvitation] = field(default_factory=list)
    responses: list[RawResponse] = field(default_factory=list)
    volumes: dict[tuple[str, dt.date], int] = field(default_factory=dict)
    pending: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, kind: str, row: Any) -> None:
        self.pending.setdefault(kind, []).append(row)

    def below(self, code: str) -> set[str]:
        found = {code}
        changed = True
        while changed:
            changed = False
            for unit, parent in {**UNITS, **CATEGORIES}.items():
                if parent in found and unit not in found:
                    found.add(unit)
                    changed = True
        return found


def _moment(rng: random.Random, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    seconds = (end - start).total_seconds()
    return start + dt.timedelta(seconds=int(rng.random() * seconds))


def build(seed: int = 7, complaints: int = 420) -> Dataset:
    """Insert the dataset (needs an app context) and return it."""
    rng = random.Random(seed)
    data = Dataset()
    units: dict[str, Unit] = {}
    for code, parent in UNITS.items():
        units[code] = Unit(code=code, name=f"Unit {code}", parent=units.get(parent or ""))
    categories: dict[str, Category] = {}
    for code, parent in CATEGORIES.items():
        categories[code] = Category(code=code, name=f"Category {code}",
                                    parent=categories.get(parent or ""),
                                    committed_response_days=5)
    versions = {
        ("q", 1): _version("q", 1, QUESTIONS_V1), ("q", 2): _version("q", 2, QUESTIONS_V2),
        ("ipa", 1): _version("ipa", 1, QUESTIONS_IPA),
    }
    versions[("q", 2)].questionnaire = versions[("q", 1)].questionnaire
    people = [Complainant(survey_consent=True) for _ in range(160)]
    db.session.add_all([*units.values(), *categories.values(), *versions.values(), *people])
    db.session.flush()
    data.unit_ids = {code: unit.id for code, unit in units.items()}
    data.category_ids = {code: category.id for code, category in categories.items()}
    data.version_ids = {key: version.id for key, version in versions.items()}
    data.questionnaire_ids = {key[0]: version.questionnaire_id for key, version in
                              versions.items()}
    for n in range(complaints):
        _complaint(rng, data, n, units, categories, versions, people)
    # Rows that refer to each other by id only: inserted in order, one flush per kind.
    for kind in ("complaint", "invitation", "response"):
        db.session.add_all(data.pending.pop(kind, []))
        db.session.flush()
    _volumes(rng, data, units)
    db.session.add(Target(unit_id=None, metric="csat", value=0.7))
    db.session.add(Target(unit_id=units["a"].id, metric="csat", value=0.8))
    db.session.commit()
    return data


def _version(key: str, number: int, questions: list[dict[str, Any]]) -> QuestionnaireVersion:
    questionnaire = Questionnaire(key=key, title=f"Questionnaire {key}")
    return QuestionnaireVersion(questionnaire=questionnaire, number=number,
                                status=VersionStatus.PUBLISHED,
                                definition=_definition(key, questions))


def _complaint(rng: random.Random, data: Dataset, n: int, units: dict[str, Unit],
               categories: dict[str, Category], versions: dict[tuple[str, int], Any],
               people: list[Complainant]) -> None:
    unit = rng.choice(LEAF_UNITS)
    category = rng.choice(LEAF_CATEGORIES)
    channel = rng.choice(CHANNELS)
    person = rng.choice(people[:40]) if rng.random() < 0.5 else rng.choice(people)
    person_id = None if rng.random() < 0.05 else person.id
    # A little before the start too, so that the previous period has data.
    received = _moment(rng, START - dt.timedelta(days=60), END)
    days = rng.expovariate(1 / 6)
    resolved = received + dt.timedelta(days=days) if rng.random() < 0.9 else None
    due = received + dt.timedelta(days=5) if rng.random() < 0.85 else None
    # Ids are given here (one flush at the end, not one per row: the dataset builds fast).
    complaint = make_complaint(id=n + 1, external_id=f"R-{n}", received_at=received,
                               channel=channel, category=None, category_id=categories[category].id,
                               unit=None, unit_id=units[unit].id, with_complainant=False,
                               complainant_id=person_id, resolved_at=resolved, due_at=due,
                               status=ComplaintStatus.RECEIVED, add=False, flush=False)
    data.add("complaint", complaint)
    raw = RawComplaint(complaint.id, unit, category, channel.value, person_id, received,
                       resolved, due)
    data.complaints.append(raw)
    if resolved is None:
        return
    _invitation(rng, data, raw, complaint, versions)


def _invitation(rng: random.Random, data: Dataset, raw: RawComplaint, complaint: Complaint,
                versions: dict[tuple[str, int], Any]) -> None:
    assert raw.resolved_at is not None
    questionnaire = "ipa" if rng.random() < 0.2 else "q"
    number = 1 if questionnaire == "ipa" or raw.resolved_at < dt.datetime(
        2025, 1, 1, tzinfo=UTC) else 2
    version = versions[(questionnaire, number)]
    language = rng.choice(LANGUAGES)
    created = raw.resolved_at
    roll = rng.random()
    reason = None
    sent = created + dt.timedelta(hours=rng.randint(1, 30))
    if roll < 0.12:
        state, reason, sent = InvitationState.SUPPRESSED, rng.choice(
            [SuppressionReason.NO_CONSENT, SuppressionReason.FATIGUE]), None
    elif roll < 0.15:
        state = InvitationState.FAILED
        sent = None
    elif roll < 0.35:
        state = InvitationState.EXPIRED
    elif roll < 0.40:
        state = InvitationState.SENT
    else:
        state = InvitationState.RESPONDED
    invitation = Invitation(id=len(data.invitations) + 1, complaint_id=raw.id,
                            version_id=version.id, state=state, suppression_reason=reason,
                            language=language, sent_at=sent, created_at=created)
    data.add("invitation", invitation)
    data.invitations.append(RawInvitation(raw, state.value, reason.value if reason else None,
                                          sent, created, language, questionnaire,
                                          state == InvitationState.RESPONDED))
    if state == InvitationState.RESPONDED:
        assert sent is not None
        _response(rng, data, raw, invitation, version, questionnaire, number, language, sent)


def _response(rng: random.Random, data: Dataset, raw: RawComplaint, invitation: Invitation,
              version: QuestionnaireVersion, questionnaire: str, number: int, language: str,
              sent: dt.datetime) -> None:
    submitted = sent + dt.timedelta(hours=rng.randint(1, 100))
    late = raw.due_at is not None and raw.resolved_at is not None and raw.resolved_at > raw.due_at
    mood = rng.gauss(0.6 if raw.unit in ("a1", "solo") else 0.0, 1.0) - (0.8 if late else 0)
    response = Response(
        id=len(data.responses) + 1, invitation_id=invitation.id, version_id=version.id,
        questionnaire_id=version.questionnaire_id, complaint_id=raw.id,
        unit_id=data.unit_ids[raw.unit], category_id=data.category_ids[raw.category],
        channel=Channel(raw.channel), language=language, submitted_at=submitted,
    )
    answers: dict[str, tuple[str, str | None, float | None, str | None, str | None]] = {}
    for question in version.definition["questions"]:
        answer = _answer(rng, mood, question)
        if answer is not None:
            answers[question["key"]] = answer
    response.answers = [Answer(question_key=key, question_type=kind, attribute=attribute,
                               value_number=number_, value_choice=choice, value_text=text)
                        for key, (kind, attribute, number_, choice, text) in answers.items()]
    data.add("response", response)
    data.responses.append(RawResponse(
        response.id, raw.unit, raw.category, raw.channel, language, questionnaire, number,
        submitted, raw, answers))


SCALES = {"rating": (1, 5), "likert": (1, 5), "importance": (1, 5), "effort": (1, 7),
          "nps": (0, 10)}


def _answer(rng: random.Random, mood: float, question: dict[str, Any]
            ) -> tuple[str, str | None, float | None, str | None, str | None] | None:
    kind, attribute = question["type"], question.get("attribute")
    if rng.random() < 0.06:
        return None  # skipped
    if kind == "yes_no":
        yes = rng.random() < (0.8 if mood > -0.5 else 0.4)
        return (kind, attribute, 1.0 if yes else 0.0, "yes" if yes else "no", None)
    if kind == "text":
        return (kind, attribute, None, None, "<b>slow</b> & rude") if mood < 0 else None
    low, high = SCALES[kind]
    centre = (low + high) / 2 + (0.8 if kind == "importance" else mood) * (high - low) / 4
    value = min(high, max(low, round(rng.gauss(centre, (high - low) / 5))))
    return (kind, attribute, float(value), None, None)


def _volumes(rng: random.Random, data: Dataset, units: dict[str, Unit]) -> None:
    month = dt.date(2024, 8, 1)
    while month < dt.date(2025, 5, 1):
        for code, base in VOLUMES.items():
            volume = int(base * rng.uniform(0.8, 1.2))
            data.volumes[(code, month)] = volume
            db.session.add(ServiceVolume(unit_id=units[code].id, period_start=month,
                                         transactions=volume))
        month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


# --- direct computations on the Python side ------------------------------------------------------


def between(moment: dt.datetime | None, start: dt.datetime, end: dt.datetime) -> bool:
    return moment is not None and start <= moment < end


def csat_counts(responses: list[RawResponse]) -> tuple[int, int]:
    """(satisfied, n) over the overall ratings of ``responses``."""
    values = [r.number("overall") for r in responses if r.answers.get("overall", ("",))[0]
              == "rating"]
    values = [v for v in values if v is not None]
    return sum(v >= 4 for v in values), len(values)


def nps_counts(responses: list[RawResponse]) -> tuple[int, int, int]:
    """(promoters, detractors, n)."""
    values = [r.number("recommend") for r in responses]
    values = [v for v in values if v is not None]
    return sum(v >= 9 for v in values), sum(v <= 6 for v in values), len(values)


def resolution_counts(responses: list[RawResponse]) -> tuple[int, int]:
    values = [r.number("resolved") for r in responses]
    values = [v for v in values if v is not None]
    return sum(v == 1 for v in values), len(values)


def on_time_counts(complaints: list[RawComplaint], start: dt.datetime,
                   end: dt.datetime) -> tuple[int, int]:
    resolved = [c for c in complaints if between(c.resolved_at, start, end)
                and c.due_at is not None]
    return sum(c.resolved_at <= c.due_at for c in resolved), len(resolved)  # type: ignore[operator]


def sent_counts(invitations: list[RawInvitation], start: dt.datetime,
                end: dt.datetime) -> tuple[int, int]:
    sent = [i for i in invitations if between(i.sent_at, start, end)]
    return sum(i.responded for i in sent), len(sent)
