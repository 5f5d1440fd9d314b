"""The single-use marker stores: in-process and Redis."""

from __future__ import annotations

import asyncio
import secrets

import redis.asyncio as aioredis

from gateway.replay import InMemoryReplayCache, RedisReplayCache, ReplayCache
from tests.stack import SettableClock


async def test_first_claim_wins_until_expiry() -> None:
    """A key is claimable once until its TTL passes, then again."""
    clock = SettableClock()
    cache = InMemoryReplayCache(clock)
    assert await cache.claim("k", 60)
    assert not await cache.claim("k", 60)
    clock.advance(61)
    assert await cache.claim("k", 60)


async def test_redis_claims_are_shared_atomic_and_expire(redis_url: str) -> None:
    """Two clients (two processes' views) racing for one key: exactly one wins; it expires in Redis."""
    prefix = f"gw:test:{secrets.token_hex(4)}:"
    first, second = aioredis.from_url(redis_url), aioredis.from_url(redis_url)
    try:
        caches = [RedisReplayCache(first, prefix=prefix), RedisReplayCache(second, prefix=prefix)]
        results = await asyncio.gather(*(caches[n % 2].claim("one_tap:cmcc:TOKEN", 0.3) for n in range(20)))
        assert results.count(True) == 1
        stored = [key async for key in first.scan_iter(match=prefix + "*")]
        assert len(stored) == 1 and b"TOKEN" not in stored[0]
        await asyncio.sleep(0.4)
        assert await caches[1].claim("one_tap:cmcc:TOKEN", 0.3)
    finally:
        await first.aclose()
        await second.aclose()


async def test_a_released_claim_can_be_made_again(redis_url: str) -> None:
    """Both stores: ``release`` forgets a claim (a token that never left), other keys stay claimed."""
    client = aioredis.from_url(redis_url)
    try:
        stores: list[ReplayCache] = [
            InMemoryReplayCache(SettableClock()),
            RedisReplayCache(client, prefix=f"gw:test:{secrets.token_hex(4)}:"),
        ]
        for cache in stores:
            assert await cache.claim("a", 60) and await cache.claim("b", 60)
            await cache.release("a")
            assert await cache.claim("a", 60)
            assert not await cache.claim("b", 60)
    finally:
        await client.aclose()
