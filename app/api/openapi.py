"""The OpenAPI 3.1 document of the REST API v1, generated, never written by hand.

Request bodies and query parameters come from the Pydantic models that validate them
(``app.schemas``), answers from ``app.api.responses``; all of them go through one
``models_json_schema`` call so that shared types (Channel, ...) are defined once under
``#/components/schemas``. OpenAPI 3.1 uses JSON Schema 2020-12, which is what Pydantic writes,
so the schemas go in unchanged. The list of operations below is the one place that says which
path takes which model, needs which scope, and may answer which error; the contract tests check
that it names every route the blueprint has.

``docs_page`` turns the same document into what the human-readable page shows.
"""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from app.api import responses as out
from app.models import ApiScope
from app.schemas.complaints import (
    DEFAULT_BATCH_MAX,
    CategoryIn,
    ComplaintBatchIn,
    ComplaintIn,
    EventIn,
    ServiceEventBatchIn,
    ServiceEventIn,
    ServiceIn,
    UnitIn,
)
from app.schemas.fields import CODE_RE
from app.schemas.queries import ComplaintQuery, MetricsQuery, ResponseQuery, ServiceEventQuery
from app.schemas.rules import DistributionRuleIn

REF_TEMPLATE = "#/components/schemas/{model}"
API_VERSION = "1.0.0"
SECURITY_SCHEME = "apiKey"
CODE_SCHEMA = {"type": "string", "pattern": f"^{CODE_RE.pattern}$", "maxLength": 64}
ERROR_DESCRIPTIONS = {
    400: "Malformed JSON, or a body that is not a JSON object.",
    401: "No API key, or a wrong or revoked one.",
    403: "The API key lacks the scope this operation needs.",
    404: "No such resource.",
    409: "The request contradicts what is stored (other content for the same external_id, "
         "an impossible status change).",
    413: "The body is larger than the server accepts (MAX_CONTENT_LENGTH).",
    422: "Invalid fields; details lists each one as {field, message, type}.",
}
WRITE_ERRORS = (400, 401, 403, 409, 413, 422)
READ_ERRORS = (401, 403, 422)


@dataclass(frozen=True)
class PathParameter:
    name: str
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: dict(CODE_SCHEMA))


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    endpoint: str  # the Flask endpoint, so the tests can match operations to routes
    summary: str
    tag: str
    scope: ApiScope | None  # None: public
    responses: dict[int, tuple[str, type[BaseModel] | None]]
    errors: tuple[int, ...] = ()
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    path_parameters: tuple[PathParameter, ...] = ()
    description: str = ""


CODE = PathParameter("code", "The unit's, category's or service's code.")
RULE_KEY = PathParameter("key", "The rule's key.")
REF = PathParameter(
    "ref",
    "The complaint's id, or ext:<external_id> (a / in the external id sent as %2F).",
    {"type": "string", "minLength": 1, "maxLength": 200},
)
EVENT_REF = PathParameter(
    "ref",
    "The service event's id, or ext:<external_id> (a / in the external id sent as %2F).",
    REF.schema,
)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "put", "/units/{code}", "api.put_unit", "Create or replace a unit", "Organisation",
        ApiScope.INTAKE, {200: ("Replaced (or unchanged).", out.UnitOut),
                          201: ("Created.", out.UnitOut)},
        WRITE_ERRORS + (404,), body=UnitIn, path_parameters=(CODE,),
    ),
    Operation(
        "get", "/units", "api.list_units", "List the units", "Organisation", ApiScope.READ,
        {200: ("Every unit, by code.", out.UnitList)}, (401, 403),
    ),
    Operation(
        "put", "/categories/{code}", "api.put_category", "Create or replace a category",
        "Organisation", ApiScope.INTAKE,
        {200: ("Replaced (or unchanged).", out.CategoryOut), 201: ("Created.", out.CategoryOut)},
        WRITE_ERRORS + (404,), body=CategoryIn, path_parameters=(CODE,),
    ),
    Operation(
        "get", "/categories", "api.list_categories", "List the categories", "Organisation",
        ApiScope.READ, {200: ("Every category, by code.", out.CategoryList)}, (401, 403),
    ),
    Operation(
        "put", "/services/{code}", "api.put_service", "Create or replace a service",
        "Organisation", ApiScope.INTAKE,
        {200: ("Replaced (or unchanged).", out.ServiceOut), 201: ("Created.", out.ServiceOut)},
        WRITE_ERRORS + (404,), body=ServiceIn, path_parameters=(CODE,),
        description="The catalogue of services delivered, a tree like the categories; service "
        "events name a service by its code.",
    ),
    Operation(
        "get", "/services", "api.list_services", "List the services", "Organisation",
        ApiScope.READ, {200: ("Every service, by code.", out.ServiceList)}, (401, 403),
    ),
    Operation(
        "post", "/complaints", "api.create_complaint", "Take in a complaint", "Complaints",
        ApiScope.INTAKE,
        {200: ("Already stored with the same content (a safe retry): the stored complaint.",
               out.ComplaintOut),
         201: ("Stored.", out.ComplaintOut)},
        WRITE_ERRORS, body=ComplaintIn,
        description="Without due_at, the due time is received_at plus the category's "
        "committed response days (or its nearest ancestor's). Sent again under a stored "
        "external_id, the complaint is compared with what is stored: a key without the admin "
        "scope is compared on everything but the personal data (subject, description, "
        "complainant), which it may not read and so is not told about either.",
    ),
    Operation(
        "post", "/complaints/batch", "api.create_complaints", "Take in many complaints at once",
        "Complaints", ApiScope.INTAKE,
        {200: ("One result per complaint, in the order sent.", out.ComplaintBatchOut)},
        (400, 401, 403, 413, 422), body=ComplaintBatchIn,
        description="Up to MEMNUN_API_BATCH_MAX complaints (maxItems; 500 by default), and no "
        "more bytes than MAX_CONTENT_LENGTH (2 MiB by default): past either, 413. Each item is "
        "judged exactly as POST /complaints judges it, as if the items had been sent one after "
        "the other in their order, and answers for itself in results: 201, 200 (the same "
        "content again), 409 (other content under a stored external_id) or 422. An invalid item "
        "does not stop the others; the valid ones are stored together in one transaction. The "
        "batch as a whole is refused (400, 413, 422) only when it cannot be read as a batch. "
        "Sending a batch again is safe: what was stored answers 200.",
    ),
    Operation(
        "get", "/complaints", "api.list_complaints", "Follow the complaints", "Complaints",
        ApiScope.READ, {200: ("One page, least recently changed first.", out.ComplaintPage)},
        READ_ERRORS, query=ComplaintQuery,
        description="Cursor pagination on (updated_at, id): pass next_cursor as cursor until "
        "it is null. A complaint changed meanwhile comes again on a later page.",
    ),
    Operation(
        "get", "/complaints/{ref}", "api.get_complaint", "Read a complaint", "Complaints",
        ApiScope.READ, {200: ("The complaint with its history and invitations.",
                              out.ComplaintOut)},
        (401, 403, 404), path_parameters=(REF,),
    ),
    Operation(
        "post", "/complaints/{ref}/events", "api.add_event", "Report a status change",
        "Complaints", ApiScope.INTAKE,
        {200: ("Already recorded (the same type and time): nothing changed.", out.ComplaintOut),
         201: ("Recorded.", out.ComplaintOut)},
        WRITE_ERRORS + (404,), body=EventIn, path_parameters=(REF,),
        description="A resolved event plans the follow-up survey; a reopened event cancels a "
        "survey not yet answered. An impossible change answers 409 or 422 and changes nothing.",
    ),
    Operation(
        "post", "/service-events", "api.create_service_event", "Take in a service event",
        "Service events", ApiScope.INTAKE,
        {200: ("Already stored with the same content (a safe retry): the stored event.",
               out.ServiceEventOut),
         201: ("Stored.", out.ServiceEventOut)},
        WRITE_ERRORS, body=ServiceEventIn,
        description="A service delivered to a person (a permit issued, a desk visit): counted "
        "as the unit's service volume, and the person may be surveyed about it. The person is "
        "kept as a complainant is (the same e-mail matching, consent and opt-out). Sent again "
        "under a stored external_id, the event is compared with what is stored, as a complaint "
        "is: the same content 200, other content 409.",
    ),
    Operation(
        "post", "/service-events/batch", "api.create_service_events",
        "Take in many service events at once", "Service events", ApiScope.INTAKE,
        {200: ("One result per service event, in the order sent.", out.ServiceEventBatchOut)},
        (400, 401, 403, 413, 422), body=ServiceEventBatchIn,
        description="As POST /complaints/batch: up to MEMNUN_API_BATCH_MAX items, each judged "
        "as POST /service-events judges it and answering for itself in results (201, 200, 409, "
        "422); the valid ones are stored together in one transaction.",
    ),
    Operation(
        "get", "/service-events", "api.list_service_events", "Follow the service events",
        "Service events", ApiScope.READ,
        {200: ("One page, first recorded first.", out.ServiceEventPage)},
        READ_ERRORS, query=ServiceEventQuery,
        description="Cursor pagination on (created_at, id), as GET /complaints: pass "
        "next_cursor as cursor until it is null. Each event with its survey invitations; the "
        "person only for admin keys.",
    ),
    Operation(
        "get", "/service-events/{ref}", "api.get_service_event", "Read a service event",
        "Service events", ApiScope.READ,
        {200: ("The service event with its invitations.", out.ServiceEventOut)},
        (401, 403, 404), path_parameters=(EVENT_REF,),
    ),
    Operation(
        "get", "/responses", "api.list_responses", "Follow the survey responses", "Surveys",
        ApiScope.READ, {200: ("One page, oldest first.", out.ResponsePage)}, READ_ERRORS,
        query=ResponseQuery,
        description="Submitted responses only (a one-click answer from the e-mail that was "
        "not followed by a submission is not listed). Never personal data; free-text answers "
        "only for admin keys.",
    ),
    Operation(
        "get", "/metrics", "api.metrics", "Satisfaction and complaint figures", "Surveys",
        ApiScope.READ, {200: ("The figures, per group.", out.MetricsOut)}, READ_ERRORS,
        query=MetricsQuery,
        description="Survey figures of small groups are suppressed (null, with suppressed: "
        "true), and a second group where needed so that a hidden one cannot be worked out from "
        "the total.",
    ),
    Operation(
        "put", "/distribution-rules/{key}", "api.put_distribution_rule",
        "Create or replace a distribution rule", "Distribution", ApiScope.ADMIN,
        {200: ("Replaced (or unchanged).", out.DistributionRuleOut),
         201: ("Created.", out.DistributionRuleOut)},
        WRITE_ERRORS + (404,), body=DistributionRuleIn, path_parameters=(RULE_KEY,),
    ),
    Operation(
        "get", "/distribution-rules", "api.list_distribution_rules",
        "List the distribution rules", "Distribution", ApiScope.READ,
        {200: ("Every rule, highest priority first.", out.DistributionRuleList)}, (401, 403),
    ),
    Operation(
        "get", "/openapi.json", "api.openapi_document", "This document", "Contract", None,
        {200: ("The OpenAPI 3.1 document.", None)},
    ),
    Operation(
        "get", "/docs", "api.api_docs", "This document as a web page", "Contract", None,
        {200: ("An HTML page.", None)},
    ),
)


def _request_models() -> list[type[BaseModel]]:
    return [m for op in OPERATIONS for m in (op.body, op.query) if m is not None]


def _response_models() -> list[type[BaseModel]]:
    models = [m for op in OPERATIONS for _, m in op.responses.values() if m is not None]
    return [*models, out.ErrorBody]


def _schemas() -> tuple[dict[tuple[type[BaseModel], str], dict[str, Any]], dict[str, Any]]:
    """Every model's JSON schema, shared definitions under #/components/schemas."""
    requests = [(model, "validation") for model in dict.fromkeys(_request_models())]
    answers = [(model, "serialization") for model in dict.fromkeys(_response_models())]
    refs, top = models_json_schema([*requests, *answers], ref_template=REF_TEMPLATE)
    return refs, top.get("$defs", {})  # type: ignore[return-value]


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema without the ``null`` of an optional field: a query string
    cannot hold a null, it leaves the parameter out."""
    schema = copy.deepcopy(schema)
    options = schema.get("anyOf")
    if options:
        kept = [option for option in options if option != {"type": "null"}]
        if len(kept) == 1:
            schema.pop("anyOf")
            schema = {**kept[0], **schema}
        else:
            schema["anyOf"] = kept
    if schema.get("default") is None:
        schema.pop("default", None)
    schema.pop("title", None)
    return schema


def _query_parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        prop = _without_null(prop)
        description = prop.pop("description", "")
        parameters.append({"name": name, "in": "query", "required": name in required,
                           "description": description, "schema": prop})
    return parameters


def _error_response(status: int) -> dict[str, Any]:
    return {
        "description": ERROR_DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": REF_TEMPLATE.format(
            model="ErrorBody")}}},
    }


def _operation(op: Operation, refs: dict[Any, Any], defs: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = {
        "operationId": op.endpoint.split(".", 1)[1],
        "summary": op.summary,
        "tags": [op.tag],
        "responses": {},
    }
    description = op.description
    if op.scope is None:
        document["security"] = []
    else:
        document["x-memnun-scope"] = op.scope.value
        needs = f"Needs an API key with the {op.scope.value} scope (admin keys have every scope)."
        description = f"{description}\n\n{needs}".strip()
    if description:
        document["description"] = description
    parameters = [
        {"name": p.name, "in": "path", "required": True, "description": p.description,
         "schema": p.schema}
        for p in op.path_parameters
    ]
    if op.query is not None:
        parameters += _query_parameters(defs[op.query.__name__])
    if parameters:
        document["parameters"] = parameters
    if op.body is not None:
        document["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
        }
    for status, (text, model) in op.responses.items():
        content: dict[str, Any]
        if model is not None:
            content = {"application/json": {"schema": refs[(model, "serialization")]}}
        elif op.endpoint == "api.api_docs":
            content = {"text/html": {"schema": {"type": "string"}}}
        else:
            content = {"application/json": {"schema": {"type": "object"}}}
        document["responses"][str(status)] = {"description": text, "content": content}
    for status in op.errors:
        document["responses"][str(status)] = _error_response(status)
    document["responses"] = dict(sorted(document["responses"].items()))
    return document


@functools.cache
def _document(batch_max: int) -> dict[str, Any]:
    refs, defs = _schemas()
    defs[ComplaintBatchIn.__name__]["properties"]["complaints"]["maxItems"] = batch_max
    defs[ServiceEventBatchIn.__name__]["properties"]["service_events"]["maxItems"] = batch_max
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op, refs, defs)
    query_models = {model.__name__ for model in _request_models() if model in
                    {op.query for op in OPERATIONS}}
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "Memnun API",
            "version": API_VERSION,
            "description": "Complaint intake, survey responses and satisfaction figures. JSON in "
            "and out; times are ISO 8601 with a UTC offset and answered in UTC. Every error "
            "has the shape {\"error\": {\"code\", \"message\", \"details\"}}.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{SECURITY_SCHEME: []}],
        "tags": [{"name": name} for name in dict.fromkeys(op.tag for op in OPERATIONS)],
        "paths": paths,
        "components": {
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Authorization: Bearer <API key>. Keys are made with "
                    "`memnun api-key create` or on the admin page, and have scopes: intake "
                    "(send complaints), read (read lists and figures), admin (everything, "
                    "personal data included).",
                }
            },
            # Query models are spelled out as parameters; their own schema would only confuse.
            "schemas": {name: schema for name, schema in defs.items()
                        if name not in query_models},
        },
    }


def document(batch_max: int = DEFAULT_BATCH_MAX) -> dict[str, Any]:
    """The OpenAPI document (a fresh copy; callers may change it) for a server that takes
    ``batch_max`` complaints per batch."""
    return copy.deepcopy(_document(batch_max))


# --- the docs page ------------------------------------------------------------------------------


def schema_type(schema: dict[str, Any]) -> str:
    """A short description of a schema's type, for people: "list of Unit", "string (date-time)"."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(schema_type(option) for option in schema["anyOf"])
    if "enum" in schema:
        return " | ".join(f'"{value}"' for value in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {schema_type(schema.get('items', {}))}"
    if "format" in schema:
        return f"{kind} ({schema['format']})"
    return str(kind)


def constraints(schema: dict[str, Any]) -> str:
    words = {"minimum": "≥ {}", "maximum": "≤ {}", "minLength": "at least {} character(s)",
             "maxLength": "at most {} characters", "pattern": "matches {}",
             "maxItems": "at most {} items", "default": "default {}"}
    found = [
        template.format(json.dumps(schema[name], ensure_ascii=False) if name == "default"
                        else schema[name])
        for name, template in words.items() if name in schema
    ]
    for option in schema.get("anyOf", []):
        if option.get("type") != "null" and "$ref" not in option:
            found.append(constraints(option))
    return "; ".join(part for part in found if part)


@dataclass
class SchemaRow:
    name: str
    type: str
    required: bool
    description: str
    constraints: str
    link: str | None


def _rows(schema: dict[str, Any]) -> list[SchemaRow]:
    required = set(schema.get("required", []))
    rows = []
    for name, prop in schema.get("properties", {}).items():
        link = _first_ref(prop)
        rows.append(SchemaRow(name, schema_type(prop), name in required,
                              prop.get("description", ""), constraints(prop), link))
    return rows


def _first_ref(schema: dict[str, Any]) -> str | None:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    options = list(schema.get("anyOf", []))
    if isinstance(schema.get("items"), dict):
        options.append(schema["items"])
    for option in options:
        found = _first_ref(option)
        if found:
            return found
    return None


def docs_page(doc: dict[str, Any]) -> dict[str, Any]:
    """What the docs template shows, taken from ``doc`` alone."""
    operations = []
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            operations.append({
                "id": op["operationId"],
                "method": method.upper(),
                "path": doc["servers"][0]["url"] + path,
                "summary": op["summary"],
                "tag": op["tags"][0],
                "description": op.get("description", ""),
                "public": op.get("security") == [],
                "parameters": [
                    {**p, "type": schema_type(p["schema"]), "constraints":
                     constraints(p["schema"])}
                    for p in op.get("parameters", [])
                ],
                "body": _first_ref(body.get("schema", {})) if body else None,
                "responses": [
                    {"status": status, "description": answer["description"],
                     "schema": _first_ref(next(iter(answer.get("content", {}).values()),
                                               {}).get("schema", {}))}
                    for status, answer in op["responses"].items()
                ],
            })
    schemas = [
        {"name": name, "description": schema.get("description", ""),
         "type": schema_type(schema), "rows": _rows(schema),
         "examples": [json.dumps(example, indent=2, ensure_ascii=False)
                      for example in schema.get("examples", [])]}
        for name, schema in sorted(doc["components"]["schemas"].items())
    ]
    return {"info": doc["info"], "operations": operations, "schemas": schemas,
            "security": doc["components"]["securitySchemes"][SECURITY_SCHEME]["description"],
            "title": _("API documentation")}
