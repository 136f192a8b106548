"""Response schemas of the REST API v1: what each endpoint answers, for the OpenAPI document.

The answers themselves are built by ``app.documents``; the contract tests and the
schema-driven test check every answer against these models (through the generated document), so
the two cannot drift apart unnoticed. Models allow fields they do not list: a client must accept
fields added later in v1.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.models import (
    ComplaintKind,
    ComplaintStatus,
    EventType,
    InvitationState,
    ResponseMode,
    ResponseSource,
    SuppressionReason,
)
from app.models.organisation import Channel


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, machine-readable: invalid, conflict, not_found, ...")
    message: str = Field(description="For people; in the server's language.")
    details: Any = Field(
        description="What exactly: for 422 a list of {field, message, type}; otherwise an "
        "object or null."
    )


class ErrorBody(BaseModel):
    """Every error answers in this one shape."""

    error: ErrorDetail


class UnitOut(BaseModel):
    code: str
    name: str
    parent: str | None


class UnitList(BaseModel):
    units: list[UnitOut]


class CategoryOut(BaseModel):
    code: str
    name: str
    parent: str | None
    committed_response_days: int | None


class CategoryList(BaseModel):
    categories: list[CategoryOut]


class ServiceOut(BaseModel):
    code: str
    name: str
    parent: str | None


class ServiceList(BaseModel):
    services: list[ServiceOut]


class HistoryEntry(BaseModel):
    type: EventType
    at: dt.datetime
    note: str | None
    actor: str | None = Field(
        description="Who recorded it: api_key:<name>, csv:<user e-mail> or csv:cli."
    )
    recorded_at: dt.datetime


class InvitationOut(BaseModel):
    id: int
    state: InvitationState
    suppression_reason: SuppressionReason | None
    language: str
    due_at: dt.datetime | None
    sent_at: dt.datetime | None
    reminded_at: dt.datetime | None
    expires_at: dt.datetime | None
    responded_at: dt.datetime | None
    attempts: int


class ComplainantOut(BaseModel):
    name: str | None
    email: str | None
    phone: str | None
    language: str
    survey_consent: bool
    opted_out_at: dt.datetime | None
    erased_at: dt.datetime | None


class ComplaintOut(BaseModel):
    """A complaint. ``subject``, ``description`` and ``complainant`` (personal data) are there
    only for keys with the admin scope."""

    id: int
    external_id: str
    kind: ComplaintKind
    status: ComplaintStatus
    received_at: dt.datetime
    channel: Channel
    category: str
    unit: str
    due_at: dt.datetime | None
    acknowledged_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    resolved_on_time: bool | None
    reopen_count: int
    updated_at: dt.datetime
    history: list[HistoryEntry]
    invitations: list[InvitationOut]
    subject: str | None = None
    description: str | None = None
    complainant: ComplainantOut | None = None


class ComplaintPage(BaseModel):
    complaints: list[ComplaintOut]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null on the last page."
    )


class ServiceEventOut(BaseModel):
    """A service delivered to a person. ``person`` (personal data) is there only for keys with
    the admin scope."""

    id: int
    external_id: str
    occurred_at: dt.datetime
    unit: str
    service: str
    channel: Channel
    created_at: dt.datetime
    invitations: list[InvitationOut]
    person: ComplainantOut | None = None


class BatchItemResult(BaseModel):
    """What became of one item (complaint or service event) of a batch: the status a single
    POST would have answered."""

    index: int = Field(description="The item's position in the batch, from 0.")
    status: Literal[200, 201, 409, 422] = Field(
        description="201 stored; 200 already stored with the same content (a safe retry); 409 "
        "already stored with other content; 422 invalid (error.details names each field)."
    )
    external_id: str | None = Field(
        description="The item's external_id as sent; null when it had none that could be read."
    )
    id: int | None = Field(
        description="The stored row's id for 201 and 200; null otherwise (a 409 names the "
        "stored row in error.details.complaint_id or service_event_id)."
    )
    error: ErrorDetail | None = Field(
        description="For 409 and 422: the error a single POST would have answered."
    )


class ComplaintBatchOut(BaseModel):
    """One result per complaint sent, in the same order."""

    results: list[BatchItemResult]
    created: int = Field(description="How many results are 201.")
    unchanged: int = Field(description="How many results are 200.")
    failed: int = Field(description="How many results are 409 or 422.")


class ServiceEventPage(BaseModel):
    service_events: list[ServiceEventOut]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null on the last page."
    )


class ServiceEventBatchOut(BaseModel):
    """One result per service event sent, in the same order."""

    results: list[BatchItemResult]
    created: int = Field(description="How many results are 201.")
    unchanged: int = Field(description="How many results are 200.")
    failed: int = Field(description="How many results are 409 or 422.")


class AnswerOut(BaseModel):
    question: str = Field(description="The question's key, stable across versions.")
    type: str = Field(description="rating, nps, effort, likert, yes_no, single_choice, "
                      "multi_choice, text, importance")
    attribute: str | None
    value: float | str | list[str] | None = Field(
        description="A number for scales, yes/no for yes_no, the option key for single_choice, "
        "the list of option keys for multi_choice, the text for text (admin keys only)."
    )


class QuestionnaireRef(BaseModel):
    key: str
    version: int


class ResponseOut(BaseModel):
    """A survey response. Never personal data: no complainant, and free-text answers only for
    keys with the admin scope (people write names and addresses in them)."""

    id: int
    submitted_at: dt.datetime
    complaint_id: int | None = Field(description="Null for a service user's response.")
    service_event_id: int | None = Field(
        description="The service event a service user's (or a campaign's) response is about.")
    source: ResponseSource = Field(
        description="Whom it speaks for: complainant, service_user or campaign.")
    mode: ResponseMode = Field(
        description="How the answers were given: email, sms, phone or walk_in.")
    questionnaire: QuestionnaireRef
    unit: str
    category: str | None = Field(description="Null for a service user's response.")
    channel: Channel
    language: str
    answers: list[AnswerOut]


class ResponsePage(BaseModel):
    responses: list[ResponseOut]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null on the last page."
    )


class Figure(BaseModel):
    """An estimate with its 95 % interval. Proportions are fractions (0.8, not 80); NPS is in
    [-1, 1]."""

    value: float
    low: float
    high: float


class MetricsGroup(BaseModel):
    """The figures of one group. Survey figures (csat, mean, nps, ces, resolution_confirmed) are
    null when the group is suppressed (too few responses, or hidden so that another hidden
    group cannot be worked out from the total), or when fewer answers than the smallest group
    size feed that one figure."""

    key: str | None = Field(
        description="Unit or category code, channel, month (YYYY-MM), source, mode, or null "
        "without group_by."
    )
    label: str
    suppressed: bool
    responses: int
    csat: Figure | None = Field(description="Share of 4 and 5 on the overall 1-5 rating.")
    mean: Figure | None = Field(description="Mean overall rating (1-5), t interval.")
    nps: Figure | None = Field(description="Net Promoter Score as a fraction in [-1, 1].")
    ces: Figure | None = Field(description="Mean customer effort (1-7).")
    resolution_confirmed: Figure | None = Field(
        description="Share of respondents who say the problem was really solved."
    )
    invitations: int = Field(description="Invitations sent in the period.")
    delivered: int = Field(
        description="Of the invitations sent in the period, those delivered: not bounced and "
        "not reported failed by the SMS gateway (an answered one always counts)."
    )
    response_rate: Figure | None = Field(
        description="Of the invitations delivered, the share answered (null: none delivered)."
    )
    bounce_rate: Figure | None = Field(
        description="Of the invitations sent in the period, the share not delivered: the "
        "e-mail bounced for good or the SMS gateway reported it failed (null: none sent)."
    )
    complaints: int = Field(description="Complaints received in the period (records of kind "
                            "complaint; requests, suggestions and compliments are not).")
    compliments: int = Field(description="Compliments received in the period.")
    on_time: Figure | None = Field(
        description="Of the complaints resolved in the period with a due time, the share "
        "resolved by it."
    )


class MetricsOut(BaseModel):
    from_: dt.datetime = Field(alias="from")
    to: dt.datetime
    group_by: str | None
    min_group_size: int
    groups: list[MetricsGroup]


class RuleFiltersOut(BaseModel):
    categories: list[str]
    units: list[str]
    channels: list[Channel]


class PhoneSettingsOut(BaseModel):
    use: str = Field(description="off, everyone, phone_only or fallback (see the rule's input).")
    max_attempts: int
    hours_between: int
    calling_hours: str
    calling_days: list[int]


class DistributionRuleOut(BaseModel):
    key: str
    questionnaire: str
    filters: RuleFiltersOut
    delay: str = Field(description="ISO 8601 duration, canonical form.")
    reminder_after: str
    expires_after: str
    sample_rate: float
    fatigue_days: int
    send_window: str
    timezone: str
    active: bool
    priority: int
    phone: PhoneSettingsOut
    updated_at: dt.datetime


class DistributionRuleList(BaseModel):
    distribution_rules: list[DistributionRuleOut]
