"""The SGIP SMG's side of the second connection: it dials the SP's listener to send ``REPORT``s and MO
``DELIVER``s (``docs/operator-dialects.md``, "China Unicom: SGIP 1.2", "Sessions, answers and idle
connections" and "Reports and MO messages").

When something is due and the SP's listener is known, the SMG connects and binds with ``Login_Type``
2 and the account's name and password, sends up to 16 commands at a time, each with the sequence it
got when it was queued, and reads their answers. A command answered with a ``Result`` other than 0,
left unanswered ``answer_wait`` seconds (the connection is then closed), or whose connection failed or
was refused, is sent again with the same sequence after each of ``retry_delays`` in turn, then given
up. After ``idle`` seconds with nothing to send the SMG sends ``UNBIND``, waits for its answer (at most
``answer_wait``) and closes; an ``UNBIND`` from the SP is answered and the connection closed. Under
the ``silent`` fault nothing is dialled or sent and answers read are ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import structlog

from sandbox.smsc.session import RESPONSE, Frame
from sandbox.smsc.sgip import (
    BIND,
    DELIVER,
    HEADER,
    MAX_LENGTH,
    REPORT,
    UNBIND,
    Sgip,
    encode_payload,
    parse_frame,
    pdu,
    result_of,
)
from sandbox.smsc.wire import Malformed, octets, read_pdu, u8

if TYPE_CHECKING:
    from sandbox.smsc.gateway import Smsc
    from sandbox.smsc.session import Session

__all__ = ["SgipDialer"]

_log = structlog.get_logger(__name__)
_POLL: Final = 0.05
_WINDOW: Final = 16
_ANSWERS: Final = frozenset({REPORT | RESPONSE, DELIVER | RESPONSE})


@dataclass(eq=False, slots=True)
class _Item:
    payload: object
    sequence: int
    failures: int = 0
    due: float = 0.0
    deadline: float = 0.0


@dataclass(eq=False)
class _Link:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    last: float
    unbound: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def is_open(self) -> bool:
        return not self.writer.is_closing()

    def write(self, raw: bytes) -> None:
        if self.is_open:
            self.writer.write(raw)

    async def read(self) -> Frame | None:
        try:
            raw = await read_pdu(self.reader, minimum=HEADER, maximum=MAX_LENGTH)
            return None if raw is None else parse_frame(raw)
        except Malformed as exc:
            _log.info("sandbox.smsc_malformed", protocol="sgip", reason=str(exc))
            return None

    def close(self) -> None:
        if self.is_open:
            self.writer.close()


class SgipDialer:
    """Sends the SMG ``smsc``'s reports and MO texts to the SP's ``listener`` (host, port)."""

    def __init__(
        self,
        smsc: Smsc,
        sgip: Sgip,
        *,
        listener: tuple[str, int] | None,
        answer_wait: float,
        retry_delays: tuple[float, ...],
        idle: float,
    ) -> None:
        self.listener = listener
        self._smsc = smsc
        self._sgip = sgip
        self._answer_wait = answer_wait
        self._retry_delays = retry_delays
        self._idle = idle
        self._queue: list[_Item] = []
        self._in_flight: dict[int, _Item] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._link: _Link | None = None

    @property
    def waiting(self) -> int:
        """Commands not yet answered 0 nor given up."""
        return len(self._queue) + len(self._in_flight)

    def start(self) -> None:
        """Start sending."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Stop, close the connection to the SP and forget every command."""
        self.clear()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._link is not None:
            self._link.close()

    def put(self, payload: object, prefer: Session | None = None) -> None:
        """Queue a :class:`~sandbox.smsc.sgip.Report` or :class:`~sandbox.smsc.sgip.Deliver` under a
        fresh sequence (``prefer`` does not apply: the SMG dials the SP)."""
        self._queue.append(_Item(payload, self._sgip.next_sequence()))
        self.wake()

    def wake(self) -> None:
        """Look for work now."""
        self._wake.set()

    def session_closed(self, session: Session) -> None:
        """Nothing waits on the SP's own connections."""

    def clear(self) -> None:
        """Forget every command."""
        self._queue.clear()
        self._in_flight.clear()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._until_work()
            link = await self._dial()
            if link is None:
                self._fail(self._due(loop.time()))
                continue
            self._link = link
            try:
                await self._serve(link)
            finally:
                link.close()
                self._link = None
                failed, self._in_flight = list(self._in_flight.values()), {}
                self._fail(failed)

    def _ready(self, now: float) -> bool:
        return bool(self._due(now)) and self.listener is not None and not self._smsc.faults.silent

    def _due(self, now: float) -> list[_Item]:
        return [item for item in self._queue if item.due <= now]

    async def _until_work(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._ready(loop.time()):
            await self._nap()

    async def _nap(self) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_POLL):
                await self._wake.wait()

    async def _dial(self) -> _Link | None:
        if not (self.listener is not None):
            raise RuntimeError("dialing without a listener address")
        host, port = self.listener
        account = self._smsc.account
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._answer_wait):
                reader, writer = await asyncio.open_connection(host, port)
        except (OSError, TimeoutError):
            _log.info("sandbox.sgip_listener_unreachable")
            return None
        link = _Link(reader, writer, loop.time())
        sequence = self._sgip.next_sequence()
        body = u8(2) + octets(account.login, 16) + octets(account.secret, 16) + bytes(8)
        link.write(pdu(BIND, sequence, body))
        answer: Frame | None = None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._answer_wait):
                answer = await link.read()
        if answer is None or answer.command != BIND | RESPONSE or answer.sequence != sequence:
            link.close()
            return None
        if result_of(answer) != 0:
            _log.info("sandbox.sgip_bind_refused", result=result_of(answer))
            link.close()
            return None
        return link

    async def _serve(self, link: _Link) -> None:
        loop = asyncio.get_running_loop()
        reader = loop.create_task(self._read(link))
        try:
            while link.is_open:
                now = loop.time()
                if not self._smsc.faults.silent:
                    self._send_due(link, now)
                if any(item.deadline <= now for item in self._in_flight.values()):
                    _log.info("sandbox.sgip_answer_overdue", unanswered=len(self._in_flight))
                    return
                idle = not self._in_flight and not self._due(now) and now - link.last >= self._idle
                if idle and not self._smsc.faults.silent:
                    await self._unbind(link)
                    return
                await self._nap()
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)

    def _send_due(self, link: _Link, now: float) -> None:
        for item in self._due(now):
            if len(self._in_flight) >= _WINDOW:
                return
            self._queue.remove(item)
            item.deadline = now + self._answer_wait
            self._in_flight[item.sequence] = item
            link.write(encode_payload(item.payload, item.sequence))
            link.last = now

    async def _read(self, link: _Link) -> None:
        loop = asyncio.get_running_loop()
        while True:
            frame = await link.read()
            if frame is None:
                link.close()
                self.wake()
                return
            link.last = loop.time()
            if self._smsc.faults.silent:
                continue
            if frame.command == UNBIND:
                link.write(pdu(UNBIND | RESPONSE, frame.sequence, b""))
                link.close()
                self.wake()
                return
            if frame.command == UNBIND | RESPONSE:
                link.unbound.set()
            elif frame.command in _ANSWERS:
                item = self._in_flight.pop(frame.sequence, None)
                if item is not None and result_of(frame) != 0:
                    self._fail([item])
                self.wake()

    async def _unbind(self, link: _Link) -> None:
        link.write(pdu(UNBIND, self._sgip.next_sequence(), b""))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._answer_wait):
                await link.unbound.wait()

    def _fail(self, items: list[_Item]) -> None:
        now = asyncio.get_running_loop().time()
        for item in items:
            item.failures += 1
            if item.failures > len(self._retry_delays):
                _log.warning("sandbox.smsc_deliver_given_up", protocol="sgip", sends=item.failures)
                with contextlib.suppress(ValueError):
                    self._queue.remove(item)
                continue
            item.due = now + self._retry_delays[item.failures - 1]
            if item not in self._queue:
                self._queue.append(item)
