"""Report pages: the review pack and the responses export (staff), targets (admins).

Downloads are POSTs with a CSRF token: a page on another site cannot make a signed-in manager's
browser build packs (each is real work for the server) or pull an export.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.analytics.filters import expand
from app.analytics.names import METRIC_NAMES
from app.analytics.periods import DEFAULT_SHORTCUT, Shortcut, shortcut_days, to_instant
from app.auth.decorators import role_required
from app.auth.scope import may_see_personal_data, unit_choices
from app.databases import use_replica
from app.models import Role, Unit
from app.models.types import utcnow
from app.organisation.settings import organisation_settings
from app.reports import bp
from app.reports.access import NotYourUnit, report_scope
from app.reports.exports import Table, csv_stream, long_rows, xlsx_bytes, xlsx_stream
from app.reports.forms import ALL, ConfirmForm, PackForm, ResponsesExportForm, TargetForm
from app.reports.pack import build_pack
from app.reports.render import PdfUnavailable, pack_html, pack_pdf, pack_tables
from app.reports.responses import responses_table
from app.reports.targets import TargetError, delete_target, list_targets, set_target
from app.timefmt import organisation_zone, today

MIME = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _download(body: bytes | str | Iterable[bytes] | Iterable[str], name: str,
              kind: str) -> Response:
    response = Response(body, mimetype=MIME[kind].split(";")[0])
    response.headers["Content-Type"] = MIME[kind]
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{kind}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _prepare(form: PackForm | ResponsesExportForm, sent: bool = False) -> None:
    """Unit choices within the user's scope, and the period: the dashboards' default shortcut
    on a form to fill in, else (``sent``) the chosen shortcut's dates in the organisation's
    zone."""
    everything = _("All my units") if current_user.units else organisation_settings().name
    form.unit.choices = [(ALL, everything), *unit_choices(current_user, under=1)]
    if sent:
        form.use_shortcut(today())
    else:
        form.show_shortcut(DEFAULT_SHORTCUT, today())


def _shortcut_dates() -> dict[str, tuple[str, str]]:
    """Each shortcut's dates today, for the page's script to show when one is chosen (the
    server fills them in again from the shortcut: the script only shows them)."""
    day, dates = today(), {}
    for shortcut in Shortcut:
        if shortcut is not Shortcut.CUSTOM:
            first, last = shortcut_days(shortcut, day)
            dates[shortcut.value] = (first.isoformat(), last.isoformat())
    return dates


def _scope(form: PackForm | ResponsesExportForm) -> tuple[list[int] | None, str]:
    try:
        return report_scope(current_user, form.unit.data or None,
                            organisation_settings().name)
    except NotYourUnit:
        abort(403)


def _page(pack_form: PackForm, export_form: ResponsesExportForm | None) -> str:
    return render_template("reports/index.html", pack_form=pack_form, export_form=export_form,
                           shortcut_dates=_shortcut_dates())


def _may_export_responses() -> bool:
    return current_user.has_role(Role.DESIGNER)  # the satisfaction team, and admins


@bp.route("/", methods=["GET"])
@login_required
def index() -> ResponseReturnValue:
    pack_form = PackForm(formdata=None, id_prefix="pack")
    _prepare(pack_form)
    export_form = None
    if _may_export_responses():
        export_form = ResponsesExportForm(formdata=None, id_prefix="export")
        _prepare(export_form)
    return _page(pack_form, export_form)


@bp.route("/pack", methods=["POST"])
@login_required
def pack() -> ResponseReturnValue:
    form = PackForm(id_prefix="pack")
    _prepare(form, sent=True)
    if not form.validate_on_submit():
        return _page(form, None), 400
    use_replica()  # the pack only summarises: the replica's figures, while it keeps up
    unit_ids, scope = _scope(form)
    start, last = form.start.data, form.last.data
    review = build_pack(start, last, unit_ids, scope, generated_at=utcnow(),
                        compared=form.compared(),
                        redact=not may_see_personal_data(current_user))
    name = f"memnun-review-{start.isoformat()}-{last.isoformat()}"
    kind = form.format.data
    if kind == "csv":
        tables = pack_tables(review)
        header = [_("section"), _("segment"), _("measure"), _("value")]
        return _download(stream_with_context(csv_stream(header, long_rows(tables))), name, kind)
    if kind == "xlsx":
        return _download(xlsx_bytes(pack_tables(review)), name, kind)
    html = pack_html(review)
    if kind == "pdf":
        try:
            return _download(pack_pdf(html), name, kind)
        except PdfUnavailable:
            current_app.logger.exception("the review pack cannot be made into a PDF here")
            form.format.errors = [*form.format.errors, _(
                "PDF cannot be made on this server (WeasyPrint needs the Pango library). "
                "The HTML pack prints to PDF from any browser.")]
            return _page(form, None), 503
    return _download(html, name, "html")


@bp.route("/responses", methods=["POST"])
@role_required(Role.DESIGNER)
def responses_export() -> ResponseReturnValue:
    form = ResponsesExportForm(id_prefix="export")
    _prepare(form, sent=True)
    if not form.validate_on_submit():
        pack_form = PackForm(formdata=None, id_prefix="pack")
        _prepare(pack_form)
        return _page(pack_form, form), 400
    unit_ids, _scope_name = _scope(form)
    use_replica()  # read while streaming too: for the rest of the request
    tz = organisation_zone().key
    start, last = form.start.data, form.last.data
    units = None if unit_ids is None else sorted(expand(Unit, unit_ids))
    table: Table = responses_table(to_instant(start, tz),
                                   to_instant(last + dt.timedelta(days=1), tz), units)
    name = f"memnun-responses-{start.isoformat()}-{last.isoformat()}"
    if form.format.data == "xlsx":
        return _download(stream_with_context(xlsx_stream([table])), name, "xlsx")
    return _download(stream_with_context(csv_stream(table.header, table.rows)), name, "csv")


# --- targets --------------------------------------------------------------------------------------


def _target_form() -> TargetForm:
    form = TargetForm()
    form.unit.choices = [(ALL, organisation_settings().name),
                         *unit_choices(current_user, under=1)]
    return form


def _targets_page(form: TargetForm) -> str:
    return render_template("reports/targets.html", form=form, rows=list_targets(),
                           confirm=ConfirmForm(), metric_names=METRIC_NAMES)


@bp.route("/targets", methods=["GET", "POST"])
@role_required()
def targets() -> ResponseReturnValue:
    form = _target_form()
    if form.validate_on_submit():
        value = float(form.value.data) / 100  # the form speaks percent and NPS points
        try:
            set_target(form.unit.data or None, form.metric.data, value,
                       actor=f"user:{current_user.id}")
        except TargetError as exc:
            form.value.errors = [*form.value.errors, str(exc)]
        else:
            flash(_("Target saved."), "info")
            return redirect(url_for("reports.targets"))
    return _targets_page(form), 400 if form.errors else 200


@bp.route("/targets/<int:target_id>/delete", methods=["POST"])
@role_required()
def delete_target_view(target_id: int) -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if delete_target(target_id, actor=f"user:{current_user.id}"):
        flash(_("Target deleted."), "info")
    return redirect(url_for("reports.targets"))
