"""Authentication throttling: the consecutive-failure backoff stores (in memory and Redis) and the
AuthThrottle keys, which block a (principal, address) pair or an address but never a principal
everywhere."""

from __future__ import annotations

import asyncio
import secrets

import pytest
import redis.asyncio as aioredis

from gateway.auth_throttle import AuthThrottle, Throttled
from gateway.failure_backoff import BackoffPolicy, InMemoryFailureBackoff, RedisFailureBackoff
from tests.ports import free_port
from tests.stack import SettableClock

POLICY = BackoffPolicy(free=2, base=1.0, cap=4.0, forget=60.0)


def test_the_delay_doubles_after_the_free_failures_up_to_the_cap() -> None:
    """Failures 1-2 are free, then 1, 2, 4, 4 s; huge counts stay at the cap."""
    assert [POLICY.delay(n) for n in range(1, 7)] == [0.0, 0.0, 1.0, 2.0, 4.0, 4.0]
    assert POLICY.delay(10_000) == 4.0


async def test_in_memory_backoff_blocks_resets_and_forgets() -> None:
    """Blocks grow per failure, looking does not count, a reset starts over, and failures are
    forgotten after a quiet period."""
    clock = SettableClock(frozen=True)
    store = InMemoryFailureBackoff(clock)
    assert [await store.failed("k", POLICY) for _ in range(4)] == [0, 0, 1, 2]
    assert await store.blocked("k") == 2 and await store.blocked("k") == 2
    assert await store.blocked("other") == 0
    clock.advance(2.5)
    assert await store.blocked("k") == 0
    assert await store.failed("k", POLICY) == 4
    await store.reset("k")
    assert await store.blocked("k") == 0 and await store.failed("k", POLICY) == 0
    await store.failed("k", POLICY)
    clock.advance(POLICY.forget + 1)
    assert await store.failed("k", POLICY) == 0


async def test_redis_backoff_is_shared_atomic_and_keeps_no_raw_keys(redis_url: str) -> None:
    """Ten concurrent failures from two clients (two processes) count ten; the block follows Redis's
    clock; reset clears it; the stored key is a digest."""
    prefix = f"gw:test:{secrets.token_hex(4)}:"
    first, second = aioredis.from_url(redis_url), aioredis.from_url(redis_url)
    try:
        stores = [RedisFailureBackoff(first, prefix=prefix), RedisFailureBackoff(second, prefix=prefix)]
        policy = BackoffPolicy(free=8, base=1.0, cap=1.0, forget=60.0)
        delays = await asyncio.gather(*(stores[n % 2].failed("client|addr", policy) for n in range(10)))
        assert sorted(delays) == [0] * 8 + [1, 1]
        assert await stores[1].blocked("client|addr") == 1
        assert not [key async for key in first.scan_iter(match=prefix + "*client*")]
        await asyncio.sleep(1.1)
        assert await stores[0].blocked("client|addr") == 0
        assert await stores[0].failed("client|addr", policy) == 1
        await stores[1].reset("client|addr")
        assert await stores[0].blocked("client|addr") == 0
        assert await stores[0].failed("client|addr", policy) == 0
    finally:
        await first.aclose()
        await second.aclose()


def _throttle() -> tuple[AuthThrottle, SettableClock]:
    clock = SettableClock(frozen=True)
    per_principal = BackoffPolicy(free=3, base=1.0, cap=300.0, forget=3600.0)
    per_address = BackoffPolicy(free=10, base=1.0, cap=900.0, forget=3600.0)
    store = InMemoryFailureBackoff(clock)
    return AuthThrottle(store, per_principal=per_principal, per_address=per_address), clock


async def test_failures_from_one_address_do_not_block_the_client_elsewhere() -> None:
    """Four failures for client c from address A block (c, A) only: c from B and d from A pass."""
    throttle, _ = _throttle()
    for _ in range(4):
        await throttle.check("c", "203.0.113.7")
        await throttle.failed("c", "203.0.113.7")
    with pytest.raises(Throttled) as caught:
        await throttle.check("c", "203.0.113.7")
    assert caught.value.retry_after == 1
    await throttle.check("c", "198.51.100.9")
    await throttle.check("d", "203.0.113.7")


async def test_an_address_trying_many_clients_is_blocked_for_all_of_them() -> None:
    """Eleven failures from A, each for another client id, block A for every client; B is untouched."""
    throttle, _ = _throttle()
    for n in range(11):
        await throttle.failed(f"guess-{n}", "203.0.113.8")
    with pytest.raises(Throttled):
        await throttle.check("real-client", "203.0.113.8")
    await throttle.check("real-client", "198.51.100.9")


async def test_success_resets_and_the_block_expires() -> None:
    """The block ends with its delay; a success then clears the count, so the next failure is free."""
    throttle, clock = _throttle()
    for _ in range(5):
        await throttle.failed("c", "203.0.113.9")
    with pytest.raises(Throttled) as caught:
        await throttle.check("c", "203.0.113.9")
    assert caught.value.retry_after == 2
    clock.advance(2)
    await throttle.check("c", "203.0.113.9")
    await throttle.succeeded("c", "203.0.113.9")
    assert await throttle.failed("c", "203.0.113.9") == 0
    await throttle.check("c", "203.0.113.9")


async def test_an_unreachable_store_throttles_nothing() -> None:
    """With Redis down, check, failed and succeeded neither raise nor block (logged instead)."""
    client = aioredis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
    try:
        throttle = AuthThrottle(RedisFailureBackoff(client))
        for _ in range(40):
            await throttle.check("c", "203.0.113.10")
            assert await throttle.failed("c", "203.0.113.10") == 0
        await throttle.succeeded("c", "203.0.113.10")
    finally:
        await client.aclose()
