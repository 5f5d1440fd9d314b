"""Backoff delays and the per-operator token bucket."""

from __future__ import annotations

import random

import pytest

from gateway.push.pacing import TokenBucket, backoff_delay


@pytest.mark.parametrize("attempt", range(1, 12))
def test_backoff_stays_between_half_and_all_of_the_ceiling(attempt: int) -> None:
    """Attempt n waits within [c/2, c] for c = min(cap, base * 2**(n-1))."""
    ceiling = min(600.0, 2.0 * 2 ** (attempt - 1))
    rng = random.Random(attempt)
    for _ in range(50):
        delay = backoff_delay(attempt, base=2.0, cap=600.0, rng=rng)
        assert ceiling / 2 <= delay <= ceiling


def test_backoff_grows_and_is_capped() -> None:
    """Delays double up to the cap and never exceed it, even for huge attempt counts."""
    rng = random.Random(1)
    lows = [backoff_delay(n, base=1.0, cap=60.0, rng=random.Random(0)) for n in range(1, 8)]
    assert lows == sorted(lows)
    assert backoff_delay(10_000, base=1.0, cap=60.0, rng=rng) <= 60.0


def test_backoff_is_jittered() -> None:
    """Two workers retrying the same attempt do not wait the same time."""
    rng = random.Random(7)
    assert len({backoff_delay(5, base=2.0, cap=600.0, rng=rng) for _ in range(20)}) > 10


async def test_token_bucket_allows_a_burst_then_paces() -> None:
    """A bucket of rate 2/s hands out its burst at once, then one token per half second."""
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(2.0, monotonic=lambda: now[0], sleep=sleep)
    await bucket.acquire()
    await bucket.acquire()
    assert slept == []
    await bucket.acquire()
    await bucket.acquire()
    assert slept == pytest.approx([0.5, 0.5])
    now[0] += 10
    await bucket.acquire()
    assert len(slept) == 2


def test_token_bucket_rejects_a_non_positive_rate() -> None:
    """A zero rate is a configuration error."""
    with pytest.raises(ValueError):
        TokenBucket(0)
