"""The dashboard's date range: whole days in Asia/Shanghai, at most :data:`MAX_DAYS` of them.

Every figure of the dashboard belongs to the Shanghai day its row was created on (a message to the
day it was accepted, a usage row to the day of the call), so the same range gives the same figures
whatever the viewer's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from gateway.errors import InvalidArgument, OutOfRange

__all__ = ["MAX_DAYS", "SHANGHAI", "Period", "shanghai_today"]

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_DAYS = 92
"""A quarter: the longest range one request may ask for."""


def shanghai_today(now: datetime) -> date:
    """The Shanghai calendar day of the instant ``now``."""
    return now.astimezone(SHANGHAI).date()


@dataclass(frozen=True, slots=True)
class Period:
    """The Shanghai days ``first`` to ``last``, both included."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise InvalidArgument("to: must not be before from.")
        if self.days > MAX_DAYS:
            raise OutOfRange(f"The range is at most {MAX_DAYS} days.")

    @classmethod
    def parse(cls, first: str | None, last: str | None, *, now: datetime, default_days: int = 7) -> Period:
        """The range of two ``YYYY-MM-DD`` strings; a missing ``last`` is today in Shanghai, a missing
        ``first`` ``default_days`` days up to ``last``.

        :raises InvalidArgument: a malformed day, or ``last`` before ``first``.
        :raises OutOfRange: more than :data:`MAX_DAYS` days.
        """
        end = _day("to", last) if last else shanghai_today(now)
        start = _day("from", first) if first else end - timedelta(days=default_days - 1)
        return cls(start, end)

    @property
    def days(self) -> int:
        """How many days the range holds."""
        return (self.last - self.first).days + 1

    @property
    def start(self) -> datetime:
        """The first instant of the range (midnight in Shanghai), as UTC."""
        return datetime.combine(self.first, time(), SHANGHAI).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The first instant after the range, as UTC."""
        return datetime.combine(self.last + timedelta(days=1), time(), SHANGHAI).astimezone(UTC)

    def each_day(self) -> list[date]:
        """Every day of the range, in order."""
        return [self.first + timedelta(days=n) for n in range(self.days)]


def _day(name: str, text: str) -> date:
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidArgument(f"{name}: a day as YYYY-MM-DD.") from exc
