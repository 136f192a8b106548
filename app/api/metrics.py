"""``GET /metrics``: the query turned into filters, and the figures into the answer document.

The figures come from ``app.analytics.breakdown.grouped_figures`` (the dashboards' counting and
suppression, with the metric definitions of ``app.analytics.metrics``); this module only names
things in the API's words: codes instead of ids, ``{value, low, high}`` for a figure, ``null``
for a hidden one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from app.analytics.breakdown import GroupFigures, grouped_figures
from app.analytics.figures import Score
from app.analytics.filters import Filters
from app.analytics.names import CHANNEL_NAMES, MODE_NAMES, SOURCE_NAMES
from app.analytics.periods import to_instant
from app.api.listing import tree_ids
from app.documents import iso
from app.errors import invalid
from app.extensions import db
from app.models import Category, Channel, Unit
from app.references import questionnaire_id
from app.schemas.queries import MetricsQuery
from app.timefmt import organisation_zone

DEFAULT_PERIOD = dt.timedelta(days=30)
# Longer periods are refused: grouped by month, every month is a branch of the SQL statement.
MAX_PERIOD = dt.timedelta(days=3660)
FIGURES = ("csat", "mean", "nps", "ces", "resolution_confirmed", "response_rate", "bounce_rate",
           "on_time")


def metrics_document(query: MetricsQuery) -> dict[str, Any]:
    """The answer of ``GET /metrics`` for ``query``; ``InvalidFields`` for unknown codes or a
    period that is empty or too long."""
    tz = organisation_zone().key
    min_group = int(current_app.config.get("MEMNUN_MIN_GROUP_SIZE") or 5)
    filters = _filters(query, tz)
    group_by = query.group_by.value if query.group_by is not None else None
    groups = grouped_figures(filters, group_by, min_group, tz)
    labels = _labels(group_by, [group.key for group in groups])
    return {
        "from": iso(filters.start),
        "to": iso(filters.end),
        "group_by": group_by,
        "min_group_size": min_group,
        "groups": [_group_document(group, labels) for group in groups],
    }


def _filters(query: MetricsQuery, tz: str) -> Filters:
    end = to_instant(query.to, tz) if query.to is not None else dt.datetime.now(dt.UTC)
    start = to_instant(query.from_, tz) if query.from_ is not None else end - DEFAULT_PERIOD
    if start >= end:
        raise invalid("from", _("must be before to"), "empty_period")
    if end - start > MAX_PERIOD:
        raise invalid("from", _("the period may be at most ten years long"), "period_too_long")
    return Filters(
        start=start,
        end=end,
        unit_ids=tree_ids(Unit, "unit", query.unit),
        category_ids=tree_ids(Category, "category", query.category),
        channel=query.channel.value if query.channel is not None else None,
        questionnaire_id=questionnaire_id(query.questionnaire) if query.questionnaire else None,
        source=query.source.value if query.source is not None else None,
        mode=query.mode.value if query.mode is not None else None,
    )


def _labels(group_by: str | None, keys: list[Any]) -> dict[Any, tuple[str | None, str]]:
    """For each group key, its key in the API (a code, a channel, YYYY-MM) and its label."""
    if group_by in ("unit", "category"):
        model = Unit if group_by == "unit" else Category
        ids = [key for key in keys if key is not None]
        rows = db.session.execute(select(model.id, model.code, model.name)
                                  .where(model.id.in_(ids))) if ids else []
        return {row_id: (code, name) for row_id, code, name in rows}
    if group_by == "channel":
        return {key: (key, str(CHANNEL_NAMES.get(Channel(key), key))) for key in keys}
    if group_by in ("source", "mode"):
        names = SOURCE_NAMES if group_by == "source" else MODE_NAMES
        return {key: (key, str(names.get(key, key))) for key in keys}
    if group_by == "month":
        return {key: (key.strftime("%Y-%m"), key.strftime("%Y-%m")) for key in keys}
    return {None: (None, _("All"))}


def _figure(score: Score) -> dict[str, float | None] | None:
    if score.suppressed or score.value is None:
        return None
    return {"value": score.value, "low": score.low, "high": score.high}


def _group_document(
    group: GroupFigures, labels: dict[Any, tuple[str | None, str]]
) -> dict[str, Any]:
    key, label = labels.get(group.key, (str(group.key), str(group.key)))
    document: dict[str, Any] = {
        "key": key,
        "label": label,
        "suppressed": group.suppressed,
        "responses": group.responses,
        "invitations": group.invitations,
        "delivered": group.delivered,
        "complaints": group.complaints,
        "compliments": group.compliments,
    }
    for name in FIGURES:
        document[name] = _figure(group.figures[name])
    return document
