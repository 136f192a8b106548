"""The generated OpenAPI document: valid, complete, made from the validating models, matched by
every real answer; its docs page; and a schema-driven property test (schemathesis) that finds no
500 and no answer that breaks the document."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate as validate_openapi
from schemathesis import GenerationMode
from schemathesis import checks as st_checks
from schemathesis.specs.openapi import checks as openapi_checks

from app.api.openapi import OPERATIONS, REF_TEMPLATE
from app.models import ApiScope, Channel
from app.schemas.complaints import ComplaintIn, ServiceEventIn, ServiceIn
from app.schemas.queries import MetricsQuery
from app.schemas.rules import DistributionRuleIn
from tests.support.api import Api, Contract, admin_api, at, complaint_body, document, make_key
from tests.support.datasets.survey import SurveyData

FLASK_VARIABLE = re.compile(r"<(?:\w+:)?(\w+)>")


def test_the_document_is_valid_openapi_3_1_and_public(app, client) -> None:
    doc = document(client)  # no Authorization header: public
    validate_openapi(doc)
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["apiKey"] == {
        "type": "http", "scheme": "bearer",
        "description": doc["components"]["securitySchemes"]["apiKey"]["description"]}
    assert doc["security"] == [{"apiKey": []}]


def test_every_api_route_is_in_the_document_and_nothing_else(app, client) -> None:
    doc = document(client)
    documented = {(method, path) for path, methods in doc["paths"].items() for method in methods}
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = FLASK_VARIABLE.sub(r"{\1}", rule.rule.removeprefix("/api/v1"))
            routed |= {(method.lower(), path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == routed
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            public = operation.get("security") == []
            assert public == (path in ("/openapi.json", "/docs")), path
            if not public:
                assert {"401", "403"} <= set(operation["responses"]), (method, path)
                assert operation["x-memnun-scope"] in {s.value for s in ApiScope}
            for status, answer in operation["responses"].items():
                if int(status) >= 400:
                    assert answer["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/ErrorBody"}
            if "requestBody" in operation:
                assert {"400", "413", "422"} <= set(operation["responses"]), (method, path)


def test_schemas_are_the_models_that_validate_the_requests(app, client) -> None:
    doc = document(client)
    schemas = doc["components"]["schemas"]
    for model in (ComplaintIn, DistributionRuleIn, ServiceEventIn, ServiceIn):
        generated = model.model_json_schema(ref_template=REF_TEMPLATE)
        generated.pop("$defs", None)
        assert schemas[model.__name__] == generated
    body = doc["paths"]["/complaints"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/ComplaintIn"}
    assert schemas["ComplaintIn"]["properties"]["kind"]["default"] == "complaint"
    assert schemas["ComplaintKind"]["enum"] == ["complaint", "request", "suggestion",
                                                "compliment"]
    events = doc["paths"]["/service-events/batch"]["post"]
    assert events["x-memnun-scope"] == "intake"
    assert schemas["ServiceEventBatchIn"]["properties"]["service_events"]["maxItems"] == 500
    parameters = {p["name"]: p for p in doc["paths"]["/metrics"]["get"]["parameters"]}
    assert set(parameters) == {field.alias or name
                               for name, field in MetricsQuery.model_fields.items()}
    assert parameters["group_by"]["schema"] == {"$ref": "#/components/schemas/GroupBy"}
    assert schemas["GroupBy"]["enum"] == ["unit", "category", "channel", "month", "source", "mode"]
    assert schemas["ResponseSource"]["enum"] == ["complainant", "service_user", "campaign"]
    assert schemas["ResponseMode"]["enum"] == ["email", "sms", "phone", "walk_in"]
    assert "ResponseSource" in str(parameters["source"]["schema"])
    assert all(p["in"] == "query" and not p["required"] for p in parameters.values())


def test_the_docs_page_renders_the_document_without_anything_from_elsewhere(app, client) -> None:
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    for op in OPERATIONS:
        assert f"{op.method.upper()} /api/v1{op.path}" in html
    for name in ("ComplaintIn", "ErrorBody", "MetricsGroup", "DistributionRuleIn"):
        assert f'id="schema-{name}"' in html
    assert "external_id" in html and "survey_consent" in html
    assert "<script" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)


# --- every real answer matches the document ------------------------------------------------------


def test_real_answers_match_the_document(app) -> None:
    with app.app_context():
        SurveyData().commit()
    api = admin_api(app)
    reader = Api(api.client, make_key(app, ApiScope.READ, name="okur"))
    contract = Contract(document(api.client))
    calls: list[tuple[str, str, Any]] = [
        ("put", "/units/{code}", api.put("/units/yeni", json={"name": "Yeni", "parent": "fen"})),
        ("put", "/units/{code}", api.put("/units/yeni", json={"name": "Yeni", "parent": "yok"})),
        ("put", "/units/{code}", api.put("/units/yeni", data=b"{", content_type="text/plain")),
        ("get", "/units", reader.get("/units")),
        ("put", "/categories/{code}", api.put("/categories/k", json={"name": "K"})),
        ("get", "/categories", reader.get("/categories")),
        ("post", "/complaints", api.post("/complaints", json=complaint_body())),
        ("post", "/complaints", api.post("/complaints", json=complaint_body())),
        ("post", "/complaints", api.post("/complaints", json=complaint_body(channel="fax"))),
        ("post", "/complaints", api.post("/complaints", json=complaint_body(subject="başka"))),
        ("post", "/complaints", reader.post("/complaints", json=complaint_body())),
        ("post", "/complaints", api.client.post("/api/v1/complaints", json={})),
        ("post", "/complaints/{ref}/events",
         api.post("/complaints/ext:ÇM-2026%2F0001/events", json={"type": "resolved",
                                                                 "at": at(1)})),
        ("post", "/complaints/{ref}/events",
         api.post("/complaints/1/events", json={"type": "resolved", "at": at(2)})),
        ("post", "/complaints/{ref}/events",
         api.post("/complaints/999/events", json={"type": "closed", "at": at(2)})),
        ("get", "/complaints/{ref}", api.get("/complaints/1")),
        ("get", "/complaints/{ref}", reader.get("/complaints/1")),
        ("get", "/complaints/{ref}", api.get("/complaints/ext:nothing")),
        ("get", "/complaints", reader.get("/complaints", query_string={"limit": 1})),
        ("get", "/complaints", reader.get("/complaints", query_string={"cursor": "x"})),
        ("get", "/responses", reader.get("/responses")),
        ("get", "/metrics", reader.get("/metrics", query_string={"group_by": "unit"})),
        ("get", "/metrics", reader.get("/metrics", query_string={"unit": "yok"})),
        ("put", "/distribution-rules/{key}",
         api.put("/distribution-rules/r", json={"questionnaire": "post-resolution"})),
        ("put", "/distribution-rules/{key}",
         reader.put("/distribution-rules/r", json={"questionnaire": "post-resolution"})),
        ("get", "/distribution-rules", reader.get("/distribution-rules")),
    ]
    statuses = set()
    for method, path, response in calls:
        contract.check(method, path, response)
        statuses.add(response.status_code)
    assert statuses >= {200, 201, 400, 401, 403, 404, 409, 422}


# --- schema-driven property test -----------------------------------------------------------------


@pytest.fixture
def fuzz_key(app) -> str:  # type: ignore[no-untyped-def]
    """Some data to hit (units, categories, questionnaires, a complaint), and an admin key."""
    with app.app_context():
        SurveyData().commit()
    api = admin_api(app)
    assert api.post("/complaints", json=complaint_body(external_id="F-1")).status_code == 201
    return api.headers["Authorization"].removeprefix("Bearer ")


CHECKS = [
    st_checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
]
EXAMPLES = 12  # per operation and mode: about 30 s for both modes on both databases


def test_no_generated_request_gives_a_500_or_breaks_the_document(app, fuzz_key) -> None:
    """Valid and invalid requests generated from the document for every operation (schemathesis
    on Hypothesis), with a real admin key: never a 500, and every answer (status, content type,
    body) as the document says."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {fuzz_key}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    # schemathesis leaves out the operation that serves the document itself.
    assert {op.label for op in operations} == {
        f"{op.method.upper()} {op.path}" for op in OPERATIONS if op.path != "/openapi.json"}
    doc = document(app.test_client())
    for operation in operations:
        spec = doc["paths"][operation.path][operation.method.lower()]
        # Without parameters or a body there is nothing to make invalid.
        invalid_possible = "parameters" in spec or "requestBody" in spec
        modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if invalid_possible else [])
        for mode in modes:

            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                case.call_and_validate(headers=headers, checks=CHECKS)

            run()


# --- valid complaints, generated: stored exactly as sent ----------------------------------------

OFFSETS = st.sampled_from([0, 180, -300, 330, 840, -720]).map(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes)))
TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=300)
IDENTIFIER = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1,
                     max_size=100).filter(lambda value: value == value.strip())


@st.composite
def complaints(draw: Any, number: Any = iter(range(10**6))) -> dict[str, Any]:
    received = draw(st.datetimes(min_value=dt.datetime(1990, 1, 1),
                                 max_value=dt.datetime(2025, 12, 31), timezones=OFFSETS))
    body: dict[str, Any] = {
        "external_id": f"{next(number)}/{draw(IDENTIFIER)}",
        "received_at": received.isoformat(),
        "channel": draw(st.sampled_from([channel.value for channel in Channel])),
        "category": draw(st.sampled_from(["temizlik", "cop", "yol"])),
        "unit": draw(st.sampled_from(["fen", "fen.yol", "park", "zabita"])),
        "subject": draw(st.none() | TEXT),
        "description": draw(st.none() | st.text(max_size=2000).filter(
            lambda value: "\x00" not in value and not any(
                0xD800 <= ord(char) <= 0xDFFF for char in value))),
        "complainant": {
            "name": draw(st.none() | TEXT.filter(lambda value: len(value) <= 200)),
            "email": draw(st.none() | st.from_regex(r"[a-z0-9._]{1,20}@example\.com\.tr",
                                                     fullmatch=True)
                          .filter(lambda e: ".." not in e and not e.startswith(".")
                                  and ".@" not in e)),
            "phone": draw(st.none() | st.from_regex(r"\+?[0-9 ]{3,20}", fullmatch=True)),
            "language": draw(st.sampled_from(["tr", "en", "nl", "et", "tr-TR"])),
            "survey_consent": draw(st.booleans()),
        },
    }
    if draw(st.booleans()):
        due = received + dt.timedelta(minutes=draw(st.integers(0, 400 * 24 * 60)))
        body["due_at"] = due.isoformat()
    return body


def test_generated_valid_complaints_are_stored_exactly_as_sent(app) -> None:
    """Hypothesis: any valid complaint (any Unicode text, any offset) answers 201 and reads back
    the same; never a 500."""
    with app.app_context():
        SurveyData().commit()
    api = admin_api(app)
    contract = Contract(document(api.client))

    @settings(max_examples=40, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(body=complaints())
    def post(body: dict[str, Any]) -> None:
        response = api.post("/complaints", json=body)
        assert response.status_code == 201, (body, response.get_json())
        contract.check("post", "/complaints", response)
        stored = api.get(f"/complaints/{response.get_json()['id']}").get_json()
        assert stored["external_id"] == body["external_id"]
        assert dt.datetime.fromisoformat(stored["received_at"]) == dt.datetime.fromisoformat(
            body["received_at"])
        assert (stored["subject"], stored["description"]) == (body["subject"],
                                                              body["description"])
        assert stored["complainant"]["name"] == body["complainant"]["name"]
        assert stored["complainant"]["language"] == body["complainant"]["language"][:2]

    post()
