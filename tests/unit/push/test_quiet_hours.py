"""Quiet hours 21:00-08:00 in the recipient's local time; boundaries, other countries, several zones."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.push.quiet_hours import HOME_ZONE, is_quiet, next_send_time, recipient_zones

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")


def _local(zone: ZoneInfo, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=zone).astimezone(UTC)


@pytest.mark.parametrize(
    ("hour", "minute", "expected_day", "expected_hour", "expected_minute"),
    [
        (20, 59, 15, 20, 59),
        (21, 0, 16, 8, 0),
        (23, 30, 16, 8, 0),
        (0, 0, 15, 8, 0),
        (7, 59, 15, 8, 0),
        (8, 0, 15, 8, 0),
        (12, 0, 15, 12, 0),
    ],
)
def test_china_boundaries(
    hour: int, minute: int, expected_day: int, expected_hour: int, expected_minute: int
) -> None:
    """In Shanghai 20:59 and 08:00 send at once; 21:00, midnight and 07:59 wait for the next 08:00."""
    now = _local(SHANGHAI, 15, hour, minute)
    sent = next_send_time(now, recipient_zones("+8613800138000"))
    assert sent == _local(SHANGHAI, expected_day, expected_hour, expected_minute)
    assert sent.tzinfo is not None and sent.utcoffset() == now.utcoffset()


def test_plus86_is_shanghai_whatever_phonenumbers_says() -> None:
    """Every +86 number is on Shanghai time."""
    assert recipient_zones("+8618900189000") == (SHANGHAI,)


def test_us_number_uses_its_own_time_zone() -> None:
    """A New York number at 22:00 New York time waits for 08:00 New York time, not Shanghai's."""
    zones = recipient_zones("+12025550123")
    assert zones == (NEW_YORK,)
    now = _local(NEW_YORK, 15, 22)
    assert is_quiet(now, NEW_YORK) and not is_quiet(now, SHANGHAI)
    assert next_send_time(now, zones) == _local(NEW_YORK, 16, 8)


def test_us_number_in_its_daytime_is_sent_even_at_night_in_china() -> None:
    """10:00 in New York is 23:00 in Shanghai: a New York recipient is not in quiet hours."""
    now = _local(NEW_YORK, 15, 10)
    assert next_send_time(now, recipient_zones("+12025550123")) == now


def test_unplaceable_number_falls_back_to_shanghai() -> None:
    """A number phonenumbers cannot place (and a malformed one) uses Asia/Shanghai."""
    assert recipient_zones("+88234567890") == (HOME_ZONE,)
    assert recipient_zones("+0") == (HOME_ZONE,)


def test_several_zones_wait_until_daytime_in_all() -> None:
    """With New York and Tokyo possible, the send waits until it is daytime in both."""
    now = datetime(2026, 1, 15, 3, 0, tzinfo=UTC)  # 22:00 New York, 12:00 Tokyo
    sent = next_send_time(now, (NEW_YORK, TOKYO))
    assert sent == datetime(2026, 1, 15, 23, 0, tzinfo=UTC)  # 18:00 New York, 08:00 Tokyo
    assert not is_quiet(sent, NEW_YORK) and not is_quiet(sent, TOKYO)


def test_multi_zone_country_numbers_get_every_listed_zone() -> None:
    """A Russian mobile may be in many zones; all of them are considered."""
    zones = recipient_zones("+79161234567")
    assert ZoneInfo("Europe/Moscow") in zones and len(zones) > 5
    now = datetime(2026, 1, 15, 6, 0, tzinfo=UTC)
    sent = next_send_time(now, zones)
    assert all(not is_quiet(sent, zone) for zone in zones)
    assert sent >= now
