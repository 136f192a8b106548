"""Privacy covers the people served as it covers complainants: a person's service events (with
their invitations and answers) are in the export, an erasure removes what identifies them there,
and the retention job purges their contact data once their services are long past."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from app.extensions import db
from app.models import (
    Answer,
    Category,
    Channel,
    Complainant,
    Invitation,
    InvitationState,
    QuestionnaireVersion,
    Response,
    Service,
    ServiceEvent,
    Unit,
)
from app.privacy.services import purge_expired_contacts
from tests.support.api import admin_api, seed_reference, seed_services, service_event_body
from tests.support.privacy import OTHER, TARGET

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def _served(app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The target and another person each served once through the API; the target's service
    surveyed and answered (a text answer naming them, a gateway error quoting their phone)."""
    api = admin_api(app)
    seed_reference(api)
    seed_services(api)
    ids = {}
    for number, person in enumerate((TARGET, OTHER)):
        answer = api.post("/service-events", json=service_event_body(
            external_id=f"SRV-{number}", person={"name": person.name, "email": person.email,
                                                 "phone": person.phone,
                                                 "survey_consent": True}))
        assert answer.status_code == 201, answer.get_json()
        ids[person.email] = answer.get_json()["id"]
    from app.design.services import install_all_templates

    with app.app_context():
        install_all_templates()
        version = db.session.scalars(select(QuestionnaireVersion)).first()
        event = db.session.get(ServiceEvent, ids[TARGET.email])
        invitation = Invitation(service_event_id=event.id, state=InvitationState.RESPONDED,
                                language="tr", last_error=f"refused: {TARGET.phone}")
        db.session.add(invitation)
        db.session.flush()
        response = Response(invitation_id=invitation.id, version_id=version.id,
                            questionnaire_id=version.questionnaire_id,
                            service_event_id=event.id, unit_id=event.unit_id,
                            service_id=event.service_id, channel=Channel.WALK_IN, language="tr",
                            # The rollup's triggers still need a category (issue 16's split
                            # of the figures is built beside this).
                            category_id=db.session.scalar(select(Category.id)))
        response.answers = [
            Answer(question_key="overall", question_type="rating", value_number=4),
            Answer(question_key="improve", question_type="text",
                   value_text=f"Ben {TARGET.name}, beni {TARGET.phone} arayın"),
        ]
        db.session.add(response)
        db.session.commit()
    return ids


def test_export_holds_the_persons_service_events_and_answers(app) -> None:
    ids = _served(app)
    result = app.test_cli_runner().invoke(args=["privacy", "export", "--email", TARGET.email])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    [event] = document["service_events"]
    assert event["id"] == ids[TARGET.email] and event["service"] == "ruhsat.yapi"
    assert event["person"]["email"] == TARGET.email.lower()
    assert event["invitations"][0]["state"] == "responded"
    answers = {a["question"]: a["value"] for a in event["responses"][0]["answers"]}
    assert answers["overall"] == 4 and TARGET.name in answers["improve"]
    assert OTHER.name not in json.dumps(document, ensure_ascii=False)


def test_erasure_removes_what_identifies_the_person_served(app) -> None:
    ids = _served(app)
    result = app.test_cli_runner().invoke(
        args=["privacy", "erase", "--email", TARGET.email, "--yes"])
    assert result.exit_code == 0, result.output
    assert "1 service event(s)" in result.output
    with app.app_context():
        event = db.session.get(ServiceEvent, ids[TARGET.email])
        person = event.person
        assert person.name is person.email is person.phone is None
        assert person.erased_at is not None
        answers = db.session.scalars(select(Answer)).all()
        assert [(a.question_key, a.value_number) for a in answers] == [("overall", 4)]
        invitation = db.session.scalar(select(Invitation))
        assert TARGET.phone not in invitation.last_error
        other = db.session.get(ServiceEvent, ids[OTHER.email]).person
        assert other.name == OTHER.name and other.erased_at is None


def test_retention_purges_people_served_long_ago_only(app) -> None:
    # person -> (served days ago, survey state and closed days ago or None, purged at 180)
    people = {
        "served-long-ago": (200, None, True),
        "served-lately": (30, None, False),
        "survey-still-open": (300, (InvitationState.SENT, None), False),
        "answered-long-ago": (300, (InvitationState.RESPONDED, 200), True),
        "answered-lately": (300, (InvitationState.RESPONDED, 20), False),
    }
    with app.app_context():
        unit, service = Unit(code="fen", name="Fen"), Service(code="ruhsat", name="Ruhsat")
        found = {}
        for number, (key, (served, survey, _purged)) in enumerate(people.items()):
            person = Complainant(name=key, email=f"{key}@example.org", survey_consent=True,
                                 language="tr", created_at=NOW - dt.timedelta(days=served))
            event = ServiceEvent(external_id=f"RT-{number}", unit=unit, service=service,
                                 channel=Channel.WEB, person=person,
                                 occurred_at=NOW - dt.timedelta(days=served))
            db.session.add(event)
            if survey is not None:
                state, closed = survey
                at = NOW - dt.timedelta(days=closed or 1)
                db.session.add(Invitation(
                    service_event=event, state=state, language="tr",
                    created_at=NOW - dt.timedelta(days=served),
                    sent_at=at, expires_at=at + dt.timedelta(days=14),
                    responded_at=at if state == InvitationState.RESPONDED else None))
            db.session.commit()
            found[key] = person.id
        expected = {key for key, (_s, _v, purged) in people.items() if purged}
        assert purge_expired_contacts(now=NOW) == len(expected)
        kept = {key for key, person_id in found.items()
                if db.session.get(Complainant, person_id).email is not None}
        assert kept == set(people) - expected
