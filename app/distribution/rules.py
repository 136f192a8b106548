"""Distribution rules: the default rule, and which rule applies to a resolved complaint."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import Complaint, DistributionRule, Questionnaire

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
        timezone=current_app.config["MEMNUN_TIMEZONE"],
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


def matching_rule(complaint: Complaint) -> DistributionRule | None:
    """The active rule for ``complaint``: highest priority first, then the oldest (lowest id).

    Only one rule ever applies, so a complaint gets at most one survey however many rules match.
    Rules are few, so they are filtered here rather than in SQL (the filters are JSON lists).
    """
    rules = db.session.scalars(
        select(DistributionRule)
        .where(DistributionRule.active.is_(True))
        .order_by(DistributionRule.priority.desc(), DistributionRule.id)
    )
    for rule in rules:
        if rule_matches(rule, complaint):
            return rule
    return None


# --- saving rules (the admin pages; the API calls app.intake.rules.put_rule the same way) -------


class RuleInvalid(RuleError):
    """The rule was not saved; ``errors`` maps a field of the API document (``delay``,
    ``filters.units``, ``send_window`` ...) to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def _field_of(location: str) -> str:
    """``filters.units.3`` -> ``filters.units``: errors go next to the whole field."""
    parts = location.split(".")
    return ".".join(parts[:2]) if parts[0] == "filters" and len(parts) > 1 else parts[0]


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

    The checks are the API's own (``DistributionRuleIn`` and ``app.intake.rules.put_rule``:
    durations, sample rate 0-1, send window, IANA time zone, existing codes), so a rule saved
    in the admin pages and one sent by an integrator obey the same rules. ``create`` refuses a
    key that is taken instead of replacing that rule. Commits, and writes the audit log.
    """
    from pydantic import ValidationError

    from app.api_errors import field_errors
    from app.intake.rules import put_rule
    from app.intake.schemas import DistributionRuleIn
    from app.intake.services import IntakeError

    if create and db.session.scalar(select(DistributionRule.id).where(DistributionRule.key == key)):
        raise RuleInvalid({"key": [_("A rule with this key exists already.")]})
    try:
        data = DistributionRuleIn.model_validate(document)
    except ValidationError as exc:
        raise RuleInvalid(_errors(field_errors(exc))) from None
    try:
        rule, _created = put_rule(key, data, actor)
    except IntakeError as exc:
        db.session.rollback()
        details = exc.details if isinstance(exc.details, list) else []
        raise RuleInvalid(_errors(details) or {"": [exc.message]}) from None
    return rule


def rule_document(rule: DistributionRule) -> dict[str, Any]:
    """The rule as the API shows it (and ``save_rule`` takes it), without its timestamps."""
    from app.intake.documents import rule_document as api_document

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
