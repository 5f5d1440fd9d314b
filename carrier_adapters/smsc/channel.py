"""An operator's SMS channel over its binary protocol: several sessions, one rate, whole messages.

:class:`SmscChannel` keeps ``connections`` sessions open (each reopened after a loss, after
``backoff(failures)`` seconds: the gateway passes its one retry policy) and implements
:class:`~carrier_adapters.base.SmsChannel`'s submission: the text is split into parts
(:func:`carrier_adapters.segments.split`, one UDH reference per message), and each part is paced
by the operator's rate (``tps``, the operator's 流速, per process) and sent on the ready session
with the most room in its window.

- A flow-control answer halves the rate (down to ``min_tps``) and the part is sent again after a
  short pause; the rate climbs back by a tenth of ``tps`` per second without flow control.
- A part whose connection was lost while it was in flight is sent again on another session,
  with the same content and UDH reference (and, where the protocol's sequences are unique across
  connections, the same sequence, so the operator recognises the repeat); at most ``resends`` times.
- A rejection raises :class:`~carrier_adapters.errors.CarrierRejected`, "not served"
  :class:`~carrier_adapters.errors.NumberNotServed`, an operator failure
  :class:`~carrier_adapters.errors.CarrierUnavailable`; parts accepted before the failure stay
  sent (a retry of the message sends them again).

The answer carries the operator's id of every part, in order; reports name those ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import zlib
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog

from carrier_adapters.base import SmsSubmission
from carrier_adapters.errors import (
    CarrierError,
    CarrierRejected,
    CarrierTimeout,
    CarrierUnavailable,
    NumberNotServed,
)
from carrier_adapters.pacing import TokenBucket
from carrier_adapters.pdu.results import SubmitOutcome
from carrier_adapters.segments import split
from carrier_adapters.smsc.dialect import Dialect, OutboundPart, SubmitAnswer
from carrier_adapters.smsc.session import InboundSink, RequestLost, Session, SessionSettings

__all__ = ["ChannelSettings", "SmscChannel"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    """Connections, pace and patience of one operator's channel; seconds throughout."""

    host: str
    port: int
    connections: int = 2
    tps: float = 200.0
    min_tps: float = 5.0
    session: SessionSettings = field(default_factory=SessionSettings)
    ready_timeout: float = 5.0
    throttle_pause: float = 0.2
    resends: int = 3


class SmscChannel:
    """See the module docstring. :meth:`start` opens the sessions; :meth:`close` ends them."""

    def __init__(
        self,
        operator: str,
        dialect: Callable[[], Dialect[Any, Any]],
        settings: ChannelSettings,
        *,
        on_inbound: InboundSink,
        now: Callable[[], datetime],
        backoff: Callable[[int], float],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.operator = operator
        self._dialect = dialect
        self._settings = settings
        self._on_inbound = on_inbound
        self._now = now
        self._backoff = backoff
        self._monotonic = monotonic
        self._bucket = TokenBucket(settings.tps, monotonic=monotonic)
        self._last_adjusted = monotonic()
        self._sessions: list[Session[Any, Hashable]] = []
        self._changed = asyncio.Condition()
        self._keepers: list[asyncio.Task[None]] = []
        self._closing = False

    async def start(self) -> None:
        """Start keeping ``connections`` sessions open (returns at once; they log in meanwhile)."""
        self._keepers = [
            asyncio.ensure_future(self._keep(index)) for index in range(self._settings.connections)
        ]

    async def close(self) -> None:
        """Log every session out and stop reopening them."""
        self._closing = True
        for keeper in self._keepers:
            keeper.cancel()
        await asyncio.gather(*self._keepers, return_exceptions=True)
        await asyncio.gather(*(session.close() for session in list(self._sessions)), return_exceptions=True)
        self._sessions.clear()

    @property
    def ready(self) -> int:
        """Sessions logged in now."""
        return sum(1 for session in self._sessions if not session.closed)

    async def submit_sms(self, phone_number: str, text: str, *, reference: str) -> SmsSubmission:
        """Send every part of ``text`` to ``phone_number`` (E.164); see the module docstring."""
        parts = split(text, ref=zlib.crc32(reference.encode()) & 0xFF)
        ids: list[str] = []
        for number, content in enumerate(parts.parts, start=1):
            part = OutboundPart(
                phone_number=phone_number,
                content=content,
                encoding=parts.encoding,
                udhi=parts.udhi,
                total=len(parts.parts),
                number=number,
                reference=reference,
            )
            ids.append(await self._send_part(part))
        return SmsSubmission(self.operator, ids[0], parts=tuple(ids))

    async def _send_part(self, part: OutboundPart) -> str:
        lost = 0
        lost_sequence: Hashable | None = None
        while True:
            await self._acquire()
            session = await self._ready_session()
            dialect = session.dialect
            again = lost_sequence if dialect.stable_sequences else None
            try:
                sequence, response = await session.exchange(dialect.submit(part), again)
            except CarrierTimeout:
                raise
            except CarrierUnavailable as exc:
                if exc.unsent:
                    continue
                if lost < self._settings.resends:
                    lost += 1
                    lost_sequence = exc.sequence if isinstance(exc, RequestLost) else None
                    continue
                raise
            answer = dialect.answer(response, sequence)
            if answer.outcome is SubmitOutcome.THROTTLED:
                self._throttled()
                await asyncio.sleep(self._settings.throttle_pause)
                continue
            return self._accepted(answer)

    def _accepted(self, answer: SubmitAnswer) -> str:
        code = str(answer.code)
        if answer.outcome is SubmitOutcome.ACCEPTED:
            return answer.provider_id
        if answer.outcome is SubmitOutcome.NOT_SERVED:
            raise NumberNotServed(self.operator, "the SMS gateway does not serve the number", code=code)
        if answer.outcome is SubmitOutcome.REJECTED:
            raise CarrierRejected(self.operator, "the SMS gateway rejected the submission", code=code)
        raise CarrierUnavailable(self.operator, "the SMS gateway failed the submission", code=code)

    async def _acquire(self) -> None:
        tps = self._settings.tps
        if self._bucket.rate < tps:
            now = self._monotonic()
            self._bucket.rate = min(tps, self._bucket.rate + (now - self._last_adjusted) * tps / 10)
            self._last_adjusted = now
        await self._bucket.acquire()

    def _throttled(self) -> None:
        self._bucket.rate = max(self._settings.min_tps, self._bucket.rate / 2)
        self._last_adjusted = self._monotonic()
        log.warning("smsc_flow_control", operator=self.operator, tps=round(self._bucket.rate, 1))

    async def _ready_session(self) -> Session[Any, Hashable]:
        """The open session with the most room in its window; waits up to ``ready_timeout``."""
        deadline = self._monotonic() + self._settings.ready_timeout
        async with self._changed:
            while True:
                open_sessions = [session for session in self._sessions if not session.closed]
                if open_sessions:
                    return min(open_sessions, key=lambda session: session.in_flight)
                remaining = deadline - self._monotonic()
                if remaining <= 0 or self._closing:
                    raise CarrierUnavailable(self.operator, "no SMS session is logged in", unsent=True)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)

    async def _keep(self, index: int) -> None:
        failures = 0
        while not self._closing:
            try:
                session: Session[Any, Hashable] = await Session.open(
                    self._dialect(),
                    self._settings.host,
                    self._settings.port,
                    operator=self.operator,
                    settings=self._settings.session,
                    on_inbound=self._on_inbound,
                    now=self._now,
                )
            except CarrierError as exc:
                failures += 1
                log.warning("smsc_login_failed", operator=self.operator, connection=index, error=exc.message)
                await asyncio.sleep(self._backoff(failures))
                continue
            failures = 0
            await self._publish(session, add=True)
            failure = await session.wait_closed()
            await self._publish(session, add=False)
            await session.close(graceful=False)
            if failure is not None:
                failures += 1
                await asyncio.sleep(self._backoff(failures))

    async def _publish(self, session: Session[Any, Hashable], *, add: bool) -> None:
        async with self._changed:
            if add:
                self._sessions.append(session)
            elif session in self._sessions:
                self._sessions.remove(session)
            self._changed.notify_all()
