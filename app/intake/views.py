"""The CSV upload page: complaints or their status changes from a spreadsheet, through the same
services as the REST API (``app.intake.csv_import``)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.auth.decorators import role_required
from app.intake.csv_import import CsvFileError, import_csv
from app.intake.forms import ImportForm

bp = Blueprint("intake_admin", __name__, url_prefix="/admin")


@bp.route("/import", methods=["GET", "POST"])
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
