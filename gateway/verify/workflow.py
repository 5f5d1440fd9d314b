"""The verification workflow as a state machine, free of storage and I/O.

A request runs its steps in order; one step is ``active`` at a time and has a deadline
(``channelTimeout`` seconds from its start). A step ends ``completed`` (the request completes),
``failed`` (off-network, operator unavailable, number mismatch, SMS refused), ``skipped``
(``POST …/next``) or ``expired`` (its deadline passed); any end but ``completed`` starts the next
step, and after the last step the request ends ``expired`` when that step timed out, else
``failed``. :data:`MAX_WRONG_CODES` wrong codes fail the request at once; at most
:data:`MAX_SENDS` codes are sent per request (``next`` on the last SMS step sends a new code while
sends remain). A cancelled request keeps its untried steps ``waiting``.

Each transition returns an :class:`Effects`: whether a new code must be sent for the now active
step, and the webhook event the request's end publishes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

__all__ = [
    "MAX_SENDS",
    "MAX_STEPS",
    "MAX_WRONG_CODES",
    "Channel",
    "Effects",
    "Status",
    "Step",
    "StepOutcome",
    "StepStatus",
    "Verification",
    "WorkflowConflict",
]

MAX_STEPS: Final = 3
MAX_SENDS: Final = 3
MAX_WRONG_CODES: Final = 5


class Channel(enum.StrEnum):
    """How a step proves the number: the operator's network authentication, or a code by SMS."""

    NETWORK = "network"
    SMS = "sms"


class Status(enum.StrEnum):
    """A request's state; every value but ``pending`` is final."""

    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class StepStatus(enum.StrEnum):
    """A step's state."""

    WAITING = "waiting"
    ACTIVE = "active"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class WorkflowConflict(Exception):
    """The transition does not apply to the request's state (the message says why)."""


@dataclass(frozen=True, slots=True)
class Step:
    """One step as requested."""

    channel: Channel
    template_id: str | None = None


@dataclass(slots=True)
class StepOutcome:
    """What happened to one step; ``reason`` is a short word for failures, never personal data."""

    status: StepStatus = StepStatus.WAITING
    started_at: datetime | None = None
    ended_at: datetime | None = None
    reason: str | None = None

    def as_json(self) -> dict[str, str | None]:
        """The stored (and answered) shape."""
        return {
            "status": self.status.value,
            "startedAt": _iso(self.started_at),
            "endedAt": _iso(self.ended_at),
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: dict[str, str | None]) -> StepOutcome:
        """The inverse of :meth:`as_json`."""
        return cls(
            StepStatus(data["status"] or StepStatus.WAITING),
            _parse(data.get("startedAt")),
            _parse(data.get("endedAt")),
            data.get("reason"),
        )


@dataclass(frozen=True, slots=True)
class Effects:
    """What the caller must do after a transition."""

    send_code: bool = False
    event: str | None = None


@dataclass(slots=True)
class Verification:
    """A request's workflow state; transitions mutate it and return their :class:`Effects`."""

    steps: tuple[Step, ...]
    timeout: timedelta
    status: Status = Status.PENDING
    current: int = 0
    deadline: datetime | None = None
    sends: int = 0
    wrong_codes: int = 0
    outcomes: list[StepOutcome] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.outcomes:
            self.outcomes = [StepOutcome() for _ in self.steps]

    @property
    def step(self) -> Step:
        """The active (or last active) step."""
        return self.steps[self.current]

    @property
    def attempts_left(self) -> int:
        """Wrong codes still allowed before the request fails."""
        return max(0, MAX_WRONG_CODES - self.wrong_codes)

    def on(self, channel: Channel) -> bool:
        """Whether the request is pending with a step of ``channel`` active."""
        return self.status is Status.PENDING and self.step.channel is channel

    def start(self, now: datetime) -> Effects:
        """Activate the first step."""
        return self._activate(0, now)

    def complete(self, now: datetime) -> Effects:
        """The active step proved the number."""
        self._require_pending()
        self._end(StepStatus.COMPLETED, None, now)
        self.status = Status.COMPLETED
        return Effects(event="verify.completed")

    def fail_step(self, reason: str, now: datetime) -> Effects:
        """The active step cannot prove the number; the next step starts."""
        self._require_pending()
        return self._advance(StepStatus.FAILED, reason, now)

    def abort(self, reason: str, now: datetime) -> Effects:
        """The active step failed in a way its caller was told of directly: the request fails
        without a webhook."""
        self._require_pending()
        self._end(StepStatus.FAILED, reason, now)
        self.status = Status.FAILED
        return Effects()

    def expire_step(self, now: datetime) -> Effects:
        """The active step's deadline passed; the next step starts."""
        self._require_pending()
        return self._advance(StepStatus.EXPIRED, "timeout", now)

    def wrong_code(self, now: datetime) -> Effects:
        """A wrong code: the request fails at the :data:`MAX_WRONG_CODES`-th."""
        self._require_pending()
        self.wrong_codes += 1
        if self.wrong_codes < MAX_WRONG_CODES:
            return Effects()
        self._end(StepStatus.FAILED, "too_many_attempts", now)
        self.status = Status.FAILED
        return Effects(event="verify.failed")

    def skip(self, now: datetime) -> Effects:
        """``POST …/next``: the next step, or a new code on a last SMS step while sends remain.

        :raises WorkflowConflict: the request is not pending, or nothing is left to try.
        """
        self._require_pending()
        if self.current + 1 < len(self.steps):
            if self._sms_ahead() and self.sends >= MAX_SENDS:
                raise WorkflowConflict(f"At most {MAX_SENDS} codes are sent per request.")
            return self._advance(StepStatus.SKIPPED, None, now)
        if self.step.channel is not Channel.SMS:
            raise WorkflowConflict("The workflow has no further step.")
        if self.sends >= MAX_SENDS:
            raise WorkflowConflict(f"At most {MAX_SENDS} codes are sent per request.")
        self.deadline = now + self.timeout
        return Effects(send_code=True)

    def cancel(self, now: datetime) -> Effects:
        """The tenant cancelled the request."""
        self._require_pending()
        self._end(StepStatus.CANCELLED, None, now)
        self.status = Status.CANCELLED
        return Effects()

    def _sms_ahead(self) -> bool:
        return self.steps[self.current + 1].channel is Channel.SMS

    def _require_pending(self) -> None:
        if self.status is not Status.PENDING:
            raise WorkflowConflict(f"The verification request is {self.status.value}.")

    def _activate(self, index: int, now: datetime) -> Effects:
        self.current = index
        self.outcomes[index] = StepOutcome(StepStatus.ACTIVE, now)
        self.deadline = now + self.timeout
        return Effects(send_code=self.steps[index].channel is Channel.SMS)

    def _end(self, status: StepStatus, reason: str | None, now: datetime) -> None:
        outcome = self.outcomes[self.current]
        outcome.status, outcome.ended_at, outcome.reason = status, now, reason
        self.deadline = None

    def _advance(self, status: StepStatus, reason: str | None, now: datetime) -> Effects:
        self._end(status, reason, now)
        following = self.current + 1
        if following < len(self.steps) and not (self._sms_ahead() and self.sends >= MAX_SENDS):
            return self._activate(following, now)
        self.status = Status.EXPIRED if status is StepStatus.EXPIRED else Status.FAILED
        return Effects(event="verify.failed")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
