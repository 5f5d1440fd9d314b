"""What every operator knows about its lines: who it serves, SIM and device history, retention.

``docs/operator-dialects.md``, "Common line-information rules". The operators differ only in how
they put these answers on the wire.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Final

from sandbox.config import Operator
from sandbox.numbers import from_national
from sandbox.state import SandboxState, Subscriber

__all__ = [
    "RETENTION_HOURS",
    "Disclosure",
    "History",
    "LineStatus",
    "device_history",
    "find_line",
    "sim_history",
]

RETENTION_HOURS: Final[Mapping[Operator, int]] = MappingProxyType({"cmcc": 2400, "cucc": 720, "ctcc": 1440})


class LineStatus(enum.Enum):
    """Whether an operator serves a number for its line-information APIs."""

    SERVED = "served"
    UNKNOWN = "unknown"
    """Not registered, or registered with another operator."""
    NOT_ELIGIBLE = "not_eligible"


class Disclosure(enum.Enum):
    """What a history answer may say."""

    DISCLOSED = "disclosed"
    OUTSIDE_WINDOW = "outside_window"
    """The latest event is older than the operator's retention window: no date."""
    NO_RECORD = "no_record"
    """No event at all (a line never seen in a device)."""


@dataclass(frozen=True, slots=True)
class History:
    """A history answer; ``at`` and ``is_change`` are set only when ``DISCLOSED``.

    ``is_change`` is False when the event is the line's activation rather than a change.
    """

    disclosure: Disclosure
    at: datetime | None = None
    is_change: bool = False


def find_line(state: SandboxState, national: str, operator: Operator) -> tuple[LineStatus, Subscriber | None]:
    """The line of an 11-digit national number at ``operator``; the subscriber only when ``SERVED``."""
    subscriber = state.subscribers.get(from_national(national))
    if subscriber is None or subscriber.operator != operator:
        return LineStatus.UNKNOWN, None
    if not subscriber.eligible:
        return LineStatus.NOT_ELIGIBLE, None
    return LineStatus.SERVED, subscriber


def sim_history(subscriber: Subscriber, operator: Operator, now: datetime) -> History:
    """The latest SIM change, else the activation, as far as ``operator``'s window allows."""
    changed_at = subscriber.sim_changed_at
    if changed_at is not None:
        return _disclose(changed_at, True, operator, now)
    return _disclose(subscriber.activated_at, False, operator, now)


def device_history(subscriber: Subscriber, operator: Operator, now: datetime) -> History:
    """The latest device change, else the activation if the line was ever in a device, else no record."""
    changed_at = subscriber.device_changed_at
    if changed_at is not None:
        return _disclose(changed_at, True, operator, now)
    if subscriber.imei is None:
        return History(Disclosure.NO_RECORD)
    return _disclose(subscriber.activated_at, False, operator, now)


def _disclose(at: datetime, is_change: bool, operator: Operator, now: datetime) -> History:
    if now - at > timedelta(hours=RETENTION_HOURS[operator]):
        return History(Disclosure.OUTSIDE_WINDOW)
    return History(Disclosure.DISCLOSED, at, is_change)
