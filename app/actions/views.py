"""Improvement-action pages. Thin: ``app.actions.services`` decides who may do what."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.actions import bp
from app.actions.forms import ORGANISATION, ActionForm, FilterForm, StatusForm
from app.actions.names import ACTION_METRIC_NAMES, ACTION_STATUS_NAMES
from app.actions.services import (
    ActionError,
    change_status,
    create_action,
    get_action,
    list_actions,
    may_change_status,
    may_edit,
    update_action,
)
from app.auth.decorators import role_required
from app.auth.scope import unit_choices, units_in_scope
from app.models import ActionStatus, ImprovementAction, Role
from app.organisation.settings import organisation_settings
from app.timefmt import today


def _visible_or_404(action_id: int) -> ImprovementAction:
    action = get_action(current_user, action_id)
    if action is None:
        abort(404)  # another unit's action looks like none at all
    return action


def _unit_field_choices(form: ActionForm | FilterForm, everything: str) -> None:
    # A unit manager works only on their units: no organisation-wide choice to offer them.
    if units_in_scope(current_user) is not None and isinstance(form, ActionForm):
        form.unit.choices = unit_choices(current_user)
    else:
        form.unit.choices = [(ORGANISATION, everything), *unit_choices(current_user, under=1)]


def _render(template: str, **context: object) -> str:
    return render_template(template, metric_names=ACTION_METRIC_NAMES,
                           status_names=ACTION_STATUS_NAMES, **context)


@bp.route("/")
@login_required
def action_list() -> ResponseReturnValue:
    form = FilterForm(request.args)
    _unit_field_choices(form, _("Any unit"))
    if request.args and not form.validate():
        abort(400)
    status = ActionStatus(form.status.data) if form.status.data else None
    rows = list_actions(current_user, today(), unit_id=form.unit.data or None, status=status)
    return _render("actions/list.html", rows=rows, form=form, may_edit=may_edit(current_user))


def _fields(form: ActionForm) -> dict[str, object]:
    return {"unit_id": form.unit.data or None, "metric": form.metric.data,
            "title": form.title.data, "owner": form.owner.data,
            "description": form.description.data, "due_on": form.due_on.data,
            "status": form.status.data, "outcome": form.outcome.data}


def _form_page(form: ActionForm, action: ImprovementAction | None) -> ResponseReturnValue:
    return _render("actions/form.html", form=form, action=action), 400 if form.errors else 200


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.DESIGNER)
def new_action() -> ResponseReturnValue:
    form = ActionForm()
    _unit_field_choices(form, organisation_settings().name)
    if form.validate_on_submit():
        try:
            action = create_action(current_user, **_fields(form))
        except ActionError as exc:
            form.title.errors = [*form.title.errors, str(exc)]
        else:
            flash(_("Action saved."), "info")
            return redirect(url_for("actions.action", action_id=action.id))
    return _form_page(form, None)


@bp.route("/<int:action_id>/edit", methods=["GET", "POST"])
@role_required(Role.DESIGNER)
def edit_action(action_id: int) -> ResponseReturnValue:
    action = _visible_or_404(action_id)
    form = ActionForm(obj=None if request.method == "POST" else action)
    _unit_field_choices(form, organisation_settings().name)
    if not form.is_submitted():
        form.unit.data = action.unit_id or ORGANISATION
        form.status.data = action.status.value
    if form.validate_on_submit():
        try:
            update_action(action, current_user, **_fields(form))
        except ActionError as exc:
            form.title.errors = [*form.title.errors, str(exc)]
        else:
            flash(_("Action saved."), "info")
            return redirect(url_for("actions.action", action_id=action.id))
    return _form_page(form, action)


@bp.route("/<int:action_id>")
@login_required
def action(action_id: int) -> ResponseReturnValue:
    item = _visible_or_404(action_id)
    return _detail_page(item, StatusForm(formdata=None, obj=None))


def _detail_page(item: ImprovementAction, form: StatusForm) -> str:
    if not form.is_submitted():
        form.status.data, form.outcome.data = item.status.value, item.outcome
    return _render("actions/detail.html", item=item, form=form,
                   overdue=item.overdue(today()), may_edit=may_edit(current_user),
                   may_change_status=may_change_status(current_user))


@bp.route("/<int:action_id>/status", methods=["POST"])
@login_required
def set_status(action_id: int) -> ResponseReturnValue:
    if not may_change_status(current_user):
        abort(403)
    item = _visible_or_404(action_id)
    form = StatusForm()
    if not form.validate_on_submit():
        return _detail_page(item, form), 400
    try:
        change_status(item, current_user, ActionStatus(form.status.data), form.outcome.data)
    except ActionError as exc:
        form.outcome.errors = [*form.outcome.errors, str(exc)]
        return _detail_page(item, form), 400
    flash(_("The action is now: %(status)s.", status=ACTION_STATUS_NAMES[item.status]), "info")
    return redirect(url_for("actions.action", action_id=item.id))
