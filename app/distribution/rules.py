"""Distribution rules: the default rule, and which rule applies to a resolved complaint."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import current_app
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
