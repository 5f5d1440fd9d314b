"""The retry policy as the workers configure it: the push dispatcher's equal jitter, and the webhook
worker's full jitter with its 1 h cap, Retry-After and 24 h cutoff."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from gateway.retry import RetryPolicy, parse_retry_after
from gateway.webhooks.worker import RETRY

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def _push(base: float, cap: float, rng: random.Random) -> RetryPolicy:
    """The dispatcher's policy (:class:`gateway.push.dispatch.Dispatcher`)."""
    return RetryPolicy(base=base, cap=cap, jitter=0.5, rand=rng.random)


@pytest.mark.parametrize("attempt", range(1, 12))
def test_push_backoff_stays_between_half_and_all_of_the_ceiling(attempt: int) -> None:
    """Attempt n waits within [c/2, c] for c = min(cap, base * 2**(n-1))."""
    ceiling = min(600.0, 2.0 * 2 ** (attempt - 1))
    policy = _push(2.0, 600.0, random.Random(attempt))
    for _ in range(50):
        delay = policy.delay(attempt)
        assert ceiling / 2 <= delay <= ceiling


def test_push_backoff_grows_and_is_capped() -> None:
    """Delays double up to the cap and never exceed it, even for huge attempt counts."""
    lows = [_push(1.0, 60.0, random.Random(0)).delay(n) for n in range(1, 8)]
    assert lows == sorted(lows)
    assert _push(1.0, 60.0, random.Random(1)).delay(10_000) <= 60.0


def test_push_backoff_is_jittered() -> None:
    """Two workers retrying the same attempt do not wait the same time."""
    policy = _push(2.0, 600.0, random.Random(7))
    assert len({policy.delay(5) for _ in range(20)}) > 10


def test_push_backoff_has_no_window() -> None:
    """Without a window a retry is always scheduled (the message's TTL decides when to stop)."""
    policy = RetryPolicy(base=2.0, cap=600.0, jitter=0.5, rand=lambda: 1.0)
    later = T0 + timedelta(days=30)
    assert policy.next_attempt(failed_at=later, failures=3, first_attempt=T0) == later + timedelta(seconds=8)


@pytest.mark.parametrize(
    ("base", "cap", "jitter", "floor"),
    [(0.0, 1.0, 1.0, 0.0), (1.0, -1.0, 1.0, 0.0), (1.0, 2.0, 1.5, 0.0), (1.0, 2.0, 1.0, -1.0)],
)
def test_a_policy_out_of_range_is_refused(base: float, cap: float, jitter: float, floor: float) -> None:
    """A non-positive base or cap, jitter outside [0, 1] or a negative floor is a configuration error."""
    with pytest.raises(ValueError):
        RetryPolicy(base=base, cap=cap, jitter=jitter, floor=floor)


def test_ceilings_double_from_5_seconds_up_to_the_1_hour_cap() -> None:
    """The largest wait doubles from 5 s after each failure and stays at 1 h once it gets there."""
    policy = RETRY
    assert [policy.ceiling(n) for n in range(1, 13)] == [
        5,
        10,
        20,
        40,
        80,
        160,
        320,
        640,
        1280,
        2560,
        3600,
        3600,
    ]
    assert policy.ceiling(10_000) == 3600


@pytest.mark.parametrize("failures", [1, 2, 5, 11, 40])
def test_full_jitter_spans_the_floor_to_the_ceiling(failures: int) -> None:
    """Waits are uniform up to the ceiling with a 1 s floor: the extremes are reachable, nothing
    exceeds the ceiling and nothing is shorter than a second."""
    ceiling = RETRY.ceiling(failures)
    assert replace(RETRY, rand=lambda: 0.0).delay(failures) == 1.0
    assert replace(RETRY, rand=lambda: 1.0).delay(failures) == ceiling
    samples = [RETRY.delay(failures) for _ in range(2000)]
    assert all(1.0 <= s <= ceiling for s in samples)
    assert min(samples) < max(1.0, ceiling * 0.05) + 0.25 and max(samples) > ceiling * 0.9


def test_retry_after_raises_the_wait_but_not_past_the_cap() -> None:
    """A Retry-After longer than the jittered wait wins, up to the 1 h cap."""
    policy = replace(RETRY, rand=lambda: 0.0)
    assert policy.delay(1, retry_after=120) == 120
    assert policy.delay(1, retry_after=0) == 1.0
    assert policy.delay(1, retry_after=86_400) == 3600
    assert replace(RETRY, rand=lambda: 1.0).delay(3, retry_after=1) == 20


def test_a_failure_before_the_window_ends_is_rescheduled() -> None:
    """A failure inside the window schedules the next attempt after the jittered wait."""
    policy = replace(RETRY, rand=lambda: 1.0)
    assert policy.next_attempt(first_attempt=T0, failed_at=T0, failures=1) == T0 + timedelta(seconds=5)
    later = T0 + timedelta(hours=3)
    assert policy.next_attempt(first_attempt=T0, failed_at=later, failures=20) == later + timedelta(hours=1)


def test_the_last_wait_is_clipped_to_the_24_hour_mark() -> None:
    """A wait that would run past 24 h after the first attempt ends exactly at the 24 h mark."""
    policy = replace(RETRY, rand=lambda: 1.0)
    failed_at = T0 + timedelta(hours=23, minutes=30)
    assert policy.next_attempt(first_attempt=T0, failed_at=failed_at, failures=30) == T0 + timedelta(hours=24)


def test_no_retry_after_a_failure_at_or_past_24_hours() -> None:
    """The attempt at the 24 h mark (or later) is the last one."""
    policy = RETRY
    for late in (timedelta(hours=24), timedelta(hours=24, seconds=1), timedelta(days=3)):
        assert policy.next_attempt(first_attempt=T0, failed_at=T0 + late, failures=35) is None


@pytest.mark.parametrize("rand", [0.01, 0.5, 1.0])
def test_the_whole_schedule_ends_exactly_24_hours_after_the_first_attempt(rand: float) -> None:
    """Following the schedule from the first failure always ends with an attempt at exactly 24 h,
    every wait within its ceiling and none below the floor."""
    policy = replace(RETRY, rand=lambda: rand)
    attempts, failures = [T0], 1
    while nxt := policy.next_attempt(first_attempt=T0, failed_at=attempts[-1], failures=failures):
        wait = nxt - attempts[-1]
        assert wait <= timedelta(seconds=policy.ceiling(failures))
        assert wait >= timedelta(seconds=1) or nxt == T0 + timedelta(hours=24)
        attempts.append(nxt)
        failures += 1
    assert attempts[-1] == T0 + timedelta(hours=24)
    if rand == 1.0:
        assert len(attempts) == 34
        assert attempts[1:4] == [T0 + timedelta(seconds=s) for s in (5, 15, 35)]


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("Tue, 24 Nov 2026 08:02:00 GMT", 120.0),
        ("Tue, 24 Nov 2026 07:00:00 GMT", 0.0),
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_values(value: str | None, seconds: float | None) -> None:
    """Retry-After is read as delta-seconds or an HTTP-date (a past date means now); junk is ignored."""
    assert parse_retry_after(value, T0) == seconds
