"""The in-process single-use marker store."""

from __future__ import annotations

from gateway.replay import InMemoryReplayCache
from tests.stack import SettableClock


async def test_first_claim_wins_until_expiry() -> None:
    """A key is claimable once until its TTL passes, then again."""
    clock = SettableClock()
    cache = InMemoryReplayCache(clock)
    assert await cache.claim("k", 60)
    assert not await cache.claim("k", 60)
    clock.advance(61)
    assert await cache.claim("k", 60)
