"""Helpers of the campaign tests: a draft campaign and people served in its period."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.extensions import db
from app.models import Campaign, CampaignState, Questionnaire, ServiceEvent
from tests.support.distribution import make_questionnaire
from tests.support.factories import make_service_event

UTC = dt.UTC
SERVED_FROM = dt.datetime(2024, 4, 1, tzinfo=UTC)
SERVED_UNTIL = dt.datetime(2024, 5, 1, tzinfo=UTC)


def make_campaign(key: str = "spring", questionnaire: Questionnaire | None = None,
                  **fields: Any) -> Campaign:
    """A draft campaign of the people served in April 2024, closing on 1 July 2024."""
    campaign = Campaign(
        key=key, name=key.title(),
        questionnaire=questionnaire or make_questionnaire(f"q-{key}"),
        served_from=fields.pop("served_from", SERVED_FROM),
        served_until=fields.pop("served_until", SERVED_UNTIL),
        closes_at=fields.pop("closes_at", dt.datetime(2024, 7, 1, tzinfo=UTC)),
        state=CampaignState.DRAFT, **fields)
    db.session.add(campaign)
    db.session.flush()
    return campaign


def serve(count: int, unit: str, *, prefix: str | None = None, day: int = 10,
          **fields: Any) -> list[ServiceEvent]:
    """``count`` different people served in ``unit`` on ``day`` April 2024."""
    prefix = prefix or unit
    return [make_service_event(**{"email": f"{prefix}-{n}@example.org", **fields}, unit=unit,
                               flush=False, occurred_at=dt.datetime(2024, 4, day, 9, tzinfo=UTC))
            for n in range(count)]
