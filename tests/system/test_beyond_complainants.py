"""Issue 16 end to end, over real parts: service events come in through the REST API (one and a
batch, over HTTP) and a CSV file, a complaint through the API; a rule on service events and one
on complaints plan invitations (a person with a complaint survey is not asked about a service in
the fatigue window), a campaign samples the people served that nobody asked yet; the dispatcher
sends every survey through a real SMTP server, people answer through their links, and the
metrics API splits the figures by source, cross-checked with statsmodels."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from flask import Flask
from sqlalchemy import select
from statsmodels.stats.proportion import proportion_confint

from app.distribution.campaigns import start_campaign
from app.distribution.dispatcher import dispatch_due
from app.extensions import db
from app.intake.csv_import import SERVICE_EVENTS, import_csv
from app.models import (
    ApiScope,
    Invitation,
    InvitationState,
    RuleTrigger,
    SuppressionReason,
)
from tests.support.api import make_key
from tests.support.campaigns import make_campaign
from tests.support.distribution import DEFINITION, make_questionnaire, make_rule, smtp_config
from tests.support.server import serve
from tests.support.web import csrf_token_from

LINK_RE = re.compile(r"(http://127\.0\.0\.1:\d+/s/[A-Za-z0-9_-]{43})(?=[\s\"<])")
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
SERVED = NOW - dt.timedelta(days=2)
#: What each person answers (overall, 1-5), by e-mail address.
COMPLAINANTS = {"ayse@example.org": 5, "kemal@example.org": 2}
SERVICE_USERS = {"b1@example.org": 5, "b2@example.org": 4, "b3@example.org": 4,
                 "b4@example.org": 2, "c1@example.org": 1}
CAMPAIGN = {"d1@example.org": 4, "d2@example.org": 5}


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(MEMNUN_MIN_GROUP_SIZE=2)


def _person(email: str) -> dict[str, Any]:
    return {"name": "Deneme Kişi", "email": email, "language": "tr", "survey_consent": True}


def _event(number: int, email: str, service: str = "ruhsat.yapi") -> dict[str, Any]:
    return {"external_id": f"HZ-{number}", "occurred_at": SERVED.isoformat(), "unit": "fen",
            "service": service, "channel": "walk_in", "person": _person(email)}


def _catalogue(api: Callable[..., requests.Response]) -> None:
    for path, body in (("/units/fen", {"name": "Fen İşleri", "parent": None}),
                       ("/categories/yol", {"name": "Yol", "parent": None,
                                            "committed_response_days": 10}),
                       ("/services/ruhsat", {"name": "Ruhsat", "parent": None}),
                       ("/services/ruhsat.yapi", {"name": "Yapı ruhsatı", "parent": "ruhsat"}),
                       ("/services/su", {"name": "Su aboneliği", "parent": None})):
        assert api("put", path, json=body).status_code == 201, path


def _complaint(api: Callable[..., requests.Response], number: int, email: str) -> None:
    body = {"external_id": f"ÇM-{number}", "received_at": (SERVED - dt.timedelta(days=3))
            .isoformat(), "channel": "web", "category": "yol", "unit": "fen",
            "complainant": _person(email)}
    created = api("post", "/complaints", json=body)
    assert created.status_code == 201, created.text
    resolved = api("post", f"/complaints/{created.json()['id']}/events",
                   json={"type": "resolved", "at": SERVED.isoformat()})
    assert resolved.status_code in (200, 201), resolved.text


def _take_in(app: Flask, api: Callable[..., requests.Response]) -> None:
    _catalogue(api)
    for number, email in enumerate(COMPLAINANTS, 1):
        _complaint(api, number, email)
    # Ayşe had a complaint survey planned: her service survey gives way (fatigue).
    single = api("post", "/service-events", json=_event(1, "ayse@example.org"))
    assert single.status_code == 201, single.text
    batch = api("post", "/service-events/batch", json={"service_events": [
        _event(10 + n, email) for n, email in enumerate(list(SERVICE_USERS)[:4])] + [
        _event(20 + n, email, service="su") for n, email in enumerate(CAMPAIGN)]})
    assert batch.status_code == 200 and {r["status"] for r in batch.json()["results"]} == {201}
    again = api("post", "/service-events/batch",
                json={"service_events": [_event(10, "b1@example.org")]})
    assert [r["status"] for r in again.json()["results"]] == [200]  # nothing planned twice
    csv = ("external_id,occurred_at,unit,service,channel,survey_consent,person_email\n"
           f"HZ-30,{SERVED.isoformat()},fen,ruhsat.yapi,walk_in,yes,c1@example.org\n")
    with app.test_request_context():
        report = import_csv(SERVICE_EVENTS, csv.encode(), "csv-test")
    assert report.stored == 1 and not report.problems


def _planned(app: Flask) -> dict[str, Any]:
    with app.app_context():
        rows = db.session.execute(select(Invitation)).scalars().all()
        return {(i.person.email, i.complaint_id is not None): (i.state, i.suppression_reason)
                for i in rows}


def _answer(link: str, overall: int) -> None:
    browser = requests.Session()
    page = browser.get(link)
    assert page.status_code == 200
    form = {"csrf_token": csrf_token_from(page.text), "overall": str(overall), "comment": ""}
    answered = browser.post(page.url, data=form, allow_redirects=False)
    assert answered.status_code in (302, 303), answered.text


def test_service_users_complainants_and_a_campaign_from_intake_to_the_metrics(
        app: Flask, smtp_server: Any) -> None:
    app.config.update(smtp_config(smtp_server))
    with app.app_context():
        always = {"delay_minutes": 0, "send_window_start": "00:00", "send_window_end": "00:00"}
        make_rule("complaints", questionnaire=make_questionnaire(definition=DEFINITION), **always)
        make_rule("permits", triggered_by=RuleTrigger.SERVICE_EVENT,
                  service_codes=["ruhsat"], **always)
        db.session.commit()
    key = make_key(app, ApiScope.ADMIN, name="entegrasyon")
    with serve(app) as live:
        app.config["MEMNUN_BASE_URL"] = live.url

        def api(method: str, path: str, **kwargs: Any) -> requests.Response:
            return requests.request(method, f"{live.url}/api/v1{path}", timeout=30,
                                    headers={"Authorization": f"Bearer {key}"}, **kwargs)

        _take_in(app, api)
        planned = _planned(app)
        assert planned[("ayse@example.org", False)] == (InvitationState.SUPPRESSED,
                                                         SuppressionReason.FATIGUE)
        assert planned[("ayse@example.org", True)] == (InvitationState.PLANNED, None)
        assert all(planned[(email, False)] == (InvitationState.PLANNED, None)
                   for email in SERVICE_USERS)
        assert not any(email in CAMPAIGN for email, _ in planned)  # water: no rule on it
        with app.app_context():
            campaign = make_campaign("water", served_from=SERVED - dt.timedelta(days=1),
                                     served_until=SERVED + dt.timedelta(days=1),
                                     closes_at=NOW + dt.timedelta(days=30),
                                     margin_of_error=0.05, expected_response_rate=1.0)
            # Everyone served but the two water customers has a survey in the window already.
            assert start_campaign(campaign, "admin", NOW) == len(CAMPAIGN)
            assert dispatch_due().sent == len(COMPLAINANTS) + len(SERVICE_USERS) + len(CAMPAIGN)
        scores = {**COMPLAINANTS, **SERVICE_USERS, **CAMPAIGN}
        for message in smtp_server.messages:
            body = message.get_body(preferencelist=("plain",)).get_content()
            _answer(LINK_RE.search(body).group(1), scores[message["To"]])
        day = dt.datetime.now(ZoneInfo("Europe/Istanbul")).date()  # the organisation's today
        period = {"from": (day - dt.timedelta(days=7)).isoformat(),
                  "to": (day + dt.timedelta(days=1)).isoformat()}
        by_source = api("get", "/metrics", params={**period, "group_by": "source"})
        assert by_source.status_code == 200, by_source.text
        groups = {g["key"]: g for g in by_source.json()["groups"]}
        for source, answers in (("complainant", COMPLAINANTS), ("service_user", SERVICE_USERS),
                                ("campaign", CAMPAIGN)):
            group = groups[source]
            satisfied = sum(1 for score in answers.values() if score >= 4)
            low, high = proportion_confint(satisfied, len(answers), method="wilson")
            assert group["responses"] == len(answers), source
            assert group["invitations"] == len(answers), source
            assert group["csat"]["value"] == pytest.approx(satisfied / len(answers)), source
            assert (group["csat"]["low"], group["csat"]["high"]) == (
                pytest.approx(low), pytest.approx(high)), source
        users = api("get", "/metrics", params={**period, "source": "service_user"}).json()
        assert users["groups"][0]["responses"] == len(SERVICE_USERS)
