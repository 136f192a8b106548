"""Admin pages of the integration: API keys, webhooks and the CSV upload. Thin: the services
(``app.intake.api_keys``, ``app.webhooks.services``, ``app.intake.csv_import``) do the work.

A new API key or webhook secret is shown once, in the answer to the POST that made it (never
through the session or a redirect, which would keep it in a cookie), with ``no-store`` caching.
"""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.decorators import role_required
from app.auth.services import UserError, create_api_key
from app.intake import admin_bp
from app.intake.api_keys import ApiKeyError, list_api_keys, revoke_api_key
from app.intake.csv_import import CsvFileError, import_csv
from app.intake.forms import SCOPE_NAMES, ApiKeyForm, ConfirmForm, ImportForm, WebhookForm
from app.models import ApiScope
from app.webhooks.outbox import EVENT_TYPES
from app.webhooks.services import (
    WebhookError,
    delete_webhook,
    list_webhooks,
    recent_problems,
    register_webhook,
)


def _actor() -> str:
    return f"user:{current_user.email}"


def _no_store(html: str) -> ResponseReturnValue:
    response = make_response(html)
    response.headers["Cache-Control"] = "no-store"
    return response


@admin_bp.route("/integration")
@role_required()
def integration() -> ResponseReturnValue:
    return render_template("intake/integration.html")


# --- API keys ------------------------------------------------------------------------------------


def _api_keys_page(form: ApiKeyForm, new_key: str | None = None) -> str:
    return render_template("intake/api_keys.html", keys=list_api_keys(), form=form,
                           confirm=ConfirmForm(), new_key=new_key, scope_names=SCOPE_NAMES)


@admin_bp.route("/api-keys", methods=["GET", "POST"])
@role_required()
def api_keys() -> ResponseReturnValue:
    form = ApiKeyForm()
    if form.validate_on_submit():
        try:
            scopes = [ApiScope(scope) for scope in form.scopes.data or []]
            key, plain = create_api_key(form.name.data or "", scopes, actor=_actor())
        except UserError as exc:
            form.name.errors = [*form.name.errors, str(exc)]
        else:
            flash(_("API key %(name)s created. Copy it now: it is not shown again.",
                    name=key.name), "info")
            return _no_store(_api_keys_page(ApiKeyForm(formdata=None), new_key=plain))
    return _api_keys_page(form)


@admin_bp.route("/api-keys/<int:key_id>/revoke", methods=["POST"])
@role_required()
def revoke_key(key_id: int) -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        key = revoke_api_key(_actor(), key_id=key_id)
    except ApiKeyError as exc:
        flash(str(exc), "error")
    else:
        flash(_("API key %(name)s (%(prefix)s) revoked.", name=key.name, prefix=key.prefix),
              "info")
    return redirect(url_for("intake_admin.api_keys"))


# --- webhooks ------------------------------------------------------------------------------------


def _webhooks_page(form: WebhookForm, new_secret: str | None = None) -> str:
    return render_template("intake/webhooks.html", webhooks=list_webhooks(),
                           problems=recent_problems(), form=form, confirm=ConfirmForm(),
                           new_secret=new_secret, event_types=EVENT_TYPES)


@admin_bp.route("/webhooks", methods=["GET", "POST"])
@role_required()
def webhooks() -> ResponseReturnValue:
    form = WebhookForm()
    if form.validate_on_submit():
        try:
            webhook, secret = register_webhook(form.url.data or "", form.events.data or [],
                                               form.secret.data, _actor())
        except WebhookError as exc:
            form.url.errors = [*form.url.errors, str(exc)]
        else:
            flash(_("Webhook %(id)s registered.", id=webhook.id), "info")
            return _no_store(_webhooks_page(WebhookForm(formdata=None), new_secret=secret))
    return _webhooks_page(form)


@admin_bp.route("/webhooks/<int:webhook_id>/delete", methods=["POST"])
@role_required()
def delete_webhook_view(webhook_id: int) -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if delete_webhook(webhook_id, _actor()):
        flash(_("Webhook %(id)s deleted, with its deliveries.", id=webhook_id), "info")
    else:
        flash(_("There is no such webhook."), "error")
    return redirect(url_for("intake_admin.webhooks"))


# --- CSV import ----------------------------------------------------------------------------------


@admin_bp.route("/import", methods=["GET", "POST"])
@role_required()
def csv_import() -> ResponseReturnValue:
    form = ImportForm()
    report = None
    if form.validate_on_submit():
        data = form.file.data.read()
        try:
            report = import_csv(form.kind.data, data, actor=f"csv:{current_user.email}",
                                encoding=form.encoding.data)
        except CsvFileError as exc:
            form.file.errors = [*form.file.errors, str(exc)]
    return render_template("intake/import.html", form=form, report=report)
