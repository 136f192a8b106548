"""Calling hours and the phone as a rule's channel (phone interviews, worked in app/phone).

A rule with ``phone_use`` set has some people called by the satisfaction team instead of (or
after) a message: the planner asks ``phone_channel`` which; a call is due at the invitation's
``due_at`` (the next attempt time), always inside the rule's calling hours: local clock times
in the rule's time zone on the ISO weekdays it lists (1 Monday .. 7 Sunday). The dispatcher
never claims an invitation by phone: people work them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.distribution import channels
from app.distribution.windows import parse_clock, rule_zone
from app.models import Complainant, DistributionRule, InvitationChannel, PhoneUse

DEFAULT_HOURS = ("10:00", "18:00")
WEEKDAYS = (1, 2, 3, 4, 5)


def calling_hours(rule: DistributionRule) -> tuple[dt.time, dt.time]:
    try:
        return (parse_clock(rule.calling_hours_start or DEFAULT_HOURS[0]),
                parse_clock(rule.calling_hours_end or DEFAULT_HOURS[1]))
    except ValueError:  # validated where rules are edited; a bad one must not break a list
        return parse_clock(DEFAULT_HOURS[0]), parse_clock(DEFAULT_HOURS[1])


def _days(rule: DistributionRule) -> set[int]:
    return {int(day) for day in (rule.calling_days or WEEKDAYS) if 1 <= int(day) <= 7} or set(
        WEEKDAYS)


def in_calling_hours(moment: dt.datetime, rule: DistributionRule) -> bool:
    """Whether the aware instant ``moment`` is a time the rule lets people be called."""
    start, end = calling_hours(rule)
    local = moment.astimezone(rule_zone(rule))
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else (start == end or not end <= clock < start)
    return inside and local.isoweekday() in _days(rule)


def into_calling_hours(moment: dt.datetime, rule: DistributionRule) -> dt.datetime:
    """``moment`` if people may be called then, else the next opening of the calling hours on
    a calling day; aware UTC."""
    if in_calling_hours(moment, rule):
        return moment.astimezone(dt.UTC)
    zone = rule_zone(rule)
    start, _ = calling_hours(rule)
    day = moment.astimezone(zone).date()
    for _ in range(9):  # a week ahead, and a DST gap
        opening = dt.datetime.combine(day, start, tzinfo=zone).astimezone(dt.UTC)
        if opening > moment and in_calling_hours(opening, rule):
            return opening
        day += dt.timedelta(days=1)
    return moment.astimezone(dt.UTC)  # no calling day at all: never reached (validated)


def next_attempt(after: dt.datetime, rule: DistributionRule) -> dt.datetime:
    """When to call again after a failed call at ``after``: the rule's spacing, then into the
    calling hours."""
    return into_calling_hours(after + dt.timedelta(hours=rule.phone_hours_between), rule)


def phone_channel(rule: DistributionRule, person: Complainant,
                  usual: InvitationChannel | None, config: Any) -> InvitationChannel | None:
    """The channel of ``person``'s invitation under ``rule``: PHONE where the rule has people
    called, else ``usual`` (what the channels registry picked)."""
    use = rule.phone_use or PhoneUse.OFF
    if use == PhoneUse.OFF or not channels.contact(person, InvitationChannel.PHONE):
        return usual
    if use == PhoneUse.EVERYONE:
        return InvitationChannel.PHONE
    only_phone = not channels.contact(person, InvitationChannel.EMAIL)
    if use == PhoneUse.PHONE_ONLY and only_phone:
        return InvitationChannel.PHONE
    if use == PhoneUse.FALLBACK and usual is None:  # a phone number and no SMS gateway
        return InvitationChannel.PHONE
    return usual
