"""How fast the dispatch worker sends and how long it waits after a failure.

- :class:`TokenBucket`: at most ``rate`` submissions a second to one operator, bursts of ``burst``.
  The bucket lives in one process: N dispatch processes together send up to N times the rate.
- :func:`backoff_delay`: exponential backoff with "equal jitter": attempt n waits between half and
  all of ``min(cap, base * 2**(n-1))``, so delays grow yet workers retrying together spread out.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable

__all__ = ["TokenBucket", "backoff_delay"]


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1 for the first failure)."""
    ceiling = min(cap, base * 2.0 ** min(max(attempt, 1) - 1, 62))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


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
