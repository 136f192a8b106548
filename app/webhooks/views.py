"""Admin pages of the webhooks: register a receiver, see its recent problems, delete it. Thin:
``app.webhooks.services`` does the work.

A webhook's secret is shown once, in the answer to the POST that made it (never through the
session or a redirect, which would keep it in a cookie), with ``no-store`` caching.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from app.auth.decorators import role_required
from app.auth.pages import acting_user, no_store
from app.forms import ConfirmForm
from app.webhooks.forms import WebhookForm
from app.webhooks.outbox import EVENT_TYPES
from app.webhooks.services import (
    WebhookError,
    delete_webhook,
    list_webhooks,
    recent_problems,
    register_webhook,
)

bp = Blueprint("webhooks_admin", __name__, url_prefix="/admin")


def _webhooks_page(form: WebhookForm, new_secret: str | None = None) -> str:
    return render_template("webhooks/webhooks.html", webhooks=list_webhooks(),
                           problems=recent_problems(), form=form, confirm=ConfirmForm(),
                           new_secret=new_secret, event_types=EVENT_TYPES)


@bp.route("/webhooks", methods=["GET", "POST"])
@role_required()
def webhooks() -> ResponseReturnValue:
    form = WebhookForm()
    if form.validate_on_submit():
        try:
            webhook, secret = register_webhook(form.url.data or "", form.events.data or [],
                                               form.secret.data, acting_user())
        except WebhookError as exc:
            form.url.errors = [*form.url.errors, str(exc)]
        else:
            flash(_("Webhook %(id)s registered.", id=webhook.id), "info")
            return no_store(_webhooks_page(WebhookForm(formdata=None), new_secret=secret))
    return _webhooks_page(form)


@bp.route("/webhooks/<int:webhook_id>/delete", methods=["POST"])
@role_required()
def delete_webhook_view(webhook_id: int) -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if delete_webhook(webhook_id, acting_user()):
        flash(_("Webhook %(id)s deleted, with its deliveries.", id=webhook_id), "info")
    else:
        flash(_("There is no such webhook."), "error")
    return redirect(url_for("webhooks_admin.webhooks"))
