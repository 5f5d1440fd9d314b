"""The circuit breaker's state machine, on a fake monotonic clock."""

from __future__ import annotations

import pytest

from gateway.circuit import (
    CallResult,
    CircuitBreaker,
    CircuitOpenError,
    CircuitPolicy,
    CircuitState,
    OperatorCircuits,
    circuit_policy,
)
from gateway.settings import Settings
from tests.clocks import ManualMonotonic

S, F, N = CallResult.SUCCESS, CallResult.FAILURE, CallResult.IGNORED


def _breaker(clock: ManualMonotonic, **policy: float) -> tuple[CircuitBreaker, list[CircuitState]]:
    changes: list[CircuitState] = []
    values = {"failure_threshold": 3, "cooldown_seconds": 10.0, **policy}
    breaker = CircuitBreaker(
        "cmcc",
        CircuitPolicy(**values),  # type: ignore[arg-type]
        clock=clock,
        listener=lambda _, state: changes.append(state),
    )
    return breaker, changes


def _state(breaker: CircuitBreaker) -> CircuitState:
    """The breaker's state now (a call, so that no earlier assertion narrows its type)."""
    return breaker.state


def _call(breaker: CircuitBreaker, result: CallResult) -> None:
    breaker.record(breaker.admit(), result)


def _open(breaker: CircuitBreaker) -> None:
    for _ in range(breaker.policy.failure_threshold):
        _call(breaker, F)
    assert _state(breaker) is CircuitState.OPEN


def test_consecutive_failures_open_the_circuit() -> None:
    """The threshold-th consecutive failure opens the circuit; one fewer leaves it closed."""
    clock = ManualMonotonic()
    breaker, changes = _breaker(clock)
    _call(breaker, F)
    _call(breaker, F)
    assert _state(breaker) is CircuitState.CLOSED
    _call(breaker, F)
    assert _state(breaker) is CircuitState.OPEN
    assert changes == [CircuitState.OPEN]


def test_a_success_or_answer_resets_the_count() -> None:
    """A success between failures restarts the consecutive count; ignored calls do not count at all."""
    clock = ManualMonotonic()
    breaker, _ = _breaker(clock)
    for result in (F, F, S, F, F, N, N):
        _call(breaker, result)
    assert _state(breaker) is CircuitState.CLOSED
    _call(breaker, F)
    assert _state(breaker) is CircuitState.OPEN


def test_open_circuit_refuses_with_the_cooldown_left() -> None:
    """An open circuit refuses every call, with retry_after = the seconds left of the cooldown."""
    clock = ManualMonotonic()
    breaker, _ = _breaker(clock)
    _open(breaker)
    clock.now += 4
    with pytest.raises(CircuitOpenError) as caught:
        breaker.admit()
    assert caught.value.retry_after == pytest.approx(6.0)
    assert caught.value.name == "cmcc"


def test_after_the_cooldown_one_probe_goes_and_its_success_closes() -> None:
    """After the cooldown the circuit is half-open: one probe is admitted, others are refused at once
    (retry_after 0), and the probe's success closes the circuit for everyone."""
    clock = ManualMonotonic()
    breaker, changes = _breaker(clock)
    _open(breaker)
    clock.now += 10
    assert _state(breaker) is CircuitState.HALF_OPEN
    probe = breaker.admit()
    assert probe.probe
    with pytest.raises(CircuitOpenError) as caught:
        breaker.admit()
    assert caught.value.retry_after == 0.0
    breaker.record(probe, S)
    assert _state(breaker) is CircuitState.CLOSED
    assert not breaker.admit().probe
    assert changes == [CircuitState.OPEN, CircuitState.HALF_OPEN, CircuitState.CLOSED]


def test_a_failed_probe_reopens_for_a_whole_cooldown() -> None:
    """A probe's failure opens the circuit again, and the cooldown restarts from that failure."""
    clock = ManualMonotonic()
    breaker, _ = _breaker(clock)
    _open(breaker)
    clock.now += 12
    probe = breaker.admit()
    clock.now += 1
    breaker.record(probe, F)
    assert _state(breaker) is CircuitState.OPEN
    with pytest.raises(CircuitOpenError) as caught:
        breaker.admit()
    assert caught.value.retry_after == pytest.approx(10.0)


def test_an_abandoned_probe_frees_its_slot() -> None:
    """A probe that ends with no verdict leaves the circuit half-open and lets the next call probe."""
    clock = ManualMonotonic()
    breaker, _ = _breaker(clock)
    _open(breaker)
    clock.now += 10
    breaker.record(breaker.admit(), N)
    assert _state(breaker) is CircuitState.HALF_OPEN
    assert breaker.admit().probe


def test_several_probes_when_the_policy_allows() -> None:
    """half_open_probes bounds the calls admitted at once while half-open."""
    clock = ManualMonotonic()
    breaker, _ = _breaker(clock, half_open_probes=2)
    _open(breaker)
    clock.now += 10
    first, second = breaker.admit(), breaker.admit()
    with pytest.raises(CircuitOpenError):
        breaker.admit()
    breaker.record(second, S)
    assert _state(breaker) is CircuitState.CLOSED
    breaker.record(first, F)
    assert _state(breaker) is CircuitState.CLOSED


def test_results_of_calls_from_before_a_change_are_ignored() -> None:
    """Calls admitted while closed that end after the circuit opened neither extend nor close it."""
    clock = ManualMonotonic()
    breaker, _ = _breaker(clock)
    late_success, late_failure = breaker.admit(), breaker.admit()
    _open(breaker)
    breaker.record(late_success, S)
    assert _state(breaker) is CircuitState.OPEN
    clock.now += 10
    probe = breaker.admit()
    breaker.record(late_failure, F)
    assert _state(breaker) is CircuitState.HALF_OPEN
    breaker.record(probe, S)
    assert _state(breaker) is CircuitState.CLOSED


def test_failure_ratio_in_the_window_opens() -> None:
    """With min_calls reached, a failure share at the ratio opens though failures never ran in a row;
    below the ratio the circuit stays closed."""
    clock = ManualMonotonic()
    breaker, _ = _breaker(clock, failure_threshold=100, failure_ratio=0.5, min_calls=10, window_seconds=30)
    for result in (F, S, S) * 3 + (S, F, F, F):
        _call(breaker, result)
    assert _state(breaker) is CircuitState.CLOSED
    _call(breaker, F)
    assert _state(breaker) is CircuitState.OPEN


@pytest.mark.parametrize("later", [0.0, 31.0])
def test_failures_older_than_the_window_fall_out(later: float) -> None:
    """Failures older than window_seconds no longer count towards the ratio (and do within it)."""
    clock = ManualMonotonic()
    breaker, _ = _breaker(clock, failure_threshold=100, failure_ratio=0.5, min_calls=20, window_seconds=30)
    for result in (F, F, F, S) * 2 + (F, F):
        _call(breaker, result)
    clock.now += later
    for result in (S, S, S, S, F) * 2:
        _call(breaker, result)
    expected = CircuitState.OPEN if later == 0 else CircuitState.CLOSED
    assert _state(breaker) is expected


def test_closing_starts_a_fresh_count() -> None:
    """After the circuit closes, the threshold counts anew from zero."""
    clock = ManualMonotonic()
    breaker, _ = _breaker(clock)
    _open(breaker)
    clock.now += 10
    breaker.record(breaker.admit(), S)
    _call(breaker, F)
    _call(breaker, F)
    assert _state(breaker) is CircuitState.CLOSED


def test_operators_have_separate_circuits() -> None:
    """One operator's failures do not open another's circuit; the listener hears each new breaker."""
    clock = ManualMonotonic()
    heard: list[tuple[str, CircuitState]] = []
    circuits = OperatorCircuits(
        CircuitPolicy(failure_threshold=2), clock=clock, listener=lambda op, st: heard.append((op, st))
    )
    for _ in range(2):
        circuits["cmcc"].record(circuits["cmcc"].admit(), F)
    circuits["cucc"].record(circuits["cucc"].admit(), S)
    assert circuits.states() == {"cmcc": CircuitState.OPEN, "cucc": CircuitState.CLOSED}
    assert heard == [
        ("cmcc", CircuitState.CLOSED),
        ("cmcc", CircuitState.OPEN),
        ("cucc", CircuitState.CLOSED),
    ]


@pytest.mark.parametrize(
    "bad",
    [
        {"failure_threshold": 0},
        {"min_calls": 0},
        {"half_open_probes": 0},
        {"failure_ratio": 0.0},
        {"failure_ratio": 1.5},
        {"window_seconds": 0.0},
        {"cooldown_seconds": -1.0},
    ],
)
def test_policy_rejects_nonsense(bad: dict[str, float]) -> None:
    """A policy with a zero count, a ratio outside (0, 1] or a non-positive duration is refused."""
    with pytest.raises(ValueError):
        CircuitPolicy(**bad)  # type: ignore[arg-type]


def test_policy_from_settings() -> None:
    """OPERATOR_CIRCUIT_* settings become the policy."""
    settings = Settings(
        operator_circuit_threshold=7,
        operator_circuit_failure_ratio=0.8,
        operator_circuit_window_seconds=60,
        operator_circuit_cooldown_seconds=2.5,
    )
    assert circuit_policy(settings) == CircuitPolicy(
        failure_threshold=7, failure_ratio=0.8, window_seconds=60.0, cooldown_seconds=2.5
    )
