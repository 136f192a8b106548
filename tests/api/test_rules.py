"""Contract tests: PUT /api/v1/distribution-rules/<key> and GET /api/v1/distribution-rules."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import ApiScope, AuditLog, DistributionRule, Invitation, InvitationState
from tests.support.api import (
    RECEIVED,
    Api,
    at,
    complaint_body,
    error_of,
    invalid_fields,
    make_key,
)
from tests.support.datasets.survey import SurveyData

RULE: dict[str, Any] = {
    "questionnaire": "post-resolution",
    "filters": {"categories": ["temizlik"], "units": ["fen"], "channels": ["web", "phone"]},
    "delay": "PT2H",
    "reminder_after": "P2D",
    "expires_after": "P1W",
    "sample_rate": 1,
    "fatigue_days": 0,
    "send_window": "00:00-00:00",
    "timezone": "Europe/Amsterdam",
    "active": True,
    "priority": 10,
}


SEED_REFERENCE = False  # tests/api/conftest.py: SurveyData brings the units and categories


@pytest.fixture(autouse=True)
def _survey_data(app) -> None:  # type: ignore[no-untyped-def]
    """Before the api fixture: units, categories and two published questionnaires."""
    with app.app_context():
        SurveyData().commit()


def _audits(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action.like("distribution_rule.%")))


def test_create_replace_and_list(app, api) -> None:
    created = api.put("/distribution-rules/belediye", json=RULE)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["key"] == "belediye" and body["questionnaire"] == "post-resolution"
    assert body["filters"] == {**RULE["filters"], "services": []}
    assert body["triggered_by"] == "complaint_resolved"
    # Durations come back in canonical form.
    assert (body["delay"], body["reminder_after"], body["expires_after"]) == ("PT2H", "P2D",
                                                                              "P7D")
    assert (body["send_window"], body["timezone"], body["priority"]) == ("00:00-00:00",
                                                                         "Europe/Amsterdam", 10)
    assert body["sample_rate"] == 1.0 and body["fatigue_days"] == 0 and body["active"] is True
    with app.app_context():
        rule = db.session.scalar(select(DistributionRule))
        assert (rule.delay_minutes, rule.reminder_after_minutes, rule.expires_after_minutes) == (
            120, 2 * 24 * 60, 7 * 24 * 60)
        assert (rule.send_window_start, rule.send_window_end) == ("00:00", "00:00")

    again = api.put("/distribution-rules/belediye", json=RULE)
    assert again.status_code == 200 and again.get_json() == body
    assert _audits(app) == 1  # the same rule again changes nothing

    # PUT replaces the whole rule: fields left out take their defaults.
    replaced = api.put("/distribution-rules/belediye", json={"questionnaire": "nps-relationship",
                                                            "delay": "PT24H"})
    assert replaced.status_code == 200
    document = replaced.get_json()
    assert document["questionnaire"] == "nps-relationship"
    assert document["filters"] == {"categories": [], "services": [], "units": [], "channels": []}
    assert (document["delay"], document["reminder_after"], document["expires_after"]) == (
        "P1D", "P3D", "P14D")
    assert document["send_window"] == "09:00-20:00"
    assert document["timezone"] == "Europe/Istanbul"  # MEMNUN_TIMEZONE
    assert (document["sample_rate"], document["fatigue_days"], document["priority"]) == (
        1.0, 30, 0)
    assert _audits(app) == 2

    api.put("/distribution-rules/yedek", json={**RULE, "priority": 50, "active": False,
                                               "reminder_after": "PT0M"})
    listed = api.get("/distribution-rules").get_json()["distribution_rules"]
    assert [rule["key"] for rule in listed] == ["yedek", "belediye"]  # highest priority first
    assert listed[0]["reminder_after"] == "PT0M" and listed[0]["active"] is False
    reader = Api(api.client, make_key(app, ApiScope.READ, name="okur"))
    assert reader.get("/distribution-rules").get_json()["distribution_rules"] == listed


def test_the_planner_follows_a_rule_put_through_the_api(app, api) -> None:
    assert api.put("/distribution-rules/belediye", json=RULE).status_code == 201
    body = complaint_body(external_id="R-1", category="cop", unit="fen")
    assert api.post("/complaints", json=body).status_code == 201
    resolved = api.post("/complaints/ext:R-1/events", json={"type": "resolved", "at": at(1)})
    assert resolved.status_code == 201
    with app.app_context():
        invitation = db.session.scalar(select(Invitation))
        assert invitation.state == InvitationState.PLANNED
        assert invitation.rule.key == "belediye"
        # Two hours after the resolution; the window "00:00-00:00" means any time.
        assert invitation.due_at == RECEIVED + dt.timedelta(days=1, hours=2)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"questionnaire": "yok"}, "questionnaire"),
        ({"filters": {"units": ["fen", "yok"]}}, "filters.units.1"),
        ({"filters": {"categories": ["yok"]}}, "filters.categories.0"),
        ({"filters": {"channels": ["pigeon"]}}, "filters.channels.0"),
        ({"filters": {"unit": ["fen"]}}, "filters.unit"),
        ({"delay": "P1Y"}, "delay"),
        ({"delay": "P"}, "delay"),
        ({"delay": 1440}, "delay"),
        ({"delay": "P400D"}, "delay"),
        ({"reminder_after": "P10D"}, "expires_after"),
        ({"expires_after": "PT0M"}, "expires_after"),
        ({"sample_rate": 1.5}, "sample_rate"),
        ({"sample_rate": True}, "sample_rate"),
        ({"fatigue_days": -1}, "fatigue_days"),
        ({"send_window": "9-20"}, "send_window"),
        ({"send_window": "09:00-24:00"}, "send_window"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"active": "yes"}, "active"),
        ({"priority": 1.5}, "priority"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_rules_are_422_and_change_nothing(app, api, change, field) -> None:
    assert invalid_fields(api.put("/distribution-rules/r", json={**RULE, **change})) == {field}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DistributionRule)) == 0


def test_keys_scopes_and_bodies(app, api) -> None:
    assert invalid_fields(api.put("/distribution-rules/..", json=RULE)) == {"key"}
    assert invalid_fields(api.put("/distribution-rules/" + "k" * 65, json=RULE)) == {"key"}
    for scope in (ApiScope.INTAKE, ApiScope.READ):
        other = Api(api.client, make_key(app, scope, name=f"kapsam-{scope.value}"))
        response = other.put("/distribution-rules/r", json=RULE)
        assert response.status_code == 403 and "admin" in error_of(response)["message"]
    malformed = api.put("/distribution-rules/r", data=b"{", content_type="application/json")
    assert malformed.status_code == 400 and error_of(malformed)["code"] == "malformed_json"
    missing = api.put("/distribution-rules/r", json={})
    assert invalid_fields(missing) == {"questionnaire"}


def test_a_rule_on_service_events_names_existing_services(app, api) -> None:
    from app.models import RuleTrigger, Service

    with app.app_context():
        db.session.add(Service(code="permits", name="Permits"))
        db.session.commit()
    document = {"questionnaire": "post-resolution", "triggered_by": "service_event",
                "filters": {"services": ["permits"], "channels": ["walk_in"]}}
    created = api.put("/distribution-rules/visits", json=document)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["triggered_by"] == "service_event"
    assert body["filters"]["services"] == ["permits"]
    with app.app_context():
        rule = db.session.scalar(select(DistributionRule).where(DistributionRule.key == "visits"))
        assert rule.triggered_by == RuleTrigger.SERVICE_EVENT and rule.service_codes == ["permits"]
    unknown = api.put("/distribution-rules/visits",
                      json={**document, "filters": {"services": ["nothing"]}})
    assert unknown.status_code == 422
    assert invalid_fields(unknown) == {"filters.services.0"}
    wrong = api.put("/distribution-rules/visits", json={**document, "triggered_by": "moon"})
    assert wrong.status_code == 422
