"""Per-operator circuit breakers: stop calling an operator that is down, and probe it back.

One :class:`CircuitBreaker` per operator, kept by :class:`OperatorCircuits` inside the operator
transport (:class:`gateway.outbound.GuardedTransport`, which admits and records every call), so the
state is **per process**:

- ``closed``: every call goes out. The circuit opens after ``failure_threshold`` consecutive
  failures, or when at least ``min_calls`` calls ended in the last ``window_seconds`` and the
  share of failures among them reached ``failure_ratio``.
- ``open``: every call is refused at once (:class:`CircuitOpenError`, with the seconds left of the
  cooldown) for ``cooldown_seconds``.
- ``half_open``: after the cooldown, up to ``half_open_probes`` calls go out at once, the others
  are refused; a probe's success closes the circuit, its failure opens it for another cooldown.

A failure is a call the operator did not answer usefully: refused or dropped connection, timeout
(the transport raises ``CarrierTimeout``), HTTP 5xx. A 4xx or a business "no" is an answer, hence
a success; a call abandoned for another reason (its caller went away) counts as neither. Results
of calls admitted before the latest state change are ignored, so a slow call from before an
opening cannot close or re-open the circuit.

Why per process rather than shared (e.g. in Redis): the evidence (timeouts, refused connections)
is local and arrives within a second or two in every busy process, a shared breaker would put a
Redis round trip and a new failure mode in front of every operator call, and a process whose own
network path works should keep using it. The cost is that each of N workers spends its own
``failure_threshold`` calls to notice an outage and its own probe to notice the recovery.
"""

from __future__ import annotations

import enum
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.settings import Settings

__all__ = [
    "CallResult",
    "CircuitBreaker",
    "CircuitOpenError",
    "CircuitPolicy",
    "CircuitState",
    "OperatorCircuits",
    "StateListener",
    "Ticket",
    "circuit_policy",
]

_BUCKETS = 10


class CircuitState(enum.StrEnum):
    """Where a circuit stands."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CallResult(enum.Enum):
    """How one admitted call ended, as far as the operator's health is concerned."""

    SUCCESS = "success"
    FAILURE = "failure"
    IGNORED = "ignored"


@dataclass(frozen=True, slots=True)
class CircuitPolicy:
    """When a circuit opens and how it closes again (see the module docstring).

    :raises ValueError: on a threshold, count or duration below 1 (or 0 for durations), or a
        ratio outside (0, 1].
    """

    failure_threshold: int = 5
    failure_ratio: float = 0.5
    min_calls: int = 20
    window_seconds: float = 30.0
    cooldown_seconds: float = 10.0
    half_open_probes: int = 1

    def __post_init__(self) -> None:
        if min(self.failure_threshold, self.min_calls, self.half_open_probes) < 1:
            raise ValueError("failure_threshold, min_calls and half_open_probes must be at least 1")
        if not 0 < self.failure_ratio <= 1:
            raise ValueError("failure_ratio must be in (0, 1]")
        if self.window_seconds <= 0 or self.cooldown_seconds <= 0:
            raise ValueError("window_seconds and cooldown_seconds must be positive")


def circuit_policy(settings: Settings) -> CircuitPolicy:
    """The policy of settings ``OPERATOR_CIRCUIT_*`` (the rest keeps :class:`CircuitPolicy` defaults)."""
    return CircuitPolicy(
        failure_threshold=settings.operator_circuit_threshold,
        failure_ratio=settings.operator_circuit_failure_ratio,
        window_seconds=settings.operator_circuit_window_seconds,
        cooldown_seconds=settings.operator_circuit_cooldown_seconds,
    )


class CircuitOpenError(Exception):
    """The circuit refused the call; ``retry_after`` is the seconds until it admits a probe (0 when a
    probe is already under way)."""

    def __init__(self, name: str, retry_after: float) -> None:
        super().__init__(f"circuit of {name} is open")
        self.name = name
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Ticket:
    """An admitted call; hand it back to :meth:`CircuitBreaker.record` exactly once."""

    generation: int
    probe: bool


StateListener = Callable[[str, CircuitState], None]


class CircuitBreaker:
    """The circuit of one operator; ``clock`` returns monotonic seconds. Not thread-safe (one loop)."""

    def __init__(
        self,
        name: str,
        policy: CircuitPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
        listener: StateListener | None = None,
    ) -> None:
        self.name = name
        self.policy = policy
        self._clock = clock
        self._listener = listener
        self._state = CircuitState.CLOSED
        self._generation = 0
        self._consecutive = 0
        self._opened_at = 0.0
        self._probes = 0
        self._window: deque[list[int]] = deque()
        self._width = policy.window_seconds / _BUCKETS
        self._calls = 0
        self._failures = 0

    @property
    def state(self) -> CircuitState:
        """The current state; an open circuit whose cooldown has passed reads ``half_open``."""
        if self._state is CircuitState.OPEN and self._cooldown_left() <= 0:
            self._change(CircuitState.HALF_OPEN)
        return self._state

    def admit(self) -> Ticket:
        """Admit one call, or refuse it.

        :raises CircuitOpenError: the circuit is open, or half-open with every probe slot taken.
        """
        state = self.state
        if state is CircuitState.CLOSED:
            return Ticket(self._generation, probe=False)
        if state is CircuitState.OPEN:
            raise CircuitOpenError(self.name, self._cooldown_left())
        if self._probes >= self.policy.half_open_probes:
            raise CircuitOpenError(self.name, 0.0)
        self._probes += 1
        return Ticket(self._generation, probe=True)

    def record(self, ticket: Ticket, result: CallResult) -> None:
        """Account for how an admitted call ended (see the module docstring)."""
        if ticket.generation != self._generation:
            return
        if ticket.probe:
            self._probes -= 1
            if result is CallResult.SUCCESS:
                self._change(CircuitState.CLOSED)
            elif result is CallResult.FAILURE:
                self._open()
            return
        if result is CallResult.IGNORED:
            return
        failed = result is CallResult.FAILURE
        self._consecutive = self._consecutive + 1 if failed else 0
        self._count(failed)
        if self._consecutive >= self.policy.failure_threshold or self._ratio_reached():
            self._open()

    def _cooldown_left(self) -> float:
        return self._opened_at + self.policy.cooldown_seconds - self._clock()

    def _count(self, failed: bool) -> None:
        bucket = math.floor(self._clock() / self._width)
        oldest = bucket - _BUCKETS + 1
        while self._window and self._window[0][0] < oldest:
            _, calls, failures = self._window.popleft()
            self._calls -= calls
            self._failures -= failures
        if not self._window or self._window[-1][0] != bucket:
            self._window.append([bucket, 0, 0])
        self._window[-1][1] += 1
        self._window[-1][2] += failed
        self._calls += 1
        self._failures += failed

    def _ratio_reached(self) -> bool:
        policy = self.policy
        return self._calls >= policy.min_calls and self._failures >= policy.failure_ratio * self._calls

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._change(CircuitState.OPEN)

    def _change(self, state: CircuitState) -> None:
        self._state = state
        self._generation += 1
        self._probes = 0
        self._consecutive = 0
        self._window.clear()
        self._calls = self._failures = 0
        if self._listener is not None:
            self._listener(self.name, state)


class OperatorCircuits:
    """One :class:`CircuitBreaker` per operator code, made on first use with a common policy.

    ``listener`` hears every state change, and each breaker's initial ``closed`` when it is made.
    """

    def __init__(
        self,
        policy: CircuitPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
        listener: StateListener | None = None,
    ) -> None:
        self.policy = policy
        self._clock = clock
        self._listener = listener
        self._breakers: dict[str, CircuitBreaker] = {}

    def __getitem__(self, operator: str) -> CircuitBreaker:
        breaker = self._breakers.get(operator)
        if breaker is None:
            breaker = CircuitBreaker(operator, self.policy, clock=self._clock, listener=self._listener)
            self._breakers[operator] = breaker
            if self._listener is not None:
                self._listener(operator, CircuitState.CLOSED)
        return breaker

    def is_open(self, operator: str) -> bool:
        """Whether calls to ``operator`` are being refused now (an operator never called is not)."""
        breaker = self._breakers.get(operator)
        return breaker is not None and breaker.state is CircuitState.OPEN

    def states(self) -> dict[str, CircuitState]:
        """The state of every operator called so far."""
        return {name: breaker.state for name, breaker in self._breakers.items()}
