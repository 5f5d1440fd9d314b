"""When a failed delivery is tried again: exponential backoff with full jitter inside a retry window.

After the n-th failed attempt the next one waits ``uniform(0, min(cap, base * 2**(n-1)))``
(AWS "full jitter": 5 s, 10 s, 20 s … capped at 1 h by default), but never less than ``floor``
(1 s), so an unlucky draw cannot turn into a tight loop. A ``Retry-After`` on a 429 or 503
answer raises the wait to at least that many seconds (capped too). Attempts go on until
``window`` (24 h) after the *first* attempt: the last wait is clipped to end exactly at the
window's end, so the final attempt happens at the 24 h mark and the delivery fails only after it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

__all__ = ["RetryPolicy", "parse_retry_after"]

_SYSTEM_RANDOM = secrets.SystemRandom()


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


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """See the module docstring; ``rand`` returns a float in [0, 1] (injected for tests)."""

    base: float = 5.0
    cap: float = 3600.0
    floor: float = 1.0
    window: timedelta = timedelta(hours=24)
    rand: Callable[[], float] = field(default=_SYSTEM_RANDOM.random, compare=False)

    def ceiling(self, failures: int) -> float:
        """The largest wait after ``failures`` failed attempts (``failures`` >= 1)."""
        return min(self.cap, self.base * 2.0 ** min(failures - 1, 62))

    def delay(self, failures: int, retry_after: float | None = None) -> float:
        """A jittered wait in seconds after ``failures`` failed attempts."""
        wait = max(self.floor, self.rand() * self.ceiling(failures))
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.cap))
        return wait

    def next_attempt(
        self,
        *,
        first_attempt: datetime,
        failed_at: datetime,
        failures: int,
        retry_after: float | None = None,
    ) -> datetime | None:
        """When to try again after the attempt at ``failed_at`` failed; None once the window is over."""
        deadline = first_attempt + self.window
        if failed_at >= deadline:
            return None
        return min(failed_at + timedelta(seconds=self.delay(failures, retry_after)), deadline)
