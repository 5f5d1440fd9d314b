"""InMemoryRateLimiter: the sliding-window semantics of gateway.ratelimit, on a manual clock."""

from __future__ import annotations

import pytest

from gateway.ratelimit import InMemoryRateLimiter, RateDecision
from tests.clocks import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def limiter(clock: ManualClock) -> InMemoryRateLimiter:
    return InMemoryRateLimiter(clock)


async def test_allows_limit_hits_then_refuses(limiter: InMemoryRateLimiter) -> None:
    """Exactly ``limit`` hits are allowed inside one window; the next is refused."""
    answers = [await limiter.hit("k", 3, 60) for _ in range(4)]
    assert answers == [RateDecision(True, 0)] * 3 + [RateDecision(False, 60)]


async def test_window_slides_with_the_oldest_hit(limiter: InMemoryRateLimiter, clock: ManualClock) -> None:
    """A slot reopens when the oldest allowed hit leaves the window, not at a fixed boundary."""
    assert (await limiter.hit("k", 2, 60)).allowed
    clock.advance(30)
    assert (await limiter.hit("k", 2, 60)).allowed
    clock.advance(20)
    assert await limiter.hit("k", 2, 60) == RateDecision(False, 10)
    clock.advance(10)
    assert (await limiter.hit("k", 2, 60)).allowed
    assert await limiter.hit("k", 2, 60) == RateDecision(False, 30)


async def test_retry_after_rounds_up_to_whole_seconds(
    limiter: InMemoryRateLimiter, clock: ManualClock
) -> None:
    """A fractional wait is reported rounded up, and never below one second."""
    await limiter.hit("k", 1, 10)
    clock.advance(8.2)
    assert await limiter.hit("k", 1, 10) == RateDecision(False, 2)
    clock.advance(1.79)
    assert await limiter.hit("k", 1, 10) == RateDecision(False, 1)


async def test_refused_hits_do_not_extend_the_lockout(
    limiter: InMemoryRateLimiter, clock: ManualClock
) -> None:
    """Hammering a closed key does not count: it reopens when the allowed hits expire."""
    await limiter.hit("k", 1, 60)
    for _ in range(50):
        clock.advance(1)
        assert not (await limiter.hit("k", 1, 60)).allowed
    clock.advance(10)
    assert (await limiter.hit("k", 1, 60)).allowed


async def test_keys_are_independent(limiter: InMemoryRateLimiter) -> None:
    """Hits on one key leave every other key untouched."""
    await limiter.hit("a", 1, 60)
    assert not (await limiter.hit("a", 1, 60)).allowed
    assert (await limiter.hit("b", 1, 60)).allowed


async def test_a_hit_exactly_one_window_old_has_left(
    limiter: InMemoryRateLimiter, clock: ManualClock
) -> None:
    """The window is half-open: a hit ``window_seconds`` ago no longer counts."""
    await limiter.hit("k", 1, 60)
    clock.advance(60)
    assert (await limiter.hit("k", 1, 60)).allowed


async def test_lowering_the_limit_applies_at_once(limiter: InMemoryRateLimiter, clock: ManualClock) -> None:
    """With a lower limit, the wait runs until enough hits have left for one more to fit."""
    for _ in range(3):
        await limiter.hit("k", 5, 60)
        clock.advance(10)
    assert await limiter.hit("k", 2, 60) == RateDecision(False, 40)


async def test_expired_keys_are_forgotten(limiter: InMemoryRateLimiter, clock: ManualClock) -> None:
    """Memory holds only keys with hits inside their window."""
    for n in range(100):
        await limiter.hit(f"k{n}", 5, 30)
    clock.advance(31)
    await limiter.hit("fresh", 5, 30)
    assert len(limiter._logs) == 1


async def test_raw_keys_are_not_stored(limiter: InMemoryRateLimiter) -> None:
    """The store holds digests of keys, never the keys themselves."""
    await limiter.hit("login-check|t|number|secret-ish", 1, 60)
    assert all(b"secret-ish" not in digest for digest in limiter._logs)


@pytest.mark.parametrize(("limit", "window"), [(0, 60), (1, 0), (-1, 10)])
async def test_nonsense_parameters_are_refused(limiter: InMemoryRateLimiter, limit: int, window: int) -> None:
    """A limit or window below one is a programming error."""
    with pytest.raises(ValueError):
        await limiter.hit("k", limit, window)
