"""A rule's phone settings through the REST API (the admin form saves through the same service)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from app.extensions import db
from tests.support.api import invalid_fields
from tests.support.distribution import make_questionnaire

PHONE = {"use": "fallback", "max_attempts": 4, "hours_between": 6,
         "calling_hours": "09:30-19:00", "calling_days": [6, 1, 2]}


def _rules(api: Any) -> dict[str, Any]:
    return {rule["key"]: rule for rule in api.get("/distribution-rules").get_json()[
        "distribution_rules"]}


@pytest.fixture
def questionnaire(app: Flask) -> None:
    with app.app_context():
        make_questionnaire()
        db.session.commit()


def test_phone_settings_are_stored_and_shown(api, questionnaire) -> None:  # type: ignore[no-untyped-def]
    stored = api.put("/distribution-rules/calls", json={"questionnaire": "post-resolution",
                                                         "phone": PHONE})
    assert stored.status_code in (200, 201), stored.get_json()
    api.put("/distribution-rules/plain", json={"questionnaire": "post-resolution"})
    rules = _rules(api)
    assert rules["calls"]["phone"] == {**PHONE, "calling_days": [1, 2, 6]}
    assert rules["plain"]["phone"]["use"] == "off"


@pytest.mark.parametrize(("bad", "field"), [
    ({"use": "sometimes"}, "phone.use"),
    ({"max_attempts": 0}, "phone.max_attempts"),
    ({"calling_days": []}, "phone.calling_days"),
    ({"calling_days": [8]}, "phone.calling_days.0"),
    ({"calling_hours": "9-17"}, "phone.calling_hours"),
])
def test_bad_phone_settings_are_422_and_change_nothing(api, questionnaire, bad, field) -> None:  # type: ignore[no-untyped-def]
    answer = api.put("/distribution-rules/calls", json={
        "questionnaire": "post-resolution", "phone": {**PHONE, **bad}})
    assert invalid_fields(answer) == {field}
    assert "calls" not in _rules(api)
