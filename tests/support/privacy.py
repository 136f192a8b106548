"""The people of the privacy tests (tests/reliability/test_privacy_*.py) and the helpers that
build their world (the ``privacy_world`` fixture of tests/reliability/conftest.py): complaints
through the real API, resolved, and the answers each person gives."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    phone: str

    def needles(self) -> list[str]:
        """What must not be found anywhere once the person is erased (lower case, ASCII)."""
        digits = "".join(ch for ch in self.phone if ch.isdigit())
        return [self.name.lower(), *self.name.lower().split(), self.email.lower(),
                self.phone.lower(), digits[-10:]]


TARGET = Person("Zeynep Karaca", "Zeynep.Karaca@Example.org", "+90 532 111 22 33")
OTHER = Person("Mehmet Ozturk", "mehmet.ozturk@example.net", "+90 533 444 55 66")
ANONYMOUS = [Person(f"Vatandas No{i}", f"vatandas{i}@example.com", f"+90 534 000 00 0{i}")
             for i in range(4)]


@dataclass
class PrivacyWorld:
    start: dt.datetime
    end: dt.datetime
    complaint_ids: dict[str, list[int]] = field(default_factory=dict)  # e-mail -> complaints
    follow_up_id: int | None = None
    admin_email: str = "admin@example.org"
    admin_password: str = ""


def call_api(client: Any, api_key: str, method: str, path: str, body: dict[str, Any]) -> Any:
    response = client.open(path, method=method, json=body,
                           headers={"Authorization": f"Bearer {api_key}"})
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    return response.get_json()


def resolved_complaint(client: Any, api_key: str, reference: str, person: Person, name: str,
               received: dt.datetime, personal_text: bool) -> int:
    body: dict[str, Any] = {
        "external_id": reference, "received_at": received.isoformat(), "channel": "web",
        "category": "yol", "unit": "fen",
        "subject": f"{person.name}: cop alinmadi" if personal_text else "Cop alinmadi",
        "description": (f"Ben {person.name}, {person.email}, telefon {person.phone}"
                        if personal_text else "Konteyner uc gundur bosaltilmadi."),
        "complainant": {"name": name, "email": person.email, "phone": person.phone,
                        "language": "tr", "survey_consent": True},
    }
    complaint_id = call_api(client, api_key, "POST", "/api/v1/complaints", body)["id"]
    note = f"{person.name} aradi, {person.phone}" if personal_text else "Konteyner bosaltildi."
    call_api(client, api_key, "POST", f"/api/v1/complaints/{complaint_id}/events",
         {"type": "resolved", "at": (received + dt.timedelta(hours=20)).isoformat(),
          "note": note})
    return complaint_id


def answers_for(person: Person, overall: int, personal_text: bool) -> dict[str, Any]:
    comment = (f"Beni arayin: {person.name}, {person.phone}, {person.email}" if personal_text
               else "Daha hizli olabilirdi.")
    return {"overall": overall, "resolved": "no" if overall <= 2 else "yes", "timeliness": 3,
            "courtesy": overall, "clarity": 4, "recommend": overall * 2, "improve": comment}
