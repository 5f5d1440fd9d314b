"""One operator's SMS gateway on its TCP port, whatever its protocol: the listener and its
connections, the admission of submits (window, rate, flow-control fault), delivery of whole texts
to the phones' inboxes, status reports (with their faults) and MO replies through the outbox.

``docs/operator-dialects.md``, "SMS over the operators' binary protocols" and "The sandbox's
gateways". A protocol is a :class:`sandbox.smsc.session.Session` subclass.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, Protocol

import structlog

from sandbox.clock import Clock
from sandbox.config import SmscAccount, SmscOperator
from sandbox.sms import SmsCenter
from sandbox.smsc.outbox import Deliveries, Outbox
from sandbox.smsc.session import Session
from sandbox.smsc.texts import BadHeader, Reassembly, decode, parse_udh
from sandbox.state import Faults, SandboxState, SmsRecord

__all__ = ["ProtocolSpec", "Smsc", "Timings"]

_log = structlog.get_logger(__name__)
_REORDER_WINDOW: Final = 0.2


@dataclass(frozen=True, slots=True)
class Timings:
    """How long the gateway waits: ``resend_after`` for a ``DELIVER``'s answer (then ``resends`` more
    sends), ``heartbeat_after`` without a PDU before its ``ACTIVE_TEST`` (None: it sends none),
    ``heartbeat_misses`` unanswered ones (``resend_after`` each) before it closes; ``report_delay``
    between an accepted submit and its report."""

    resend_after: float
    resends: int
    heartbeat_after: float | None
    heartbeat_misses: int
    report_delay: float


class ProtocolSpec(Protocol):
    """What :class:`Smsc` needs of a protocol module besides its session class."""

    @property
    def name(self) -> str:
        """The protocol's URL scheme (``cmpp``, ``smgp``, ...), also the inbox records' channel."""
        ...

    def session(self, smsc: Smsc, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Session:
        """A session on a new connection."""
        ...

    def replies(self, smsc: Smsc, record: SmsRecord, text: str) -> list[object]:
        """The ``DELIVER`` payloads carrying a reply with ``text`` from ``record``'s phone."""
        ...


class Smsc:
    """``operator``'s SMS gateway speaking ``spec``'s protocol to the SP ``account``."""

    def __init__(
        self,
        *,
        operator: SmscOperator,
        spec: ProtocolSpec,
        account: SmscAccount,
        state: SandboxState,
        center: SmsCenter,
        clock: Clock,
        timings: Timings,
        deliveries: Callable[[Smsc], Deliveries] | None = None,
    ) -> None:
        """``deliveries`` builds what sends reports and MO texts (default an :class:`Outbox` on the
        SP's connections)."""
        self.operator = operator
        self.spec = spec
        self.account = account
        self.state = state
        self.center = center
        self.clock = clock
        self.timings = timings
        self.port = 0
        self._sessions: set[Session] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._timers: set[asyncio.TimerHandle] = set()
        self._server: asyncio.Server | None = None
        self._reassembly = Reassembly()
        self._reordered: list[tuple[object, Session | None]] = []
        self._admitted: deque[float] = deque()
        self._ids = 0
        self._ref = 0
        self.outbox: Deliveries = (
            Outbox(
                sessions=lambda: list(self._sessions),
                silent=lambda: self.faults.silent,
                resend_after=timings.resend_after,
                resends=timings.resends,
            )
            if deliveries is None
            else deliveries(self)
        )
        center.register_channel(spec.name, self)

    @property
    def faults(self) -> Faults:
        """The operator's faults in force."""
        return self.state.faults[self.operator]

    @property
    def sessions(self) -> Iterable[Session]:
        """The open connections."""
        return list(self._sessions)

    async def start(self, host: str, port: int) -> None:
        """Listen on ``host``:``port`` (0: a free port, then in :attr:`port`)."""
        self._server = await asyncio.start_server(self._accept, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        self.outbox.start()

    async def stop(self) -> None:
        """Stop listening, close every connection and give up pending work."""
        if self._server is not None:
            self._server.close()
        for session in list(self._sessions):
            session.close()
        self.cancel_pending()
        await self.outbox.close()
        tasks = list(self._tasks)
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def session_closed(self, session: Session) -> None:
        """Forget ``session`` and send again what waited on it."""
        if session in self._sessions:
            self._sessions.discard(session)
            self.outbox.session_closed(session)

    def logged_in(self, session: Session) -> None:
        """``session`` may now carry ``DELIVER``s."""
        self.outbox.wake()

    def login_refused(self) -> bool:
        """Whether the ``refuseLogin`` fault is in force."""
        return self.faults.refuse_login

    def throttled(self, session: Session) -> bool:
        """Whether a submit read on ``session`` now is answered with flow control: the session's
        window is overrun, the ``submitsPerSecond`` rate is reached, or the ``flowControlRate`` fault
        picks it. A submit let through counts toward the rate."""
        if session.unanswered > session.window:
            return True
        faults = self.faults
        if faults.flow_control_rate and random.random() < faults.flow_control_rate:  # fault injection  # nosec B311
            return True
        if faults.submits_per_second:
            now = asyncio.get_running_loop().time()
            while self._admitted and self._admitted[0] <= now - 1.0:
                self._admitted.popleft()
            if len(self._admitted) >= faults.submits_per_second:
                return True
            self._admitted.append(now)
        return False

    def answer_delay(self) -> float:
        """Seconds to hold the answer of an accepted submit (the ``answerDelayMs`` fault)."""
        return self.faults.answer_delay_ms / 1000

    def next_id(self) -> int:
        """A counter for the gateway's message ids."""
        self._ids += 1
        return self._ids

    def next_ref(self) -> int:
        """The one-octet reference of the next long reply."""
        self._ref = (self._ref + 1) & 0xFF
        return self._ref

    def deliver(
        self, *, phone_number: str, sender: str, coding: int, content: bytes, udhi: bool, message_id: str
    ) -> None:
        """Put an accepted SMS (or part) to ``phone_number`` (E.164) into its phone's inbox: at once
        when whole, once every part arrived for a long one; a part whose header cannot be read never
        shows."""
        text: str | None
        if udhi:
            try:
                part, data = parse_udh(content)
            except BadHeader as exc:
                _log.info("sandbox.smsc_bad_udh", operator=self.operator, reason=str(exc))
                return
            text = (
                decode(coding, data)
                if part is None
                else self._reassembly.add((sender, phone_number, part.ref), part, decode(coding, data))
            )
        else:
            text = decode(coding, content)
        if text is not None:
            self.center.received(
                self.operator,
                phone_number=phone_number,
                sender=sender,
                text=text,
                message_id=message_id,
                channel=self.spec.name,
            )

    def report(self, make: Callable[[], object], prefer: Session) -> None:
        """Send the report ``make()`` builds after the report delay (plus ``reportDelayMs``), twice
        under ``duplicateReports``, preferably on the connection of its submit."""
        faults = self.faults
        delay = self.timings.report_delay + faults.report_delay_ms / 1000
        for _ in range(2 if faults.duplicate_reports else 1):
            self._later(delay, self._report_due, make(), prefer)

    def reply(self, record: SmsRecord, text: str) -> None:
        """Send a phone's reply to an SMS this gateway delivered (:class:`sandbox.sms.SmsChannel`)."""
        for payload in self.spec.replies(self, record, text):
            self.outbox.put(payload)

    def cancel_pending(self) -> None:
        """Give up reports not yet due, unsent ``DELIVER``s and partial long messages."""
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        self._reordered.clear()
        self.outbox.clear()
        self._reassembly.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = self.spec.session(self, reader, writer)
        self._sessions.add(session)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await session.serve(
                heartbeat_after=self.timings.heartbeat_after,
                heartbeat_wait=self.timings.resend_after,
                heartbeat_misses=self.timings.heartbeat_misses,
            )
        finally:
            if task is not None:
                self._tasks.discard(task)

    def _later(self, delay: float, action: Callable[..., None], *args: object) -> None:
        handle: asyncio.TimerHandle

        def run() -> None:
            self._timers.discard(handle)
            action(*args)

        handle = asyncio.get_running_loop().call_later(delay, run)
        self._timers.add(handle)

    def _report_due(self, payload: object, prefer: Session | None) -> None:
        if not self.faults.reorder_reports:
            self.outbox.put(payload, prefer)
            return
        self._reordered.append((payload, prefer))
        if len(self._reordered) == 1:
            self._later(_REORDER_WINDOW, self._flush_reordered)

    def _flush_reordered(self) -> None:
        due, self._reordered = self._reordered, []
        for payload, prefer in reversed(due):
            self.outbox.put(payload, prefer)
