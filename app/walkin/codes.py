"""The link codes of service points' posters.

``code = <id>-<base64url(HMAC-SHA256(secret key, "service-point:<id>:<generation>"))[:16]>``:
96 random-looking bits, re-derivable by the server so a poster can be printed again, never
stored (the point keeps ``SHA-256(code)``). The id in front lets an old code be recognised as
one (a lower generation of the same point), so its link can say "no longer in use" rather than
"unknown".
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from flask import current_app

MAC_LENGTH = 16
MAX_CODE_LENGTH = 40


def link_code(point_id: int, generation: int) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    message = f"service-point:{int(point_id)}:{int(generation)}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return f"{int(point_id)}-{base64.urlsafe_b64encode(digest).decode()[:MAC_LENGTH]}"


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def point_id_of(code: str) -> int | None:
    """The point id a code names, when it is shaped like one (not whether it is genuine)."""
    if len(code) > MAX_CODE_LENGTH:
        return None
    number, dash, mac = code.partition("-")
    if not dash or not number.isdigit() or len(number) > 9 or len(mac) != MAC_LENGTH:
        return None
    return int(number)


def is_old_code(code: str, point_id: int, generation: int) -> bool:
    """Whether ``code`` was the point's code in an earlier generation (ended by a new one)."""
    return any(hmac.compare_digest(link_code(point_id, older), code)
               for older in range(1, generation))
