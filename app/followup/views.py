"""Follow-up pages for admins and unit managers. Thin: ``app.followup.services`` decides."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.auth.pages import no_store
from app.followup import bp
from app.followup.forms import STATE_NAMES, NoteForm, StateForm
from app.followup.services import (
    FollowUpError,
    add_note,
    change_state,
    follow_up_detail,
    get_follow_up,
    list_follow_ups,
    may_see_contact,
    may_use_follow_ups,
)
from app.models import FollowUp, FollowUpReason, FollowUpState

REASON_NAMES = {
    FollowUpReason.LOW_SCORE: _l("Low satisfaction score"),
    FollowUpReason.DETRACTOR: _l("Would not recommend"),
    FollowUpReason.NOT_RESOLVED: _l("Not resolved"),
}


def follow_up_access(view: Callable[..., Any]) -> Callable[..., Any]:
    """Logged in, and an admin, a designer or a unit manager."""

    @functools.wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not may_use_follow_ups(current_user):
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def _visible_or_404(follow_up_id: int) -> FollowUp:
    follow_up = get_follow_up(current_user, follow_up_id)
    if follow_up is None:
        abort(404)  # another unit's follow-up looks like none at all
    return follow_up


@bp.route("/")
@follow_up_access
def follow_ups() -> ResponseReturnValue:
    state_value = request.args.get("state", "")
    state = FollowUpState(state_value) if state_value in FollowUpState._value2member_map_ else None
    return render_template(
        "followup/list.html",
        rows=list_follow_ups(current_user, state),
        state=state,
        state_names=STATE_NAMES,
        reason_names=REASON_NAMES,
    )


@bp.route("/<int:follow_up_id>")
@follow_up_access
def follow_up(follow_up_id: int) -> ResponseReturnValue:
    item = _visible_or_404(follow_up_id)
    return _detail_page(item, StateForm(id_prefix="state"), NoteForm(id_prefix="note"))


def _detail_page(item: FollowUp, state_form: StateForm, note_form: NoteForm) -> ResponseReturnValue:
    if not state_form.is_submitted():
        state_form.state.data = item.state.value
    html = render_template(
        "followup/detail.html",
        detail=follow_up_detail(current_user, item, str(get_locale() or "tr")),
        state_form=state_form,
        note_form=note_form,
        state_names=STATE_NAMES,
        reason_names=REASON_NAMES,
        shows_contact=may_see_contact(current_user),
    )
    return no_store(html)  # may hold a complainant's contact data


@bp.route("/<int:follow_up_id>/state", methods=["POST"])
@follow_up_access
def set_state(follow_up_id: int) -> ResponseReturnValue:
    item = _visible_or_404(follow_up_id)
    form = StateForm(id_prefix="state")
    if not form.validate_on_submit():
        return _detail_page(item, form, NoteForm(id_prefix="note")), 400  # type: ignore[return-value]
    change_state(item, FollowUpState(form.state.data), current_user)
    flash(_("The follow-up is now: %(state)s.", state=STATE_NAMES[item.state]), "info")
    return redirect(url_for("followup.follow_up", follow_up_id=item.id))


@bp.route("/<int:follow_up_id>/notes", methods=["POST"])
@follow_up_access
def add_note_view(follow_up_id: int) -> ResponseReturnValue:
    item = _visible_or_404(follow_up_id)
    form = NoteForm(id_prefix="note")
    if form.validate_on_submit():
        try:
            add_note(item, form.text.data or "", current_user)
        except FollowUpError:
            form.text.errors = [*form.text.errors, _("The note cannot be empty.")]
        else:
            flash(_("Note added."), "info")
            return redirect(url_for("followup.follow_up", follow_up_id=item.id))
    return _detail_page(item, StateForm(id_prefix="state"), form), 400  # type: ignore[return-value]
