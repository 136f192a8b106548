"""Query strings of the REST API's listings and metrics."""

from __future__ import annotations

import datetime as dt
import enum
import re
from typing import Annotated, Any

from flask_babel import gettext as _
from pydantic import (
    BeforeValidator,
    Field,
    PlainValidator,
    StrictStr,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from app.models import Channel, ComplaintStatus, ResponseMode, ResponseSource
from app.schemas.fields import ApiModel, AwareDateTime, Code, ExternalId, _aware_time, _utc

# --- query strings ----------------------------------------------------------------------------
# Query parameters are validated by models too, so that the OpenAPI document lists them from
# the same source. Values arrive as text; numbers are converted (lax mode), nothing else is.

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50
# A "+" in a query string is decoded as a space unless the sender wrote %2B: accept
# "2026-03-01T14:30:00 03:00" as the "+03:00" it was meant to be.
_SPACE_FOR_PLUS_RE = re.compile(r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _plus_restored(value: Any) -> Any:
    if isinstance(value, str):
        return _SPACE_FOR_PLUS_RE.sub(r"\1+\2", value)
    return value


QueryDateTime = Annotated[AwareDateTime, BeforeValidator(_plus_restored)]


def _period_bound(value: Any) -> dt.date | dt.datetime:
    """A date (local midnight in the organisation's time zone) or a time with an offset."""
    if isinstance(value, str) and DATE_RE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError("invalid_date", _("is not a valid date")) from None
    value = _aware_time(_plus_restored(value))
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError(
            "iso_datetime", _("must be a date (2026-03-01) or an ISO 8601 time with an offset")
        ) from None
    return _utc(parsed)


PeriodBound = Annotated[
    dt.date | dt.datetime,
    PlainValidator(_period_bound),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date"},
                {"type": "string", "format": "date-time"},
            ],
            "description": "A date (midnight in the organisation's time zone) or an ISO 8601 "
            "time with a UTC offset.",
        }
    ),
]
Cursor = Annotated[
    StrictStr,
    Field(max_length=200, description="The next_cursor of the previous page, as it was given."),
]
PageSize = Annotated[
    int, Field(ge=1, le=MAX_PAGE_SIZE, description=f"At most {MAX_PAGE_SIZE} items a page.")
]


class PageQuery(ApiModel):
    """What every listing takes: where to continue, and how many items a page holds."""

    cursor: Cursor | None = None
    limit: PageSize = DEFAULT_PAGE_SIZE


class ComplaintQuery(PageQuery):
    """``GET /complaints``: oldest change first, so that a client can follow the changes."""

    status: ComplaintStatus | None = Field(default=None, description="Only this status.")
    updated_since: QueryDateTime | None = Field(
        default=None, description="Only complaints changed at or after this time."
    )


class ServiceEventQuery(PageQuery):
    """``GET /service-events``: first recorded first, so that a client can follow them."""

    unit: Code | None = Field(
        default=None, description="Code of a unit; the units below it are included."
    )
    service: Code | None = Field(
        default=None, description="Code of a service; the services below it are included."
    )
    external_id: ExternalId | None = Field(
        default=None, description="Only the event with this id in the sending system."
    )
    occurred_since: QueryDateTime | None = Field(
        default=None, description="Only services delivered at or after this time."
    )
    recorded_since: QueryDateTime | None = Field(
        default=None, description="Only events recorded (received by Memnun) at or after this "
        "time: what a client that follows the list passes."
    )


class ResponseQuery(PageQuery):
    """``GET /responses``: oldest first."""

    since: QueryDateTime | None = Field(
        default=None, description="Only responses submitted at or after this time."
    )
    questionnaire: Code | None = Field(default=None, description="Key of a questionnaire.")


class GroupBy(enum.StrEnum):
    UNIT = "unit"
    CATEGORY = "category"
    CHANNEL = "channel"
    MONTH = "month"
    SOURCE = "source"
    MODE = "mode"


class MetricsQuery(ApiModel):
    """``GET /metrics``: figures for the half-open period [from, to)."""

    from_: PeriodBound | None = Field(
        default=None, alias="from", description="Start, included. Default: 30 days before `to`."
    )
    to: PeriodBound | None = Field(default=None, description="End, excluded. Default: now.")
    unit: Code | None = Field(
        default=None, description="Code of a unit; the units below it are included."
    )
    category: Code | None = Field(
        default=None, description="Code of a category; the categories below it are included."
    )
    channel: Channel | None = Field(default=None, description="Only this channel.")
    questionnaire: Code | None = Field(
        default=None,
        description="Key of a questionnaire. Limits the survey figures and the invitations; "
        "complaint figures are not about questionnaires and ignore it.",
    )
    source: ResponseSource | None = Field(
        default=None,
        description="Only answers of this source (complainant: about the handling of their "
        "complaint; service_user: after a service; campaign: sampled by a campaign), and the "
        "invitations to them; complaint figures have no source and ignore it.",
    )
    mode: ResponseMode | None = Field(
        default=None,
        description="Only answers given this way (email, sms, phone, walk_in), and the "
        "invitations sent by it; complaint figures ignore it. Phone answers run higher than "
        "web ones: compare modes apart.",
    )
    group_by: GroupBy | None = Field(
        default=None,
        description="unit and category group by the unit or category a complaint is assigned "
        "to (not rolled up); month uses the organisation's time zone; source and mode group "
        "the survey figures and invitations (complaints have neither). Without it: one group.",
    )
