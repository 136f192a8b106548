"""The SMS gateway's delivery-report callback: ``POST /callbacks/sms/delivery``.

Public (the gateway has no account) but authenticated by the HMAC signature of the body
(``receipts``); exempt from CSRF, which protects browsers' sessions, and there is none here.
Answers JSON: 200 with what was taken, 401 for a missing or wrong signature, 404 when no
secret is configured, 400/415 for a body that is not the reports' JSON, 422 for a report that
names no message of ours or an unknown status (then nothing of the request is stored).
"""

from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from app.distribution.receipts import (
    SIGNATURE_HEADER,
    ReceiptError,
    parse_reports,
    receipt_secret,
    signature_valid,
    take_reports,
)
from app.extensions import csrf

bp = Blueprint("callbacks", __name__, url_prefix="/callbacks")
csrf.exempt(bp)


def _refuse(status: int, message: str) -> ResponseReturnValue:
    return jsonify({"error": message}), status


@bp.post("/sms/delivery")
def sms_delivery() -> ResponseReturnValue:
    secret = receipt_secret(current_app.config)
    if secret is None:
        return _refuse(404, "SMS delivery reports are not taken here "
                            "(MEMNUN_SMS_RECEIPT_SECRET is not set)")
    body = request.get_data(cache=False)
    if not signature_valid(secret, body, request.headers.get(SIGNATURE_HEADER)):
        return _refuse(401, f"missing or wrong {SIGNATURE_HEADER}: expected sha256=<hex "
                            "HMAC-SHA256 of the body under the shared secret>")
    if request.mimetype != "application/json":
        return _refuse(415, "the body must be JSON (Content-Type: application/json)")
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _refuse(400, "the body is not valid JSON")
    try:
        reports = parse_reports(payload)
    except ReceiptError as exc:
        return _refuse(422, str(exc))
    taken = take_reports(reports)
    return jsonify({"recorded": taken.recorded, "unchanged": taken.unchanged}), 200
