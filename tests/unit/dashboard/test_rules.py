"""The dashboard's pure rules: the date range in Shanghai days, the latency buckets and nearest-rank
percentiles, when a rollup day is due again, and the identity CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from gateway.dashboard.export import HEADER, identity_csv
from gateway.dashboard.models import latency_bucket
from gateway.dashboard.period import MAX_DAYS, Period
from gateway.dashboard.rollups import HORIZON, TODAY_AGE, WARM_AGE, YESTERDAY_AGE, is_due
from gateway.dashboard.service import IdentityRow, capability_family, nearest_rank
from gateway.errors import InvalidArgument, OutOfRange

NOW = datetime(2026, 3, 10, 2, 30, tzinfo=UTC)
"""10:30 in Shanghai on 10 March."""


def test_a_period_is_whole_shanghai_days() -> None:
    """A range starts at midnight in Shanghai (16:00 UTC the day before) and ends at the midnight
    after its last day."""
    period = Period(date(2026, 3, 1), date(2026, 3, 2))
    assert period.start == datetime(2026, 2, 28, 16, tzinfo=UTC)
    assert period.end == datetime(2026, 3, 2, 16, tzinfo=UTC)
    assert period.days == 2
    assert period.each_day() == [date(2026, 3, 1), date(2026, 3, 2)]


def test_parse_defaults_to_the_last_seven_shanghai_days() -> None:
    """Without bounds the range is the seven days up to today in Shanghai; late in the UTC evening
    today is already the next Shanghai day."""
    assert Period.parse(None, None, now=NOW) == Period(date(2026, 3, 4), date(2026, 3, 10))
    evening = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)
    assert Period.parse(None, None, now=evening).last == date(2026, 3, 11)
    assert Period.parse("2026-01-01", "2026-01-31", now=NOW).days == 31
    assert Period.parse(None, "2026-01-31", now=NOW, default_days=30).first == date(2026, 1, 2)


def test_at_most_a_quarter() -> None:
    """92 days are accepted, 93 are OUT_OF_RANGE."""
    assert Period(date(2026, 1, 1), date(2026, 1, 1) + timedelta(days=MAX_DAYS - 1)).days == 92
    with pytest.raises(OutOfRange):
        Period(date(2026, 1, 1), date(2026, 1, 1) + timedelta(days=MAX_DAYS))


@pytest.mark.parametrize(("first", "last"), [("2026-1-1", None), ("yesterday", None), (None, "2026-02-30")])
def test_malformed_days_are_refused(first: str | None, last: str | None) -> None:
    """A day is YYYY-MM-DD and exists."""
    with pytest.raises(InvalidArgument):
        Period.parse(first, last, now=NOW)


def test_the_end_before_the_start_is_refused() -> None:
    """``to`` before ``from`` is INVALID_ARGUMENT."""
    with pytest.raises(InvalidArgument):
        Period.parse("2026-03-02", "2026-03-01", now=NOW)


@pytest.mark.parametrize(
    ("ms", "bucket"),
    [
        (-5, 0),
        (0, 0),
        (99, 99),
        (100, 100),
        (109, 100),
        (999, 990),
        (1000, 1000),
        (2437, 2400),
        (86_399_999, 86_000_000),
    ],
)
def test_latency_buckets_keep_two_significant_digits(ms: int, bucket: int) -> None:
    """Below 100 ms exact, above cut to two significant digits; a negative delay is 0."""
    assert latency_bucket(ms) == bucket


def test_nearest_rank_percentiles_of_a_histogram() -> None:
    """The value at rank ⌈p·n/100⌉: of 1..10, p50 is 5 and p95 is 10; repeated values count each time."""
    assert nearest_rank([(v, 1) for v in range(1, 11)], 50) == 5
    assert nearest_rank([(v, 1) for v in range(1, 11)], 95) == 10
    assert nearest_rank([(100, 19), (200, 1)], 95) == 100
    assert nearest_rank([(100, 18), (200, 2)], 95) == 200
    assert nearest_rank([], 50) is None


def test_rollup_days_are_due_by_age_until_final() -> None:
    """Today is recomputed after two minutes, yesterday after ten, older days after an hour; a day
    whose horizon has passed is due once more (its final computation), a final day never; a day a
    dead-letter retry reopened is due by age until the reopening ends, then once more."""
    today, yesterday, older = date(2026, 3, 10), date(2026, 3, 9), date(2026, 3, 5)
    assert is_due(today, None, False, NOW)
    assert not is_due(today, NOW - TODAY_AGE + timedelta(seconds=1), False, NOW)
    assert is_due(today, NOW - TODAY_AGE, False, NOW)
    assert not is_due(yesterday, NOW - TODAY_AGE, False, NOW)
    assert is_due(yesterday, NOW - YESTERDAY_AGE, False, NOW)
    assert not is_due(older, NOW - YESTERDAY_AGE, False, NOW)
    assert is_due(older, NOW - WARM_AGE, False, NOW)
    settled = date(2026, 2, 20)
    assert datetime(2026, 2, 20, 16, tzinfo=UTC) + HORIZON <= NOW
    assert is_due(settled, NOW - timedelta(seconds=1), False, NOW)
    assert not is_due(settled, NOW - timedelta(days=30), True, NOW)
    reopened = NOW + timedelta(hours=3)
    assert not is_due(settled, NOW - timedelta(minutes=5), False, NOW, reopened)
    assert is_due(settled, NOW - WARM_AGE, False, NOW, reopened)
    assert is_due(settled, NOW - timedelta(seconds=1), False, reopened, reopened)


def test_capability_families() -> None:
    """Usage capabilities group into one-tap, CAMARA and verification."""
    assert capability_family("one_tap_login") == "one_tap"
    assert capability_family("camara_sim_swap_check") == "camara"
    assert capability_family("verify_sms") == "verify"
    assert capability_family("something_else") == "other"


def test_identity_csv_opens_in_excel_with_chinese() -> None:
    """UTF-8 with a byte-order mark, CRLF rows, the bilingual header, then one row per entry with the
    operator's Chinese name; it reads back with the csv module."""
    rows = [
        IdentityRow(date(2026, 3, 9), "cmcc", "one_tap_login", 12, 11),
        IdentityRow(date(2026, 3, 9), "ctcc", "verify_sms", 3, 3),
    ]
    data = identity_csv(rows)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text.endswith("\r\n") and text.count("\r\n") == 3
    parsed = list(csv.reader(io.StringIO(text)))
    assert tuple(parsed[0]) == HEADER and parsed[0][0] == "日期 day"
    assert parsed[1] == ["2026-03-09", "cmcc", "中国移动", "one_tap", "one_tap_login", "12", "11"]
    assert parsed[2] == ["2026-03-09", "ctcc", "中国电信", "verify", "verify_sms", "3", "3"]
    assert identity_csv([]).decode("utf-8-sig") == ",".join(HEADER) + "\r\n"
