"""One TCP connection to a sandbox SMS gateway, whatever its protocol: framing, login state, the
requests read and not yet answered (the window), answers now or later, requests of the gateway's
own (``DELIVER``, ``ACTIVE_TEST``) matched to their answers by sequence, idle heartbeats, and the
connection-level faults (silent, drop with a window in flight).

A protocol module subclasses :class:`Session` with its header, its request handling and its
``DELIVER`` encoding; :class:`sandbox.smsc.gateway.Smsc` owns the sessions of one operator.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, ClassVar, Final

import structlog

from sandbox.smsc.wire import Malformed, read_pdu

if TYPE_CHECKING:
    from sandbox.smsc.gateway import Smsc

__all__ = ["RESPONSE", "Frame", "Session"]

RESPONSE: Final = 0x80000000
"""The bit a response's command id adds to its request's (all four protocols)."""

_log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Frame:
    """One PDU: its command id, its sequence (a protocol's whole sequence field as one integer), its
    body after the header, and its bytes."""

    command: int
    sequence: int
    body: bytes
    raw: bytes

    @property
    def is_response(self) -> bool:
        """Whether the command id has the response bit."""
        return bool(self.command & RESPONSE)


class Session(ABC):
    """A connection of an SP to the gateway ``smsc``.

    ``logged_in`` and ``receives`` (``DELIVER`` may be sent on it) are set by the protocol's login.
    Every request read counts as unanswered until :meth:`answer` writes its answer; under the
    ``silent`` fault every PDU read is ignored and nothing is sent.
    """

    protocol: ClassVar[str]
    header_size: ClassVar[int]
    max_length: ClassVar[int]
    window: ClassVar[int] = 16

    def __init__(self, smsc: Smsc, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.smsc = smsc
        self.logged_in = False
        self.receives = False
        self._reader = reader
        self._writer = writer
        self._loop = asyncio.get_running_loop()
        self._pending: Counter[int] = Counter()
        self._awaiting: dict[int, Callable[[Frame], None]] = {}
        self._sequence = 0
        self._held = 0
        self._last_heard = self._loop.time()
        self._timers: set[asyncio.TimerHandle] = set()
        self._released = asyncio.Event()

    @abstractmethod
    def parse_header(self, raw: bytes) -> Frame:
        """The frame of a whole PDU; :class:`Malformed` for an unknown command id."""

    @abstractmethod
    async def on_request(self, frame: Frame) -> None:
        """Handle a request read on this connection (answer it through :meth:`answer`)."""

    @abstractmethod
    def encode_deliver(self, payload: object, sequence: int) -> bytes:
        """The ``DELIVER`` (or ``REPORT``) PDU of an outbox ``payload`` in this session's version."""

    @abstractmethod
    def delivered(self, answer: Frame) -> bool:
        """Whether ``answer`` (the response to a ``DELIVER``) acknowledges it."""

    def active_test(self, sequence: int) -> bytes:
        """The gateway's own heartbeat request (protocols with heartbeats override it)."""
        raise NotImplementedError

    @property
    def is_open(self) -> bool:
        """Whether the connection is still open."""
        return not self._writer.is_closing()

    @property
    def unanswered(self) -> int:
        """Requests read on this connection whose answers are not written yet."""
        return sum(self._pending.values())

    def unanswered_with(self, sequence: int) -> int:
        """Unanswered requests carrying ``sequence`` (the one being handled included)."""
        return self._pending[sequence]

    def next_sequence(self) -> int:
        """The gateway's next request sequence on this connection (from 1, wrapping after 2^32 - 1)."""
        self._sequence = (self._sequence + 1) & 0xFFFFFFFF
        return self._sequence

    async def serve(
        self, *, heartbeat_after: float | None, heartbeat_wait: float, heartbeat_misses: int
    ) -> None:
        """Read and handle PDUs until the peer or the gateway closes the connection.

        With ``heartbeat_after``, the gateway sends :meth:`active_test` once nothing was heard for
        that long, and closes after ``heartbeat_misses`` in a row unanswered ``heartbeat_wait`` each.
        """
        heartbeats = (
            None
            if heartbeat_after is None
            else self._loop.create_task(self._heartbeats(heartbeat_after, heartbeat_wait, heartbeat_misses))
        )
        try:
            while self.is_open:
                raw = await read_pdu(self._reader, minimum=self.header_size, maximum=self.max_length)
                if raw is None:
                    break
                frame = self.parse_header(raw)
                self._last_heard = self._loop.time()
                if self.smsc.faults.silent:
                    continue
                if frame.is_response:
                    callback = self._awaiting.pop(frame.sequence, None)
                    if callback is not None:
                        callback(frame)
                    continue
                self._pending[frame.sequence] += 1
                await self.on_request(frame)
                await self._drain()
        except Malformed as exc:
            _log.info("sandbox.smsc_malformed", protocol=self.protocol, reason=str(exc))
        finally:
            if heartbeats is not None:
                heartbeats.cancel()
            self.close()

    def answer(self, request: Frame, raw: bytes, *, delay: float = 0.0) -> None:
        """Write ``raw``, the answer to ``request``, now or after ``delay`` seconds."""
        if delay <= 0:
            self._write_answer(request.sequence, raw)
            return
        handle = self._loop.call_later(delay, self._write_answer, request.sequence, raw)
        self._timers.add(handle)

    def discard(self, request: Frame) -> None:
        """Forget ``request`` without answering it."""
        self._release(request.sequence)

    def hold_for_drop(self, request: Frame) -> bool:
        """Under the ``dropWindow`` fault, keep ``request`` unanswered and unacted on (True); once
        the fault's count of requests is held, clear the fault and close the connection."""
        faults = self.smsc.faults
        if faults.drop_window <= 0:
            return False
        self._release(request.sequence)
        self._held += 1
        if self._held >= faults.drop_window:
            faults.drop_window = 0
            _log.info("sandbox.smsc_dropped", protocol=self.protocol, window=self._held)
            self.close()
        return True

    def send_request(self, build: Callable[[int], bytes], on_answer: Callable[[Frame], None]) -> int:
        """Send a request of the gateway's own; ``on_answer`` gets its response. Its sequence."""
        sequence = self.next_sequence()
        self._awaiting[sequence] = on_answer
        self.write(build(sequence))
        return sequence

    def forget(self, sequence: int) -> None:
        """Stop waiting for the answer to the gateway's request ``sequence``."""
        self._awaiting.pop(sequence, None)

    def write(self, raw: bytes) -> None:
        """Send ``raw`` unless the connection is closing."""
        if self.is_open:
            self._writer.write(raw)

    def close(self) -> None:
        """Close the connection (pending answers are never written); idempotent."""
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        if self.is_open:
            self._writer.close()
        self._released.set()
        self.smsc.session_closed(self)

    async def drained(self) -> None:
        """Wait until every request read before the one being handled has its answer written (or the
        connection closed)."""
        while self.unanswered > 1 and self.is_open:
            self._released.clear()
            await self._released.wait()

    def _write_answer(self, sequence: int, raw: bytes) -> None:
        self._release(sequence)
        self.write(raw)

    def _release(self, sequence: int) -> None:
        self._pending[sequence] -= 1
        if self._pending[sequence] <= 0:
            del self._pending[sequence]
        self._released.set()

    async def _drain(self) -> None:
        try:
            await self._writer.drain()
        except ConnectionError:
            self.close()

    async def _heartbeats(self, idle: float, wait: float, misses: int) -> None:
        missed = 0
        while self.is_open:
            quiet = self._loop.time() - self._last_heard
            if quiet < idle or not self.logged_in or self.smsc.faults.silent:
                await asyncio.sleep(max(idle - quiet, 0.05))
                continue
            answered = asyncio.Event()
            sequence = self.send_request(self.active_test, partial(_set, answered))
            try:
                async with asyncio.timeout(wait):
                    await answered.wait()
                missed = 0
            except TimeoutError:
                self.forget(sequence)
                missed += 1
                if missed >= misses:
                    _log.info("sandbox.smsc_peer_dead", protocol=self.protocol, unanswered=missed)
                    self.close()
                    return


def _set(event: asyncio.Event, _: Frame) -> None:
    event.set()
