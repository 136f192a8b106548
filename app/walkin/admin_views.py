"""Staff pages of walk-in QR codes: service points (create, list, take out of use, new code),
their posters and cards, and the review of held walk-in answers. For the satisfaction team
(designers; admins too); a user given units sees and changes only their units' points.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from app.analytics.tree import unit_tree
from app.auth.decorators import role_required
from app.auth.pages import acting_user
from app.auth.scope import may_read_comments, units_in_scope
from app.forms import ConfirmForm, select_choices
from app.models import Role, ServicePoint
from app.reports.render import PdfUnavailable
from app.respond.questions import Question
from app.respond.services import version_by_id
from app.walkin import poster, services
from app.walkin.forms import ServicePointForm

bp = Blueprint("walkin_admin", __name__, url_prefix="/walk-in")

POSTER_KINDS = ("poster", "card")


def _units() -> frozenset[int] | None:
    return units_in_scope(current_user)


def _point_or_404(point_id: int) -> ServicePoint:
    point = services.point_in(point_id, _units())
    if point is None:
        abort(404)
    return point


def _form() -> ServicePointForm:
    form = ServicePointForm()
    # Every unit in scope, the root one too: a desk may belong to the organisation as a whole.
    form.unit.choices = select_choices(unit_tree().labelled(_units()))
    form.questionnaire.choices = select_choices((q.id, f"{q.title} ({q.key})")
                                                for q in services.walk_in_questionnaires())
    return form


@bp.route("/points", methods=["GET", "POST"])
@role_required(Role.DESIGNER)
def points() -> ResponseReturnValue:
    form = _form()
    if form.validate_on_submit():
        allowed = _units()
        if allowed is not None and form.unit.data not in allowed:
            abort(403)
        try:
            point, _code = services.create_point(
                unit_id=form.unit.data, code=form.code.data or "", name=form.name.data or "",
                questionnaire_id=form.questionnaire.data, actor=acting_user())
        except services.ServicePointError as exc:
            form.code.errors = [*form.code.errors, str(exc)]
        else:
            flash(_("Service point %(name)s created: print its poster.", name=point.name), "info")
            return redirect(url_for(".point", point_id=point.id))
    status = 400 if form.errors else 200
    return render_template("walkin/points.html", points=services.points_in(_units()),
                           form=form), status


@bp.get("/points/<int:point_id>")
@role_required(Role.DESIGNER)
def point(point_id: int) -> ResponseReturnValue:
    found = _point_or_404(point_id)
    code = services.current_code(found)
    return render_template("walkin/point.html", point=found, confirm=ConfirmForm(),
                           link=services.point_link(code) if code else None,
                           held=len(services.held_of_point(found.id, _units())))


@bp.post("/points/<int:point_id>/regenerate")
@role_required(Role.DESIGNER)
def regenerate(point_id: int) -> ResponseReturnValue:
    found = _point_or_404(point_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.regenerate(found, acting_user())
    flash(_("%(name)s has a new code: the old posters no longer work. Print the new one.",
            name=found.name), "info")
    return redirect(url_for(".point", point_id=found.id))


@bp.post("/points/<int:point_id>/deactivate")
@role_required(Role.DESIGNER)
def deactivate(point_id: int) -> ResponseReturnValue:
    found = _point_or_404(point_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.deactivate(found, acting_user())
    flash(_("%(name)s is no longer in use: its code answers that it has ended.",
            name=found.name), "info")
    return redirect(url_for(".points"))


def _link_of(found: ServicePoint) -> str:
    code = services.current_code(found)
    if code is None or not found.active:
        abort(409)  # the page of the point says why and offers a new code
    return services.point_link(code)


@bp.get("/points/<int:point_id>/<kind>")
@role_required(Role.DESIGNER)
def print_page(point_id: int, kind: str) -> ResponseReturnValue:
    """The poster (A4) or card (A6) as a page to print, or as PDF with ``?format=pdf``."""
    if kind not in POSTER_KINDS:
        abort(404)
    found = _point_or_404(point_id)
    link = _link_of(found)
    card = kind == "card"
    if request.args.get("format") != "pdf":
        return poster.poster_page(found, link, card=card)
    try:
        page = poster.poster_page(found, link, card=card, inline_css=poster.poster_css())
        pdf = poster.poster_pdf(page)
    except PdfUnavailable:
        abort(503)
    response = make_response(pdf)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{kind}-{found.id}.pdf"')
    return response


@bp.get("/points/<int:point_id>/qr.<kind>")
@role_required(Role.DESIGNER)
def qr(point_id: int, kind: str) -> ResponseReturnValue:
    if kind not in ("svg", "png"):  # checked here, after the login: no route is told apart
        abort(404)
    link = _link_of(_point_or_404(point_id))
    body = poster.qr_svg(link) if kind == "svg" else poster.qr_png(link)
    response = make_response(body)
    response.headers["Content-Type"] = "image/svg+xml" if kind == "svg" else "image/png"
    response.headers["Content-Disposition"] = f'attachment; filename="qr-{point_id}.{kind}"'
    return response


# --- held answers -----------------------------------------------------------------------------


def _questions_of(version_ids: set[int]) -> dict[int, list[Question]]:
    """The questions of these versions in the reader's language (else the version's first), so
    the review names each answer by its question's number and wording."""
    language = str(get_locale())
    found = {}
    for version_id in version_ids:
        version = version_by_id(version_id)
        if version is not None:
            spoken = language if language in version.languages else version.languages[0]
            found[version_id] = version.questions(spoken)
    return found


@bp.get("/held")
@role_required(Role.DESIGNER)
def held() -> ResponseReturnValue:
    items = services.held_walk_ins(_units())
    questions = _questions_of({item.response.version_id for item in items})
    numbers = {version_id: {q.key: q.number for q in listed}
               for version_id, listed in questions.items()}
    return render_template("walkin/held.html", held=items, questions=questions,
                           numbers=numbers, confirm=ConfirmForm(),
                           show_text=may_read_comments(current_user))


def _chosen_ids() -> list[int]:
    """The answers a review button names: one (``response``) or a point's (``point``)."""
    one = request.form.get("response", type=int)
    if one is not None:
        return [one]
    point_id = request.form.get("point", type=int)
    if point_id is not None and abs(point_id) < 2**31:
        return services.held_of_point(point_id, _units())
    abort(400)


@bp.post("/held/<decision>")
@role_required(Role.DESIGNER)
def decide(decision: str) -> ResponseReturnValue:
    if decision not in ("accept", "reject"):
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    ids = [i for i in _chosen_ids() if abs(i) < 2**31]
    if decision == "accept":
        done = services.accept(ids, _units(), acting_user())
        flash(_("%(count)d answer(s) accepted: they count from now on.", count=done), "info")
    else:
        done = services.reject(ids, _units(), acting_user())
        flash(_("%(count)d answer(s) rejected and deleted.", count=done), "info")
    return redirect(url_for(".held"))
