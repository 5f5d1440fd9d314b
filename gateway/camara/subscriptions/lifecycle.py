"""The subscription state machine, as pure functions over :class:`Standing` (no I/O, no clock).

=========  ==========================================  ==========  ===============================
status     happening                                   new status  notifications
=========  ==========================================  ==========  ===============================
ACTIVE     a SIM change newer than ``last_seen``,      ACTIVE      ``swapped`` (time: the change)
           before the subscription's end
ACTIVE     ... and it is event ``subscriptionMaxEvents``  EXPIRED  ``swapped``, then
                                                                   ``subscription-ended``
                                                                   MAX_EVENTS_REACHED
ACTIVE     ``subscriptionExpireTime`` reached          EXPIRED     ``subscription-ended``
                                                                   SUBSCRIPTION_EXPIRED
ACTIVE     the sink credential's                       EXPIRED     ``subscription-ended``
           ``accessTokenExpiresUtc`` reached                       ACCESS_TOKEN_EXPIRED
ACTIVE     ``DELETE`` by the client                    DELETED     ``subscription-ended``
                                                                   SUBSCRIPTION_DELETED
ACTIVE     the sink answered 410 Gone                  DELETED     none (the sink asked for none)
EXPIRED,   anything                                    unchanged   none
DELETED
=========  ==========================================  ==========  ===============================

The end of a subscription is the earlier of its expiry and its sink token's expiry. A poll that
runs after the end still reports a change that happened before it (then ends the subscription);
a change at or after the end is never reported. Two changes between two polls are one event
(the operator's history shows only the latest). A change the gateway saw at creation (the
line's activation or an earlier swap) is the baseline and never an event.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

__all__ = [
    "Notice",
    "Outcome",
    "Standing",
    "Status",
    "Termination",
    "delete",
    "next_poll",
    "observe",
    "sink_gone",
]


class Status(enum.StrEnum):
    """The CAMARA ``status`` values this gateway uses (it creates subscriptions synchronously)."""

    ACTIVE = "ACTIVE"
    EXPIRED = "EXPIRED"
    DELETED = "DELETED"


class Termination(enum.StrEnum):
    """Why a subscription ended; every value but ``SINK_GONE`` is a CAMARA ``terminationReason``."""

    MAX_EVENTS_REACHED = "MAX_EVENTS_REACHED"
    SUBSCRIPTION_EXPIRED = "SUBSCRIPTION_EXPIRED"
    ACCESS_TOKEN_EXPIRED = "ACCESS_TOKEN_EXPIRED"  # noqa: S105 (a reason, not a secret)  # nosec B105
    SUBSCRIPTION_DELETED = "SUBSCRIPTION_DELETED"
    SINK_GONE = "SINK_GONE"
    """The sink answered 410; recorded only, never notified."""


@dataclass(frozen=True, slots=True)
class Standing:
    """What the machine needs to know of one subscription (datetimes timezone-aware)."""

    status: Status
    events_sent: int = 0
    max_events: int | None = None
    expires_at: datetime | None = None
    token_expires_at: datetime | None = None
    last_seen: datetime | None = None

    def end(self) -> tuple[datetime, Termination] | None:
        """When and why the subscription ends by itself, if it does."""
        ends = []
        if self.expires_at is not None:
            ends.append((self.expires_at, Termination.SUBSCRIPTION_EXPIRED))
        if self.token_expires_at is not None:
            ends.append((self.token_expires_at, Termination.ACCESS_TOKEN_EXPIRED))
        return min(ends, key=lambda end: end[0]) if ends else None


@dataclass(frozen=True, slots=True)
class Notice:
    """A notification to send: ``swapped`` or ``subscription-ended`` (with its ``reason``)."""

    ended: bool
    at: datetime
    reason: Termination | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """The standing after a happening, the notifications it causes (in order) and any termination."""

    standing: Standing
    notices: tuple[Notice, ...] = ()
    termination: Termination | None = None


def _ended(
    standing: Standing, status: Status, reason: Termination, at: datetime, notices: list[Notice]
) -> Outcome:
    if reason is not Termination.SINK_GONE:
        notices.append(Notice(ended=True, at=at, reason=reason))
    return Outcome(replace(standing, status=status), tuple(notices), reason)


def observe(
    standing: Standing, now: datetime, latest_change: datetime | None, *, known: bool = True
) -> Outcome:
    """A poll at ``now`` read ``latest_change`` from the operator (``known=False``: no usable answer)."""
    if standing.status is not Status.ACTIVE:
        return Outcome(standing)
    end = standing.end()
    notices: list[Notice] = []
    newer = (
        known
        and latest_change is not None
        and (standing.last_seen is None or latest_change > standing.last_seen)
        and (end is None or latest_change < end[0])
    )
    if newer and latest_change is not None:
        standing = replace(standing, events_sent=standing.events_sent + 1, last_seen=latest_change)
        notices.append(Notice(ended=False, at=latest_change))
        if standing.max_events is not None and standing.events_sent >= standing.max_events:
            return _ended(standing, Status.EXPIRED, Termination.MAX_EVENTS_REACHED, now, notices)
    if end is not None and now >= end[0]:
        return _ended(standing, Status.EXPIRED, end[1], end[0], notices)
    return Outcome(standing, tuple(notices))


def delete(standing: Standing, now: datetime) -> Outcome:
    """The client deleted the subscription at ``now``."""
    if standing.status is not Status.ACTIVE:
        return Outcome(standing)
    return _ended(standing, Status.DELETED, Termination.SUBSCRIPTION_DELETED, now, [])


def sink_gone(standing: Standing, now: datetime) -> Outcome:
    """The sink answered 410 Gone at ``now``."""
    if standing.status is not Status.ACTIVE:
        return Outcome(standing)
    return _ended(standing, Status.DELETED, Termination.SINK_GONE, now, [])


def next_poll(standing: Standing, now: datetime, interval: timedelta) -> datetime:
    """When to look at the subscription next: after ``interval``, or at its end if that is sooner."""
    end = standing.end()
    due = now + interval
    return due if end is None else max(now, min(due, end[0]))
