"""Consecutive-failure backoff per key, behind a protocol so the store can be shared.

:mod:`gateway.ratelimit` counts hits in a sliding window; authentication throttling needs what it
cannot give: a failure count that a success resets, a delay that doubles with each failure, and a
look at a key's state that does not count as an attempt. Semantics every implementation keeps:

- :meth:`FailureBackoff.failed` counts one failure of ``key``. The first ``policy.free`` consecutive
  failures cost nothing; failure ``free + k`` (k >= 1) blocks the key for
  ``min(policy.base * 2 ** (k - 1), policy.cap)`` seconds from now.
- :meth:`FailureBackoff.blocked` is the whole seconds (rounded up) the longest blocked of the given
  keys is still blocked, 0 when none is; looking does not count. One call looks at all of them
  (one round trip to a shared store).
- :meth:`FailureBackoff.reset` forgets the given keys (a success), in one call likewise. A key
  also forgets its failures ``policy.forget`` seconds after its last failure (plus any block still
  running).
- Keys are opaque; stores keep only their SHA-256 digests. A store that cannot answer raises
  :class:`~gateway.errors.Unavailable`.

:class:`InMemoryFailureBackoff` is process-local and driven by the injected clock;
:class:`RedisFailureBackoff` is shared by every process and follows Redis's clock.
"""

from __future__ import annotations

import hashlib
import heapq
import math
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis

from gateway.clock import Clock
from gateway.errors import shared_store_call

__all__ = ["BackoffPolicy", "FailureBackoff", "InMemoryFailureBackoff", "RedisFailureBackoff"]


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """Free failures, first delay and ceiling (seconds), and how long failures are remembered."""

    free: int
    base: float
    cap: float
    forget: float

    def delay(self, failures: int) -> float:
        """The block, in seconds, that the ``failures``-th consecutive failure starts."""
        if failures <= self.free:
            return 0.0
        return min(self.base * 2.0 ** min(failures - self.free - 1, 62), self.cap)


class FailureBackoff(Protocol):
    """Consecutive failures per key (see the module docstring for the exact rule)."""

    async def blocked(self, *keys: str) -> int:
        """Seconds the longest blocked of ``keys`` stays blocked (0: none is)."""
        ...

    async def failed(self, key: str, policy: BackoffPolicy) -> int:
        """Count a failure of ``key``; the seconds it is now blocked for (0: not blocked)."""
        ...

    async def reset(self, *keys: str) -> None:
        """Forget the failures of ``keys``."""
        ...


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


@dataclass(slots=True)
class _State:
    failures: int
    until: float
    expires_at: float


class InMemoryFailureBackoff:
    """Process-local store; memory is bounded by the keys that failed within their ``forget``."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._states: dict[bytes, _State] = {}
        self._expiry: list[tuple[float, bytes]] = []

    async def blocked(self, *keys: str) -> int:
        """See :meth:`FailureBackoff.blocked`."""
        now = self._purge()
        until = max((state.until for key in keys if (state := self._states.get(_digest(key)))), default=now)
        return math.ceil(until - now) if until > now else 0

    async def failed(self, key: str, policy: BackoffPolicy) -> int:
        """See :meth:`FailureBackoff.failed`."""
        now = self._purge()
        digest = _digest(key)
        state = self._states.get(digest)
        failures = (state.failures if state is not None else 0) + 1
        delay = policy.delay(failures)
        expires_at = now + delay + policy.forget
        self._states[digest] = _State(failures, now + delay, expires_at)
        heapq.heappush(self._expiry, (expires_at, digest))
        return math.ceil(delay)

    async def reset(self, *keys: str) -> None:
        """See :meth:`FailureBackoff.reset`."""
        for key in keys:
            self._states.pop(_digest(key), None)

    def _purge(self) -> float:
        now = self._clock.now().timestamp()
        while self._expiry and self._expiry[0][0] <= now:
            _, digest = heapq.heappop(self._expiry)
            state = self._states.get(digest)
            if state is not None and state.expires_at <= now:
                del self._states[digest]
        return now


_FAILED = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local failures = redis.call('HINCRBY', KEYS[1], 'n', 1)
local free, base_ms = tonumber(ARGV[1]), tonumber(ARGV[2])
local cap_ms, forget_ms = tonumber(ARGV[3]), tonumber(ARGV[4])
local delay_ms = 0
if failures > free then
  delay_ms = math.min(base_ms * 2 ^ math.min(failures - free - 1, 62), cap_ms)
end
redis.call('HSET', KEYS[1], 'until', now_ms + delay_ms)
redis.call('PEXPIRE', KEYS[1], math.floor(delay_ms + forget_ms))
return math.floor(delay_ms)
"""

_BLOCKED = """
local until_ms = 0
for _, key in ipairs(KEYS) do
  until_ms = math.max(until_ms, tonumber(redis.call('HGET', key, 'until') or '0'))
end
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
if until_ms > now_ms then return until_ms - now_ms end
return 0
"""


class RedisFailureBackoff:
    """A Redis hash per key (failure count, end of block), updated atomically by Lua scripts."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = "gw:backoff:") -> None:
        self._client = client
        self._failed = client.register_script(_FAILED)
        self._blocked = client.register_script(_BLOCKED)
        self._prefix = prefix

    def _name(self, key: str) -> str:
        return self._prefix + _digest(key).hex()

    async def blocked(self, *keys: str) -> int:
        """See :meth:`FailureBackoff.blocked`."""
        with shared_store_call():
            remaining_ms = await self._blocked(keys=[self._name(key) for key in keys])
        return math.ceil(int(remaining_ms) / 1000)

    async def failed(self, key: str, policy: BackoffPolicy) -> int:
        """See :meth:`FailureBackoff.failed`."""
        args = [policy.free, int(policy.base * 1000), int(policy.cap * 1000), int(policy.forget * 1000)]
        with shared_store_call():
            delay_ms = await self._failed(keys=[self._name(key)], args=args)
        return math.ceil(int(delay_ms) / 1000)

    async def reset(self, *keys: str) -> None:
        """See :meth:`FailureBackoff.reset`."""
        with shared_store_call():
            await self._client.delete(*(self._name(key) for key in keys))
