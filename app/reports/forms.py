from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, DecimalField, SelectField, SubmitField
from wtforms.validators import DataRequired, InputRequired, NumberRange, ValidationError

from app.analytics.names import METRIC_NAMES
from app.forms import StaffForm, finite

ALL = 0  # the "whole organisation" (or "all my units") choice of a unit field

PACK_FORMATS = [("html", _l("HTML (opens offline)")), ("pdf", _l("PDF")),
                ("xlsx", _l("Excel (figures)")), ("csv", _l("CSV (figures)"))]
EXPORT_FORMATS = [("csv", _l("CSV")), ("xlsx", _l("Excel"))]


class PeriodForm(StaffForm):
    start = DateField(_l("From"), validators=[DataRequired()])
    last = DateField(_l("To (included)"), validators=[DataRequired()])
    unit = SelectField(_l("Unit"), coerce=int, default=ALL)

    def validate_last(self, field: DateField) -> None:
        if self.start.data and field.data and field.data < self.start.data:
            raise ValidationError(_l("The period cannot end before it starts."))
        if self.start.data and field.data and (field.data - self.start.data).days > 3660:
            raise ValidationError(_l("Choose a period of at most ten years."))


class PackForm(PeriodForm):
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
