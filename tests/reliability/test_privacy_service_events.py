"""Privacy covers the people served as it covers complainants: a person's service events (with
their invitations and answers) are in the export, an erasure removes what identifies them there,
and the retention job purges their contact data once their services are long past."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

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


def _campaign_follow_up(app, event_id: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """The person's service surveyed again by a campaign: the e-mail in the outbox, a low score
    with a comment naming them (a service user's follow-up), and a note naming them."""
    from app.followup.services import add_note
    from app.models import Campaign, FollowUp, Questionnaire, User
    from app.respond.services import submit_response
    from tests.support.factories import make_user

    make_user(app, "team@example.org", "designer")
    with app.app_context():
        version = db.session.scalar(select(QuestionnaireVersion).join(Questionnaire).where(
            Questionnaire.key == "post-resolution"))
        campaign = Campaign(key="spring", name="Spring", questionnaire_id=version.questionnaire_id,
                            served_from=NOW - dt.timedelta(days=60), served_until=NOW,
                            closes_at=NOW + dt.timedelta(days=30))
        invitation = Invitation(service_event_id=event_id, campaign=campaign, version=version,
                                state=InvitationState.SENT, language="tr",
                                sent_at=NOW - dt.timedelta(days=1))
        db.session.add(invitation)
        db.session.commit()
        outbox = Path(app.config["MEMNUN_OUTBOX_DIR"])
        outbox.mkdir(parents=True, exist_ok=True)
        eml = outbox / f"20261201T090000000000Z-inv{invitation.id}-0123abcd.eml"
        eml.write_text(f"To: {TARGET.email}\n\nMerhaba {TARGET.name}\n", encoding="utf-8")
        response = submit_response(invitation, {"overall": 1, "improve":
                                                f"{TARGET.name} olarak şikayetçiyim"}, "tr")
        follow_up = db.session.scalar(select(FollowUp).where(
            FollowUp.response_id == response.id))
        assert follow_up is not None and follow_up.complaint_id is None
        team = db.session.scalar(select(User).where(User.email == "team@example.org"))
        add_note(follow_up, f"{TARGET.name} aranacak: {TARGET.phone}", team)
        return {"follow_up": follow_up.id, "invitation": invitation.id, "eml": eml}


def test_a_campaign_survey_and_its_follow_up_are_exported_then_erased(app) -> None:
    from app.models import FollowUp, FollowUpNote

    ids = _served(app)
    made = _campaign_follow_up(app, ids[TARGET.email])
    exported = app.test_cli_runner().invoke(
        args=["privacy", "export", "--email", TARGET.email])
    assert exported.exit_code == 0, exported.output
    [event] = json.loads(exported.output)["service_events"]
    assert made["invitation"] in [invitation["id"] for invitation in event["invitations"]]
    [follow_up] = event["follow_ups"]
    assert follow_up["reasons"] == ["low_score"]
    assert TARGET.phone in follow_up["notes"][0]["text"]
    assert any(TARGET.name in str(answer["value"]) for response in event["responses"]
               for answer in response["answers"])

    erased = app.test_cli_runner().invoke(
        args=["privacy", "erase", "--email", TARGET.email, "--yes"])
    assert erased.exit_code == 0, erased.output
    assert "1 follow-up note(s)" in erased.output and "1 outbox file(s)" in erased.output
    assert not made["eml"].exists()  # type: ignore[attr-defined]
    with app.app_context():
        assert db.session.scalars(select(FollowUpNote.text)).all() == [""]
        follow_up = db.session.get(FollowUp, made["follow_up"])
        assert follow_up is not None  # that someone followed up stays, and the score
        texts = db.session.scalars(select(Answer.value_text).where(
            Answer.value_text.is_not(None))).all()
        assert texts == []
        scores = db.session.scalars(select(Answer.value_number).where(
            Answer.response_id == follow_up.response_id)).all()
        assert scores == [1]


def test_retention_waits_for_a_campaign_survey_then_purges(app) -> None:
    """A campaign's invitation about an old service keeps the contact data while it is open;
    once closed long ago, the purge takes it, and the follow-up page has none to show."""
    from app.followup.services import _contact
    from app.models import Campaign, Questionnaire

    with app.app_context():
        from app.design.services import install_all_templates

        install_all_templates()
        questionnaire = db.session.scalar(select(Questionnaire))
        unit, service = Unit(code="fen", name="Fen"), Service(code="ruhsat", name="Ruhsat")
        person = Complainant(name="Eski", email="eski@example.org", survey_consent=True,
                             language="tr", created_at=NOW - dt.timedelta(days=400))
        event = ServiceEvent(external_id="CMP-1", unit=unit, service=service,
                             channel=Channel.WEB, person=person,
                             occurred_at=NOW - dt.timedelta(days=400))
        campaign = Campaign(key="old", name="Old", questionnaire_id=questionnaire.id,
                            served_from=NOW - dt.timedelta(days=420),
                            served_until=NOW - dt.timedelta(days=390),
                            closes_at=NOW + dt.timedelta(days=10))
        invitation = Invitation(service_event=event, campaign=campaign, language="tr",
                                state=InvitationState.SENT, sent_at=NOW - dt.timedelta(days=5),
                                expires_at=NOW + dt.timedelta(days=10),
                                created_at=NOW - dt.timedelta(days=5))
        db.session.add(invitation)
        db.session.commit()
        assert purge_expired_contacts(now=NOW) == 0  # the campaign's survey is open
        invitation.state = InvitationState.EXPIRED
        invitation.expires_at = NOW - dt.timedelta(days=200)
        db.session.commit()
        assert purge_expired_contacts(now=NOW) == 1
        db.session.refresh(person)
        assert person.email is None and person.erased_at is not None
        from app.models import User
        from tests.support.factories import make_user

        make_user(app, "admin@example.org", "admin")
        admin = db.session.scalar(select(User).where(User.email == "admin@example.org"))
        assert _contact(admin, person) is None
