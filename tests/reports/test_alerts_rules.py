"""Alert rules: each fires on a case made for it and stays quiet on a near miss."""

from __future__ import annotations

import datetime as dt
import math
import statistics

import pytest

from app.analytics.review import mean_and_sd, p_chart_point
from app.extensions import db
from app.models import Target, Unit
from app.reports.alerts import AlertKind, current_alerts
from tests.support.datasets.reports import Data, at, build_january

JAN_31 = dt.date(2025, 1, 31)
LONG_AGO = at(2023, 6, 1)  # where the responses' own complaints are received: out of the window


@pytest.fixture
def app(make_app):
    return make_app(MEMNUN_TIMEZONE="UTC")


def _targets(**values: float | tuple[str, float]) -> None:
    for metric, value in values.items():
        unit_code, target = value if isinstance(value, tuple) else (None, value)
        unit_id = (db.session.scalar(db.select(Unit.id).where(Unit.code == unit_code))
                   if unit_code else None)
        db.session.add(Target(unit_id=unit_id, metric=metric, value=target))
    db.session.commit()


def _unit_id(code: str) -> int:
    return db.session.scalar(db.select(Unit.id).where(Unit.code == code))


def _found(alerts, kind: AlertKind) -> set[tuple[str | None, str]]:
    return {(alert.unit_name, alert.metric) for alert in alerts if alert.kind == kind}


# --- under target --------------------------------------------------------------------------------


def test_under_target_fires_for_the_organisation_and_inherited_by_units(app) -> None:
    with app.app_context():
        build_january(Data().setup())
        _targets(csat=0.85)
        below = _found(current_alerts(JAN_31), AlertKind.BELOW_TARGET)
    # Organisation 9/13, Belediye (fen + park) 5/8, Zabıta 4/5: all under 85 %.
    assert {(None, "csat"), ("Belediye", "csat"), ("Zabıta", "csat")} <= below
    # Park has 2 responses; Fen's 6 would give Park's away from Belediye's total: both hidden.
    assert ("Park ve Bahçeler", "csat") not in below
    assert ("Fen İşleri", "csat") not in below


def test_under_target_is_quiet_at_or_above_the_target(app) -> None:
    with app.app_context():
        build_january(Data().setup())
        _targets(csat=("zabita", 0.8))  # Zabıta's own target; it has exactly 4/5
        alerts = current_alerts(JAN_31)
        assert _found(alerts, AlertKind.BELOW_TARGET) == set()
        db.session.execute(db.update(Target).values(value=0.81))
        db.session.commit()
        alerts = current_alerts(JAN_31)
    assert _found(alerts, AlertKind.BELOW_TARGET) == {("Zabıta", "csat")}
    alert = next(a for a in alerts if a.kind == AlertKind.BELOW_TARGET)
    assert (alert.value, alert.target, alert.n) == (0.8, 0.81, 5)
    assert (alert.period_start, alert.period_end) == (dt.date(2025, 1, 1), JAN_31)


def test_a_unit_target_overrides_the_organisations(app) -> None:
    with app.app_context():
        build_january(Data().setup())
        _targets(csat=0.85)
        db.session.add(Target(unit_id=_unit_id("zabita"), metric="csat", value=0.5))
        db.session.commit()
        below = _found(current_alerts(JAN_31), AlertKind.BELOW_TARGET)
    assert ("Zabıta", "csat") not in below and (None, "csat") in below


def test_a_unit_manager_sees_only_their_units_alerts(app) -> None:
    with app.app_context():
        build_january(Data().setup())
        _targets(csat=0.85)
        alerts = current_alerts(JAN_31, [_unit_id("city")])
    assert {alert.unit_name for alert in alerts} == {"Belediye"}


# --- significant drop ----------------------------------------------------------------------------


def _two_months(december: list[int], january: list[int]) -> None:
    data = Data().setup()
    data.bulk_responses("zabita", at(2024, 12, 10), december, received=LONG_AGO)
    data.bulk_responses("zabita", at(2025, 1, 10), january, received=LONG_AGO)


def test_a_significant_drop_fires(app) -> None:
    with app.app_context():
        _two_months([5] * 20, [5] * 5 + [2] * 15)  # 100 % -> 25 %
        alerts = current_alerts(JAN_31)
    drops = [a for a in alerts if a.kind == AlertKind.SIGNIFICANT_DROP and a.metric == "csat"]
    assert {a.unit_name for a in drops} == {None, "Zabıta"}
    assert drops[0].previous == 1.0 and drops[0].value == 0.25
    assert drops[0].p_value < 0.05


def test_a_small_drop_is_not_an_alert(app) -> None:
    with app.app_context():
        _two_months([5] * 18 + [2] * 2, [5] * 17 + [2] * 3)  # 90 % -> 85 %: noise
        assert _found(current_alerts(JAN_31), AlertKind.SIGNIFICANT_DROP) == set()


def test_a_drop_in_a_small_group_is_not_an_alert(app) -> None:
    with app.app_context():
        _two_months([5] * 20, [2] * 4)  # only four answers this month
        assert _found(current_alerts(JAN_31), AlertKind.SIGNIFICANT_DROP) == set()


# --- control chart -------------------------------------------------------------------------------


def _history(data: Data, january_satisfied: int, january_complaints: int) -> None:
    """2024: 20 answers a month, 16 satisfied (80 %), 9 or 11 complaints a month (mean 10,
    sd 1.04, limit 12.1). January 2025: 20 answers with ``january_satisfied`` satisfied."""
    for month in range(1, 13):
        data.bulk_responses("zabita", at(2024, month, 15), [5] * 16 + [1] * 4,
                            received=LONG_AGO)
        for _i in range(9 if month % 2 else 11):
            data.complaint("zabita", at(2024, month, 5))
    data.bulk_responses("zabita", at(2025, 1, 15),
                        [5] * january_satisfied + [1] * (20 - january_satisfied),
                        received=LONG_AGO)
    for _i in range(january_complaints):
        data.complaint("zabita", at(2025, 1, 5))
    db.session.commit()


def test_control_chart_signals_when_satisfaction_falls_and_complaints_rise(app) -> None:
    with app.app_context():
        _history(Data().setup(), january_satisfied=6, january_complaints=20)
        alerts = current_alerts(JAN_31)
    signals = [a for a in alerts if a.kind == AlertKind.CONTROL_CHART]
    assert {a.unit_name for a in signals} == {None, "Zabıta"}
    signal = signals[-1]
    assert signal.value == pytest.approx(0.3)
    assert signal.centre == pytest.approx(0.8)
    assert signal.lower_limit == pytest.approx(0.8 - 3 * math.sqrt(0.8 * 0.2 / 20))
    assert signal.complaints == 20
    assert signal.complaints_limit == pytest.approx(10 + 2 * statistics.stdev([9, 11] * 6))


def test_control_chart_is_quiet_when_complaints_do_not_rise(app) -> None:
    with app.app_context():
        _history(Data().setup(), january_satisfied=6, january_complaints=10)
        alerts = current_alerts(JAN_31)
    assert _found(alerts, AlertKind.CONTROL_CHART) == set()
    assert ("Zabıta", "csat") in _found(alerts, AlertKind.SIGNIFICANT_DROP)  # the fall is real


def test_control_chart_is_quiet_when_satisfaction_stays_in_its_limits(app) -> None:
    with app.app_context():
        _history(Data().setup(), january_satisfied=14, january_complaints=20)  # 70 % > LCL
        assert _found(current_alerts(JAN_31), AlertKind.CONTROL_CHART) == set()


def test_p_chart_point_and_spread_by_hand() -> None:
    point = p_chart_point(6, 20, [16, 14, 18], [20, 20, 20])
    centre = 48 / 60
    assert point.centre == pytest.approx(centre)
    assert point.lower == pytest.approx(centre - 3 * math.sqrt(centre * (1 - centre) / 20))
    assert point.below and not point.above
    assert not p_chart_point(15, 20, [16], [20]).below
    assert mean_and_sd([9, 11, 10, 14]) == pytest.approx(
        (statistics.mean([9, 11, 10, 14]), statistics.stdev([9, 11, 10, 14])))
    with pytest.raises(ValueError):
        p_chart_point(1, 0, [1], [2])
