"""Single-use markers: SDK tokens, client-assertion ``jti`` values, later link tokens.

:meth:`ReplayCache.claim` is atomic: exactly one caller wins a key until it expires. Keys are
stored as SHA-256 digests, so the cache never holds a raw token. :class:`InMemoryReplayCache`
serves the single-process default; :class:`RedisReplayCache` is shared by every gateway process
(``GATEWAY_REDIS_URL``), which several processes require: a marker only one process knows lets
the same token through another.
"""

from __future__ import annotations

import hashlib
import heapq
import math
from typing import Protocol

import redis.asyncio as aioredis

from gateway.clock import Clock
from gateway.errors import shared_store_call

__all__ = ["InMemoryReplayCache", "RedisReplayCache", "ReplayCache"]


class ReplayCache(Protocol):
    """An atomic set-if-absent with expiry."""

    async def claim(self, key: str, ttl_seconds: float) -> bool:
        """True for the first claim of ``key`` within ``ttl_seconds``, False for a replay."""
        ...

    async def release(self, key: str) -> None:
        """Forget a claim whose token was never spent (the request never left), so it may be used again."""
        ...


class InMemoryReplayCache:
    """Process-local replay cache with lazy expiry (bounded by live keys only)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._expiry: dict[bytes, float] = {}
        self._heap: list[tuple[float, bytes]] = []

    async def claim(self, key: str, ttl_seconds: float) -> bool:
        """See :meth:`ReplayCache.claim`."""
        now = self._clock.now().timestamp()
        self._purge(now)
        digest = hashlib.sha256(key.encode()).digest()
        if self._expiry.get(digest, 0.0) > now:
            return False
        expires = now + ttl_seconds
        self._expiry[digest] = expires
        heapq.heappush(self._heap, (expires, digest))
        return True

    async def release(self, key: str) -> None:
        """See :meth:`ReplayCache.release`."""
        self._expiry.pop(hashlib.sha256(key.encode()).digest(), None)

    def _purge(self, now: float) -> None:
        while self._heap and self._heap[0][0] <= now:
            expires, digest = heapq.heappop(self._heap)
            if self._expiry.get(digest) == expires:
                del self._expiry[digest]


class RedisReplayCache:
    """Replay cache in Redis: ``SET key 1 NX PX ttl`` is the atomic claim.

    Expiry follows Redis's clock, not the gateway's injected clock; TTLs are rounded up to the
    millisecond. A Redis that cannot be reached or does not answer in time raises
    :class:`~gateway.errors.Unavailable` (a claim that cannot be made is never a "yes").
    """

    def __init__(self, client: aioredis.Redis, *, prefix: str = "gw:replay:") -> None:
        self._client = client
        self._prefix = prefix

    async def claim(self, key: str, ttl_seconds: float) -> bool:
        """See :meth:`ReplayCache.claim`."""
        ttl_ms = max(1, math.ceil(ttl_seconds * 1000))
        with shared_store_call():
            return bool(await self._client.set(self._name(key), b"1", nx=True, px=ttl_ms))

    async def release(self, key: str) -> None:
        """See :meth:`ReplayCache.release`."""
        with shared_store_call():
            await self._client.delete(self._name(key))

    def _name(self, key: str) -> str:
        return self._prefix + hashlib.sha256(key.encode()).hexdigest()
