"""The distribution rule admin pages: list, create, edit, activate and deactivate, with errors
next to their fields, CSRF, and the same checks as the REST API."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.distribution.forms import duration_data
from app.distribution.rules import RuleInvalid, save_rule
from app.extensions import db
from app.models import AuditLog, DistributionRule, RuleTrigger
from tests.support.distribution import in_english, make_questionnaire, make_rule
from tests.support.factories import make_complaint, make_service_event, make_user
from tests.support.web import csrf_token_from, login


@pytest.fixture
def setup(app: Flask) -> None:
    with app.app_context():
        make_questionnaire()
        make_questionnaire("quick")
        make_complaint(unit="parks", unit_parent="city", category="water")
        db.session.commit()


def form_fields(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "key": "parks-web",
        "questionnaire": "post-resolution",
        "categories": [],
        "units": ["parks"],
        "channels": ["web", "phone"],
        "delay-amount": "2", "delay-unit": "hours",
        "reminder_after-amount": "3", "reminder_after-unit": "days",
        "expires_after-amount": "14", "expires_after-unit": "days",
        "sample_rate": "0.5",
        "fatigue_days": "30",
        "window_start": "09:00",
        "window_end": "20:00",
        "timezone": "Europe/Amsterdam",
        "active": "y",
        "priority": "10",
    }
    fields.update(changes)
    return {k: v for k, v in fields.items() if v is not None}


def post_form(client: FlaskClient, url: str, **changes: Any) -> Any:
    in_english(client)
    token = csrf_token_from(client.get(url).get_data(as_text=True))
    return client.post(url, data={**form_fields(**changes), "csrf_token": token})


def error_of(html: str, field_id: str) -> str:
    match = re.search(rf'id="{re.escape(field_id)}-error">([^<]*)<', html)
    assert match, f"no error shown for {field_id}"
    return match.group(1)


def stored(app: Flask, key: str) -> DistributionRule:
    with app.app_context():
        rule = db.session.scalar(select(DistributionRule).where(DistributionRule.key == key))
        assert rule is not None
        db.session.expunge(rule)
        return rule


def test_create_a_rule_with_every_field(app: Flask, admin_client: FlaskClient, setup: None
                                        ) -> None:
    response = post_form(admin_client, "/admin/rules/new")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/rules/parks-web")
    rule = stored(app, "parks-web")
    assert rule.unit_codes == ["parks"] and rule.category_codes == []
    assert rule.channels == ["web", "phone"]
    assert (rule.delay_minutes, rule.reminder_after_minutes, rule.expires_after_minutes) == (
        120, 3 * 24 * 60, 14 * 24 * 60)
    assert (rule.sample_rate, rule.fatigue_days, rule.priority, rule.active) == (0.5, 30, 10, True)
    assert (rule.send_window_start, rule.send_window_end, rule.timezone) == (
        "09:00", "20:00", "Europe/Amsterdam")
    with app.app_context():
        audit = db.session.scalar(select(AuditLog).where(AuditLog.action ==
                                                         "distribution_rule.create"))
        assert audit.actor.startswith("user:") and "@" not in audit.actor
    page = admin_client.get("/admin/rules").get_data(as_text=True)
    assert "parks-web" in page and "50 %" in page


def test_the_edit_page_shows_the_stored_values_and_saves_changes(
    app: Flask, admin_client: FlaskClient, setup: None
) -> None:
    assert post_form(admin_client, "/admin/rules/new").status_code == 302
    page = admin_client.get("/admin/rules/parks-web").get_data(as_text=True)
    assert 'value="Europe/Amsterdam"' in page
    assert re.search(r'<option selected value="parks">|<option value="parks" selected>', page)
    assert 'name="key"' not in page  # the key cannot change
    response = post_form(admin_client, "/admin/rules/parks-web", key=None, units=[],
                         **{"reminder_after-amount": "0", "delay-amount": "90",
                            "delay-unit": "minutes", "sample_rate": "0.25", "active": None})
    assert response.status_code == 302, response.get_data(as_text=True)
    rule = stored(app, "parks-web")
    assert (rule.unit_codes, rule.reminder_after_minutes, rule.delay_minutes) == ([], 0, 90)
    assert (rule.sample_rate, rule.active) == (0.25, False)
    page = admin_client.get("/admin/rules/parks-web").get_data(as_text=True)
    assert 'id="delay-amount"' in page and 'value="90"' in page


@pytest.mark.parametrize(
    ("changes", "field_id", "words"),
    [
        ({"sample_rate": "1.5"}, "sample_rate", "0 to 1"),
        ({"sample_rate": "abc"}, "sample_rate", ""),
        ({"timezone": "Mars/Olympus"}, "timezone", "IANA"),
        ({"timezone": "../../etc"}, "timezone", "IANA"),
        ({"window_start": "25:00"}, "window_start", "09:00"),
        ({"delay-amount": "-1"}, "delay", "zero or more"),
        ({"fatigue_days": "4000"}, "fatigue_days", "3650"),
        ({"key": "bad key!"}, "key", "letters"),
        # Checks that only the shared service knows, shown next to the field all the same:
        ({"reminder_after-amount": "20"}, "expires_after", "reminder_after"),
        ({"expires_after-amount": "400"}, "expires_after", "366"),
        ({"units": ["nowhere"]}, "units", ""),
        ({"questionnaire": "missing"}, "questionnaire", ""),
    ],
)
def test_invalid_values_show_an_error_next_to_their_field(
    app: Flask, admin_client: FlaskClient, setup: None, changes: dict[str, Any], field_id: str,
    words: str
) -> None:
    response = post_form(admin_client, "/admin/rules/new", **changes)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert words in error_of(html, field_id)
    assert 'aria-invalid="true"' in html
    with app.app_context():
        assert db.session.scalar(select(DistributionRule.id)) is None  # nothing saved


def test_a_taken_key_is_refused_not_replaced(app: Flask, admin_client: FlaskClient,
                                             setup: None) -> None:
    assert post_form(admin_client, "/admin/rules/new").status_code == 302
    response = post_form(admin_client, "/admin/rules/new", priority="99")
    assert response.status_code == 422
    assert "exists" in error_of(response.get_data(as_text=True), "key")
    assert stored(app, "parks-web").priority == 10


def test_activate_and_deactivate_from_the_list(app: Flask, admin_client: FlaskClient,
                                               setup: None) -> None:
    with app.app_context():
        make_rule("default")
        db.session.commit()
    token = csrf_token_from(admin_client.get("/admin/rules").get_data(as_text=True))
    response = admin_client.post("/admin/rules/default/active",
                                 data={"active": "0", "next": "list", "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/rules")
    assert stored(app, "default").active is False
    admin_client.post("/admin/rules/default/active", data={"active": "1", "csrf_token": token})
    assert stored(app, "default").active is True
    assert admin_client.post("/admin/rules/default/active",
                             data={"active": "0"}).status_code == 400  # no CSRF token
    assert stored(app, "default").active is True
    assert admin_client.post("/admin/rules/nope/active",
                             data={"active": "0", "csrf_token": token}).status_code == 404


def test_designers_may_manage_rules_viewers_may_not(app: Flask, client: FlaskClient,
                                                    setup: None) -> None:
    password = make_user(app, "viewer@example.org", role="viewer")
    login(client, "viewer@example.org", password)
    assert client.get("/admin/rules").status_code == 403
    assert client.get("/admin/rules/new").status_code == 403
    client.post("/auth/logout", data={"csrf_token": csrf_token_from(
        client.get("/").get_data(as_text=True))})
    password = make_user(app, "designer@example.org", role="designer")
    designer = app.test_client()
    login(designer, "designer@example.org", password)
    assert designer.get("/admin/rules").status_code == 200
    assert post_form(designer, "/admin/rules/new").status_code == 302


def test_save_rule_is_the_apis_validation(app: Flask, setup: None) -> None:
    with app.app_context():
        with pytest.raises(RuleInvalid) as problem:
            save_rule("x", {"questionnaire": "post-resolution", "sample_rate": 2.0,
                            "send_window": "9-20", "timezone": "Nowhere/Town"}, "test")
        assert set(problem.value.errors) == {"sample_rate", "send_window", "timezone"}
        rule = save_rule("x", {"questionnaire": "quick"}, "test")
        assert (rule.delay_minutes, rule.reminder_after_minutes, rule.sample_rate) == (
            24 * 60, 3 * 24 * 60, 1.0)


def test_durations_show_in_their_largest_exact_unit() -> None:
    assert duration_data(4320) == {"amount": 3, "unit": "days"}
    assert duration_data(90) == {"amount": 90, "unit": "minutes"}
    assert duration_data(120) == {"amount": 2, "unit": "hours"}
    assert duration_data(0) == {"amount": 0, "unit": "minutes"}


def test_a_rule_on_services_given_is_made_in_the_form(app: Flask, admin_client: FlaskClient,
                                                      setup: None) -> None:
    with app.app_context():
        make_service_event(service="permits")
        db.session.commit()
    page = admin_client.get("/admin/rules/new").get_data(as_text=True)
    assert 'value="service_event"' in page and "Permits (permits)" in page
    response = post_form(admin_client, "/admin/rules/new", key="desk-visits",
                         triggered_by="service_event", services=["permits"], channels=[])
    assert response.status_code == 302
    rule = stored(app, "desk-visits")
    assert rule.triggered_by == RuleTrigger.SERVICE_EVENT and rule.service_codes == ["permits"]
    listed = admin_client.get("/admin/rules").get_data(as_text=True)
    assert "A service is given" in listed
    wrong = post_form(admin_client, "/admin/rules/new", key="bad", triggered_by="moon")
    assert wrong.status_code == 422
