"""Phone interviews in tests: a rule that calls, and invitations by phone planned by the planner."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.distribution.planner import plan_for_resolution
from app.extensions import db
from app.models import DistributionRule, Invitation, PhoneUse
from tests.support.distribution import make_rule
from tests.support.factories import make_complaint

UTC = dt.UTC


def next_tuesday() -> dt.datetime:
    """10:00 UTC (13:00 in Istanbul, inside the calling hours) on a Tuesday at least a week
    ahead: the survey's own checks compare expiry with the real clock."""
    today = dt.datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    days = (1 - today.weekday()) % 7 + 7
    return today + dt.timedelta(days=days)


def phone_rule(use: PhoneUse = PhoneUse.EVERYONE, **fields: Any) -> DistributionRule:
    """The default rule, calling ``use``: 3 calls 4 hours apart, 10:00-18:00 Istanbul time on
    weekdays, no delay."""
    settings = {"delay_minutes": 0, "phone_max_attempts": 3, "phone_hours_between": 4,
                "calling_hours_start": "10:00", "calling_hours_end": "18:00",
                "calling_days": [1, 2, 3, 4, 5], **fields}
    return make_rule(phone_use=use, **settings)


def phone_invitation(resolved_at: dt.datetime | None = None, *, phone: str = "+90 532 111 22 33",
                     email: str | None = None, **complaint: Any) -> Invitation:
    """An invitation by phone for a fresh complaint, planned by the planner; committed."""
    resolved_at = resolved_at or next_tuesday()
    found = make_complaint(email=email, phone=phone, resolved_at=resolved_at, **complaint)
    invitation = plan_for_resolution(found, now=resolved_at)
    db.session.commit()
    return invitation


def tab_to(page: Any, selector: str, limit: int = 150) -> None:
    """Press Tab until the element ``selector`` has the focus, as a keyboard user moves."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)",
                         selector):
            return
    raise AssertionError(f"{selector} cannot be reached with the Tab key")
