"""The staff accounts pages (admins; an admin given units sees and manages only accounts inside
them) and the page where a password link is used. Thin: ``app.staff.accounts`` does the work."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.decorators import role_required
from app.auth.pages import no_store
from app.auth.scope import unit_choices
from app.auth.services import UserError
from app.forms import ConfirmForm, select_choices
from app.models import PasswordLinkPurpose, Role, User
from app.staff import bp
from app.staff.accounts import (
    LINK_HOURS,
    NotAllowed,
    change_access,
    disable_user,
    enable_user,
    end_sessions,
    find_account,
    invite_user,
    list_accounts,
    reset_password,
    set_password_with_link,
    valid_link,
)
from app.staff.forms import SHORT_ROLE_NAMES, AccessForm, NewAccountForm, SetPasswordForm
from app.staff.mail import LinkNotSent, send_password_link


def _with_units(form: AccessForm) -> AccessForm:
    form.units.choices = select_choices(unit_choices(current_user))
    return form


def _account(user_id: int) -> User:
    try:
        return find_account(current_user, user_id=user_id)
    except UserError:
        abort(404)


def _mail_link(user: User, token: str, purpose: PasswordLinkPurpose) -> None:
    try:
        send_password_link(user, token, purpose)
    except LinkNotSent:
        flash(
            _(
                "The e-mail to %(email)s could not be sent: check the mail settings, then use "
                "“Send a new password link”.",
                email=user.email,
            ),
            "error",
        )
    else:
        flash(
            _(
                "An e-mail with a password link went to %(email)s. The link works once, for "
                "%(hours)s hours.",
                email=user.email,
                hours=LINK_HOURS,
            ),
            "info",
        )


@bp.route("/admin/users")
@role_required()
def users() -> ResponseReturnValue:
    return render_template(
        "staff/users.html", accounts=list_accounts(current_user), role_names=SHORT_ROLE_NAMES
    )


@bp.route("/admin/users/new", methods=["GET", "POST"])
@role_required()
def new_user() -> ResponseReturnValue:
    form = _with_units(NewAccountForm())
    if form.validate_on_submit():
        try:
            user, token = invite_user(
                current_user,
                form.email.data or "",
                Role(form.role.data),
                list(form.units.data or []),
                phone_interviewer=bool(form.phone_interviewer.data),
            )
        except NotAllowed as exc:  # a guard rail on units: said next to them
            form.units.errors = [*form.units.errors, str(exc)]
        except UserError as exc:
            form.email.errors = [*form.email.errors, str(exc)]
        else:
            _mail_link(user, token, PasswordLinkPurpose.WELCOME)
            return redirect(url_for("staff.user", user_id=user.id))
    status = 400 if form.is_submitted() else 200
    return render_template("staff/new_user.html", form=form), status


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@role_required()
def user(user_id: int) -> ResponseReturnValue:
    account = _account(user_id)
    form = _with_units(
        AccessForm(data={"role": account.role.value, "units": [unit.id for unit in account.units],
                         "phone_interviewer": account.phone_interviewer})
    )
    status = 200
    if form.is_submitted():
        status = 400
        if form.validate():
            try:
                change_access(
                    current_user, account, Role(form.role.data), list(form.units.data or []),
                    phone_interviewer=bool(form.phone_interviewer.data),
                )
            except UserError as exc:
                flash(str(exc), "error")
            else:
                flash(_("The access of %(email)s is saved.", email=account.email), "info")
                return redirect(url_for("staff.user", user_id=account.id))
    sessions = next(
        (a.open_sessions for a in list_accounts(current_user) if a.user.id == account.id), 0
    )
    return render_template(
        "staff/user.html",
        account=account,
        form=form,
        confirm=ConfirmForm(),
        open_sessions=sessions,
        role_names=SHORT_ROLE_NAMES,
    ), status


def _confirmed() -> None:
    if not ConfirmForm().validate_on_submit():
        abort(400)


@bp.route("/admin/users/<int:user_id>/disable", methods=["POST"])
@role_required()
def disable(user_id: int) -> ResponseReturnValue:
    _confirmed()
    account = _account(user_id)
    try:
        disable_user(current_user, account)
    except UserError as exc:
        flash(str(exc), "error")
    else:
        flash(
            _("%(email)s is disabled: every session of theirs has ended.", email=account.email),
            "info",
        )
    return redirect(url_for("staff.user", user_id=user_id))


@bp.route("/admin/users/<int:user_id>/enable", methods=["POST"])
@role_required()
def enable(user_id: int) -> ResponseReturnValue:
    _confirmed()
    account = _account(user_id)
    enable_user(current_user, account)
    flash(_("%(email)s can log in again.", email=account.email), "info")
    return redirect(url_for("staff.user", user_id=user_id))


@bp.route("/admin/users/<int:user_id>/reset-password", methods=["POST"])
@role_required()
def reset(user_id: int) -> ResponseReturnValue:
    _confirmed()
    account = _account(user_id)
    try:
        token = reset_password(current_user, account)
    except UserError as exc:
        flash(str(exc), "error")
    else:
        _mail_link(account, token, PasswordLinkPurpose.RESET)
    return redirect(url_for("staff.user", user_id=user_id))


@bp.route("/admin/users/<int:user_id>/end-sessions", methods=["POST"])
@role_required()
def end_user_sessions(user_id: int) -> ResponseReturnValue:
    _confirmed()
    account = _account(user_id)
    ended = end_sessions(current_user, account)
    flash(_("%(count)s session(s) of %(email)s ended.", count=ended, email=account.email), "info")
    if account.id == current_user.id:
        return redirect(url_for("auth.login"))
    return redirect(url_for("staff.user", user_id=user_id))


@bp.route("/auth/password/<string:token>", methods=["GET", "POST"])
def set_password(token: str) -> ResponseReturnValue:
    """Opening the link changes nothing (mail scanners open links); only the form does."""
    link = valid_link(token)
    if link is None:
        return no_store(render_template("staff/link_expired.html")), 410
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            set_password_with_link(token, form.password.data or "")
        except UserError as exc:
            form.password.errors = [*form.password.errors, str(exc)]
        else:
            flash(_("Your password is set. Log in with it."), "info")
            return redirect(url_for("auth.login"))
    status = 400 if form.is_submitted() else 200
    response = no_store(
        render_template("staff/set_password.html", form=form, email=link.user.email)
    )
    response.status_code = status
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the address
    return response
