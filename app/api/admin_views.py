"""Admin pages of the integration: the overview, and the integrators' API keys. Thin: the
services (``app.auth.services.create_api_key``, ``app.auth.api_keys``) do the work.

A new API key is shown once, in the answer to the POST that made it (never through the session
or a redirect, which would keep it in a cookie), with ``no-store`` caching.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from app.api.forms import SCOPE_NAMES, ApiKeyForm
from app.auth.api_keys import ApiKeyError, list_api_keys, revoke_api_key
from app.auth.decorators import role_required
from app.auth.pages import acting_user, no_store
from app.auth.services import UserError, create_api_key
from app.forms import ConfirmForm
from app.models import ApiScope

bp = Blueprint("api_admin", __name__, url_prefix="/admin")


@bp.route("/integration")
@role_required()
def integration() -> ResponseReturnValue:
    return render_template("api/integration.html")


# --- API keys ------------------------------------------------------------------------------------


def _api_keys_page(form: ApiKeyForm, new_key: str | None = None) -> str:
    return render_template("api/api_keys.html", keys=list_api_keys(), form=form,
                           confirm=ConfirmForm(), new_key=new_key, scope_names=SCOPE_NAMES)


@bp.route("/api-keys", methods=["GET", "POST"])
@role_required()
def api_keys() -> ResponseReturnValue:
    form = ApiKeyForm()
    if form.validate_on_submit():
        try:
            scopes = [ApiScope(scope) for scope in form.scopes.data or []]
            key, plain = create_api_key(form.name.data or "", scopes, actor=acting_user())
        except UserError as exc:
            form.name.errors = [*form.name.errors, str(exc)]
        else:
            flash(_("API key %(name)s created. Copy it now: it is not shown again.",
                    name=key.name), "info")
            return no_store(_api_keys_page(ApiKeyForm(formdata=None), new_key=plain))
    return _api_keys_page(form)


@bp.route("/api-keys/<int:key_id>/revoke", methods=["POST"])
@role_required()
def revoke_key(key_id: int) -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        key = revoke_api_key(acting_user(), key_id=key_id)
    except ApiKeyError as exc:
        flash(str(exc), "error")
    else:
        flash(_("API key %(name)s (%(prefix)s) revoked.", name=key.name, prefix=key.prefix),
              "info")
    return redirect(url_for("api_admin.api_keys"))
