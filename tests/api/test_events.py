"""Contract tests: POST /api/v1/complaints/<id>/events, the complaint's state machine, and the
survey it plans or cancels (through the real planner)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    ApiScope,
    ComplaintEvent,
    DistributionRule,
    Invitation,
    Questionnaire,
    QuestionnaireVersion,
    VersionStatus,
)
from tests.support.api import (
    RECEIVED,
    Api,
    at,
    complaint_body,
    error_of,
    invalid_fields,
    make_key,
)

NOTE = "Konteyner değiştirildi; İlçe ekibi ışıklandırmayı da düzeltti. Şikâyetçi bilgilendirildi."


def _publish_survey_rule(app) -> None:  # type: ignore[no-untyped-def]
    """A published questionnaire and a rule that sends at any hour right after resolution."""
    with app.app_context():
        questionnaire = Questionnaire(key="post-resolution", title="Memnuniyet")
        version = QuestionnaireVersion(
            questionnaire=questionnaire, number=1, status=VersionStatus.PUBLISHED,
            published_at=dt.datetime.now(dt.UTC),
            definition={"key": "post-resolution", "languages": ["tr", "en"], "questions": []},
        )
        rule = DistributionRule(key="default", questionnaire=questionnaire, delay_minutes=0,
                                send_window_start="00:00", send_window_end="23:59",
                                fatigue_days=0)
        db.session.add_all([questionnaire, version, rule])
        db.session.commit()




@pytest.fixture
def complaint(api) -> dict:  # type: ignore[no-untyped-def]
    response = api.post("/complaints", json=complaint_body())
    assert response.status_code == 201
    return response.get_json()


def _event(api: Api, ref: object, kind: str, days: float, **extra: object):  # type: ignore[no-untyped-def]
    return api.post(f"/complaints/{ref}/events", json={"type": kind, "at": at(days), **extra})


def _count(app, model) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _invitation_states(app) -> list[str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        rows = db.session.scalars(select(Invitation).order_by(Invitation.id))
        return [row.state.value for row in rows]


def test_resolution_plans_the_survey_and_a_reopen_cancels_it(app, api, complaint) -> None:
    _publish_survey_rule(app)
    resolved = _event(api, complaint["id"], "resolved", 1, note=NOTE)
    assert resolved.status_code == 201, resolved.get_json()
    body = resolved.get_json()
    assert body["status"] == "resolved"
    assert dt.datetime.fromisoformat(body["resolved_at"]) == RECEIVED + dt.timedelta(days=1)
    assert body["resolved_on_time"] is True  # due after 3 days
    assert [(e["type"], e["note"], e["actor"]) for e in body["history"]] == [
        ("received", None, "api_key:yönetici"), ("resolved", NOTE, "api_key:yönetici"),
    ]
    assert [(i["state"], i["language"]) for i in body["invitations"]] == [("planned", "tr")]
    assert _invitation_states(app) == ["planned"]

    reopened = _event(api, complaint["id"], "reopened", 1.5, note="Vatandaş tekrar aradı")
    assert reopened.status_code == 201
    body = reopened.get_json()
    assert body["status"] == "reopened" and body["reopen_count"] == 1
    assert body["resolved_at"] is None and body["resolved_on_time"] is None
    assert [i["state"] for i in body["invitations"]] == ["cancelled"]

    # Resolved again, late this time: a new survey is planned for the new resolution.
    again = _event(api, complaint["id"], "resolved", 4)
    assert again.status_code == 201
    body = again.get_json()
    assert body["resolved_on_time"] is False
    assert [i["state"] for i in body["invitations"]] == ["cancelled", "planned"]
    assert [e["type"] for e in body["history"]] == ["received", "resolved", "reopened", "resolved"]
    with app.app_context():
        notes = db.session.scalars(select(ComplaintEvent.note).order_by(ComplaintEvent.id)).all()
        assert notes == [None, NOTE, "Vatandaş tekrar aradı", None]


def test_the_same_event_again_is_stored_once(app, api, complaint) -> None:
    _publish_survey_rule(app)
    first = _event(api, complaint["id"], "resolved", 1)
    assert first.status_code == 201
    for _ in range(3):
        # Written with another offset for the same instant, and by external id: still the same.
        moment = (RECEIVED + dt.timedelta(days=1)).isoformat()
        repeat = api.post("/complaints/ext:ÇM-2026%2F0001/events",
                          json={"type": "resolved", "at": moment})
        assert repeat.status_code == 200
        assert repeat.get_json() == first.get_json()
    assert _count(app, ComplaintEvent) == 2
    assert _invitation_states(app) == ["planned"]

    # A retry that arrives after the complaint moved on is still just a retry.
    assert _event(api, complaint["id"], "closed", 2).status_code == 201
    assert _event(api, complaint["id"], "resolved", 1).status_code == 200
    assert _event(api, complaint["id"], "closed", 2).status_code == 200
    assert _count(app, ComplaintEvent) == 3


def test_full_lifecycle_sets_every_field(app, api, complaint) -> None:
    ref = complaint["id"]
    assert _event(api, ref, "acknowledged", 0.1).get_json()["status"] == "acknowledged"
    assert _event(api, ref, "resolved", 1).status_code == 201
    closed = _event(api, ref, "closed", 1.2).get_json()
    assert closed["status"] == "closed"
    assert dt.datetime.fromisoformat(closed["closed_at"]) == RECEIVED + dt.timedelta(days=1.2)
    assert dt.datetime.fromisoformat(closed["acknowledged_at"]) == RECEIVED + dt.timedelta(days=0.1)
    reopened = _event(api, ref, "reopened", 2).get_json()
    assert reopened["closed_at"] is None and reopened["reopen_count"] == 1
    assert _event(api, ref, "resolved", 2.5).status_code == 201
    assert _event(api, ref, "reopened", 2.6).get_json()["reopen_count"] == 2
    final = _event(api, ref, "closed", 2.7).get_json()  # closed unresolved (withdrawn)
    assert final["status"] == "closed" and final["resolved_at"] is None
    assert [e["type"] for e in final["history"]] == [
        "received", "acknowledged", "resolved", "closed", "reopened", "resolved", "reopened",
        "closed",
    ]
    # No rule is configured: each resolution still leaves its suppressed invitation behind.
    assert _invitation_states(app) == ["suppressed", "suppressed"]


def test_a_late_acknowledgement_is_recorded_in_its_place(app, api, complaint) -> None:
    assert _event(api, complaint["id"], "resolved", 2).status_code == 201
    late = _event(api, complaint["id"], "acknowledged", 0.5)
    assert late.status_code == 201
    body = late.get_json()
    assert body["status"] == "resolved"
    assert dt.datetime.fromisoformat(body["acknowledged_at"]) == RECEIVED + dt.timedelta(days=0.5)
    assert [e["type"] for e in body["history"]] == ["received", "acknowledged", "resolved"]


REFUSED = [
    # (events applied first, refused event, status, field or None)
    ([("resolved", 1), ("closed", 2)], ("resolved", 3), 409, None),
    ([], ("reopened", 1), 409, None),
    ([("acknowledged", 0.5)], ("reopened", 1), 409, None),
    ([("resolved", 1)], ("resolved", 2), 409, None),
    ([("resolved", 1), ("closed", 2)], ("closed", 3), 409, None),
    ([("acknowledged", 0.5)], ("acknowledged", 0.6), 409, None),
    ([("resolved", 1)], ("acknowledged", 1.5), 409, None),
    ([("resolved", 2)], ("closed", 1), 409, None),
    ([("resolved", 1), ("reopened", 2)], ("resolved", 1.5), 409, None),
    ([], ("resolved", -1), 422, "at"),
    ([], ("acknowledged", -0.001), 422, "at"),
    ([], ("resolved", 12), 422, "at"),  # two days ahead: in the future
]


def test_impossible_transitions_say_why_and_change_nothing(app, api) -> None:
    _publish_survey_rule(app)
    for number, (before, refused, status, field) in enumerate(REFUSED):
        case = f"case {number}: {before} then {refused}"
        ref = f"ext:R-{number}"
        assert api.post("/complaints", json=complaint_body(external_id=f"R-{number}")
                        ).status_code == 201
        for kind, days in before:
            assert _event(api, ref, kind, days).status_code == 201, case
        snapshot = api.get(f"/complaints/{ref}").get_json()
        events, invitations = _count(app, ComplaintEvent), _invitation_states(app)

        response = _event(api, ref, *refused)
        assert response.status_code == status, case
        error = error_of(response)
        if status == 422:
            assert invalid_fields(response) == {field}, case
        else:
            assert error["code"] == "conflict", case
            assert error["details"]["status"] == snapshot["status"], case
        assert api.get(f"/complaints/{ref}").get_json() == snapshot, case
        assert _count(app, ComplaintEvent) == events, case
        assert _invitation_states(app) == invitations, case


def test_conflict_messages_name_the_reason(app, api, complaint) -> None:
    _event(api, complaint["id"], "resolved", 1)
    _event(api, complaint["id"], "closed", 2)
    message = error_of(_event(api, complaint["id"], "resolved", 3))["message"]
    assert "closed" in message and "reopen" in message
    before = error_of(_event(api, complaint["id"], "acknowledged", -1))
    assert "received" in before["details"][0]["message"]


INVALID_EVENTS = [
    ({"type": "received", "at": "2026-01-01T00:00:00+03:00"}, {"type"}),
    ({"type": "deleted", "at": "2026-01-01T00:00:00+03:00"}, {"type"}),
    ({"type": "resolved", "at": "2026-01-01T10:00:00"}, {"at"}),
    ({"type": "resolved"}, {"at"}),
    ({"at": "2026-01-01T00:00:00Z"}, {"type"}),
    ({"type": "resolved", "at": "2026-01-01T00:00:00Z", "note": 5}, {"note"}),
    ({"type": "resolved", "at": "2026-01-01T00:00:00Z", "note": "x" * 5001}, {"note"}),
    ({"type": "resolved", "at": "2026-01-01T00:00:00Z", "by": "me"}, {"by"}),
]


def test_invalid_event_fields(app, api, complaint) -> None:
    for body, fields in INVALID_EVENTS:
        response = api.post(f"/complaints/{complaint['id']}/events", json=body)
        assert invalid_fields(response) == fields, body
    assert _count(app, ComplaintEvent) == 1


def test_events_for_unknown_complaints_and_scopes(app, api, client, complaint) -> None:
    for ref in ("999", "ext:yok", "ext:ÇM-2026", "x/y"):
        missing = _event(api, ref, "resolved", 1)
        assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"
    reader = Api(client, make_key(app, ApiScope.READ, name="okuyucu"))
    assert _event(reader, complaint["id"], "resolved", 1).status_code == 403
    anonymous = client.post(f"/api/v1/complaints/{complaint['id']}/events",
                            json={"type": "resolved", "at": at(1)})
    assert anonymous.status_code == 401
    intake = Api(client, make_key(app, ApiScope.INTAKE, name="çağrı"))
    done = _event(intake, complaint["id"], "resolved", 1)
    assert done.status_code == 201 and "complainant" not in done.get_json()
    assert done.get_json()["history"][-1]["actor"] == "api_key:çağrı"


def test_consent_refused_suppresses_the_survey(app, api) -> None:
    _publish_survey_rule(app)
    body = complaint_body(external_id="R-1")
    body["complainant"] = {**body["complainant"], "survey_consent": False}
    created = api.post("/complaints", json=body).get_json()
    resolved = _event(api, "ext:R-1", "resolved", 1).get_json()
    assert resolved["id"] == created["id"]
    assert [(i["state"], i["suppression_reason"]) for i in resolved["invitations"]] == [
        ("suppressed", "no_consent"),
    ]


def test_event_notes_are_personal_data_for_admin_keys_only(app, api, complaint) -> None:
    """A note is free text ("the complainant, Ayşe Yılmaz of ..."): the privacy code lists it as
    personal data, so a read or intake key sees that an event happened, not what was written."""
    assert _event(api, complaint["id"], "resolved", 1, note=NOTE).status_code == 201
    for scopes in ((ApiScope.READ,), (ApiScope.INTAKE,), (ApiScope.READ, ApiScope.INTAKE)):
        other = Api(app.test_client(), make_key(app, *scopes, name="+".join(scopes)))
        for path in (f"/complaints/{complaint['id']}", "/complaints"):
            body = other.get(path).get_json()
            if ApiScope.READ not in scopes:
                assert body["error"]["code"] == "forbidden"
                continue
            document = body if "history" in body else body["complaints"][0]
            history = document["history"]
            assert [e["type"] for e in history][:2] == ["received", "resolved"], scopes
            assert [e["note"] for e in history] == [None] * len(history), scopes
        if ApiScope.INTAKE in scopes:  # the answer to its own event: the same rule
            answered = _event(other, complaint["id"], "closed", 2, note=NOTE).get_json()
            assert all(e["note"] is None for e in answered["history"])
    body = api.get(f"/complaints/{complaint['id']}").get_json()  # the admin key reads it all
    assert [e["note"] for e in body["history"]][-2:] == [NOTE, NOTE]
