"""One logged-in TCP connection to an operator's SMS gateway, with a window of requests in flight.

:meth:`Session.open` connects, logs in and starts two tasks (:meth:`Session.accept` serves a
connection the operator opened, after checking its login): a reader that matches responses to
requests by sequence and answers the peer's requests, and a keeper that sends heartbeats on an
idle connection and declares the peer dead when ``heartbeat_misses`` of them in a row go
unanswered (a protocol without heartbeats closes an idle connection gracefully instead, to be
reopened on demand; a connection the operator opened to us is just closed).

:meth:`Session.request` waits for a free slot in the window (``window`` requests without an
answer), sends, and waits up to ``response_timeout`` for the answer. Failures are carrier errors:
``CarrierUnavailable(unsent=True)`` when the request never left (the session is closed),
``CarrierUnavailable`` when the connection was lost after it left, ``CarrierTimeout`` when no
answer came in time; in the last two cases the operator may have accepted it.

Reports and replies (INBOUND PDUs) go to ``on_inbound``; the answer to the peer is sent only after
``on_inbound`` returns, so an answer means the gateway holds them: if it raises, no answer goes and
the operator sends them again. Nothing here logs numbers, contents or secrets.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

import structlog

from carrier_adapters.errors import CarrierError, CarrierProtocolError, CarrierTimeout, CarrierUnavailable
from carrier_adapters.pdu import FrameBuffer, PduError
from carrier_adapters.smsc.dialect import Dialect, Inbound, ListeningDialect, PduKind

__all__ = ["InboundSink", "RequestLost", "Session", "SessionSettings"]

log = structlog.get_logger(__name__)

PduT = TypeVar("PduT")
SeqT = TypeVar("SeqT", bound=Hashable)

InboundSink = Callable[[list[Inbound]], Awaitable[None]]
"""Takes reports and replies; returns once they are durable (then the peer gets its answer)."""

_READ_SIZE = 65536


class RequestLost(CarrierUnavailable):
    """The connection ended after the request left (the operator may hold it); ``sequence`` is
    what it was sent with."""

    def __init__(self, cause: CarrierUnavailable, sequence: Hashable) -> None:
        super().__init__(cause.operator, cause.message, code=cause.code)
        self.sequence = sequence


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """Timing and window of one connection; seconds throughout."""

    window: int = 16
    connect_timeout: float = 5.0
    response_timeout: float = 10.0
    heartbeat_interval: float = 30.0
    heartbeat_misses: int = 3
    idle_close: float = 60.0
    close_timeout: float = 2.0

    def __post_init__(self) -> None:
        if self.window < 1 or self.heartbeat_misses < 1:
            raise ValueError("window and heartbeat_misses must be at least 1")


class Session(Generic[PduT, SeqT]):
    """See the module docstring. Build with :meth:`open`; end with :meth:`close`."""

    def __init__(
        self,
        dialect: Dialect[PduT, SeqT],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        operator: str,
        settings: SessionSettings,
        on_inbound: InboundSink,
        now: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._dialect = dialect
        self._reader = reader
        self._writer = writer
        self.operator = operator
        self._settings = settings
        self._on_inbound = on_inbound
        self._now = now
        self._monotonic = monotonic
        self._window = asyncio.Semaphore(settings.window)
        self._pending: dict[SeqT, asyncio.Future[PduT]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = asyncio.Event()
        self._failure: CarrierError | None = None
        self._logging_out = False
        self._last_heard = monotonic()
        self._last_sent = monotonic()
        self._outgoing: list[bytes] = []
        self._accepted = False

    @classmethod
    async def open(
        cls,
        dialect: Dialect[PduT, SeqT],
        host: str,
        port: int,
        *,
        operator: str,
        settings: SessionSettings,
        on_inbound: InboundSink,
        now: Callable[[], datetime],
    ) -> Session[PduT, SeqT]:
        """Connect and log in; raises a carrier error (login refused, unreachable, timeout)."""
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port), settings.connect_timeout
            )
        except TimeoutError:
            raise CarrierUnavailable(
                operator, "connecting to the SMS gateway timed out", unsent=True
            ) from None
        except OSError as exc:
            raise CarrierUnavailable(
                operator,
                f"cannot connect to the SMS gateway ({exc.strerror or type(exc).__name__})",
                unsent=True,
            ) from None
        session = cls(
            dialect, reader, writer, operator=operator, settings=settings, on_inbound=on_inbound, now=now
        )
        session._spawn(session._read())
        try:
            request = dialect.login(now())
            dialect.check_login(request, await session.request(request))
        except BaseException:
            await session.close(graceful=False)
            raise
        session._spawn(session._keep_alive())
        log.info("smsc_session_open", operator=operator, protocol=dialect.protocol)
        return session

    @classmethod
    async def accept(
        cls,
        dialect: ListeningDialect[PduT, SeqT],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        operator: str,
        settings: SessionSettings,
        on_inbound: InboundSink,
        now: Callable[[], datetime],
    ) -> Session[PduT, SeqT] | None:
        """Serve a connection the operator opened to us: its login first, then its requests.

        Returns the running session, or ``None`` when the login was refused, malformed or late
        (the connection is then closed after the refusal was sent).
        """
        session = cls(
            dialect, reader, writer, operator=operator, settings=settings, on_inbound=on_inbound, now=now
        )
        frames = dialect.frames()
        try:
            login = await asyncio.wait_for(session._first_frame(frames), settings.response_timeout)
            sequence, pdu = dialect.decode(login)
            reply, accepted = dialect.accept_login(pdu)
            if reply is not None:
                writer.write(dialect.encode(reply, sequence))
        except (TimeoutError, PduError, OSError, ConnectionError):
            accepted = False
        if not accepted:
            log.warning("smsc_peer_login_refused", operator=operator, protocol=dialect.protocol)
            await session.close(graceful=False)
            return None
        session._accepted = True
        session._spawn(session._read(frames))
        session._spawn(session._keep_alive())
        log.info("smsc_peer_session_open", operator=operator, protocol=dialect.protocol)
        return session

    async def _first_frame(self, frames: FrameBuffer) -> bytes:
        pending: list[bytes] = []
        while not pending:
            data = await self._reader.read(_READ_SIZE)
            if not data:
                raise ConnectionError("closed before logging in")
            pending = frames.feed(data)
        if len(pending) > 1:
            raise PduError("requests sent before the login was answered")
        return pending[0]

    @property
    def dialect(self) -> Dialect[PduT, SeqT]:
        """The protocol this connection speaks (it numbers this connection's requests)."""
        return self._dialect

    @property
    def closed(self) -> bool:
        """Whether the connection is over (no request can be sent)."""
        return self._closed.is_set()

    @property
    def in_flight(self) -> int:
        """Requests sent and not answered yet."""
        return len(self._pending)

    @property
    def has_room(self) -> bool:
        """Whether a request would be sent at once (the window is not full)."""
        return not self.closed and not self._window.locked()

    async def wait_closed(self) -> CarrierError | None:
        """Wait for the end of the connection; the failure that ended it, ``None`` if it was closed."""
        await self._closed.wait()
        return self._failure

    async def request(self, pdu: PduT) -> PduT:
        """Send ``pdu`` within the window and return the peer's answer (see the module docstring)."""
        return (await self.exchange(pdu))[1]

    async def exchange(self, pdu: PduT, sequence: SeqT | None = None) -> tuple[SeqT, PduT]:
        """:meth:`request`, also returning the sequence ``pdu`` was sent with.

        ``sequence`` (a request sent again after its connection was lost, for a protocol whose
        sequences are unique across connections: :attr:`Dialect.stable_sequences`) replaces the
        next one of this connection.
        """
        async with self._window:
            if self.closed:
                raise CarrierUnavailable(self.operator, "the SMS session is closed", unsent=True)
            if sequence is None:
                sequence = self._dialect.next_sequence()
            loop = asyncio.get_running_loop()
            answer: asyncio.Future[PduT] = loop.create_future()
            self._pending[sequence] = answer
            deadline = loop.call_later(self._settings.response_timeout, self._time_out, answer)
            try:
                self._send(pdu, sequence)
                return sequence, await answer
            except CarrierUnavailable as exc:
                if exc.unsent:
                    raise
                raise RequestLost(exc, sequence) from exc
            finally:
                deadline.cancel()
                self._pending.pop(sequence, None)

    def _time_out(self, answer: asyncio.Future[PduT]) -> None:
        if not answer.done():
            answer.set_exception(CarrierTimeout(self.operator, "the SMS gateway did not answer in time"))

    async def close(self, *, graceful: bool = True) -> None:
        """End the connection; gracefully: send the logout and wait briefly for its answer."""
        if graceful and not self.closed:
            self._logging_out = True
            with contextlib.suppress(CarrierError):
                await asyncio.wait_for(self.request(self._dialect.logout()), self._settings.close_timeout)
        self._end(None)
        tasks = [task for task in self._tasks if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._flush()
        self._writer.close()
        with contextlib.suppress(OSError, ConnectionError):
            await self._writer.wait_closed()

    def _send(self, pdu: PduT, sequence: SeqT) -> None:
        if self._writer.is_closing():
            raise CarrierUnavailable(self.operator, "the SMS session is closed", unsent=True)
        self._write(self._dialect.encode(pdu, sequence))
        self._last_sent = self._monotonic()

    def _write(self, data: bytes) -> None:
        """Queue ``data``; everything queued in one turn of the event loop leaves in one write."""
        self._outgoing.append(data)
        if len(self._outgoing) == 1:
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        if self._outgoing and not self._writer.is_closing():
            self._writer.write(b"".join(self._outgoing))
        self._outgoing.clear()

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _end(self, failure: CarrierError | None) -> None:
        """Mark the connection over and fail every request still waiting for an answer."""
        if self.closed:
            return
        self._failure = failure
        self._closed.set()
        lost = failure or CarrierUnavailable(
            self.operator, "the SMS session closed with the request in flight"
        )
        for answer in self._pending.values():
            if not answer.done():
                answer.set_exception(lost)
        if failure is not None:
            log.warning(
                "smsc_session_lost",
                operator=self.operator,
                protocol=self._dialect.protocol,
                error=failure.message,
            )
            self._flush()
            self._writer.close()

    async def _read(self, frames: FrameBuffer | None = None) -> None:
        frames = frames or self._dialect.frames()
        try:
            while True:
                data = await self._reader.read(_READ_SIZE)
                if not data:
                    closed = CarrierUnavailable(self.operator, "the SMS gateway closed the connection")
                    self._end(None if self._logging_out else closed)
                    return
                self._last_heard = self._monotonic()
                for frame in frames.feed(data):
                    self._handle(*self._dialect.decode(frame))
        except PduError as exc:
            self._end(CarrierProtocolError(self.operator, f"malformed PDU from the SMS gateway: {exc}"))
        except (OSError, ConnectionError) as exc:
            self._end(CarrierUnavailable(self.operator, f"the SMS connection failed ({type(exc).__name__})"))

    def _handle(self, sequence: SeqT, pdu: PduT) -> None:
        kind = self._dialect.kind(pdu)
        if kind is PduKind.RESPONSE:
            answer = self._pending.get(sequence)
            if answer is None or answer.done():
                log.warning(
                    "smsc_unexpected_response", operator=self.operator, protocol=self._dialect.protocol
                )
            else:
                answer.set_result(pdu)
        elif kind is PduKind.INBOUND:
            self._spawn(self._deliver(sequence, pdu))
        else:
            self._answer(sequence, pdu)
            if kind is PduKind.LOGOUT:
                self._end(CarrierUnavailable(self.operator, "the SMS gateway ended the session"))

    def _answer(self, sequence: SeqT, pdu: PduT) -> None:
        reply = self._dialect.reply(pdu)
        if reply is not None and not self._writer.is_closing():
            self._write(self._dialect.encode(reply, sequence))

    async def _deliver(self, sequence: SeqT, pdu: PduT) -> None:
        try:
            await self._on_inbound(self._dialect.inbound(pdu, self._now()))
        except Exception:
            log.exception("smsc_inbound_not_stored", operator=self.operator, protocol=self._dialect.protocol)
            return
        self._answer(sequence, pdu)

    async def _keep_alive(self) -> None:
        settings = self._settings
        misses = 0
        while not self.closed:
            await asyncio.sleep(min(settings.heartbeat_interval, settings.idle_close) / 4)
            idle = self._monotonic() - max(self._last_heard, self._last_sent)
            heartbeat = self._dialect.heartbeat()
            if heartbeat is None:
                if idle >= settings.idle_close and not self._pending:
                    self._spawn(self.close(graceful=not self._accepted))
                    return
                continue
            if self._monotonic() - self._last_heard < settings.heartbeat_interval:
                misses = 0
                continue
            try:
                await self.request(heartbeat)
                misses = 0
            except CarrierTimeout:
                misses += 1
                if misses >= settings.heartbeat_misses:
                    self._end(
                        CarrierUnavailable(self.operator, "the SMS gateway stopped answering heartbeats")
                    )
                    return
            except CarrierError:
                return
