"""REST API v1 views: parse, call a service, answer. The rules live in ``services``."""

from __future__ import annotations

from collections import Counter

from flask import current_app, g, jsonify, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from app.api import bp, listing, openapi
from app.api.metrics import metrics_document
from app.api_errors import (
    ApiError,
    error_response,
    invalid_fields,
    parse_body,
    parse_query,
)
from app.auth.decorators import api_key_required
from app.collector import collector_paused
from app.databases import use_replica
from app.distribution import rules
from app.documents import (
    category_document,
    complaint_document,
    response_document,
    rule_document,
    service_document,
    service_event_document,
    unit_document,
)
from app.errors import InvalidFields, NotFound, ServiceError
from app.extensions import db
from app.intake import batch, service_events, services
from app.models import ApiScope
from app.schemas.complaints import (
    DEFAULT_BATCH_MAX,
    BatchEnvelope,
    CategoryIn,
    ComplaintIn,
    EventIn,
    ServiceEventEnvelope,
    ServiceEventIn,
    ServiceIn,
    UnitIn,
    check_code,
)
from app.schemas.queries import ComplaintQuery, MetricsQuery, ResponseQuery, ServiceEventQuery
from app.schemas.rules import DistributionRuleIn


def actor() -> str:
    """Who made a change, as the history and the audit log name them."""
    return f"api_key:{g.api_key.name}"


def may_see_personal_data() -> bool:
    """Personal data (the complainant or person served, the complaint's free text) only for
    admin keys."""
    return bool(g.api_key.has_scope(ApiScope.ADMIN))


def batch_max() -> int:
    """How many complaints one batch may hold (MEMNUN_API_BATCH_MAX)."""
    return max(1, int(current_app.config.get("MEMNUN_API_BATCH_MAX", DEFAULT_BATCH_MAX)))


def _valid_code(code: str, field: str = "code") -> str:
    problem = check_code(code)
    if problem:
        raise invalid_fields([{"field": field, "message": problem, "type": "invalid_code"}])
    return code


@bp.errorhandler(ServiceError)
def intake_error(exc: ServiceError) -> ResponseReturnValue:
    db.session.rollback()  # nothing of a refused change may be left in the session
    if isinstance(exc, InvalidFields):
        return error_response(422, "invalid", exc.message, exc.details)
    if isinstance(exc, NotFound):
        return error_response(404, "not_found", exc.message, exc.details)
    return error_response(409, "conflict", exc.message, exc.details)


@bp.put("/units/<sent:code>")
@api_key_required(ApiScope.INTAKE)
def put_unit(code: str) -> ResponseReturnValue:
    _valid_code(code)
    unit, created = services.put_unit(code, parse_body(UnitIn), actor())
    return jsonify(unit_document(unit)), 201 if created else 200


@bp.get("/units")
@api_key_required(ApiScope.READ)
def list_units() -> ResponseReturnValue:
    return jsonify({"units": [unit_document(unit) for unit in services.list_units()]})


@bp.put("/categories/<sent:code>")
@api_key_required(ApiScope.INTAKE)
def put_category(code: str) -> ResponseReturnValue:
    _valid_code(code)
    category, created = services.put_category(code, parse_body(CategoryIn), actor())
    return jsonify(category_document(category)), 201 if created else 200


@bp.get("/categories")
@api_key_required(ApiScope.READ)
def list_categories() -> ResponseReturnValue:
    categories = services.list_categories()
    return jsonify({"categories": [category_document(category) for category in categories]})


@bp.put("/services/<sent:code>")
@api_key_required(ApiScope.INTAKE)
def put_service(code: str) -> ResponseReturnValue:
    _valid_code(code)
    service, created = services.put_service(code, parse_body(ServiceIn), actor())
    return jsonify(service_document(service)), 201 if created else 200


@bp.get("/services")
@api_key_required(ApiScope.READ)
def list_services() -> ResponseReturnValue:
    return jsonify({"services": [service_document(row) for row in services.list_services()]})


@bp.post("/complaints")
@api_key_required(ApiScope.INTAKE)
def create_complaint() -> ResponseReturnValue:
    complaint, created = services.receive_complaint(parse_body(ComplaintIn), actor(),
                                                    with_personal=may_see_personal_data())
    # A complaint just received has no survey yet: no need to ask the database.
    document = complaint_document(complaint, include_personal=may_see_personal_data(),
                                  invitations=[] if created else None)
    return jsonify(document), 201 if created else 200


@bp.post("/complaints/batch")
@api_key_required(ApiScope.INTAKE)
@collector_paused()
def create_complaints() -> ResponseReturnValue:
    items = parse_body(BatchEnvelope).complaints
    _check_batch_size(items)
    outcomes = batch.receive_complaints(items, actor(), with_personal=may_see_personal_data())
    return jsonify(_batch_answer(outcomes))


def _check_batch_size(items: list[object]) -> None:
    most = batch_max()
    if len(items) > most:
        raise ApiError(413, "too_many_items",
                       _("A batch may hold at most %(max)s items; this one holds %(count)s.",
                         max=most, count=len(items)),
                       {"max_items": most, "items": len(items)})


def _batch_answer(outcomes: list[batch.Outcome]) -> dict[str, object]:
    counts = Counter(outcome.status for outcome in outcomes)
    return {"results": [outcome.document() for outcome in outcomes],
            "created": counts[201], "unchanged": counts[200],
            "failed": counts[409] + counts[422]}


@bp.post("/service-events")
@api_key_required(ApiScope.INTAKE)
def create_service_event() -> ResponseReturnValue:
    event, created = service_events.receive_service_event(
        parse_body(ServiceEventIn), actor(), with_personal=may_see_personal_data())
    document = service_event_document(event, include_personal=may_see_personal_data(),
                                      invitations=[] if created else None)
    return jsonify(document), 201 if created else 200


@bp.post("/service-events/batch")
@api_key_required(ApiScope.INTAKE)
@collector_paused()
def create_service_events() -> ResponseReturnValue:
    items = parse_body(ServiceEventEnvelope).service_events
    _check_batch_size(items)
    outcomes = service_events.receive_service_events(items, actor(),
                                                     with_personal=may_see_personal_data())
    return jsonify(_batch_answer(outcomes))


@bp.get("/service-events/<path:ref>")
@api_key_required(ApiScope.READ)
def get_service_event(ref: str) -> ResponseReturnValue:
    event = service_events.find_service_event(ref)
    return jsonify(service_event_document(event, include_personal=may_see_personal_data()))


# ``path``: an external id may hold a "/" (sent as %2F, which arrives decoded).
@bp.post("/complaints/<path:ref>/events")
@api_key_required(ApiScope.INTAKE)
def add_event(ref: str) -> ResponseReturnValue:
    data = parse_body(EventIn)
    complaint = services.find_complaint(ref, for_update=True)
    complaint, created = services.record_event(complaint, data, actor())
    document = complaint_document(complaint, include_personal=may_see_personal_data())
    return jsonify(document), 201 if created else 200


@bp.get("/complaints/<path:ref>")
@api_key_required(ApiScope.READ)
def get_complaint(ref: str) -> ResponseReturnValue:
    complaint = services.find_complaint(ref)
    return jsonify(complaint_document(complaint, include_personal=may_see_personal_data()))



# --- lists -------------------------------------------------------------------------------------


@bp.get("/complaints")
@api_key_required(ApiScope.READ)
def list_complaints() -> ResponseReturnValue:
    page = listing.list_complaints(parse_query(ComplaintQuery))
    personal = may_see_personal_data()
    documents = [
        complaint_document(complaint, include_personal=personal,
                           invitations=page.invitations[complaint.id])
        for complaint in page.complaints
    ]
    return jsonify({"complaints": documents, "next_cursor": page.next_cursor})


@bp.get("/service-events")
@api_key_required(ApiScope.READ)
def list_service_events() -> ResponseReturnValue:
    page = listing.list_service_events(parse_query(ServiceEventQuery))
    personal = may_see_personal_data()
    documents = [
        service_event_document(event, include_personal=personal,
                               invitations=page.invitations[event.id])
        for event in page.service_events
    ]
    return jsonify({"service_events": documents, "next_cursor": page.next_cursor})


@bp.get("/responses")
@api_key_required(ApiScope.READ)
def list_responses() -> ResponseReturnValue:
    page = listing.list_responses(parse_query(ResponseQuery))
    free_text = may_see_personal_data()
    documents = [
        response_document(response, context, include_free_text=free_text)
        for response, context in page.responses
    ]
    return jsonify({"responses": documents, "next_cursor": page.next_cursor})


@bp.get("/metrics")
@api_key_required(ApiScope.READ)
def metrics() -> ResponseReturnValue:
    use_replica()  # after the key's check, which reads (and writes) the primary
    return jsonify(metrics_document(parse_query(MetricsQuery)))


# --- distribution rules --------------------------------------------------------------------------


@bp.put("/distribution-rules/<sent:key>")
@api_key_required(ApiScope.ADMIN)
def put_distribution_rule(key: str) -> ResponseReturnValue:
    _valid_code(key, field="key")
    rule, created = rules.put_rule(key, parse_body(DistributionRuleIn), actor())
    return jsonify(rule_document(rule)), 201 if created else 200


@bp.get("/distribution-rules")
@api_key_required(ApiScope.READ)
def list_distribution_rules() -> ResponseReturnValue:
    return jsonify({"distribution_rules": [rule_document(rule) for rule in rules.list_rules()]})


# --- the contract itself -------------------------------------------------------------------------


@bp.get("/openapi.json")
def openapi_document() -> ResponseReturnValue:
    """Public: the document describes the API, not any data."""
    return jsonify(openapi.document(batch_max()))


@bp.get("/docs")
def api_docs() -> ResponseReturnValue:
    """Public, like the document it renders; served from the app itself (no CDN)."""
    page = openapi.docs_page(openapi.document(batch_max()))
    return render_template("api/docs.html", page=page)
