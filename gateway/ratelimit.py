"""Attempt counting: a sliding-window log per key, behind a protocol so the store can be shared.

Semantics every implementation keeps (the Redis one included):

- A hit on ``key`` at instant ``t`` is **allowed** iff fewer than ``limit`` allowed hits of
  ``key`` lie in the window ``(t - window_seconds, t]``. An allowed hit is recorded; a refused
  hit is not, so a caller hammering a closed key does not push its reopening further away, and
  at most ``limit`` hits of one key are allowed in any window.
- ``retry_after`` is 0 for an allowed hit; for a refused one, the whole seconds (rounded up, at
  least 1) until the oldest recorded hit leaves the window, i.e. until a hit would be allowed.
- A key is meant to be used with one ``(limit, window_seconds)`` pair. Changing them applies to
  the next hit; hits older than the window of the latest call may already be forgotten.
- Keys are opaque strings; stores keep only their SHA-256 digests. Callers put no personal data
  in keys anyway (use blind indexes).
- A store that cannot answer raises :class:`~gateway.errors.Unavailable`: a hit that cannot be
  counted is never "allowed".

:class:`InMemoryRateLimiter` is the single-process store, driven by the injected clock.
:class:`RedisRateLimiter` is shared by every gateway process; its window follows Redis's clock
(one clock for all processes), not the injected one.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

import redis.asyncio as aioredis

from gateway.clock import Clock
from gateway.errors import shared_store_call

__all__ = ["InMemoryRateLimiter", "RateDecision", "RateLimiter", "RedisRateLimiter"]


class RateDecision(NamedTuple):
    """The answer to one hit; unpacks as ``allowed, retry_after``."""

    allowed: bool
    retry_after: int


class RateLimiter(Protocol):
    """Counts hits per key in a sliding window (see the module docstring for the exact rule)."""

    async def hit(self, key: str, limit: int, window_seconds: int) -> RateDecision:
        """Count one hit of ``key`` if fewer than ``limit`` were allowed in the last ``window_seconds``.

        :raises ValueError: ``limit`` or ``window_seconds`` below 1.
        :raises Unavailable: the store cannot answer.
        """
        ...


@dataclass(slots=True)
class _Log:
    window: int
    hits: deque[float] = field(default_factory=deque)

    @property
    def expires_at(self) -> float:
        return self.hits[-1] + self.window if self.hits else 0.0


class InMemoryRateLimiter:
    """Process-local sliding-window log; memory is bounded by the hits still inside their window."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._logs: dict[bytes, _Log] = {}
        self._expiry: list[tuple[float, bytes]] = []

    async def hit(self, key: str, limit: int, window_seconds: int) -> RateDecision:
        """See :meth:`RateLimiter.hit`."""
        if limit < 1 or window_seconds < 1:
            raise ValueError("limit and window_seconds must be at least 1")
        now = self._clock.now().timestamp()
        self._purge(now)
        digest = hashlib.sha256(key.encode()).digest()
        log = self._logs.setdefault(digest, _Log(window_seconds))
        hits = log.hits
        while hits and hits[0] <= now - window_seconds:
            hits.popleft()
        if len(hits) >= limit:
            self._set_window(digest, log, window_seconds)
            oldest = hits[len(hits) - limit]
            return RateDecision(False, max(1, math.ceil(oldest + window_seconds - now)))
        hits.append(now)
        log.window = window_seconds
        heapq.heappush(self._expiry, (log.expires_at, digest))
        return RateDecision(True, 0)

    def _set_window(self, digest: bytes, log: _Log, window_seconds: int) -> None:
        if log.window != window_seconds:
            log.window = window_seconds
            heapq.heappush(self._expiry, (log.expires_at, digest))

    def _purge(self, now: float) -> None:
        while self._expiry and self._expiry[0][0] <= now:
            _, digest = heapq.heappop(self._expiry)
            log = self._logs.get(digest)
            if log is not None and log.expires_at <= now:
                del self._logs[digest]


_SLIDING_WINDOW = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local window_ms = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms - window_ms)
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
  return {0, tonumber(oldest[2]) + window_ms - now_ms}
end
redis.call('ZADD', KEYS[1], now_ms, now_ms .. ':' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], window_ms)
return {1, 0}
"""


class RedisRateLimiter:
    """The sliding-window log as a Redis sorted set per key, updated atomically by one Lua script.

    Hits are scored in milliseconds of Redis's own clock; the key expires with its window.
    """

    def __init__(self, client: aioredis.Redis, *, prefix: str = "gw:rate:") -> None:
        self._script = client.register_script(_SLIDING_WINDOW)
        self._prefix = prefix

    async def hit(self, key: str, limit: int, window_seconds: int) -> RateDecision:
        """See :meth:`RateLimiter.hit`."""
        if limit < 1 or window_seconds < 1:
            raise ValueError("limit and window_seconds must be at least 1")
        name = self._prefix + hashlib.sha256(key.encode()).hexdigest()
        with shared_store_call():
            allowed, wait_ms = await self._script(
                keys=[name], args=[window_seconds * 1000, limit, secrets.token_hex(6)]
            )
        if allowed:
            return RateDecision(True, 0)
        return RateDecision(False, max(1, math.ceil(int(wait_ms) / 1000)))
