"""Single-use markers: SDK tokens, client-assertion ``jti`` values, later link tokens.

:meth:`ReplayCache.claim` is atomic: exactly one caller wins a key until it expires. Keys are
stored as SHA-256 digests, so the cache never holds a raw token. This in-process implementation
serves the single-process default; a shared store replaces it for several processes.
"""

from __future__ import annotations

import hashlib
import heapq
from typing import Protocol

from gateway.clock import Clock

__all__ = ["InMemoryReplayCache", "ReplayCache"]


class ReplayCache(Protocol):
    """An atomic set-if-absent with expiry."""

    async def claim(self, key: str, ttl_seconds: float) -> bool:
        """True for the first claim of ``key`` within ``ttl_seconds``, False for a replay."""
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

    def _purge(self, now: float) -> None:
        while self._heap and self._heap[0][0] <= now:
            expires, digest = heapq.heappop(self._heap)
            if self._expiry.get(digest) == expires:
                del self._expiry[digest]
