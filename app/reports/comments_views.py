"""The comments explorer: every free-text answer of a period and scope, searched by word forms
and filtered by score band, one page at a time, and its CSV download.

Who sees what: every member of staff reads the explorer, because the comments are where an
executive or a unit manager learns why a score moved; personal data in them is seen only by
those who see the complainant's contact data (``app.auth.scope.may_see_personal_data``:
admins), so for everyone else every comment is redacted (``app.analytics.redaction``), on the
page and in the download alike. (Elsewhere, where comments are shown unredacted beside a
complaint, ``app.auth.scope.may_read_comments`` still keeps them from viewers.)
Units: a unit manager sees their own units and those below
(``report_scope``), whatever unit the query string names. Units with fewer than k responses
show no comment (``app.analytics.comments``). Thin: ``app.analytics.comments`` selects.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.analytics.comments import Band, Selection, all_comments, comment_page, shown_text
from app.analytics.filters import Filters, expand
from app.analytics.names import CHANNEL_NAMES
from app.analytics.periods import DEFAULT_SHORTCUT, Grain, to_instant
from app.analytics.themes import (
    Tallied,
    ThemeError,
    all_themes,
    frequencies,
    merge_themes,
    month_periods,
    rename_theme,
    representatives,
    tally,
    theme_counts,
)
from app.analytics.tree import category_tree, unit_tree
from app.auth.decorators import role_required
from app.auth.pages import no_store
from app.auth.scope import may_see_personal_data, unit_choices, works_inside_units
from app.extensions import db
from app.forms import select_choices
from app.models import Category, Role, Theme, Unit
from app.organisation.settings import organisation_settings
from app.reports import bp
from app.reports.access import NotYourUnit, report_scope
from app.reports.exports import csv_stream
from app.reports.forms import (
    ALL,
    CommentsExportForm,
    CommentsForm,
    ThemeMergeForm,
    ThemeRenameForm,
)
from app.reports.views import _download
from app.timefmt import export_instant, organisation_zone, today

MAX_PAGE = 10_000


def _prepare(form: CommentsForm, sent: bool, themes: list | None = None) -> None:
    everything = _("All my units") if current_user.units else organisation_settings().name
    form.unit.choices = select_choices([(ALL, everything), *unit_choices(current_user, under=1)])
    form.category.choices = select_choices([(ALL, _("Any category")),
                                            *category_tree().labelled(under=1)])
    form.channel.choices = select_choices([("", _("Any channel")),
                                           *((c.value, n) for c, n in CHANNEL_NAMES.items())])
    themes = all_themes() if themes is None else themes
    form.theme.choices = select_choices([(ALL, _("Any theme")),
                                         *((t.id, t.title) for t in themes)])
    if sent:
        form.use_shortcut(today())
    else:
        form.show_shortcut(DEFAULT_SHORTCUT, today())


def _selection(form: CommentsForm) -> Selection:
    """The checked form as the analytics' selection, units cut to what the user may see."""
    try:
        unit_ids, _title = report_scope(current_user, form.unit.data or None,
                                        organisation_settings().name)
    except NotYourUnit:
        abort(403)
    units = None if unit_ids is None else expand(Unit, unit_ids)
    categories = expand(Category, [form.category.data]) if form.category.data else None
    tz = organisation_zone().key
    first, last = form.compared_or_before()
    filters = Filters(start=to_instant(form.start.data, tz),
                      end=to_instant(form.last.data + dt.timedelta(days=1), tz),
                      unit_ids=units, category_ids=categories, channel=form.channel.data or None,
                      compared=(to_instant(first, tz),
                                to_instant(last + dt.timedelta(days=1), tz)))
    return Selection(filters, search=form.q.data or "",
                     band=Band(form.band.data) if form.band.data else None,
                     min_group=int(current_app.config.get("MEMNUN_MIN_GROUP_SIZE") or 5),
                     theme_id=form.theme.data or None)


def _sent() -> bool:
    return any(value for key, value in request.args.items() if key != "page")


@bp.route("/comments", methods=["GET"])
@login_required  # all staff, redacted unless they may see personal data
def comments() -> ResponseReturnValue:
    form = CommentsForm(request.args if _sent() else None, id_prefix="comments")
    sent = _sent()
    themes = all_themes()
    _prepare(form, sent, themes)
    export_form = CommentsExportForm(request.args if sent else None, id_prefix="export")
    _prepare(export_form, sent, themes)
    page_number = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    args = {key: value for key, value in request.args.items() if key != "page"}
    if sent and not form.validate():
        return render_template("reports/comments.html", form=form, export_form=None,
                               found=None, rows=[], args=args), 400
    redact = not may_see_personal_data(current_user)
    selection = _selection(form)
    # With themes, one grouped query counts the comments of both periods by unit, theme,
    # band (and month, for a chosen theme): the page's counts come from it.
    tallied = tally(selection, months=month_periods(
        selection, Grain.MONTH, organisation_zone().key) if selection.theme_id else None
    ) if themes else None
    found = comment_page(
        selection, page=page_number, with_names=redact,
        hidden=tallied.hidden.now if tallied else None,
        counted=tallied.comments(selection.theme_id) if tallied else None)
    units, categories = unit_tree(), category_tree()
    about = _themes(selection, tallied, themes, redact, units) if tallied else None
    rows = [{
        "comment": c, "text": shown_text(c, redact),
        "unit": units.nodes[c.unit_id].name if c.unit_id in units.nodes else "",
        "category": categories.nodes[c.category_id].name
        if c.category_id in categories.nodes else "",
        "channel": CHANNEL_NAMES.get(c.channel, c.channel),
    } for c in found.comments]
    return no_store(render_template(
        "reports/comments.html", form=form, export_form=export_form, found=found, rows=rows,
        args=args, redacted=redact, zone=organisation_zone(), about=about,
        compared=form.compared_or_before()))


def _themes(selection: Selection, tallied: Tallied, themes: list, redact: bool,
            units: object) -> dict[str, object]:
    """The themes part of the page: every theme's share in the selection, its change against
    the compared period and whether detractors write about it more than promoters; for a
    chosen theme, its representative comments (redacted as the page is) and its frequency by
    unit (in both periods) and by month."""
    counts, counted = theme_counts(selection, tallied=tallied)
    about: dict[str, object] = {"counts": counts, "counted": counted, "chosen": None}
    if selection.theme_id is None:
        return about
    chosen = next((t for t in themes if t.id == selection.theme_id), None)
    if chosen is None:
        return about
    nodes = units.nodes  # type: ignore[attr-defined]
    about["chosen"] = chosen
    about["examples"] = [shown_text(c, redact) for c in representatives(
        selection, chosen.id, with_names=redact, hidden=tallied.hidden.now)]
    found = frequencies(tallied, chosen.id)
    about["by_unit"] = [(nodes[f.key].name if f.key in nodes else "", f)
                        for f in found.by_unit]
    about["by_month"] = found.over_time
    if may_change_themes():
        about["rename"] = ThemeRenameForm(formdata=None, name=chosen.name or "",
                                          id_prefix="rename")
        merge = ThemeMergeForm(formdata=None, id_prefix="merge")
        merge.into.choices = select_choices([(t.id, t.title) for t in themes if t.id != chosen.id])
        about["merge"] = merge
    return about


def may_change_themes() -> bool:
    """The satisfaction team (designers and admins) names and merges the themes, which are
    the whole organisation's: not those given units."""
    return current_user.has_role(Role.DESIGNER) and not works_inside_units(current_user)


def _theme_or_404(theme_id: int) -> Theme:
    theme = db.session.get(Theme, theme_id)
    if theme is None:
        abort(404)
    return theme


def _back(theme_id: int) -> ResponseReturnValue:
    """Back to the explorer as it was (the query string the form was posted with)."""
    args = {key: value for key, value in request.args.items() if key not in ("page", "theme")}
    return redirect(url_for("reports.comments", **args, theme=theme_id))


@bp.route("/themes/<int:theme_id>/rename", methods=["POST"])
@role_required(Role.DESIGNER)
def theme_rename(theme_id: int) -> ResponseReturnValue:
    theme = _theme_or_404(theme_id)
    form = ThemeRenameForm(id_prefix="rename")
    if not form.validate_on_submit():
        abort(400)
    try:
        rename_theme(theme, form.name.data or "", f"user:{current_user.id}")
    except ThemeError:
        abort(400)
    flash(_("Theme renamed."), "info")
    return _back(theme.id)


@bp.route("/themes/<int:theme_id>/merge", methods=["POST"])
@role_required(Role.DESIGNER)
def theme_merge(theme_id: int) -> ResponseReturnValue:
    theme = _theme_or_404(theme_id)
    form = ThemeMergeForm(id_prefix="merge")
    form.into.choices = select_choices([(t.id, t.title) for t in all_themes()
                                        if t.id != theme.id])
    if not form.validate_on_submit():
        abort(400)
    into = _theme_or_404(form.into.data)
    try:
        merge_themes(theme, into, f"user:{current_user.id}")
    except ThemeError:
        abort(400)
    flash(_("Themes merged."), "info")
    return _back(into.id)


@bp.route("/comments/export", methods=["POST"])
@login_required
def comments_export() -> ResponseReturnValue:
    form = CommentsExportForm(id_prefix="export")
    _prepare(form, sent=True)
    if not form.validate_on_submit():
        abort(400)
    selection = _selection(form)
    redact = not may_see_personal_data(current_user)
    units, categories = unit_tree(), category_tree()
    header = [_("Date"), _("Unit"), _("Category"), _("Channel"), _("Language"),
              _("Question"), _("Overall (1-5)"), _("Recommend (0-10)"), _("Comment")]

    def rows() -> Iterator[list[object]]:
        for c in all_comments(selection, with_names=redact):
            yield [export_instant(c.submitted_at),
                   units.nodes[c.unit_id].name if c.unit_id in units.nodes else "",
                   categories.nodes[c.category_id].name if c.category_id in categories.nodes
                   else "",
                   str(CHANNEL_NAMES.get(c.channel, c.channel)), c.language, c.question_key,
                   None if c.overall is None else int(c.overall),
                   None if c.nps is None else int(c.nps), shown_text(c, redact)]

    name = f"memnun-comments-{form.start.data.isoformat()}-{form.last.data.isoformat()}"
    return _download(stream_with_context(csv_stream(header, rows())), name, "csv")
