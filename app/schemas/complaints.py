"""Units, categories, services, complainants, complaints, service events, their batches and
status changes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from flask_babel import gettext as _
from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from app.models import Channel, ComplaintKind
from app.schemas.fields import (
    CODE_RE,
    MAX_CODE_LENGTH,
    ApiModel,
    AwareDateTime,
    Code,
    Email,
    EventKind,
    ExternalId,
    Name,
    PastDateTime,
    Text,
    _language,
    _phone,
    code_rule,
)


class UnitIn(ApiModel):
    """``PUT /units/<code>``: the whole unit (fields left out are cleared)."""

    name: Name
    parent: Code | None = Field(default=None, description="Code of the parent unit, or null.")


class CategoryIn(ApiModel):
    """``PUT /categories/<code>``: the whole category (fields left out are cleared)."""

    name: Name
    parent: Code | None = Field(default=None, description="Code of the parent category, or null.")
    committed_response_days: StrictInt | None = Field(
        default=None,
        ge=0,
        le=3650,
        description="Days within which the organisation commits to resolve a complaint of this "
        "category; a child without one inherits its parent's.",
    )


class ServiceIn(ApiModel):
    """``PUT /services/<code>``: the whole service of the catalogue (fields left out are
    cleared)."""

    name: Name
    parent: Code | None = Field(default=None, description="Code of the parent service, or null.")


class ComplainantIn(ApiModel):
    """The person behind the complaint; everything here is personal data."""

    name: Annotated[Text, Field(max_length=200)] | None = None
    email: Email | None = None
    phone: Annotated[Text, Field(max_length=40), AfterValidator(_phone)] | None = None
    language: Annotated[StrictStr, Field(max_length=35), AfterValidator(_language)] | None = None
    survey_consent: StrictBool = Field(
        description="Whether the complainant agreed to be asked about the handling."
    )


class ComplaintIn(ApiModel):
    """``POST /complaints``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "external_id": "CM-2026/0042",
        "received_at": "2026-03-01T14:30:00+03:00",
        "channel": "web",
        "category": "cop",
        "unit": "fen.yol",
        "subject": "Çöp alınmadı",
        "description": "Sokağımızdaki konteyner üç gündür boşaltılmadı.",
        "complainant": {"name": "Ayşe Yılmaz", "email": "ayse.yilmaz@example.com",
                        "language": "tr", "survey_consent": True},
    }]})

    external_id: ExternalId = Field(description="The complaint's id in the sending system.")
    kind: ComplaintKind = Field(
        default=ComplaintKind.COMPLAINT,
        description="What was received: a complaint, or a request, suggestion or compliment. "
        "Only a complaint has a due time and a follow-up survey on resolution.",
    )
    received_at: PastDateTime
    channel: Channel
    category: Code = Field(description="Code of an existing category.")
    unit: Code = Field(description="Code of an existing unit.")
    subject: Annotated[Text, Field(max_length=300)] | None = None
    description: Annotated[Text, Field(max_length=20000)] | None = None
    due_at: AwareDateTime | None = Field(
        default=None,
        description="Committed response time; without it, received_at plus the category's "
        "committed response days.",
    )
    complainant: ComplainantIn

    @field_validator("due_at")
    @classmethod
    def _due_after_received(
        cls, value: dt.datetime | None, info: ValidationInfo
    ) -> dt.datetime | None:
        received_at = info.data.get("received_at")
        if value is not None and received_at is not None and value < received_at:
            raise PydanticCustomError(
                "due_before_received", _("must not be before received_at")
            )
        return value


DEFAULT_BATCH_MAX = 500


class ComplaintBatchIn(ApiModel):
    """``POST /complaints/batch``: complaints judged one by one, each as ``POST /complaints``
    would judge it. The document's ``maxItems`` is the server's MEMNUN_API_BATCH_MAX."""

    complaints: list[ComplaintIn] = Field(
        min_length=1,
        description="Each item is a ComplaintIn; an invalid item answers for itself and does "
        "not stop the others.",
    )


class BatchEnvelope(ApiModel):
    """The batch as it is first read: its items are validated one by one afterwards, so that
    one invalid complaint does not refuse the batch (``ComplaintBatchIn`` is its contract)."""

    complaints: list[Any] = Field(min_length=1)


class PersonIn(ComplainantIn):
    """The person served; everything here is personal data, kept as a complainant's is."""

    survey_consent: StrictBool = Field(
        description="Whether the person agreed to be asked about the service."
    )


class ServiceEventIn(ApiModel):
    """``POST /service-events``: a service delivered to a person."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "external_id": "RUH-2026/1187",
        "occurred_at": "2026-03-02T11:05:00+03:00",
        "unit": "imar",
        "service": "ruhsat",
        "channel": "walk_in",
        "person": {"name": "Mehmet Kaya", "email": "mehmet.kaya@example.com",
                   "language": "tr", "survey_consent": True},
    }]})

    external_id: ExternalId = Field(description="The event's id in the sending system.")
    occurred_at: PastDateTime = Field(description="When the service was delivered.")
    unit: Code = Field(description="Code of an existing unit.")
    service: Code = Field(description="Code of an existing service.")
    channel: Channel
    person: PersonIn


class ServiceEventBatchIn(ApiModel):
    """``POST /service-events/batch``: events judged one by one, each as ``POST
    /service-events`` would judge it. The document's ``maxItems`` is MEMNUN_API_BATCH_MAX."""

    service_events: list[ServiceEventIn] = Field(
        min_length=1,
        description="Each item is a ServiceEventIn; an invalid item answers for itself and "
        "does not stop the others.",
    )


class ServiceEventEnvelope(ApiModel):
    """The batch of service events as it is first read (``ServiceEventBatchIn`` is its
    contract), its items validated one by one afterwards."""

    service_events: list[Any] = Field(min_length=1)


class EventIn(ApiModel):
    """``POST /complaints/<id>/events``: a status change in the sending system."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"type": "resolved", "at": "2026-03-03T10:00:00+03:00",
         "note": "Konteyner boşaltıldı."},
    ]})

    type: EventKind
    at: PastDateTime
    note: Annotated[Text, Field(max_length=5000)] | None = None


def check_code(value: str) -> str | None:
    """Why ``value`` (a code in a URL) is not a valid code, or None when it is."""
    if len(value) > MAX_CODE_LENGTH or not CODE_RE.fullmatch(value):
        return code_rule()
    return None
