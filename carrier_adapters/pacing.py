"""How fast submissions go to one operator: an async token bucket.

:class:`TokenBucket` allows at most ``rate`` acquisitions a second, bursts of ``burst``. A bucket
lives in one process: N processes together send up to N times the rate. The push dispatcher paces
the HTTP dialects with one per operator; the binary-protocol channels pace their sessions with one
(the operator's 流速) and lower its rate while the operator answers flow control.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

__all__ = ["TokenBucket"]


class TokenBucket:
    """An async token bucket; waiters are served in arrival order."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = max(1.0, burst if burst is not None else rate)
        self._tokens = self.burst
        self._monotonic = monotonic
        self._sleep = sleep
        self._updated = monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    async def acquire(self) -> None:
        """Wait until a token is available and take it."""
        async with self._lock:
            self._refill()
            while self._tokens < 1:
                await self._sleep((1 - self._tokens) / self.rate)
                self._refill()
            self._tokens -= 1
