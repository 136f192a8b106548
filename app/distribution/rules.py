"""Distribution rules: the default rule, which rule applies to a resolved complaint, and saving
rules, from the API (``PUT /distribution-rules/<key>`` replaces a whole rule, so an integrator can
keep its rules in its own repository) and from the admin pages, with the same checks.

Codes in the filters must exist: a misspelt unit would otherwise make a rule that silently
matches nothing. The planner (``app.distribution.planner``) reads the rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.documents import rule_document as api_document
from app.errors import InvalidFields, ServiceError, commit_or_conflict
from app.extensions import db
from app.models import (
    AuditLog,
    Category,
    Complaint,
    DistributionRule,
    PhoneUse,
    Questionnaire,
    RuleTrigger,
    Service,
    ServiceEvent,
    Unit,
)
from app.references import questionnaire_id
from app.schemas.rules import DistributionRuleIn
from app.timefmt import organisation_zone

DEFAULT_RULE_KEY = "default"


class RuleError(LookupError):
    """A rule cannot be set up as asked; the message says why."""


def ensure_default_rule(questionnaire_key: str = "post-resolution") -> DistributionRule:
    """The rule ``default`` for ``questionnaire_key``, created with the model's defaults if absent.

    Idempotent: an existing ``default`` rule is returned unchanged (an admin may have tuned it).
    Flushes but does not commit, so the caller decides the transaction.
    """
    rule = db.session.scalar(
        select(DistributionRule).where(DistributionRule.key == DEFAULT_RULE_KEY)
    )
    if rule is not None:
        return rule
    questionnaire = db.session.scalar(
        select(Questionnaire).where(Questionnaire.key == questionnaire_key)
    )
    if questionnaire is None:
        raise RuleError(f"no questionnaire with the key {questionnaire_key!r}; load it first")
    rule = DistributionRule(
        key=DEFAULT_RULE_KEY,
        questionnaire=questionnaire,
        timezone=organisation_zone().key,
    )
    db.session.add(rule)
    db.session.flush()
    return rule


def _codes_with_ancestors(node: Any) -> set[str]:
    """A unit's or category's code and those of its parents: a rule for a parent covers the tree."""
    codes: set[str] = set()
    seen: set[int] = set()
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        codes.add(node.code)
        node = node.parent
    return codes


def _matches(wanted: Iterable[str] | None, actual: set[str]) -> bool:
    wanted = list(wanted or [])
    return not wanted or bool(actual.intersection(wanted))


def rule_matches(rule: DistributionRule, complaint: Complaint) -> bool:
    """Whether ``rule``'s filters admit ``complaint``; an empty filter admits everything."""
    return (
        _matches(rule.category_codes, _codes_with_ancestors(complaint.category))
        and _matches(rule.unit_codes, _codes_with_ancestors(complaint.unit))
        and _matches(rule.channels, {str(complaint.channel)})
    )


def rule_matches_event(rule: DistributionRule, event: ServiceEvent) -> bool:
    """Whether ``rule``'s filters admit the service event; an empty filter admits everything."""
    return (
        _matches(rule.service_codes, _codes_with_ancestors(event.service))
        and _matches(rule.unit_codes, _codes_with_ancestors(event.unit))
        and _matches(rule.channels, {str(event.channel)})
    )


def active_rules(trigger: RuleTrigger) -> list[DistributionRule]:
    """The active rules on ``trigger``, in the order they are tried: highest priority first,
    then the oldest (lowest id)."""
    return list(db.session.scalars(
        select(DistributionRule)
        .where(DistributionRule.active.is_(True), DistributionRule.triggered_by == trigger)
        .order_by(DistributionRule.priority.desc(), DistributionRule.id)
    ))


def matching_rule(complaint: Complaint) -> DistributionRule | None:
    """The active rule on resolved complaints for ``complaint``.

    Only one rule ever applies, so a complaint gets at most one survey however many rules match.
    Rules are few, so they are filtered here rather than in SQL (the filters are JSON lists).
    """
    return next((rule for rule in active_rules(RuleTrigger.COMPLAINT_RESOLVED)
                 if rule_matches(rule, complaint)), None)


def matching_event_rule(event: ServiceEvent, rules: list[DistributionRule] | None = None
                        ) -> DistributionRule | None:
    """The active rule on service events for ``event`` (``rules``: those of
    ``active_rules(RuleTrigger.SERVICE_EVENT)``, read once for a batch)."""
    if rules is None:
        rules = active_rules(RuleTrigger.SERVICE_EVENT)
    return next((rule for rule in rules if rule_matches_event(rule, event)), None)


# --- saving rules: the API (``put_rule``) and the admin pages (``save_rule``) -------------------


def list_rules() -> list[DistributionRule]:
    """Every rule, in the order the planner tries them (highest priority first)."""
    return list(
        db.session.scalars(
            select(DistributionRule).order_by(
                DistributionRule.priority.desc(), DistributionRule.id
            )
        )
    )


def put_rule(key: str, data: DistributionRuleIn, actor: str) -> tuple[DistributionRule, bool]:
    """Create or replace the rule ``key``; returns it and whether it was created."""
    questionnaire = questionnaire_id(data.questionnaire)
    _check_codes(Unit, "filters.units", data.filters.units)
    _check_codes(Category, "filters.categories", data.filters.categories)
    _check_codes(Service, "filters.services", data.filters.services)
    window_start, window_end = data.send_window.split("-")
    values: dict[str, Any] = {
        "questionnaire_id": questionnaire,
        "triggered_by": data.triggered_by,
        "service_codes": list(dict.fromkeys(data.filters.services)),
        "category_codes": list(dict.fromkeys(data.filters.categories)),
        "unit_codes": list(dict.fromkeys(data.filters.units)),
        "channels": list(dict.fromkeys(channel.value for channel in data.filters.channels)),
        "delay_minutes": data.delay,
        "reminder_after_minutes": data.reminder_after,
        "expires_after_minutes": data.expires_after,
        "sample_rate": data.sample_rate,
        "fatigue_days": data.fatigue_days,
        "send_window_start": window_start,
        "send_window_end": window_end,
        "timezone": data.timezone or organisation_zone().key,
        "active": data.active,
        "priority": data.priority,
        **_phone_values(data),
    }
    rule = db.session.scalar(select(DistributionRule).where(DistributionRule.key == key))
    created = rule is None
    if rule is None:
        rule = DistributionRule(key=key)
        db.session.add(rule)
    elif all(getattr(rule, name) == value for name, value in values.items()):
        return rule, False  # the same again: nothing to store, nothing to audit
    for name, value in values.items():
        setattr(rule, name, value)
    detail = {name: value for name, value in values.items() if name != "questionnaire_id"}
    action = "distribution_rule.create" if created else "distribution_rule.update"
    db.session.add(AuditLog(actor=actor, action=action, target=f"distribution_rule:{key}",
                            detail={"questionnaire": data.questionnaire, **detail}))
    commit_or_conflict()
    return rule, created


def _phone_values(data: DistributionRuleIn) -> dict[str, Any]:
    start, end = data.phone.calling_hours.split("-")
    return {
        "phone_use": PhoneUse(data.phone.use),
        "phone_max_attempts": data.phone.max_attempts,
        "phone_hours_between": data.phone.hours_between,
        "calling_hours_start": start,
        "calling_hours_end": end,
        "calling_days": data.phone.calling_days,
    }


def _check_codes(model: type[Unit] | type[Category] | type[Service], field: str,
                 codes: list[str]) -> None:
    if not codes:
        return
    known = set(db.session.scalars(select(model.code).where(model.code.in_(codes))))
    problems = [
        {"field": f"{field}.{index}", "type": "unknown_code",
         "message": _("no %(kind)s with the code %(code)s", kind=model.__tablename__, code=code)}
        for index, code in enumerate(codes)
        if code not in known
    ]
    if problems:
        raise InvalidFields(problems)




class RuleInvalid(RuleError):
    """The rule was not saved; ``errors`` maps a field of the API document (``delay``,
    ``filters.units``, ``send_window`` ...) to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def _field_of(location: str) -> str:
    """``filters.units.3`` -> ``filters.units``: errors go next to the whole field."""
    parts = location.split(".")
    nested = parts[0] in ("filters", "phone") and len(parts) > 1
    return ".".join(parts[:2]) if nested else parts[0]


def _errors(details: list[dict[str, str]]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for detail in details:
        messages = errors.setdefault(_field_of(detail["field"]), [])
        if detail["message"] not in messages:
            messages.append(detail["message"])
    return errors


def save_rule(
    key: str, document: dict[str, Any], actor: str, *, create: bool = False
) -> DistributionRule:
    """Validate and store the rule ``key`` from a document shaped like the API's
    ``PUT /api/v1/distribution-rules/<key>`` body; raises RuleInvalid naming the fields.

    The checks are the API's own (``DistributionRuleIn`` and ``put_rule``:
    durations, sample rate 0-1, send window, IANA time zone, existing codes), so a rule saved
    in the admin pages and one sent by an integrator obey the same rules. ``create`` refuses a
    key that is taken instead of replacing that rule. Commits, and writes the audit log.
    """
    from pydantic import ValidationError

    from app.api_errors import field_errors

    if create and db.session.scalar(select(DistributionRule.id).where(DistributionRule.key == key)):
        raise RuleInvalid({"key": [_("A rule with this key exists already.")]})
    try:
        data = DistributionRuleIn.model_validate(document)
    except ValidationError as exc:
        raise RuleInvalid(_errors(field_errors(exc))) from None
    try:
        rule, _created = put_rule(key, data, actor)
    except ServiceError as exc:
        db.session.rollback()
        details = exc.details if isinstance(exc.details, list) else []
        raise RuleInvalid(_errors(details) or {"": [exc.message]}) from None
    return rule


def rule_document(rule: DistributionRule) -> dict[str, Any]:
    """The rule as the API shows it (and ``save_rule`` takes it), without its timestamps."""
    document = api_document(rule)
    document.pop("key", None)
    document.pop("updated_at", None)
    return document


def set_rule_active(key: str, active: bool, actor: str) -> DistributionRule:
    """Activate or deactivate the rule ``key`` (through ``save_rule``: same checks, same audit)."""
    rule = db.session.scalar(select(DistributionRule).where(DistributionRule.key == key))
    if rule is None:
        raise RuleError(f"no distribution rule {key!r}")
    return save_rule(key, {**rule_document(rule), "active": active}, actor)
