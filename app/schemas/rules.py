"""Distribution rules as the API and the admin pages take them."""

from __future__ import annotations

import functools
import re
import zoneinfo
from typing import Annotated, Any, Literal

from flask_babel import gettext as _
from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from app.models import Channel, RuleTrigger
from app.schemas.fields import ApiModel, Code

# --- distribution rules -----------------------------------------------------------------------

# ISO 8601 durations in weeks, days, hours and minutes ("PT24H", "P3D", "P1DT12H"). Years and
# months are refused: their length varies. Each number has at most six digits.
DURATION_RE = re.compile(
    r"P(?:(?P<weeks>\d{1,6})W)?(?:(?P<days>\d{1,6})D)?"
    r"(?:T(?:(?P<hours>\d{1,6})H)?(?:(?P<minutes>\d{1,6})M)?)?"
)
MAX_DURATION_MINUTES = 366 * 24 * 60
SEND_WINDOW_RE = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)")


def duration_minutes(value: str) -> int:
    """``"PT24H"`` -> 1440; ValueError for anything but a duration in W, D, H and M."""
    match = DURATION_RE.fullmatch(value)
    if match is None or value in ("P", "PT") or value.endswith("T"):
        raise ValueError(value)
    parts = {name: int(number or 0) for name, number in match.groupdict().items()}
    return ((parts["weeks"] * 7 + parts["days"]) * 24 + parts["hours"]) * 60 + parts["minutes"]


def format_duration(minutes: int) -> str:
    """The canonical ISO 8601 form of ``minutes``: 1440 -> "P1D", 90 -> "PT1H30M", 0 -> "PT0M"."""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    text = "P" + (f"{days}D" if days else "")
    clock = (f"{hours}H" if hours else "") + (f"{mins}M" if mins else "")
    if clock or not days:
        text += "T" + (clock or "0M")
    return text


def _duration(value: Any) -> int:
    if not isinstance(value, str) or len(value) > 40:
        raise PydanticCustomError(
            "invalid_duration", _("must be an ISO 8601 duration such as PT24H or P3D")
        )
    try:
        minutes = duration_minutes(value)
    except ValueError:
        raise PydanticCustomError(
            "invalid_duration",
            _("must be an ISO 8601 duration in weeks, days, hours and minutes, e.g. PT24H, "
              "P3D or P1DT12H"),
        ) from None
    if minutes > MAX_DURATION_MINUTES:
        raise PydanticCustomError("duration_range", _("must be at most 366 days"))
    return minutes


# Validated into whole minutes (the rule's columns); defaults are written as text, so the fields
# that use it validate their defaults too.
Duration = Annotated[
    int,
    PlainValidator(_duration),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^P(\d{1,6}W)?(\d{1,6}D)?(T(\d{1,6}H)?(\d{1,6}M)?)?$",
            "maxLength": 40,
            "description": "ISO 8601 duration in weeks, days, hours and minutes (PT24H, P3D, "
            "P1DT12H). Answered in canonical form: PT24H comes back as P1D.",
        }
    ),
]


def _send_window(value: str) -> str:
    if not SEND_WINDOW_RE.fullmatch(value):
        raise PydanticCustomError(
            "invalid_send_window", _("must be two local times, e.g. 09:00-20:00")
        )
    return value


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _timezone(value: str) -> str:
    # Looked up in the list rather than by ZoneInfo(value), which would read a file named by
    # the caller ("../..", a directory) and raise errors of many kinds.
    if value not in _known_zones():
        raise PydanticCustomError(
            "invalid_timezone", _("must be an IANA time zone such as Europe/Istanbul")
        )
    return value


class RuleFilters(ApiModel):
    """Which complaints (service events) a rule covers; an empty list covers all. A parent
    unit, category or service covers the ones below it. Categories apply to rules on resolved
    complaints, services to rules on service events."""

    categories: list[Code] = Field(default_factory=list, max_length=200)
    services: list[Code] = Field(default_factory=list, max_length=200)
    units: list[Code] = Field(default_factory=list, max_length=200)
    channels: list[Channel] = Field(default_factory=list, max_length=20)


def _calling_days(value: list[int]) -> list[int]:
    if not value:
        raise PydanticCustomError("no_calling_day", _("must hold at least one weekday"))
    return sorted(set(value))


class PhoneSettings(ApiModel):
    """Phone interviews (app/phone): whom the satisfaction team calls, how often, and when."""

    use: Literal["off", "everyone", "phone_only", "fallback"] = Field(
        default="off",
        description="off; everyone: call every matched person with a phone number; "
        "phone_only: call those with a phone number and no e-mail address; fallback: call "
        "when the e-mail or SMS link expired unanswered (and those with only a phone number "
        "when no SMS gateway is set up).",
    )
    max_attempts: StrictInt = Field(
        default=3, ge=1, le=20,
        description="Calls without an answer (no answer, busy) before the invitation expires.")
    hours_between: StrictInt = Field(
        default=4, ge=0, le=24 * 14, description="Hours at least between two such calls.")
    calling_hours: Annotated[StrictStr, AfterValidator(_send_window)] = Field(
        default="10:00-18:00",
        description="Local hours (in the rule's time zone) in which people may be called.",
        json_schema_extra={"pattern": r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$"},
    )
    calling_days: Annotated[list[Annotated[StrictInt, Field(ge=1, le=7)]],
                            AfterValidator(_calling_days)] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5], max_length=7,
        description="ISO weekdays on which people may be called (1 Monday .. 7 Sunday).")


class DistributionRuleIn(ApiModel):
    """``PUT /distribution-rules/<key>``: the whole rule; fields left out take their defaults."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "questionnaire": "post-resolution", "triggered_by": "complaint_resolved",
        "filters": {"categories": ["temizlik"], "services": [], "units": [],
                    "channels": ["web", "phone"]},
        "delay": "PT24H", "reminder_after": "P3D", "expires_after": "P14D",
        "sample_rate": 0.5, "fatigue_days": 30, "send_window": "09:00-20:00",
        "timezone": "Europe/Istanbul", "active": True, "priority": 10,
    }]})

    questionnaire: Code = Field(description="Key of the questionnaire to send.")
    triggered_by: RuleTrigger = Field(
        default=RuleTrigger.COMPLAINT_RESOLVED,
        description="What starts the survey: a resolved complaint (complaint_resolved) or a "
        "service delivered (service_event).")
    filters: RuleFilters = Field(default_factory=RuleFilters)
    delay: Duration = Field(default="P1D", validate_default=True,
        description="Time after the resolution (the service event) to send.")
    reminder_after: Duration = Field(
        default="P3D", validate_default=True,
        description="Time after sending to remind once; PT0M: no reminder."
    )
    expires_after: Duration = Field(
        default="P14D", validate_default=True,
        description="Time after sending after which the link no longer works."
    )
    sample_rate: StrictFloat = Field(
        default=1.0, ge=0, le=1,
        description="Share of matching complaints that get a survey (deterministic per "
        "complaint).",
    )
    fatigue_days: StrictInt = Field(
        default=30, ge=0, le=3650,
        description="Nobody gets more than one survey within this many days, across all rules.",
    )
    send_window: Annotated[StrictStr, AfterValidator(_send_window)] = Field(
        default="09:00-20:00",
        description="Local hours in which mail may go out; equal ends mean any time.",
        json_schema_extra={"pattern": r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$"},
    )
    timezone: Annotated[StrictStr, Field(max_length=64), AfterValidator(_timezone)] | None = (
        Field(default=None, description="IANA time zone of the send window. Default: "
              "MEMNUN_TIMEZONE (Europe/Istanbul).")
    )
    active: StrictBool = True
    priority: StrictInt = Field(
        default=0, ge=-1000, le=1000,
        description="When several rules match a complaint, the highest priority wins.",
    )
    phone: PhoneSettings = Field(default_factory=PhoneSettings)

    @field_validator("expires_after")
    @classmethod
    def _expiry_after_reminder(cls, value: int, info: ValidationInfo) -> int:
        reminder = info.data.get("reminder_after")
        if value <= 0:
            raise PydanticCustomError("duration_range", _("must be longer than zero"))
        if reminder and reminder >= value:
            raise PydanticCustomError(
                "reminder_after_expiry",
                _("must be longer than reminder_after: a reminder after the link expired "
                  "would be useless"),
            )
        return value
