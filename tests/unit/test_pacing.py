"""The per-operator token bucket."""

from __future__ import annotations

import pytest

from carrier_adapters.pacing import TokenBucket


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
