"""January 2025 of ``analytics.build_january`` (complainants, answering by e-mail) with fen's
service users beside them: by e-mail, by phone, at the desk (two walk-ins held), and a
campaign's sample; hand counts below."""

from __future__ import annotations

from app.extensions import db
from app.models import Campaign
from tests.support.datasets.analytics import Builder, at, build_january
from tests.support.factories import (
    make_service_event,
    make_service_user_response,
    make_walk_in_response,
)

JANUARY = (at(2025, 1, 1, 0), at(2025, 2, 1, 0))
#: fen's service users in January: overall ratings by mode (satisfied: 4 or 5).
EMAIL = [5, 5, 4, 2, 5, 1]  # 4 of 6
PHONE = [5, 4, 4, 5, 5]  # 5 of 5
WALK_IN = [3, 5]  # 1 of 2
HELD = [1, 1, 1]  # walk-ins held as a suspicious burst
CAMPAIGN = [4, 2]  # 1 of 2, by e-mail


def build_mixed() -> Builder:
    builder = Builder().setup()
    build_january(builder)
    fen = builder.units["fen"]
    # Served in December: a unit's events of a month are its volume of that month
    # (app.analytics.volumes), and January's is the typed-in one the tests give.
    event = make_service_event(unit=fen, occurred_at=at(2024, 12, 30), person=None)
    version = builder.version
    for i, overall in enumerate(EMAIL):
        make_service_user_response(event, version, at(2025, 1, 5 + i), overall)
    for i, overall in enumerate(PHONE):
        make_service_user_response(event, version, at(2025, 1, 12 + i), overall, mode="phone")
    for overall in WALK_IN:
        make_walk_in_response(fen, version, at(2025, 1, 20), overall)
    for overall in HELD:
        make_walk_in_response(fen, version, at(2025, 1, 21), overall, held=True)
    campaign = Campaign(key="q1", name="Q1", questionnaire_id=version.questionnaire_id,
                        served_from=at(2024, 10, 1), served_until=at(2025, 1, 1),
                        closes_at=at(2025, 2, 1))
    db.session.add(campaign)
    for overall in CAMPAIGN:
        make_service_user_response(event, version, at(2025, 1, 25), overall, campaign=campaign)
    db.session.commit()
    return builder
