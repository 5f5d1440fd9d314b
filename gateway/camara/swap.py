"""CAMARA SIM Swap (sim-swap 2.1.0, r3.3) and Device Swap (device-swap 1.0.0, r3.2): one implementation.

Both ask the line's operator for a :class:`~carrier_adapters.SwapHistory` (SIM: MSISDN to IMSI
binding; device: MSISDN to IMEI) and differ in one rule only, :attr:`SwapKind.requires_known`.

- ``maxAge`` (hours, default 240, at least 1 by schema): above 2400, or above the operator's
  ``history_window_hours``, is 400 OUT_OF_RANGE naming the limit. The 2400 bound is checked
  before the identifier rules, the operator's window after them (it depends on the operator).
- The line comes from :mod:`gateway.camara.identifiers` (``STRICT`` rule).
- ``check``: ``swapped`` is true iff the latest change (or first activation) lies within
  ``maxAge`` hours of the gateway clock's now; a change beyond the retention window
  (``latest_change`` None) is ``false``.
- ``retrieve-date``: the latest change, or ``None`` with ``monitoredPeriod`` = the operator's
  ``window_days`` when the date lies beyond that window.
- No data for the line (``known`` False): Device Swap answers 422 SERVICE_NOT_APPLICABLE on both
  operations (device-swap r3.2 tests); SIM Swap answers ``false`` and a ``null`` date without
  ``monitoredPeriod`` (sim-swap test 4: a number never associated with a SIM).
- Operator answers: unknown number 404 IDENTIFIER_NOT_FOUND, line not eligible 422
  SERVICE_NOT_APPLICABLE, failures 502/503/504 (:func:`gateway.errors.from_line_error`).

Each answered call is a billed usage row (``camara_sim_swap_check``, ``camara_sim_swap_retrieve_date``,
``camara_device_swap_check``, ``camara_device_swap_retrieve_date``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from carrier_adapters import CarrierError, LineInsight, SwapHistory
from gateway.camara.identifiers import IdentifierRule, Line, LineDirectory
from gateway.camara.usage import UsageRecorder
from gateway.clock import Clock
from gateway.errors import OutOfRange, ServiceNotApplicable, from_line_error
from gateway.oauth.tokens import Principal

__all__ = ["DEVICE_SWAP", "MAX_AGE_LIMIT", "SIM_SWAP", "SwapDate", "SwapKind", "SwapService"]

MAX_AGE_LIMIT = 2400
log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class SwapKind:
    """What differs between SIM Swap and Device Swap."""

    name: str
    """``sim_swap`` or ``device_swap``: prefix of usage capabilities and log events."""
    history: Callable[[LineInsight, str], Awaitable[SwapHistory]]
    requires_known: bool
    """A line without any history data is 422 SERVICE_NOT_APPLICABLE (Device Swap)."""


SIM_SWAP = SwapKind("sim_swap", lambda insight, number: insight.sim_history(number), requires_known=False)
DEVICE_SWAP = SwapKind(
    "device_swap", lambda insight, number: insight.device_history(number), requires_known=True
)


@dataclass(frozen=True, slots=True)
class SwapDate:
    """The answer of ``retrieve-date``: a timezone-aware date, or None and maybe the monitored days."""

    latest_change: datetime | None
    monitored_days: int | None = None


class SwapService:
    """See the module docstring; one instance per :class:`SwapKind`."""

    def __init__(
        self, kind: SwapKind, *, lines: LineDirectory, recorder: UsageRecorder, clock: Clock
    ) -> None:
        self.kind = kind
        self._lines = lines
        self._recorder = recorder
        self._clock = clock

    async def check(self, who: Principal, *, phone_number: str | None, max_age: int) -> bool:
        """Whether the line changed within the last ``max_age`` hours.

        :raises OutOfRange, UnnecessaryIdentifier, MissingIdentifier, IdentifierNotFound,
            ServiceNotApplicable, BadGateway, Unavailable, GatewayTimeout:
        """
        if max_age > MAX_AGE_LIMIT:
            raise OutOfRange(f"maxAge must be at most {MAX_AGE_LIMIT} hours.")
        line = self._lines.resolve(who, phone_number, IdentifierRule.STRICT)
        window = line.insight.history_window_hours
        if max_age > window:
            raise OutOfRange(f"maxAge must be at most {window} hours: the operator keeps no longer history.")
        history = await self._history(line)
        changed = _aware(history.latest_change)
        swapped = changed is not None and self._clock.now() - changed <= timedelta(hours=max_age)
        await self._record(who, line, "check", str(swapped).lower())
        return swapped

    async def retrieve_date(self, who: Principal, *, phone_number: str | None) -> SwapDate:
        """The latest change of the line, as far as the operator may disclose it.

        :raises UnnecessaryIdentifier, MissingIdentifier, IdentifierNotFound, ServiceNotApplicable,
            BadGateway, Unavailable, GatewayTimeout:
        """
        line = self._lines.resolve(who, phone_number, IdentifierRule.STRICT)
        history = await self._history(line)
        changed = _aware(history.latest_change)
        if changed is not None:
            answer = SwapDate(changed)
        elif history.known and history.window_days > 0:
            answer = SwapDate(None, monitored_days=history.window_days)
        else:
            answer = SwapDate(None)
        await self._record(who, line, "retrieve_date", "OK")
        return answer

    async def _history(self, line: Line) -> SwapHistory:
        try:
            history = await self.kind.history(line.insight, line.phone_number)
        except CarrierError as exc:
            log.warning(
                "operator_call_failed",
                operator=exc.operator,
                action=self.kind.name,
                error=type(exc).__name__,
                result_code=exc.code,
            )
            raise from_line_error(exc) from exc
        if self.kind.requires_known and not history.known:
            raise ServiceNotApplicable("The operator has no device data for this line.")
        return history

    async def _record(self, who: Principal, line: Line, operation: str, result: str) -> None:
        await self._recorder.record(
            tenant_id=who.tenant_id,
            capability=f"camara_{self.kind.name}_{operation}",
            operator=line.operator,
            result=result,
            phone_number=line.phone_number,
        )


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
