"""The hand-moved clock of unit tests (``tests.stack.SettableClock`` is the wall-time one)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["ManualClock", "ManualMonotonic"]


class ManualClock:
    """A clock that stands still at ``start`` (a fixed instant by default) until a test moves it."""

    def __init__(self, start: datetime = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)) -> None:
        self.current = start

    def now(self) -> datetime:
        """The current instant."""
        return self.current

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.current += timedelta(seconds=seconds)


class ManualMonotonic:
    """Monotonic seconds (a ``time.monotonic`` stand-in) that only move when a test sets ``now``."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now
