"""The demo's walk-in QR codes: two service points with two months of answers at the desk, the
quiet days and the busy ones, and a few held: a burst of identical low scores one afternoon and
a phone that answered twice, waiting on the review page."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import insert, select

from app.demo import catalogue as cat
from app.demo.simulation import TIMEZONE, Clock
from app.extensions import db
from app.models import Answer, Channel, Questionnaire, Response, ServicePoint
from app.walkin.codes import hash_code, link_code
from app.walkin.services import BURST, DEFAULT_QUESTIONNAIRE, DEVICE
from app.wordforms import search_terms

#: (unit code, point code, name, mean score 1-5, answers a weekday)
POINTS = (
    (cat.ROOT, "COZUM-MERKEZI", "Çözüm Merkezi, belediye binası giriş katı", 4.1, 4),
    ("imar", "IMAR-DANISMA", "İmar ve Şehircilik danışma masası", 3.3, 2),
)
DAYS = 60
LANGUAGES = (("tr", 0.86), ("en", 0.08), ("nl", 0.03), ("et", 0.03))
COMMENTS = {
    "tr": ("Sıra çok uzundu.", "Görevli çok ilgiliydi, teşekkürler.", "Numaratör bozuktu.",
           "Evraklarım için iki kez gelmem gerekti.", "Hızlı ve güler yüzlü hizmet."),
    "en": ("The queue was long.", "Friendly staff, quick service."),
    "nl": ("Lange wachttijd.", "Vriendelijk geholpen."),
    "et": ("Järjekord oli pikk.", "Sõbralik teenindus."),
}


def store_walk_ins(rng: random.Random, clock: Clock, unit_ids: dict[str, int]) -> int:
    """Store the two points and their answers; returns how many answers."""
    questionnaire = db.session.scalar(select(Questionnaire).where(
        Questionnaire.key == DEFAULT_QUESTIONNAIRE))
    version = questionnaire.published_version if questionnaire is not None else None
    if questionnaire is None or version is None:
        return 0
    stored = 0
    for number, (unit, code, name, mean, per_day) in enumerate(POINTS):
        point = ServicePoint(unit_id=unit_ids[unit], code=code, name=name,
                             questionnaire_id=questionnaire.id, generation=1, active=True,
                             token_hash=f"demo-{code}", created_at=clock.now - dt.timedelta(
                                 days=DAYS + 1))
        db.session.add(point)
        db.session.flush()
        point.token_hash = hash_code(link_code(point.id, point.generation))
        answers = _ordinary_days(rng, clock, mean, per_day)
        if number == 1:
            answers += _held_afternoon(clock)
        stored += _store(point, version.id, questionnaire.id, answers)
    return stored


Visit = tuple[dt.datetime, str, dict[str, object], str | None]


def _ordinary_days(rng: random.Random, clock: Clock, mean: float, per_day: int) -> list[Visit]:
    today = clock.now.astimezone(TIMEZONE).date()
    visits: list[Visit] = []
    for back in range(DAYS, 0, -1):
        day = today - dt.timedelta(days=back)
        if day.weekday() >= 5:
            continue
        for _ in range(max(0, round(rng.gauss(per_day, per_day / 3)))):
            at = dt.datetime.combine(day, dt.time(8, 30), TIMEZONE) + dt.timedelta(
                minutes=rng.uniform(0, 8.5 * 60))
            language = rng.choices([c for c, _w in LANGUAGES], [w for _c, w in LANGUAGES])[0]
            visits.append((at.astimezone(dt.UTC), language, draw_answers(rng, mean, language),
                           None))
    return visits


def _held_afternoon(clock: Clock) -> list[Visit]:
    """Yesterday afternoon: twelve identical 1s in six minutes (held: burst), and one phone
    that answered twice in the morning (the second held: device)."""
    day = clock.now.astimezone(TIMEZONE).date() - dt.timedelta(days=1)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    start = dt.datetime.combine(day, dt.time(15, 10), TIMEZONE).astimezone(dt.UTC)
    burst: list[Visit] = [(start + dt.timedelta(seconds=30 * n), "tr",
                           {"overall": 1, "done": "no"}, BURST) for n in range(12)]
    morning = dt.datetime.combine(day, dt.time(9, 40), TIMEZONE).astimezone(dt.UTC)
    twice: list[Visit] = [(morning + dt.timedelta(minutes=3), "tr",
                           {"overall": 2, "done": "no", "comment": "Yine bekledim."}, DEVICE)]
    return burst + twice


def _store(point: ServicePoint, version_id: int, questionnaire_id: int,
           visits: list[Visit]) -> int:
    if not visits:
        return 0
    table = Response.__table__
    ids = list(db.session.scalars(insert(table).returning(table.c.id,
                                                          sort_by_parameter_order=True), [
        {"version_id": version_id, "questionnaire_id": questionnaire_id,
         "unit_id": point.unit_id, "service_point_id": point.id, "channel": Channel.WALK_IN,
         "source": "service_user", "mode": "walk_in", "held": reason is not None,
         "held_reason": reason, "language": language, "submitted_at": at}
        for at, language, _answers, reason in visits]))
    rows = [row for response_id, (_at, language, answers, _reason) in zip(ids, visits, strict=True)
            for row in answer_rows(response_id, answers, language)]
    db.session.execute(insert(Answer.__table__), rows)
    return len(ids)


def draw_answers(rng: random.Random, mean: float, language: str) -> dict[str, object]:
    """One visitor's answers to the walk-in questionnaire (overall 1-5 around ``mean``, whether
    they got what they came for, sometimes a comment)."""
    overall = min(5, max(1, round(rng.gauss(mean, 1.0))))
    answers: dict[str, object] = {"overall": overall,
                                  "done": "yes" if rng.random() < 0.2 * overall else "no"}
    if rng.random() < 0.1:
        answers["comment"] = rng.choice(COMMENTS[language])
    return answers


def answer_rows(response_id: int, answers: dict[str, object],
                language: str) -> list[dict[str, object]]:
    """The answer rows of one response to the walk-in questionnaire."""
    rows = []
    for key, value in answers.items():
        row = {"response_id": response_id, "question_key": key, "attribute": None,
               "value_number": None, "value_choice": None, "value_text": None,
               "search_terms": None}
        if key == "overall":
            row.update(question_type="rating", attribute="overall", value_number=value)
        elif key == "done":
            row.update(question_type="yes_no", attribute="resolution",
                       value_number=1.0 if value == "yes" else 0.0, value_choice=value)
        else:
            row.update(question_type="text", value_text=value,
                       search_terms=search_terms(str(value), language))
        rows.append(row)
    return rows
