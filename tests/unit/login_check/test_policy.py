"""The login-check policy as pure functions: swap thresholds, reasons, checks and the decision table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carrier_adapters import SwapHistory
from gateway.login_check.policy import (
    Checks,
    Decision,
    NumberStatus,
    Observations,
    Reason,
    SwapStatus,
    assess,
    decide,
    swap_status,
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
N, S = NumberStatus, SwapStatus
R = Reason


def _history(hours_ago: float | None, *, window_days: int = 90, known: bool = True) -> SwapHistory:
    change = None if hours_ago is None else NOW - timedelta(hours=hours_ago)
    return SwapHistory("cmcc", change, window_days, known)


@pytest.mark.parametrize(
    ("history", "max_age", "expected"),
    [
        (_history(10), 72, S.SWAPPED),
        (_history(72), 72, S.SWAPPED),
        (_history(72.01), 72, S.NOT_SWAPPED),
        (_history(1000), 72, S.NOT_SWAPPED),
        (_history(-1), 72, S.SWAPPED),
        (_history(None), 72, S.NOT_SWAPPED),
        (_history(None, window_days=3), 72, S.NOT_SWAPPED),
        (_history(None, window_days=3), 73, S.UNKNOWN),
        (_history(None, known=False), 72, S.UNKNOWN),
    ],
    ids=[
        "recent",
        "exactly-at-threshold",
        "just-older",
        "long-ago",
        "future-date-counts-as-recent",
        "no-change-in-window",
        "window-equals-threshold",
        "window-shorter-than-threshold",
        "no-history-at-all",
    ],
)
def test_swap_status(history: SwapHistory, max_age: int, expected: SwapStatus) -> None:
    """A change within the threshold (inclusive) is recent; "none in the window" only if it covers it."""
    assert swap_status(history, max_age, NOW) is expected


CLEAN = Observations(N.VERIFIED, S.NOT_SWAPPED, S.NOT_SWAPPED, device_known=True)

CASES: list[tuple[str, Observations, Decision, tuple[Reason, ...]]] = [
    ("all clean", CLEAN, Decision.ALLOW, ()),
    (
        "no token, known device",
        Observations(N.NOT_ASKED, S.NOT_SWAPPED, S.NOT_SWAPPED, True),
        Decision.ALLOW,
        (),
    ),
    (
        "number mismatch",
        Observations(N.MISMATCH, S.NOT_SWAPPED, S.NOT_SWAPPED, True),
        Decision.DENY,
        (R.NUMBER_MISMATCH,),
    ),
    (
        "throttled",
        Observations(N.NOT_ASKED, S.NOT_ASKED, S.NOT_ASKED, True, True),
        Decision.DENY,
        (R.TOO_MANY_ATTEMPTS,),
    ),
    (
        "attempts not counted",
        Observations(N.NOT_ASKED, S.NOT_ASKED, S.NOT_ASKED, True, uncounted=True),
        Decision.CHALLENGE,
        (R.ATTEMPTS_NOT_COUNTED,),
    ),
    (
        "attempts not counted, new device",
        Observations(N.NOT_ASKED, S.NOT_ASKED, S.NOT_ASKED, False, uncounted=True),
        Decision.CHALLENGE,
        (R.ATTEMPTS_NOT_COUNTED, R.NEW_DEVICE),
    ),
    (
        "sim swap on a new device",
        Observations(N.VERIFIED, S.SWAPPED, S.NOT_SWAPPED, False),
        Decision.DENY,
        (R.SIM_SWAPPED_RECENTLY, R.NEW_DEVICE),
    ),
    (
        "sim swap, known device",
        Observations(N.VERIFIED, S.SWAPPED, S.NOT_SWAPPED, True),
        Decision.CHALLENGE,
        (R.SIM_SWAPPED_RECENTLY,),
    ),
    (
        "device swap",
        Observations(N.VERIFIED, S.NOT_SWAPPED, S.SWAPPED, True),
        Decision.CHALLENGE,
        (R.DEVICE_SWAPPED_RECENTLY,),
    ),
    (
        "new device",
        Observations(N.VERIFIED, S.NOT_SWAPPED, S.NOT_SWAPPED, False),
        Decision.CHALLENGE,
        (R.NEW_DEVICE,),
    ),
    (
        "device swap on a new device",
        Observations(N.VERIFIED, S.NOT_SWAPPED, S.SWAPPED, False),
        Decision.CHALLENGE,
        (R.DEVICE_SWAPPED_RECENTLY, R.NEW_DEVICE),
    ),
    (
        "token invalid",
        Observations(N.TOKEN_INVALID, S.NOT_SWAPPED, S.NOT_SWAPPED, True),
        Decision.CHALLENGE,
        (R.TOKEN_INVALID,),
    ),
    (
        "operator could not verify",
        Observations(N.UNVERIFIED, S.NOT_SWAPPED, S.NOT_SWAPPED, True),
        Decision.CHALLENGE,
        (R.NUMBER_NOT_VERIFIED,),
    ),
    (
        "number check unavailable",
        Observations(N.UNAVAILABLE, S.NOT_SWAPPED, S.NOT_SWAPPED, True),
        Decision.CHALLENGE,
        (R.OPERATOR_UNAVAILABLE,),
    ),
    (
        "sim history unavailable",
        Observations(N.VERIFIED, S.UNAVAILABLE, S.NOT_SWAPPED, True),
        Decision.CHALLENGE,
        (R.OPERATOR_UNAVAILABLE,),
    ),
    (
        "operator down for everything",
        Observations(N.UNAVAILABLE, S.UNAVAILABLE, S.UNAVAILABLE, True),
        Decision.CHALLENGE,
        (R.OPERATOR_UNAVAILABLE,),
    ),
    (
        "device history unknown",
        Observations(N.NOT_ASKED, S.NOT_SWAPPED, S.UNKNOWN, True),
        Decision.CHALLENGE,
        (R.SWAP_STATUS_UNKNOWN,),
    ),
    (
        "number not served",
        Observations(N.NOT_ASKED, S.NOT_SERVED, S.NOT_SERVED, True),
        Decision.CHALLENGE,
        (R.NUMBER_NOT_SERVED,),
    ),
    (
        "mismatch beats everything",
        Observations(N.MISMATCH, S.SWAPPED, S.UNAVAILABLE, False),
        Decision.DENY,
        (R.NUMBER_MISMATCH, R.SIM_SWAPPED_RECENTLY, R.NEW_DEVICE, R.OPERATOR_UNAVAILABLE),
    ),
    (
        "sim unavailable on a new device is not a deny",
        Observations(N.VERIFIED, S.UNAVAILABLE, S.NOT_SWAPPED, False),
        Decision.CHALLENGE,
        (R.NEW_DEVICE, R.OPERATOR_UNAVAILABLE),
    ),
]


@pytest.mark.parametrize(("seen", "decision", "reasons"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_decision_table(seen: Observations, decision: Decision, reasons: tuple[Reason, ...]) -> None:
    """Each combination of observations gives the documented decision and reasons, in report order."""
    result = assess(seen)
    assert result.decision is decision
    assert result.reasons == reasons


@pytest.mark.parametrize(
    ("seen", "checks"),
    [
        (CLEAN, Checks(True, False, False, True)),
        (Observations(N.MISMATCH, S.SWAPPED, S.SWAPPED, False), Checks(False, True, True, False)),
        (Observations(N.TOKEN_INVALID, S.UNKNOWN, S.NOT_SERVED, True), Checks(False, None, None, True)),
        (Observations(N.UNAVAILABLE, S.UNAVAILABLE, S.UNAVAILABLE, True), Checks(None, None, None, True)),
        (Observations(N.UNVERIFIED, S.NOT_ASKED, S.NOT_ASKED, False, True), Checks(None, None, None, False)),
        (Observations(N.NOT_ASKED, S.NOT_SWAPPED, S.SWAPPED, True), Checks(None, False, True, True)),
    ],
)
def test_checks_are_null_when_not_known(seen: Observations, checks: Checks) -> None:
    """Only an actual answer becomes true/false; failures, unknowns and unasked checks are null."""
    assert assess(seen).checks == checks


@pytest.mark.parametrize("number", list(NumberStatus))
@pytest.mark.parametrize("sim", list(SwapStatus))
@pytest.mark.parametrize("device", list(SwapStatus))
@pytest.mark.parametrize("known", [True, False])
def test_allow_only_when_every_asked_check_is_clean(
    number: NumberStatus, sim: SwapStatus, device: SwapStatus, known: bool
) -> None:
    """Over every combination: allow iff no reason, and no null swap check ever allows."""
    result = assess(Observations(number, sim, device, known))
    assert (result.decision is Decision.ALLOW) == (not result.reasons)
    if result.decision is Decision.ALLOW:
        assert result.checks.sim_swapped is False and result.checks.device_swapped is False
        assert result.checks.number_verified is not False and known


def test_decide_is_the_documented_rule() -> None:
    """deny on mismatch, throttling or SIM swap + new device; challenge on anything else; allow on nothing."""
    assert decide(frozenset()) is Decision.ALLOW
    assert decide(frozenset({R.NEW_DEVICE})) is Decision.CHALLENGE
    assert decide(frozenset({R.SIM_SWAPPED_RECENTLY})) is Decision.CHALLENGE
    assert decide(frozenset({R.SIM_SWAPPED_RECENTLY, R.NEW_DEVICE})) is Decision.DENY
    assert decide(frozenset({R.TOO_MANY_ATTEMPTS})) is Decision.DENY
    assert decide(frozenset({R.NUMBER_MISMATCH})) is Decision.DENY
