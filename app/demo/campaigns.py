"""Two campaigns of the demo: one finished last quarter, one running now.

Each samples the visitors of the citizen service desk ("Beyaz Masa") in a few units over one
month (and the imar unit's building-permit applicants who left an e-mail for the rule on service
events, ``service_surveys``: they were served in that month too). The few service events they
need are made here (60 visitors a unit and month) unless they are there already; the campaigns
are planned and started by the campaign service itself, in the past, so the demo shows what the
pages show for a real one: the sample by unit, what was sent and answered (a recommendation
question, 0-10), and for the finished one its close.
"""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select, update

from app.demo.simulation import Clock
from app.distribution.campaigns import close_campaign, start_campaign
from app.distribution.tokens import hash_token, token_for
from app.extensions import db
from app.models import (
    Answer,
    Campaign,
    Channel,
    Complainant,
    Invitation,
    InvitationState,
    Questionnaire,
    Response,
    ResponseMode,
    ResponseSource,
    Service,
    ServiceEvent,
    Unit,
)

SERVICE = ("beyaz-masa", "Beyaz Masa başvurusu")
UNITS = ("fen-isleri", "su-kanalizasyon", "zabita", "sosyal-yardim")
VISITORS = 60  # a unit and month
QUESTIONNAIRE = "nps-relationship"
ACTOR = "demo"


def store_campaigns(clock: Clock, seed: int) -> int:
    """The finished and the running campaign; returns how many invitations they planned.
    Commits (the campaign service does)."""
    rng = random.Random(seed)  # noqa: S311 - made-up data
    questionnaire = db.session.scalar(
        select(Questionnaire).where(Questionnaire.key == QUESTIONNAIRE))
    units = _unit_ids()
    if questionnaire is None or not units:
        return 0
    service = _service()
    now = clock.now
    month = dt.timedelta(days=30)
    finished = _campaign("2-ceyrek-beyaz-masa", "Beyaz Masa ziyaretçileri (geçen çeyrek)",
                         questionnaire, now - 4 * month, now - 3 * month, now - 2 * month)
    running = _campaign("bu-ay-beyaz-masa", "Beyaz Masa ziyaretçileri (geçen ay)",
                        questionnaire, now - month - dt.timedelta(days=5),
                        now - dt.timedelta(days=5), now + dt.timedelta(days=23))
    for campaign in (finished, running):
        _visitors(rng, campaign, service, units)
    db.session.commit()
    planned = start_campaign(finished, ACTOR, now - 3 * month + dt.timedelta(days=2))
    _answers(rng, finished, share=0.45)
    close_campaign(finished, ACTOR, finished.closes_at)
    planned += start_campaign(running, ACTOR, now - dt.timedelta(days=4))
    _answers(rng, running, share=0.25)
    db.session.commit()
    return planned


def _unit_ids() -> list[int]:
    return list(db.session.scalars(select(Unit.id).where(Unit.code.in_(UNITS)).order_by(Unit.id)))


def _service() -> Service:
    code, name = SERVICE
    service = db.session.scalar(select(Service).where(Service.code == code))
    if service is None:
        service = Service(code=code, name=name)
        db.session.add(service)
        db.session.flush()
    return service


def _campaign(key: str, name: str, questionnaire: Questionnaire, served_from: dt.datetime,
              served_until: dt.datetime, closes_at: dt.datetime) -> Campaign:
    campaign = Campaign(key=key, name=name, questionnaire=questionnaire,
                        served_from=served_from, served_until=served_until,
                        margin_of_error=0.2, expected_response_rate=0.5, closes_at=closes_at)
    db.session.add(campaign)
    db.session.flush()
    return campaign


def _visitors(rng: random.Random, campaign: Campaign, service: Service,
              units: list[int]) -> None:
    """``VISITORS`` people a unit served in the campaign's month (most agreed to surveys)."""
    span = (campaign.served_until - campaign.served_from).total_seconds()
    for unit_id in units:
        for number in range(VISITORS):
            person = Complainant(
                name=f"Ziyaretçi {campaign.id}-{unit_id}-{number}",
                email=f"ziyaretci.{campaign.id}.{unit_id}.{number}@example.org",
                language="tr", survey_consent=rng.random() < 0.85)
            db.session.add(ServiceEvent(
                source="demo", external_id=f"BM-{campaign.key}-{unit_id}-{number}",
                occurred_at=campaign.served_from + dt.timedelta(seconds=rng.random() * span),
                unit_id=unit_id, service=service, channel=Channel.WALK_IN, person=person))


def _answers(rng: random.Random, campaign: Campaign, share: float) -> None:
    """Mark the campaign's invitations sent an hour after the start, and a ``share`` of them
    answered over the next days (a 0-10 recommendation)."""
    sent_at = (campaign.started_at or campaign.created_at) + dt.timedelta(hours=1)
    invitations = db.session.execute(
        select(Invitation.id, Invitation.version_id, ServiceEvent.id, ServiceEvent.unit_id,
               ServiceEvent.service_id, Invitation.channel)
        .join(ServiceEvent, ServiceEvent.id == Invitation.service_event_id)
        .where(Invitation.campaign_id == campaign.id).order_by(Invitation.id)).all()
    db.session.execute(update(Invitation), [
        {"id": row[0], "state": InvitationState.SENT, "sent_at": sent_at,
         "expires_at": campaign.closes_at, "token_hash": hash_token(token_for(row[0]))}
        for row in invitations])
    for invitation_id, version_id, event_id, unit_id, service_id, channel in invitations:
        if rng.random() >= share:
            continue
        at = sent_at + dt.timedelta(hours=rng.uniform(1, 96))
        response = Response(
            invitation_id=invitation_id, version_id=version_id,
            questionnaire_id=campaign.questionnaire_id, service_event_id=event_id,
            unit_id=unit_id, service_id=service_id, channel=Channel.WALK_IN,
            source=ResponseSource.CAMPAIGN, mode=ResponseMode.answering(channel), language="tr",
            submitted_at=at)
        db.session.add(response)
        db.session.flush()
        score = min(10, max(0, round(rng.gauss(7.5, 2.2))))
        db.session.add(Answer(response_id=response.id, question_key="recommend",
                              question_type="nps", attribute="loyalty", value_number=score))
        db.session.execute(update(Invitation).where(Invitation.id == invitation_id).values(
            state=InvitationState.RESPONDED, responded_at=at))
    db.session.commit()
