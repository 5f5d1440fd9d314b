"""Login evaluation (contract §5): observe the number, the line's swaps, the device and the pace.

One evaluation:

1. counts one attempt per number, per device id and (when given) per IP in the tenant's window
   (:mod:`gateway.ratelimit`; keys hold blind indexes, never raw values). A throttled attempt, or
   one that cannot be counted because the rate-limit store is unreachable, is answered at once: no
   operator is called and the one-tap token is not spent;
2. otherwise asks, concurrently, the one-tap number check (which spends the token and leaves a
   usage row like ``POST /one-tap/v1/verify``), the operator's SIM and device histories, and the
   device registry;
3. hands the observations to :func:`gateway.login_check.policy.assess`.

Every operator failure of any kind (down, timeout, 5xx, unreadable answer, an operator not
configured here) becomes an ``UNAVAILABLE`` observation and never an error: the caller always
gets an answer, and the policy keeps it at ``challenge`` or above. The histories are asked of the
declared ``operator``, else the operator owning the number's block.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Literal, Protocol, runtime_checkable

import structlog

from carrier_adapters import (
    LineNotEligible,
    NumberNotServed,
    SwapHistory,
    VerifyOutcome,
    VerifyResult,
    operator_for_number,
)
from gateway.clock import Clock
from gateway.crypto import BlindIndex
from gateway.errors import OneTapOperatorMismatch, OneTapTokenInvalid, ServiceNotApplicable, Unavailable
from gateway.login_check.devices import DeviceRegistry, device_scope
from gateway.login_check.policy import (
    Assessment,
    NumberStatus,
    Observations,
    SwapStatus,
    Thresholds,
    assess,
    swap_status,
)
from gateway.login_check.thresholds import ThresholdStore
from gateway.one_tap.service import phone_scope
from gateway.ratelimit import RateLimiter

__all__ = ["LoginCheckService", "NumberVerifier", "SwapHistorySource", "swap_sources"]

log = structlog.get_logger(__name__)

_VERDICTS = {
    VerifyResult.PASS: NumberStatus.VERIFIED,
    VerifyResult.REJECT: NumberStatus.MISMATCH,
    VerifyResult.UNKNOWN: NumberStatus.UNVERIFIED,
}


class NumberVerifier(Protocol):
    """The one-tap local number check (:class:`~gateway.one_tap.service.OneTapService`)."""

    async def verify(
        self, *, tenant_id: str, token: str, phone_number: str, operator: str | None
    ) -> VerifyOutcome:
        """See :meth:`gateway.one_tap.service.OneTapService.verify`."""
        ...


@runtime_checkable
class SwapHistorySource(Protocol):
    """The part of :class:`~carrier_adapters.base.LineInsight` the login check needs."""

    async def sim_history(self, phone_number: str) -> SwapHistory:
        """The latest SIM change of the line."""
        ...

    async def device_history(self, phone_number: str) -> SwapHistory:
        """The latest device change of the line."""
        ...


def swap_sources(operators: Mapping[str, object]) -> dict[str, SwapHistorySource]:
    """The operators that offer swap histories; the others count as unavailable for the check."""
    return {code: op for code, op in operators.items() if isinstance(op, SwapHistorySource)}


class LoginCheckService:
    """See the module docstring; also owns the registry and thresholds the views manage."""

    def __init__(
        self,
        *,
        verifier: NumberVerifier,
        lines: Mapping[str, SwapHistorySource],
        devices: DeviceRegistry,
        thresholds: ThresholdStore,
        limiter: RateLimiter,
        index: BlindIndex,
        clock: Clock,
    ) -> None:
        self._verifier = verifier
        self._lines = lines
        self._limiter = limiter
        self._index = index
        self._clock = clock
        self.devices = devices
        self.thresholds = thresholds

    async def evaluate(
        self,
        *,
        tenant_id: str,
        phone_number: str,
        device_id: str,
        one_tap_token: str | None = None,
        operator: str | None = None,
        max_sim_swap_age_hours: int | None = None,
        ip: str | None = None,
    ) -> Assessment:
        """Evaluate one login attempt (see the module docstring); never raises for operator or
        rate-limit store failures."""
        policy = await self.thresholds.get(tenant_id)
        uncounted = False
        try:
            throttled = await self._throttled(tenant_id, phone_number, device_id, ip, policy)
        except Unavailable:
            log.warning("login_check_attempts_not_counted")
            throttled, uncounted = False, True
        if throttled or uncounted:
            known = await self.devices.is_known(
                tenant_id=tenant_id, phone_number=phone_number, device_id=device_id
            )
            not_asked = SwapStatus.NOT_ASKED
            seen = Observations(NumberStatus.NOT_ASKED, not_asked, not_asked, known, throttled, uncounted)
        else:
            line = operator or operator_for_number(phone_number)
            sim_age = max_sim_swap_age_hours or policy.sim_swap_max_age_hours
            number, sim, device, known = await asyncio.gather(
                self._number(tenant_id, one_tap_token, phone_number, operator),
                self._swap(line, "sim", phone_number, sim_age),
                self._swap(line, "device", phone_number, policy.device_swap_max_age_hours),
                self.devices.is_known(tenant_id=tenant_id, phone_number=phone_number, device_id=device_id),
            )
            seen = Observations(number, sim, device, known)
        result = assess(seen)
        log.info(
            "login_check_evaluated",
            decision=result.decision.value,
            reasons=[r.value for r in result.reasons],
        )
        return result

    async def _throttled(
        self, tenant_id: str, phone_number: str, device_id: str, ip: str | None, policy: Thresholds
    ) -> bool:
        counted = [
            ("number", phone_number, phone_scope(tenant_id), policy.attempts_per_number),
            ("device", device_id, device_scope(tenant_id), policy.attempts_per_device),
        ]
        if ip is not None:
            counted.append(("ip", ip, f"ip|{tenant_id}", policy.attempts_per_ip))
        answers = [
            await self._limiter.hit(
                f"login-check|{tenant_id}|{kind}|{self._index.compute(value, scope=scope)}",
                limit,
                policy.window_seconds,
            )
            for kind, value, scope, limit in counted
        ]
        return not all(answer.allowed for answer in answers)

    async def _number(
        self, tenant_id: str, token: str | None, phone_number: str, operator: str | None
    ) -> NumberStatus:
        if token is None:
            return NumberStatus.NOT_ASKED
        try:
            outcome = await self._verifier.verify(
                tenant_id=tenant_id, token=token, phone_number=phone_number, operator=operator
            )
        except OneTapTokenInvalid:
            return NumberStatus.TOKEN_INVALID
        except OneTapOperatorMismatch:
            return NumberStatus.MISMATCH
        except ServiceNotApplicable:
            return NumberStatus.UNVERIFIED
        except Exception as exc:
            log.warning("login_check_operator_failed", check="number", error=type(exc).__name__)
            return NumberStatus.UNAVAILABLE
        return _VERDICTS[outcome.result]

    async def _swap(
        self, operator: str | None, kind: Literal["sim", "device"], phone_number: str, max_age_hours: int
    ) -> SwapStatus:
        if operator is None:
            return SwapStatus.NOT_SERVED
        source = self._lines.get(operator)
        if source is None:
            log.warning("login_check_operator_failed", check=kind, operator=operator, error="NotConfigured")
            return SwapStatus.UNAVAILABLE
        try:
            if kind == "sim":
                history = await source.sim_history(phone_number)
            else:
                history = await source.device_history(phone_number)
        except NumberNotServed:
            return SwapStatus.NOT_SERVED
        except LineNotEligible:
            return SwapStatus.UNKNOWN
        except Exception as exc:
            log.warning(
                "login_check_operator_failed", check=kind, operator=operator, error=type(exc).__name__
            )
            return SwapStatus.UNAVAILABLE
        return swap_status(history, max_age_hours, self._clock.now())
