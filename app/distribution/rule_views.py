"""Admin pages for distribution rules: list, create, edit, activate and deactivate, and the sample
planner on each rule's page. Thin: the form translates, ``rules.save_rule`` decides and saves."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.analytics.tree import category_tree, unit_tree
from app.auth.decorators import role_required
from app.distribution import bp
from app.distribution.forms import (
    TRIGGER_NAMES,
    RuleForm,
    choices,
    form_data,
    put_errors,
    rule_document,
    time_zones,
)
from app.distribution.rules import RuleInvalid, save_rule, set_rule_active
from app.distribution.rules import rule_document as stored_document
from app.distribution.sample_planner import plan_samples
from app.distribution.sms import sms_configured
from app.extensions import db
from app.models import DistributionRule, Questionnaire, Role, Service
from app.timefmt import organisation_zone

DEFAULT_TARGET_POINTS = 5.0


def _actor() -> str:
    return f"user:{current_user.id}"  # the audit log names ids, never addresses


def _rule_or_404(key: str) -> DistributionRule:
    rule = db.session.scalar(select(DistributionRule).where(DistributionRule.key == key))
    if rule is None:
        abort(404)
    return rule


def _with_choices(form: RuleForm) -> RuleForm:
    questionnaires = db.session.execute(
        select(Questionnaire.key, Questionnaire.title).order_by(Questionnaire.key)).all()
    form.questionnaire.choices = choices((k, f"{title} ({k})") for k, title in questionnaires)
    for field, tree in ((form.categories, category_tree()), (form.units, unit_tree())):
        # As every picker lists them: a tree, siblings in Turkish order (Tree.labelled).
        field.choices = choices((tree.nodes[node_id].code, f"{label} ({tree.nodes[node_id].code})")
                                for node_id, label in tree.labelled())
    services = db.session.execute(select(Service.code, Service.name).order_by(Service.name))
    form.services.choices = choices((code, f"{name} ({code})") for code, name in services)
    return form


def _new_form() -> RuleForm:
    """An empty rule with the defaults of the issue (and of the API)."""
    if request.method == "POST":
        return RuleForm()
    data = {
        "questionnaire": "post-resolution", "filters": {"categories": [], "services": [],
                                                        "units": [], "channels": []},
        "send_window": "09:00-20:00", "sample_rate": 1.0, "fatigue_days": 30,
        "timezone": organisation_zone().key, "active": True, "priority": 0,
        "phone": {"use": "off", "max_attempts": 3, "hours_between": 4,
                  "calling_hours": "10:00-18:00", "calling_days": [1, 2, 3, 4, 5]},
    }
    minutes = {"delay": 24 * 60, "reminder_after": 3 * 24 * 60, "expires_after": 14 * 24 * 60}
    return RuleForm(data=form_data(data, minutes))


def _save(form: RuleForm, key: str, create: bool) -> tuple[DistributionRule | None, list[str]]:
    """Validate the form and save; returns the rule, or None with errors left in the form."""
    if not form.validate_on_submit():
        return None, []
    try:
        return save_rule(key, rule_document(form), _actor(), create=create), []
    except RuleInvalid as exc:
        return None, put_errors(form, exc.errors)


@bp.route("/rules")
@role_required(Role.DESIGNER)
def rules() -> ResponseReturnValue:
    listed = db.session.scalars(
        select(DistributionRule).order_by(DistributionRule.priority.desc(), DistributionRule.id)
    ).all()
    return render_template("distribution/rules.html", rules=listed, trigger_names=TRIGGER_NAMES)


@bp.route("/rules/new", methods=["GET", "POST"])
@role_required(Role.DESIGNER)
def new_rule() -> ResponseReturnValue:
    form = _with_choices(_new_form())
    rule, elsewhere = (None, [])
    if request.method == "POST":
        rule, elsewhere = _save(form, (form.key.data or "").strip(), create=True)
        if rule is not None:
            flash(_("Rule %(key)s created.", key=rule.key), "info")
            return redirect(url_for("distribution.rule", key=rule.key))
    return _form_page(form, None, elsewhere), 422 if request.method == "POST" else 200


@bp.route("/rules/<key>", methods=["GET", "POST"])
@role_required(Role.DESIGNER)
def rule(key: str) -> ResponseReturnValue:
    existing = _rule_or_404(key)
    if request.method == "GET":
        minutes = {"delay": existing.delay_minutes,
                   "reminder_after": existing.reminder_after_minutes,
                   "expires_after": existing.expires_after_minutes}
        form = RuleForm(data=form_data(stored_document(existing), minutes))
    else:
        form = RuleForm()
    del form.key  # the key is in the address and never changes
    _with_choices(form)
    elsewhere: list[str] = []
    if request.method == "POST":
        saved, elsewhere = _save(form, key, create=False)
        if saved is not None:
            flash(_("Rule %(key)s saved.", key=key), "info")
            return redirect(url_for("distribution.rule", key=key))
        db.session.rollback()
        existing = _rule_or_404(key)
    status = 422 if request.method == "POST" else 200
    return _form_page(form, existing, elsewhere), status


@bp.route("/rules/<key>/active", methods=["POST"])
@role_required(Role.DESIGNER)
def rule_active(key: str) -> ResponseReturnValue:
    _rule_or_404(key)
    active = request.form.get("active") == "1"
    try:
        set_rule_active(key, active, _actor())
    except RuleInvalid as exc:
        flash(_("The rule could not be changed: %(why)s", why=str(exc)), "error")
    else:
        message = _("Rule %(key)s activated.", key=key) if active else _(
            "Rule %(key)s deactivated.", key=key)
        flash(message, "info")
    if request.form.get("next") == "list":
        return redirect(url_for("distribution.rules"))
    return redirect(url_for("distribution.rule", key=key))


def _target_points() -> tuple[float, str | None]:
    """The target margin the user typed, in points (5 = +-5 points), and an error if any."""
    text = (request.args.get("target") or "").strip().replace(",", ".")
    if not text:
        return DEFAULT_TARGET_POINTS, None
    try:
        points = float(text)
    except ValueError:
        return DEFAULT_TARGET_POINTS, _("Enter a number of points between 0.5 and 50.")
    if not 0.5 <= points <= 50:
        return DEFAULT_TARGET_POINTS, _("Enter a number of points between 0.5 and 50.")
    return points, None


def _form_page(form: RuleForm, rule: DistributionRule | None, elsewhere: list[str]) -> str:
    context: dict[str, Any] = {"form": form, "rule": rule, "elsewhere": elsewhere,
                               "time_zones": time_zones(),
                               "sms": sms_configured(current_app.config)}
    if rule is not None:
        points, target_error = _target_points()
        context.update(
            plan=plan_samples(rule, points / 100, _("All units")),
            target_points=points,
            target_text=request.args.get("target", ""),
            target_error=target_error,
        )
    return render_template("distribution/rule.html", **context)
