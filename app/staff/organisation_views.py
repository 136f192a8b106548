"""The organisation settings page, for admins of the whole organisation (it is listed in
``app.auth.scope.WHOLE_ORGANISATION``). Thin: ``app.organisation.settings`` does the work."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from app.auth.decorators import role_required
from app.auth.pages import acting_user
from app.errors import InvalidFields
from app.organisation.settings import (
    TEXT_FIELDS,
    check_timezone,
    organisation_settings,
    save_logo,
    save_settings,
)
from app.staff import bp
from app.staff.organisation_forms import LogoForm, SettingsForm


def _page(form: SettingsForm, logo_form: LogoForm, status: int = 200) -> ResponseReturnValue:
    return render_template(
        "staff/organisation.html", form=form, logo_form=logo_form, settings=organisation_settings()
    ), status


def _show_problems(form: SettingsForm | LogoForm, problems: InvalidFields) -> None:
    for problem in problems.details or []:
        field = getattr(form, problem["field"], None)
        if field is not None:
            field.errors = [*field.errors, problem["message"]]


@bp.route("/admin/organisation", methods=["GET", "POST"])
@role_required()
def organisation() -> ResponseReturnValue:
    settings = organisation_settings()
    form = SettingsForm(data={field: getattr(settings, field) for field in TEXT_FIELDS})
    if form.is_submitted():
        if not form.validate():
            return _page(form, LogoForm(formdata=None, id_prefix="logo"), 400)
        if not check_timezone((form.timezone.data or "").strip()):
            form.timezone.errors = [_("Not a time zone (for example Europe/Istanbul).")]
            return _page(form, LogoForm(formdata=None, id_prefix="logo"), 400)
        try:
            save_settings(
                acting_user(), {field: getattr(form, field).data for field in TEXT_FIELDS}
            )
        except InvalidFields as exc:
            _show_problems(form, exc)
            return _page(form, LogoForm(formdata=None, id_prefix="logo"), 400)
        flash(_("The organisation's settings are saved."), "info")
        return redirect(url_for("staff.organisation"))
    return _page(form, LogoForm(formdata=None, id_prefix="logo"))


@bp.route("/admin/organisation/logo", methods=["POST"])
@role_required()
def organisation_logo() -> ResponseReturnValue:
    logo_form = LogoForm(id_prefix="logo")
    settings = organisation_settings()
    form = SettingsForm(
        formdata=None, data={field: getattr(settings, field) for field in TEXT_FIELDS}
    )
    if not logo_form.validate_on_submit():
        return _page(form, logo_form, 400)
    upload = logo_form.logo.data
    try:
        if logo_form.remove.data:
            save_logo(acting_user(), None)
        elif upload:
            save_logo(acting_user(), upload.read())
        else:
            logo_form.logo.errors = [_("Choose an image file, or tick “Remove the logo”.")]
            return _page(form, logo_form, 400)
    except InvalidFields as exc:
        _show_problems(logo_form, exc)
        return _page(form, logo_form, 400)
    flash(_("The logo is saved."), "info")
    return redirect(url_for("staff.organisation"))
