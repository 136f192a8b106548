from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from wtforms import DateField, DecimalField, SelectField, StringField, SubmitField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from app.analytics.names import COMPARISON_LABELS, METRIC_NAMES, SHORTCUT_LABELS
from app.analytics.periods import Comparison, Shortcut, compared_days, shortcut_days
from app.forms import StaffForm, finite

ALL = 0  # the "whole organisation" (or "all my units") choice of a unit field

PACK_FORMATS = [("html", _l("HTML (opens offline)")), ("pdf", _l("PDF")),
                ("xlsx", _l("Excel (figures)")), ("csv", _l("CSV (figures)"))]
EXPORT_FORMATS = [("csv", _l("CSV")), ("xlsx", _l("Excel"))]
SHORTCUT_CHOICES = [(shortcut.value, label) for shortcut, label in SHORTCUT_LABELS.items()]
COMPARISON_CHOICES = [(comparison.value, label)
                      for comparison, label in COMPARISON_LABELS.items()]
#: Days a period (and the period it is compared with) may touch: every local midnight of them,
#: and the day after the last, is a datetime (year 1 and 9999 are not, a year back or a day on).
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2999, 12, 31)


class PeriodForm(StaffForm):
    """A period: one of the dashboards' shortcuts, whose dates the server fills in
    (``use_shortcut``), or typed dates ("custom"). A form posted without a shortcut is custom,
    so the dates it sends are the period."""

    period = SelectField(_l("Period"), choices=SHORTCUT_CHOICES, default=Shortcut.CUSTOM.value)
    # InputRequired, not DataRequired: an impossible date ("2025-02-30") keeps its own error
    # rather than "This field is required".
    start = DateField(_l("From"), validators=[InputRequired()])
    last = DateField(_l("To (included)"), validators=[InputRequired()])
    unit = SelectField(_l("Unit"), coerce=int, default=ALL)

    @property
    def shortcut(self) -> Shortcut:
        """The chosen shortcut; custom for a value that is none (the field says it is wrong)."""
        values = {shortcut.value for shortcut in Shortcut}
        return Shortcut(self.period.data) if self.period.data in values else Shortcut.CUSTOM

    def show_shortcut(self, shortcut: Shortcut, today: dt.date) -> None:
        """Set the form to ``shortcut`` and its dates on ``today``, for a form not yet sent."""
        self.period.data = shortcut.value
        self.start.data, self.last.data = shortcut_days(shortcut, today)

    def use_shortcut(self, today: dt.date) -> None:
        """Put the chosen shortcut's dates on ``today`` (the organisation's date) in place of
        whatever the date fields held, before validating: a shortcut means its own days, so the
        form works without JavaScript; "custom" keeps the typed dates. The page shown again
        (after an error elsewhere) shows those dates."""
        if self.shortcut is Shortcut.CUSTOM:
            return
        for field, day in zip((self.start, self.last), shortcut_days(self.shortcut, today),
                              strict=True):
            field.data, field.raw_data, field.process_errors = day, [day.isoformat()], []

    def validate_start(self, field: DateField) -> None:
        if field.data and not FIRST_DAY <= field.data <= LAST_DAY:
            raise ValidationError(_l("Choose a date between the years 1900 and 2999."))

    def validate_last(self, field: DateField) -> None:
        if field.data and not FIRST_DAY <= field.data <= LAST_DAY:
            raise ValidationError(_l("Choose a date between the years 1900 and 2999."))
        if self.start.data and field.data and field.data < self.start.data:
            raise ValidationError(_l("The period cannot end before it starts."))
        if self.start.data and field.data and (field.data - self.start.data).days > 3660:
            raise ValidationError(_l("Choose a period of at most ten years."))


class ComparedPeriodForm(PeriodForm):
    """A period and the period its changes are measured against."""

    compare = SelectField(_l("Compare with"), choices=COMPARISON_CHOICES,
                          default=Comparison.PREVIOUS.value)

    def compared(self) -> tuple[dt.date, dt.date] | None:
        """The compared period's first and last day as the dashboards compare the same choice
        (``compared_days``): None for the period of the same length just before. Call after
        validating."""
        values = {comparison.value for comparison in Comparison}
        comparison = Comparison(self.compare.data) if self.compare.data in values else (
            Comparison.PREVIOUS)
        return compared_days(self.start.data, self.last.data, self.shortcut, comparison)

    def compared_or_before(self) -> tuple[dt.date, dt.date]:
        """``compared``, or the same number of days just before the period."""
        days = self.last.data - self.start.data + dt.timedelta(days=1)
        return self.compared() or (self.start.data - days,
                                   self.start.data - dt.timedelta(days=1))


class PackForm(ComparedPeriodForm):
    format = SelectField(_l("Format"), choices=PACK_FORMATS, default="html")
    submit = SubmitField(_l("Download the review pack"))


class ResponsesExportForm(PeriodForm):
    format = SelectField(_l("Format"), choices=EXPORT_FORMATS, default="csv")
    submit = SubmitField(_l("Download the responses"))


class TargetForm(StaffForm):
    unit = SelectField(_l("For"), coerce=int, default=ALL)
    metric = SelectField(_l("Figure"), choices=list(METRIC_NAMES.items()))
    value = DecimalField(_l("Target (percent; NPS in points from -100 to 100)"), places=None,
                         validators=[InputRequired(), finite, NumberRange(min=-100, max=100)])
    submit = SubmitField(_l("Save the target"))

    def validate_value(self, field: DecimalField) -> None:
        if field.data is not None and self.metric.data != "nps" and field.data < 0:
            raise ValidationError(_l("Only an NPS target can be below zero."))


class ConfirmForm(StaffForm):
    submit = SubmitField(_l("Delete"))


BAND_CHOICES = [
    ("", _l("Any score")),
    ("detractors", _l("Detractors (0-6)")), ("passives", _l("Passives (7-8)")),
    ("promoters", _l("Promoters (9-10)")),
    ("1-2", _l("Overall 1-2")), ("3", _l("Overall 3")), ("4-5", _l("Overall 4-5")),
]


class CommentsForm(ComparedPeriodForm):
    """The comments explorer's selection, read from the query string (a GET: no CSRF token)."""

    class Meta:
        csrf = False

    category = SelectField(_l("Category"), coerce=int, default=ALL)
    channel = SelectField(_l("Channel"), default="")
    band = SelectField(_l("Score"), choices=BAND_CHOICES, default="")
    q = StringField(_l("Words"), validators=[Optional(), Length(max=200)])
    theme = SelectField(_l("Theme"), coerce=int, default=ALL)


class CommentsExportForm(CommentsForm):
    """The same selection, posted with a CSRF token to download it."""

    class Meta:
        csrf = True

    submit = SubmitField(_l("Download these comments (CSV)"))


class ThemeRenameForm(StaffForm):
    """The satisfaction team's name for a theme (empty: back to its words)."""

    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    submit = SubmitField(_l("Rename"))


class ThemeMergeForm(StaffForm):
    """Merge a theme into another: its comments go there, and stay there next time."""

    into = SelectField(_l("Merge into"), coerce=int)
    submit = SubmitField(_l("Merge"))
