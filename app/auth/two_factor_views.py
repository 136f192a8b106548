"""The staff member's two-factor page: enrol (QR code, key as text, a first code), see how many
recovery codes are left, make new ones, switch it off; and the rule that someone who must
have two-factor login (``MEMNUN_REQUIRE_2FA``) does nothing else until they have it."""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.auth import bp, throttle, two_factor
from app.auth.forms import EnrolForm, IdentityForm
from app.auth.pages import acting_user, no_store
from app.auth.sessions import SESSION_KEY, end_other_sessions
from app.extensions import limiter

#: What someone who must enrol first may still reach: enrolment itself, logging out, the
#: language switch, and what needs no staff login at all (survey pages, the key-based API).
WHILE_ENROLLING = {
    "auth.two_factor_page",
    "auth.two_factor_enable",
    "auth.logout",
    "auth.login",
    "auth.login_code",
    "main.set_language",
    "main.health",
    "static",
}
OPEN_WHILE_ENROLLING = ("respond.", "api.")
#: Guessing a password through the confirmation forms costs the same as through the login.
identity_limit = limiter.shared_limit("10 per minute", scope="staff-login", methods=["POST"])


def enrol_first() -> ResponseReturnValue | None:
    """Before every request (``app.create_app`` puts it right after the dashboards' login
    guard, ahead of anything that reads the request): someone who must enrol first is sent to
    enrolment, or refused with 403 where a redirect would be no answer."""
    if "_user_id" not in session or not current_user.is_authenticated:
        return None
    if not two_factor.must_enrol(current_user):
        return None
    endpoint = request.endpoint or ""
    if endpoint in WHILE_ENROLLING or endpoint.startswith(OPEN_WHILE_ENROLLING):
        return None
    if request.method == "GET" and not request.path.startswith("/dashboards/_"):
        return redirect(url_for("auth.two_factor_page"))
    # Dash's callbacks and files, and forms: a redirect would be no answer there.
    return jsonify(error={"code": "forbidden", "message": "set up two-factor login first"}), 403


def _enrol_page(form: EnrolForm, status: int = 200) -> ResponseReturnValue:
    secret = two_factor.start_enrolment(current_user)
    uri = two_factor.provisioning_uri(current_user, secret)
    html = render_template(
        "auth/two_factor_enrol.html",
        form=form,
        qr_code=two_factor.qr_code(uri),
        secret=two_factor.grouped(secret),
        required=two_factor.required_for(current_user),
    )
    return no_store(html), status  # the secret is on the page: no cache may keep it


def _status_page(
    codes_form: IdentityForm | None = None, off_form: IdentityForm | None = None, status: int = 200
) -> ResponseReturnValue:
    html = render_template(
        "auth/two_factor_on.html",
        codes_form=codes_form or IdentityForm(prefix="codes"),
        off_form=off_form or IdentityForm(prefix="off"),
        codes_left=two_factor.recovery_codes_left(current_user),
        required=two_factor.required_for(current_user),
    )
    return no_store(html), status


def _recovery_codes_page(codes: list[str]) -> ResponseReturnValue:
    return no_store(render_template("auth/recovery_codes.html", codes=codes))


@bp.route("/two-factor")
@login_required
def two_factor_page() -> ResponseReturnValue:
    if current_user.two_factor_on:
        return _status_page()
    return _enrol_page(EnrolForm())


@bp.route("/two-factor/enable", methods=["POST"])
@login_required
@identity_limit
def two_factor_enable() -> ResponseReturnValue:
    if current_user.two_factor_on:
        return redirect(url_for("auth.two_factor_page"))
    form = EnrolForm()
    if not form.validate_on_submit():
        return _enrol_page(form, 400)
    codes = two_factor.enable(current_user, form.code.data or "", acting_user())
    if codes is None:
        form.code.errors = [
            _(
                "This code is not right. Check that the phone's clock is right "
                "and type the code the app shows now."
            )
        ]
        return _enrol_page(form, 400)
    end_other_sessions(current_user, keep_token=session.get(SESSION_KEY))
    return _recovery_codes_page(codes)


def _confirmed(form: IdentityForm) -> bool:
    """Whether the form holds the user's password or a current code; wrong answers count
    towards the login throttle of the account (app.auth.throttle)."""
    if not form.validate_on_submit():
        return False
    if throttle.is_locked(current_user.email):
        form.answer.errors = [_("Too many wrong answers. Wait a few minutes and try again.")]
        return False
    if two_factor.confirms_identity(current_user, form.answer.data or ""):
        return True
    throttle.record_failure(current_user.email)
    form.answer.errors = [_("This is neither your password nor a current code of your app.")]
    return False


@bp.route("/two-factor/recovery-codes", methods=["POST"])
@login_required
@identity_limit
def two_factor_recovery_codes() -> ResponseReturnValue:
    if not current_user.two_factor_on:
        return redirect(url_for("auth.two_factor_page"))
    form = IdentityForm(prefix="codes")
    if not _confirmed(form):
        return _status_page(codes_form=form, status=400)
    return _recovery_codes_page(two_factor.regenerate_recovery_codes(current_user, acting_user()))


@bp.route("/two-factor/off", methods=["POST"])
@login_required
@identity_limit
def two_factor_off() -> ResponseReturnValue:
    if not current_user.two_factor_on:
        return redirect(url_for("auth.two_factor_page"))
    form = IdentityForm(prefix="off")
    if not _confirmed(form):
        return _status_page(off_form=form, status=400)
    two_factor.disable(current_user, acting_user())
    end_other_sessions(current_user, keep_token=session.get(SESSION_KEY))
    flash(_("Two-factor login is off."), "status")
    return redirect(url_for("auth.two_factor_page"))
