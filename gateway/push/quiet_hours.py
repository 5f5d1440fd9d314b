"""Quiet hours for marketing SMS (contract §6; china-operators.md §7.7): none from 21:00 to 08:00.

The clock is the recipient's: ``Asia/Shanghai`` for ``+86`` numbers, otherwise the time zones
phonenumbers' geocoding data gives for the number; a number it cannot place (``Etc/Unknown``)
falls back to ``Asia/Shanghai``, the gateway's home market. When a number may be in several
zones (``+7``, ``+61`` mobiles), the send must be outside quiet hours in every one of them, so a
message waits for the earliest moment that is daytime everywhere (two 13-hour days always overlap,
so that moment comes within a day). A send inside quiet hours is scheduled, never dropped.
21:00 is quiet, 08:00 is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as number_timezones

__all__ = ["HOME_ZONE", "QUIET_END", "QUIET_START", "is_quiet", "next_send_time", "recipient_zones"]

QUIET_START = time(21, 0)
QUIET_END = time(8, 0)
HOME_ZONE = ZoneInfo("Asia/Shanghai")
_UNKNOWN = "Etc/Unknown"


def recipient_zones(e164: str) -> tuple[ZoneInfo, ...]:
    """The time zones the recipient of ``e164`` may be in (at least one)."""
    if e164.startswith("+86"):
        return (HOME_ZONE,)
    try:
        names = number_timezones.time_zones_for_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return (HOME_ZONE,)
    zones: list[ZoneInfo] = []
    for name in names:
        if name == _UNKNOWN:
            continue
        try:
            zones.append(ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return tuple(zones) or (HOME_ZONE,)


def is_quiet(moment: datetime, zone: ZoneInfo) -> bool:
    """Whether ``moment`` (timezone-aware) falls in quiet hours at ``zone``'s wall clock."""
    local = moment.astimezone(zone).time()
    return local >= QUIET_START or local < QUIET_END


def _next_morning(moment: datetime, zone: ZoneInfo) -> datetime:
    local_day = moment.astimezone(zone).date()
    for offset in range(3):
        candidate = datetime.combine(local_day + timedelta(days=offset), QUIET_END, tzinfo=zone)
        if candidate > moment:
            return candidate.astimezone(moment.tzinfo)
    raise AssertionError("unreachable: a morning lies within three days")


def next_send_time(now: datetime, zones: Sequence[ZoneInfo]) -> datetime:
    """``now`` if it is outside quiet hours in every zone, else the earliest such moment after it."""
    if not any(is_quiet(now, zone) for zone in zones):
        return now
    for candidate in sorted(_next_morning(now, zone) for zone in zones):
        if not any(is_quiet(candidate, zone) for zone in zones):
            return candidate
    raise AssertionError("unreachable: 13-hour days in any two zones overlap")
