"""The anonymous responses export: one row per response, one column per question.

No personal data: no complainant, no complaint reference, and no free-text answers (people write
names, addresses and phone numbers in them). A response keeps only its own id, when it was
given, its questionnaire and version, and the unit, category, channel and language it was given
in, by name (as people read them) and by code (as programs match them). Rows are read in
pages by id (keyset pagination), so an export of any size needs only one page in memory.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterator
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.analytics.names import CHANNEL_NAMES
from app.extensions import db
from app.models import Answer, Category, Questionnaire, QuestionnaireVersion, Response, Unit
from app.reports.exports import Table
from app.timefmt import organisation_zone

PAGE_SIZE = 1000
FREE_TEXT_TYPES = ("text",)


def _filters(start: dt.datetime, end: dt.datetime, unit_ids: Collection[int] | None) -> list[Any]:
    conditions = [Response.submitted_at >= start, Response.submitted_at < end]
    if unit_ids is not None:
        conditions.append(Response.unit_id.in_(list(unit_ids)))
    return conditions


def question_keys(start: dt.datetime, end: dt.datetime,
                  unit_ids: Collection[int] | None = None) -> list[str]:
    """The questions answered in the period (free text left out), in alphabetical order."""
    stmt = (select(Answer.question_key).distinct()
            .join(Response, Response.id == Answer.response_id)
            .where(Answer.question_type.not_in(FREE_TEXT_TYPES), *_filters(start, end, unit_ids))
            .order_by(Answer.question_key))
    return list(db.session.scalars(stmt))


def _answer_value(answer: Any) -> Any:
    if answer.value_choice is not None:
        return answer.value_choice
    if answer.value_number is not None:
        number = answer.value_number
        return int(number) if float(number).is_integer() else number
    return None


def _answers(response_ids: list[int]) -> dict[int, dict[str, Any]]:
    rows = db.session.execute(
        select(Answer.response_id, Answer.question_key, Answer.question_type,
               Answer.value_number, Answer.value_choice)
        .where(Answer.response_id.in_(response_ids),
               Answer.question_type.not_in(FREE_TEXT_TYPES))
        .order_by(Answer.id))
    values: dict[int, dict[str, Any]] = defaultdict(dict)
    for row in rows:
        value = _answer_value(row)
        if row.question_type == "multi_choice":
            earlier = values[row.response_id].get(row.question_key)
            value = value if earlier is None else f"{earlier};{value}"
        values[row.response_id][row.question_key] = value
    return values


def _rows(start: dt.datetime, end: dt.datetime, unit_ids: Collection[int] | None,
          keys: list[str]) -> Iterator[list[Any]]:
    last_id = 0
    base = (select(Response.id, Response.submitted_at, Questionnaire.title, Questionnaire.key,
                   QuestionnaireVersion.number, Unit.name, Unit.code, Category.name,
                   Category.code, Response.channel, Response.language)
            .join(Questionnaire, Questionnaire.id == Response.questionnaire_id)
            .join(QuestionnaireVersion, QuestionnaireVersion.id == Response.version_id)
            .join(Unit, Unit.id == Response.unit_id)
            .join(Category, Category.id == Response.category_id)
            .where(*_filters(start, end, unit_ids)))
    while True:
        page = db.session.execute(
            base.where(Response.id > last_id).order_by(Response.id).limit(PAGE_SIZE)).all()
        if not page:
            return
        answers = _answers([row[0] for row in page])
        for (rid, submitted, title, questionnaire, version, unit, unit_code, category,
             category_code, channel, language) in page:
            given = answers.get(rid, {})
            code = getattr(channel, "value", channel)
            yield [rid, submitted, title, questionnaire, version, unit, unit_code, category,
                   category_code, str(CHANNEL_NAMES.get(code, code)), code, language,
                   *(given.get(key) for key in keys)]
        last_id = page[-1][0]
        db.session.expire_all()  # keep the session from growing with every page


def responses_table(start: dt.datetime, end: dt.datetime,
                    unit_ids: Collection[int] | None = None) -> Table:
    """Responses submitted in [start, end) in ``unit_ids`` (None: all), as a lazily read table;
    must be consumed inside the app context (``stream_with_context`` in a view)."""
    keys = question_keys(start, end, unit_ids)
    header = ["response", _("submitted (%(zone)s)", zone=organisation_zone().key),
              _("questionnaire"), _("questionnaire key"), _("version"), _("unit"),
              _("unit code"), _("category"), _("category code"), _("channel"),
              _("channel code"), _("language"), *keys]
    return Table(title=_("Responses"), header=header, rows=_rows(start, end, unit_ids, keys))
