"""The one JSON error shape of the REST API: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue


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
