"""Send windows: the local hours in which a rule may e-mail people.

Times are stored in UTC; the window is a wall-clock range in the rule's time zone. Working through
``zoneinfo`` on aware datetimes makes daylight-saving changes come out right: 09:00 in Amsterdam is
08:00 UTC in winter and 07:00 UTC in summer, whatever day the clocks change.
"""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.models import DistributionRule

log = logging.getLogger(__name__)

DEFAULT_WINDOW = ("09:00", "20:00")


def parse_clock(text: str) -> dt.time:
    """``"09:30"`` -> 09:30, ``"24:00"`` -> the end of the day; ValueError for anything else."""
    hours, _, minutes = text.strip().partition(":")
    if (int(hours), int(minutes or 0)) == (24, 0):
        return dt.time.max
    return dt.time(int(hours), int(minutes or 0))


def rule_zone(rule: DistributionRule | None, fallback: str = "Europe/Istanbul") -> ZoneInfo:
    try:
        return ZoneInfo((rule.timezone if rule else None) or fallback)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(fallback)


def _window(rule: DistributionRule | None) -> tuple[dt.time, dt.time]:
    start = rule.send_window_start if rule and rule.send_window_start else DEFAULT_WINDOW[0]
    end = rule.send_window_end if rule and rule.send_window_end else DEFAULT_WINDOW[1]
    try:
        return parse_clock(start), parse_clock(end)
    except ValueError:
        # Rules are validated where they are edited; a bad one must still not break intake.
        log.warning("rule %s has an unreadable send window; using the default", rule and rule.id)
        return parse_clock(DEFAULT_WINDOW[0]), parse_clock(DEFAULT_WINDOW[1])


def _inside(clock: dt.time, start: dt.time, end: dt.time) -> bool:
    if start == end:  # a window of no width means "any time"
        return True
    if start < end:
        return start <= clock < end
    return clock >= start or clock < end  # a window across midnight, e.g. 22:00-06:00


def in_send_window(moment: dt.datetime, rule: DistributionRule | None) -> bool:
    """Whether the aware instant ``moment`` falls inside ``rule``'s local sending hours."""
    start, end = _window(rule)
    local = moment.astimezone(rule_zone(rule))
    return _inside(local.time().replace(tzinfo=None), start, end)


def into_send_window(moment: dt.datetime, rule: DistributionRule | None) -> dt.datetime:
    """``moment`` if it is inside the window, else the next window opening; aware UTC either way."""
    if in_send_window(moment, rule):
        return moment.astimezone(dt.UTC)
    zone = rule_zone(rule)
    start, _ = _window(rule)
    local = moment.astimezone(zone)
    day = local.date()
    for _ in range(3):  # today's opening, else tomorrow's (a DST gap may shift one by an hour)
        opening = dt.datetime.combine(day, start, tzinfo=zone)
        # A wall time inside a DST gap does not exist; round-tripping through UTC normalises it.
        opening = opening.astimezone(dt.UTC)
        if opening > moment:
            return opening
        day += dt.timedelta(days=1)
    raise AssertionError("unreachable: a window opens every day")  # pragma: no cover
