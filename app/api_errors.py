"""The one JSON error shape of the REST API: ``{"error": {"code", "message", "details"}}``.

Every error under ``/api/`` answers in this shape, whatever raised it: our own ``ApiError``, a
Werkzeug ``HTTPException`` (malformed body, body too large, unknown route, wrong method), a
Pydantic ``ValidationError`` (422 naming each field), or a bug (500, logged without the body).
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed

API_PATH_PREFIX = "/api/"


class ApiError(Exception):
    """Raise from an API view to answer with the standard error document."""

    def __init__(
        self, status: int, code: str, message: str, details: Any | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def error_response(
    status: int, code: str, message: str, details: Any | None = None
) -> ResponseReturnValue:
    body = {"error": {"code": code, "message": message, "details": details}}
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="memnun"'
    return response


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Pydantic's errors as ``[{"field": "complainant.email", "message": ...}]``.

    The offending input is left out on purpose: it may be personal data.
    """
    details = []
    for error in exc.errors(include_url=False, include_input=False):
        location = [str(part) for part in error["loc"]]
        details.append(
            {
                "field": ".".join(location) or "body",
                "message": error["msg"].removeprefix("Value error, "),
                "type": error["type"],
            }
        )
    return details


def invalid_fields(details: list[dict[str, str]]) -> ApiError:
    return ApiError(422, "invalid", _("Some fields are not valid."), details)


def json_body() -> dict[str, Any]:
    """The request body as a JSON object, or a 400 ``ApiError``.

    Parsed here rather than by ``request.get_json``: that one lets a deeply nested document
    through to a ``RecursionError`` (a 500) and insists on the Content-Type header.
    """
    raw = request.get_data(cache=True)  # raises 413 past MAX_CONTENT_LENGTH
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise ApiError(400, "malformed_json", _("The body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", _("The body must be a JSON object.")) from None
    return data


M = TypeVar("M", bound=BaseModel)


def parse_body(model: type[M]) -> M:
    """The JSON body validated by ``model``; 400 or 422 ``ApiError`` when it is not."""
    data = json_body()
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_fields(field_errors(exc)) from None


def parse_query(model: type[M]) -> M:
    """The query string validated by ``model``; 422 ``ApiError`` naming each bad parameter.

    A parameter given twice is refused rather than guessed at (first? last? both?).
    """
    data: dict[str, str] = {}
    repeated = []
    for name in request.args:
        values = request.args.getlist(name)
        if len(values) > 1:
            repeated.append({"field": name, "message": _("must be given once"),
                             "type": "repeated_parameter"})
        data[name] = values[0]
    if repeated:
        raise invalid_fields(repeated)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_fields(field_errors(exc)) from None


def _http_error(exc: HTTPException) -> ResponseReturnValue:
    code = (exc.name or "error").lower().replace(" ", "_")
    messages = {
        400: _("The request is malformed."),
        401: _("An API key is needed: Authorization: Bearer <key>."),
        403: _("This API key may not do this."),
        404: _("There is nothing at this address."),
        405: _("This method is not allowed here."),
        413: _("The body is too large."),
        500: _("Something went wrong on our side; it has been logged."),
    }
    status = exc.code or 500
    details = {"max_bytes": current_app.config.get("MAX_CONTENT_LENGTH")} if status == 413 else None
    response = error_response(status, code, messages.get(status, exc.name or "error"), details)
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))  # type: ignore[union-attr]
    return response


def register_api_error_handlers(bp: Blueprint) -> None:
    """Give ``bp`` (and any path under /api/) the standard error shape."""

    @bp.errorhandler(ApiError)
    def api_error(exc: ApiError) -> ResponseReturnValue:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @bp.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        return _http_error(exc)

    @bp.errorhandler(InternalServerError)
    def server_error(exc: InternalServerError) -> ResponseReturnValue:
        # Flask has logged the exception with the route only (never the body: personal data).
        return _http_error(exc)

    # Routing errors happen before a blueprint is known, so these must be app-wide; outside
    # /api/ the exception is handed back unchanged for Flask's own pages.
    def routing_error(exc: HTTPException) -> ResponseReturnValue:
        if request.path.startswith(API_PATH_PREFIX):
            return _http_error(exc)
        return exc

    for status in (404, 405, 413):
        bp.app_errorhandler(status)(routing_error)
