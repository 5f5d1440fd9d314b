"""When a failed attempt is tried again: one exponential backoff policy for every retrying worker.

After ``failures`` failed attempts the ceiling is ``min(cap, base * 2**(failures-1))`` and the
wait is drawn uniformly from ``[ceiling * (1 - jitter), ceiling]``: ``jitter=1`` is "full
jitter" (the webhook worker), ``jitter=0.5`` "equal jitter" (the push dispatcher), so workers
retrying together spread out. The wait is never below ``floor``. A ``Retry-After`` from the other
side raises the wait to at least that many seconds, up to ``cap``.

A policy with a ``window`` stops retrying that long after the first attempt: the last wait is
clipped to end exactly at the window's end, and a failure at or after it is final. A caller with
its own deadline (a push message's TTL) compares :meth:`RetryPolicy.next_attempt` with it.

The schedules live in the database (``next_attempt_at`` columns), so this computes times rather
than sleeping; ``rand`` (a float in [0, 1]) is injected for tests.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

__all__ = ["RetryPolicy", "parse_retry_after"]

_SYSTEM_RANDOM = secrets.SystemRandom()


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """See the module docstring.

    :raises ValueError: on a ``base`` or ``cap`` that is not positive, ``jitter`` outside [0, 1]
        or a negative ``floor``.
    """

    base: float
    cap: float
    jitter: float = 1.0
    floor: float = 0.0
    window: timedelta | None = None
    rand: Callable[[], float] = field(default=_SYSTEM_RANDOM.random, compare=False)

    def __post_init__(self) -> None:
        if self.base <= 0 or self.cap <= 0:
            raise ValueError("retry base and cap must be positive")
        if not 0.0 <= self.jitter <= 1.0 or self.floor < 0:
            raise ValueError("retry jitter must be within [0, 1] and floor not negative")

    def ceiling(self, failures: int) -> float:
        """The longest wait after ``failures`` failed attempts (1 for the first failure)."""
        return min(self.cap, self.base * 2.0 ** min(max(failures, 1) - 1, 62))

    def delay(self, failures: int, retry_after: float | None = None) -> float:
        """A jittered wait in seconds after ``failures`` failed attempts."""
        ceiling = self.ceiling(failures)
        wait = max(self.floor, ceiling * (1.0 - self.jitter) + self.rand() * ceiling * self.jitter)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.cap))
        return wait

    def next_attempt(
        self,
        *,
        failed_at: datetime,
        failures: int,
        first_attempt: datetime | None = None,
        retry_after: float | None = None,
    ) -> datetime | None:
        """When to try again after the attempt at ``failed_at`` failed; None once the window is over.

        ``first_attempt`` (default ``failed_at``) starts the window; it is ignored without one.
        """
        wait = timedelta(seconds=self.delay(failures, retry_after))
        if self.window is None:
            return failed_at + wait
        deadline = (first_attempt or failed_at) + self.window
        if failed_at >= deadline:
            return None
        return min(failed_at + wait, deadline)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP-date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())
