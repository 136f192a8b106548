"""Distribution rules as configuration: ``PUT /distribution-rules/<key>`` replaces a whole rule,
so an integrator can keep its rules in its own repository and apply them as they are.

Codes in the filters must exist: a misspelt unit would otherwise make a rule that silently
matches nothing. The planner (``app.distribution``) reads the rules; this module only stores them.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.intake.listing import questionnaire_id
from app.intake.schemas import DistributionRuleIn
from app.intake.services import InvalidFields, commit_or_conflict
from app.models import AuditLog, Category, DistributionRule, Unit


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
    window_start, window_end = data.send_window.split("-")
    values: dict[str, Any] = {
        "questionnaire_id": questionnaire,
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
        "timezone": data.timezone or current_app.config["MEMNUN_TIMEZONE"],
        "active": data.active,
        "priority": data.priority,
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


def _check_codes(model: type[Unit] | type[Category], field: str, codes: list[str]) -> None:
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
