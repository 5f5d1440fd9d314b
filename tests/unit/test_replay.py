"""The in-process single-use marker store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.replay import InMemoryReplayCache


class _Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


async def test_first_claim_wins_until_expiry() -> None:
    """A key is claimable once until its TTL passes, then again."""
    clock = _Clock()
    cache = InMemoryReplayCache(clock)
    assert await cache.claim("k", 60)
    assert not await cache.claim("k", 60)
    clock.at += timedelta(seconds=61)
    assert await cache.claim("k", 60)
