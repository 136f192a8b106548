"""Retries that arrive at the same moment, over real HTTP: stored once, on both databases."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from app.models import Complaint, ComplaintEvent, Invitation
from tests.support.api import admin_api, at, complaint_body, seed_reference
from tests.support.database import count_rows

PARALLEL = 8


def _post_all(url: str, key: str, body: dict[str, Any]) -> list[int]:
    """POST ``body`` from PARALLEL threads at once; the status codes, sorted."""
    def post(_: int) -> int:
        return requests.post(url, json=body, headers={"Authorization": f"Bearer {key}"},
                             timeout=30).status_code

    with ThreadPoolExecutor(PARALLEL) as pool:
        return sorted(pool.map(post, range(PARALLEL)))


def test_simultaneous_deliveries_are_stored_once(app, live_server) -> None:
    api = admin_api(app)
    seed_reference(api)
    key = api.headers["Authorization"].removeprefix("Bearer ")
    base = f"{live_server.url}/api/v1"

    statuses = _post_all(f"{base}/complaints", key, complaint_body(external_id="E-1"))
    assert statuses == [200] * (PARALLEL - 1) + [201]
    assert count_rows(app, Complaint) == 1 and count_rows(app, ComplaintEvent) == 1

    statuses = _post_all(f"{base}/complaints/ext:E-1/events", key,
                         {"type": "resolved", "at": at(1)})
    assert statuses == [200] * (PARALLEL - 1) + [201]
    assert count_rows(app, ComplaintEvent) == 2
    assert count_rows(app, Invitation) == 1
