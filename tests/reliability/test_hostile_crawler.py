"""The hostile crawler: every role (anonymous, a respondent with a survey link, viewer, unit
manager, designer, admin, and a designer and an admin given a unit) opens every page of the URL
map it can, and every field of every form it finds, every query parameter of every page, every
input of every Dash callback and every field of every operation of the REST API gets NUL, a
lone surrogate, 10^20, -1, a 100 kB string, a right-to-left override and markup (and, for some
kinds of field, what a browser would never send there), the other fields valid.

It fails on any server error, any answer slower than a few seconds, and any lost data: a
refused request (4xx) and a GET change nothing stored, and an accepted one changes or removes
rows only in the tables its endpoint is there to change (``MAY_CHANGE``). CSRF is on: the
crawler sends the token each page gives it, like a browser.

The pieces are in tests/support/crawler.py, hostile.py and crawl_world.py.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest

from tests.support.crawl_world import PASSWORD, ROLES, CrawlWorld, build_world
from tests.support.crawler import Crawler
from tests.support.database import ON_PRODUCTION_DATABASE
from tests.support.hostile import Findings, Form, parse_page
from tests.support.web import login

#: With the process tests on one worker: the crawl keeps a core and the database busy for a
#: minute, and the dispatcher kill test's timing must not share the machine with it.
pytestmark = pytest.mark.xdist_group("processes")

#: What an accepted request of each endpoint is there to change (beyond adding rows).
MAY_CHANGE: dict[str, set[str]] = {
    "actions.edit_action": {"improvement_action"},
    "actions.set_status": {"improvement_action"},
    "followup.set_state": {"follow_up"},
    "followup.add_note_view": {"follow_up"},  # a note moves the follow-up's updated_at
    "design.add_question": {"questionnaire_version"},
    "design.question": {"questionnaire_version"},
    "design.texts": {"questionnaire_version", "questionnaire"},
    "design.move_question": {"questionnaire_version"},
    "design.reorder": {"questionnaire_version"},
    "design.remove_question": {"questionnaire_version"},
    "design.publish": {"questionnaire_version", "questionnaire"},
    "design.import_file": {"questionnaire_version", "questionnaire"},
    "distribution.rule": {"distribution_rule"},
    "distribution.rule_active": {"distribution_rule"},
    "distribution.dispatch_now": {"invitation"},
    "distribution.retry": {"invitation"},
    "reports.targets": {"target"},
    "reports.delete_target_view": {"target"},
    "api_admin.revoke_key": {"api_key"},
    "webhooks_admin.delete_webhook_view": {"webhook", "webhook_delivery"},
    "intake_admin.csv_import": {"complaint", "complainant", "invitation", "follow_up"},
    "respond.survey": {"invitation", "follow_up"},
    "respond.opt_out": {"complainant", "invitation"},
    "walkin.survey": {"response", "walk_in_device"},  # a burst holds earlier answers too
    "walkin_admin.regenerate": {"service_point"},
    "walkin_admin.deactivate": {"service_point"},
    "walkin_admin.decide": {"response", "answer"},  # accepted, or rejected and deleted
    "api.put_unit": {"unit"},
    "api.put_category": {"category"},
    "api.put_distribution_rule": {"distribution_rule"},
    "api.create_complaint": {"complaint", "complainant", "invitation"},
    "api.create_complaints": {"complaint", "complainant", "invitation"},
    "api.add_event": {"complaint", "invitation", "follow_up"},
    "auth.login": {"user_account"},  # the time of the last login
    "auth.login_code": {"user_account", "recovery_code"},
    "auth.two_factor_enable": {"user_account"},
    "auth.two_factor_off": {"user_account", "recovery_code"},
    "auth.two_factor_recovery_codes": {"recovery_code"},
    "main.set_language": {"user_account"},  # the language is kept on the user
    "lookup.send_now": {"invitation"},
    "lookup.cancel": {"invitation"},
    "lookup.replan": {"invitation"},
    "lookup.retry": {"invitation"},
    "staff.user": {"user_account", "user_unit"},
    "staff.disable": {"user_account", "staff_session"},
    "staff.enable": {"user_account"},
    "staff.reset": {"user_account", "staff_session", "password_link"},
    "staff.end_user_sessions": {"staff_session"},
    "staff.set_password": {"user_account", "staff_session", "password_link"},
    "staff.organisation": {"organisation_settings"},
    "staff.organisation_logo": {"organisation_settings"},
}
#: About two minutes on two quiet cores (3,700 requests); this bound only catches a
#: crawl that grew out of hand, with room for a machine shared with other jobs.
BUDGET_SECONDS = 900


def _may_change(endpoint: str) -> set[str]:
    return MAY_CHANGE.get(endpoint, set())


@pytest.fixture
def world(make_app: Any) -> CrawlWorld:
    # Errors answer 500 rather than propagate, so that every one is listed; the login lock
    # would otherwise lock the crawler out after a few hostile passwords.
    app = make_app(PROPAGATE_EXCEPTIONS=False, MEMNUN_LOGIN_MAX_FAILURES=10**6)
    return build_world(app)


def _crawler(world: CrawlWorld, role: str, findings: Findings) -> Crawler:
    return Crawler(
        world.app, world.app.test_client(), role, world.path_values, _may_change, findings
    )


#: The staff roles in the order crawled: a form is crawled field by field by the first role that
#: finds it, the query strings and the Dash inputs value by value by the first role with and
#: the first without units; the others send each value in every field at once.
STAFF_ORDER = ["admin", "designer", "viewer", "unit admin", "unit designer", "manager"]


def _crawl_staff(world: CrawlWorld, role: str, findings: Findings, crawled: set[Any]) -> None:
    crawler = _crawler(world, role, findings)
    world.restore_account(role)
    login(crawler.client, world.email_of(role), PASSWORD)
    crawler.reading(lambda: crawler.open_pages(crawler.start_paths()), "pages")
    first_of_its_kind = role in ("admin", "unit admin")
    crawler.reading(lambda: crawler.hostile_queries(first_of_its_kind), "query strings")
    crawler.hostile_forms(crawled)
    crawler.client.get("/dashboards/")
    crawler.hostile_callbacks(crawler._dash_csrf(), each_input=first_of_its_kind)


def _crawl_anonymous(world: CrawlWorld, findings: Findings) -> None:
    crawler = _crawler(world, "anonymous", findings)
    crawler.reading(lambda: crawler.open_pages(crawler.start_paths()), "pages")
    crawler.reading(crawler.hostile_queries, "query strings")
    crawler.hostile_forms(set())


def _crawl_respondent(world: CrawlWorld, findings: Findings) -> None:
    """A respondent's pages, from a real link; every answer accepted uses up a link, so the
    next value is sent through a fresh one."""
    tokens = iter(world.survey_tokens)
    crawler = _crawler(world, "respondent", findings)
    crawler.open_pages([f"/s/{next(tokens)}"])

    def fresh_link(crawler: Crawler, form: Form) -> Form:
        if not _answerable(crawler, form):
            crawler.client.get(f"/s/{next(tokens)}")
            for fresh in parse_page(
                form.page, crawler.client.get(form.page).get_data(as_text=True)
            )[0]:
                if fresh.signature == form.signature:
                    return fresh
        return form

    crawler.before_submit = fresh_link
    crawler.reading(crawler.hostile_queries, "query strings")
    crawler.hostile_forms(set())


def _answerable(crawler: Crawler, form: Form) -> bool:
    response = crawler.client.get(form.page)
    return response.status_code == 200 and form.action.encode() in response.get_data()


def _api_body(template: str, body: dict[str, Any]) -> dict[str, Any]:
    """A new complaint reference for every complaint sent, so that none is a repeat."""
    items = body.get("items", [body]) if isinstance(body, dict) else []
    for item in items:
        if (
            isinstance(item, dict)
            and isinstance(item.get("external_id"), str)
            and (item["external_id"].startswith("CM-"))
        ):
            item["external_id"] = f"CM-crawl-{next(_references)}"
    return body


_references = itertools.count(1)


@ON_PRODUCTION_DATABASE  # four minutes a pass: one pass, on the stricter database
def test_no_hostile_value_breaks_anything(world: CrawlWorld, backend: str) -> None:
    started = time.perf_counter()
    findings = Findings()
    _crawl_anonymous(world, findings)
    _crawl_respondent(world, findings)
    assert sorted(STAFF_ORDER) == sorted(ROLES)
    crawled: set[Any] = set()
    for role in STAFF_ORDER:
        _crawl_staff(world, role, findings, crawled)
    api = _crawler(world, "api", findings)
    api.hostile_api(world.api_key, _api_body)
    seconds = time.perf_counter() - started
    print(f"hostile crawler on {backend}: {findings.requests} requests in {seconds:.0f} s")
    missed = {rule.endpoint for rule in world.app.url_map.iter_rules()} - findings.endpoints
    print(
        f"endpoints no page led to (their path values: test_crafted_path_values.py): "
        f"{sorted(missed)}"
    )
    assert findings.requests > 3000, findings.requests
    assert not findings.failures, "\n".join(findings.failures[:60])
    assert seconds < BUDGET_SECONDS
