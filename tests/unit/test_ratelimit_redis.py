"""RedisRateLimiter: the sliding-window semantics of gateway.ratelimit, shared through Redis."""

from __future__ import annotations

import asyncio
import secrets

import pytest
import redis.asyncio as aioredis

from gateway.ratelimit import RateDecision, RedisRateLimiter


async def test_limit_holds_across_clients_and_the_window_slides(redis_url: str) -> None:
    """Concurrent hits from two clients (two processes) allow exactly ``limit``; refused hits are not
    recorded, retry_after counts to the oldest hit's exit, and the slot reopens after the window."""
    prefix = f"gw:test:{secrets.token_hex(4)}:"
    first, second = aioredis.from_url(redis_url), aioredis.from_url(redis_url)
    try:
        limiters = [RedisRateLimiter(first, prefix=prefix), RedisRateLimiter(second, prefix=prefix)]
        answers = await asyncio.gather(*(limiters[n % 2].hit("phone|t1|abc", 3, 1) for n in range(10)))
        assert [a.allowed for a in answers].count(True) == 3
        assert all(a == RateDecision(False, 1) for a in answers if not a.allowed)
        assert [key async for key in first.scan_iter(match=prefix + "*")] != []
        assert not [key async for key in first.scan_iter(match=prefix + "*phone*")]
        await asyncio.sleep(1.1)
        assert (await limiters[1].hit("phone|t1|abc", 3, 1)).allowed
        assert (await limiters[0].hit("other", 1, 1)).allowed
    finally:
        await first.aclose()
        await second.aclose()


async def test_bad_limits_are_refused(redis_url: str) -> None:
    """A limit or window below 1 is a programming error, not a silent allow."""
    client = aioredis.from_url(redis_url)
    try:
        with pytest.raises(ValueError, match="at least 1"):
            await RedisRateLimiter(client).hit("k", 0, 60)
    finally:
        await client.aclose()
