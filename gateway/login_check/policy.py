"""The login-check decision (contract §5): what was observed, which reasons follow, and the verdict.

Pure functions of their arguments (no I/O, no clock): :func:`swap_status` judges one operator
history against a threshold, :func:`assess` turns observations into reasons, checks and a decision.

Reasons, in the order they are reported:

========================  ==========  ==============================================================
reason                    at least    observed
========================  ==========  ==============================================================
TOO_MANY_ATTEMPTS         deny        the number, device or IP exceeded the tenant's attempt limit
                                      in its window; no operator is asked and no token is spent
ATTEMPTS_NOT_COUNTED      challenge   the attempt limits could not be checked (the rate-limit store
                                      is unreachable); as when throttled, no operator is asked and
                                      no token is spent
NUMBER_MISMATCH           deny        the one-tap token's phone does not hold the number (REJECT,
                                      or the token's operator does not serve the number)
TOKEN_INVALID             challenge   the one-tap token is expired, reused, malformed or another
                                      app's: the number is not verified (``numberVerified`` false)
NUMBER_NOT_VERIFIED       challenge   a token was given but the operator could not say (UNKNOWN,
                                      line not eligible for the check)
SIM_SWAPPED_RECENTLY      challenge   the SIM changed (or the line was activated) within the SIM
                                      threshold; **deny** together with NEW_DEVICE
DEVICE_SWAPPED_RECENTLY   challenge   the line moved to another handset within the device threshold
NEW_DEVICE                challenge   ``deviceId`` is not bound to the number in the registry
NUMBER_NOT_SERVED         challenge   no configured operator knows the number (unknown, ported away,
                                      not a mainland mobile number): swaps cannot be checked
SWAP_STATUS_UNKNOWN       challenge   the operator answered but cannot tell: no history for the line,
                                      the line is not served for swap data, or its retention window
                                      is shorter than the threshold and holds no change
OPERATOR_UNAVAILABLE      challenge   an operator call failed (down, timeout, 5xx, garbage): the
                                      check is ``null``, never assumed clean
========================  ==========  ==============================================================

Decision: ``deny`` on NUMBER_MISMATCH, TOO_MANY_ATTEMPTS, or SIM_SWAPPED_RECENTLY with NEW_DEVICE;
otherwise ``challenge`` when there is any reason; ``allow`` only when there is none. So every check
that could not be made (``null``) carries a reason and keeps the decision at ``challenge`` or
above; ``allow`` means every asked check came back clean. A login without a one-tap token is not
a reason by itself (``numberVerified`` is ``null``): the bank decided not to ask.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from carrier_adapters import SwapHistory

__all__ = [
    "Assessment",
    "Checks",
    "Decision",
    "NumberStatus",
    "Observations",
    "Reason",
    "SwapStatus",
    "Thresholds",
    "assess",
    "decide",
    "swap_status",
]


class Decision(enum.StrEnum):
    """What the bank should do with the login."""

    ALLOW = "allow"
    CHALLENGE = "challenge"
    DENY = "deny"


class Reason(enum.StrEnum):
    """Why a login is not simply allowed (see the module table); declaration order is report order."""

    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
    ATTEMPTS_NOT_COUNTED = "ATTEMPTS_NOT_COUNTED"
    NUMBER_MISMATCH = "NUMBER_MISMATCH"
    TOKEN_INVALID = "TOKEN_INVALID"  # noqa: S105 - a reason code, not a password  # nosec B105
    NUMBER_NOT_VERIFIED = "NUMBER_NOT_VERIFIED"
    SIM_SWAPPED_RECENTLY = "SIM_SWAPPED_RECENTLY"
    DEVICE_SWAPPED_RECENTLY = "DEVICE_SWAPPED_RECENTLY"
    NEW_DEVICE = "NEW_DEVICE"
    NUMBER_NOT_SERVED = "NUMBER_NOT_SERVED"
    SWAP_STATUS_UNKNOWN = "SWAP_STATUS_UNKNOWN"
    OPERATOR_UNAVAILABLE = "OPERATOR_UNAVAILABLE"


class NumberStatus(enum.Enum):
    """The outcome of the one-tap number check."""

    NOT_ASKED = "not_asked"
    """No token was given, or the attempt was throttled (or not counted) before any operator call."""
    VERIFIED = "verified"
    MISMATCH = "mismatch"
    TOKEN_INVALID = "token_invalid"  # noqa: S105 - a status, not a password  # nosec B105
    UNVERIFIED = "unverified"
    """The operator answered without a verdict."""
    UNAVAILABLE = "unavailable"


class SwapStatus(enum.Enum):
    """The outcome of one swap check (SIM or device)."""

    NOT_ASKED = "not_asked"
    """The attempt was throttled or not counted before any operator call (else unknown)."""
    SWAPPED = "swapped"
    NOT_SWAPPED = "not_swapped"
    UNKNOWN = "unknown"
    NOT_SERVED = "not_served"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """A tenant's login-check policy: swap ages in hours, attempt limits per window in seconds."""

    sim_swap_max_age_hours: int
    device_swap_max_age_hours: int
    attempts_per_number: int
    attempts_per_device: int
    attempts_per_ip: int
    window_seconds: int


@dataclass(frozen=True, slots=True)
class Observations:
    """Everything one evaluation learned; ``uncounted``: the attempt limits could not be checked."""

    number: NumberStatus
    sim: SwapStatus
    device: SwapStatus
    device_known: bool
    throttled: bool = False
    uncounted: bool = False


@dataclass(frozen=True, slots=True)
class Checks:
    """The contract's ``checks`` object: ``None`` is "could not be checked" (or not asked)."""

    number_verified: bool | None
    sim_swapped: bool | None
    device_swapped: bool | None
    device_known: bool


@dataclass(frozen=True, slots=True)
class Assessment:
    """The answer to one evaluation."""

    decision: Decision
    reasons: tuple[Reason, ...]
    checks: Checks


def swap_status(history: SwapHistory, max_age_hours: int, now: datetime) -> SwapStatus:
    """Whether the line changed within ``max_age_hours`` before ``now`` (the boundary counts as recent).

    A change dated after ``now`` (clock skew) counts as recent. No change within the operator's
    window is "not swapped" only if the window covers the threshold; a line the operator has no
    history for is unknown.
    """
    if not history.known:
        return SwapStatus.UNKNOWN
    if history.latest_change is None:
        covered = max_age_hours <= history.window_days * 24
        return SwapStatus.NOT_SWAPPED if covered else SwapStatus.UNKNOWN
    recent = now - history.latest_change <= timedelta(hours=max_age_hours)
    return SwapStatus.SWAPPED if recent else SwapStatus.NOT_SWAPPED


_NUMBER_REASONS = {
    NumberStatus.MISMATCH: Reason.NUMBER_MISMATCH,
    NumberStatus.TOKEN_INVALID: Reason.TOKEN_INVALID,
    NumberStatus.UNVERIFIED: Reason.NUMBER_NOT_VERIFIED,
    NumberStatus.UNAVAILABLE: Reason.OPERATOR_UNAVAILABLE,
}
_SWAP_REASONS = {
    SwapStatus.NOT_ASKED: Reason.SWAP_STATUS_UNKNOWN,
    SwapStatus.UNKNOWN: Reason.SWAP_STATUS_UNKNOWN,
    SwapStatus.NOT_SERVED: Reason.NUMBER_NOT_SERVED,
    SwapStatus.UNAVAILABLE: Reason.OPERATOR_UNAVAILABLE,
}
_SWAPPED = {SwapStatus.SWAPPED: True, SwapStatus.NOT_SWAPPED: False}
_VERIFIED = {NumberStatus.VERIFIED: True, NumberStatus.MISMATCH: False, NumberStatus.TOKEN_INVALID: False}


def decide(reasons: frozenset[Reason]) -> Decision:
    """The decision rule of the module docstring."""
    if (
        Reason.NUMBER_MISMATCH in reasons
        or Reason.TOO_MANY_ATTEMPTS in reasons
        or {Reason.SIM_SWAPPED_RECENTLY, Reason.NEW_DEVICE} <= reasons
    ):
        return Decision.DENY
    return Decision.CHALLENGE if reasons else Decision.ALLOW


def assess(seen: Observations) -> Assessment:
    """Reasons, checks and decision for ``seen`` (see the module docstring)."""
    found: set[Reason] = set()
    if seen.throttled:
        found.add(Reason.TOO_MANY_ATTEMPTS)
    if seen.uncounted:
        found.add(Reason.ATTEMPTS_NOT_COUNTED)
    stopped = seen.throttled or seen.uncounted
    if seen.number in _NUMBER_REASONS:
        found.add(_NUMBER_REASONS[seen.number])
    for status, swapped in (
        (seen.sim, Reason.SIM_SWAPPED_RECENTLY),
        (seen.device, Reason.DEVICE_SWAPPED_RECENTLY),
    ):
        if status is SwapStatus.SWAPPED:
            found.add(swapped)
        elif status in _SWAP_REASONS and not (stopped and status is SwapStatus.NOT_ASKED):
            found.add(_SWAP_REASONS[status])
    if not seen.device_known:
        found.add(Reason.NEW_DEVICE)
    reasons = frozenset(found)
    return Assessment(
        decision=decide(reasons),
        reasons=tuple(r for r in Reason if r in reasons),
        checks=Checks(
            number_verified=_VERIFIED.get(seen.number),
            sim_swapped=_SWAPPED.get(seen.sim),
            device_swapped=_SWAPPED.get(seen.device),
            device_known=seen.device_known,
        ),
    )
