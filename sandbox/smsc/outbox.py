"""The ``DELIVER``s an operator's gateway owes its SP (status reports and MO replies): each goes on
a logged-in connection that receives them (the one it names if still open, else any; it waits while
there is none), and one not acknowledged within ``resend_after`` seconds (or whose connection
closed) is sent again with a new sequence, up to ``resends`` times, then given up."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, Protocol

import structlog

from sandbox.smsc.session import Frame, Session

__all__ = ["Deliveries", "Outbox"]

_log = structlog.get_logger(__name__)
_POLL: Final = 0.1


@dataclass(eq=False, slots=True)
class _Item:
    payload: object
    prefer: Session | None
    sends: int = 0
    session: Session | None = None
    sequence: int = 0
    timer: asyncio.TimerHandle | None = None


class Deliveries(Protocol):
    """How a gateway sends what it owes the SP (:class:`Outbox` on the SP's own connections; SGIP's
    SMG dials the SP instead)."""

    def start(self) -> None:
        """Start sending."""
        ...

    async def close(self) -> None:
        """Stop sending and forget every payload."""
        ...

    def put(self, payload: object, prefer: Session | None = None) -> None:
        """Send ``payload`` (on ``prefer`` when the protocol uses the SP's connections)."""
        ...

    def wake(self) -> None:
        """Try to send now."""
        ...

    def session_closed(self, session: Session) -> None:
        """An SP's connection closed."""
        ...

    def clear(self) -> None:
        """Forget every payload."""
        ...


class Outbox:
    """Sends ``DELIVER`` payloads through ``sessions()``; nothing leaves while ``silent()``."""

    def __init__(
        self,
        *,
        sessions: Callable[[], Iterable[Session]],
        silent: Callable[[], bool],
        resend_after: float,
        resends: int,
    ) -> None:
        self._sessions = sessions
        self._silent = silent
        self._resend_after = resend_after
        self._resends = resends
        self._queue: deque[_Item] = deque()
        self._in_flight: set[_Item] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        """Payloads not yet acknowledged or given up."""
        return len(self._queue) + len(self._in_flight)

    def start(self) -> None:
        """Start sending."""
        self._task = asyncio.get_running_loop().create_task(self._pump())

    async def close(self) -> None:
        """Stop sending and forget every payload."""
        self.clear()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def put(self, payload: object, prefer: Session | None = None) -> None:
        """Send ``payload``, on ``prefer`` when it can take it."""
        self._queue.append(_Item(payload, prefer))
        self.wake()

    def wake(self) -> None:
        """Try to send now (a connection logged in, a fault was cleared)."""
        self._wake.set()

    def session_closed(self, session: Session) -> None:
        """Send again what waited for an answer on ``session``."""
        for item in [item for item in self._in_flight if item.session is session]:
            self._in_flight.discard(item)
            if item.timer is not None:
                item.timer.cancel()
            self._retry(item)

    def clear(self) -> None:
        """Forget every payload."""
        for item in self._in_flight:
            if item.timer is not None:
                item.timer.cancel()
            if item.session is not None:
                item.session.forget(item.sequence)
        self._in_flight.clear()
        self._queue.clear()

    async def _pump(self) -> None:
        while True:
            self._wake.clear()
            self._flush()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_POLL):
                    await self._wake.wait()

    def _flush(self) -> None:
        if self._silent():
            return
        while self._queue:
            item = self._queue[0]
            session = self._pick(item.prefer)
            if session is None:
                return
            self._queue.popleft()
            self._send(item, session)

    def _pick(self, prefer: Session | None) -> Session | None:
        candidates = [prefer] if prefer is not None else []
        candidates.extend(self._sessions())
        for session in candidates:
            if session is not None and session.is_open and session.logged_in and session.receives:
                return session
        return None

    def _send(self, item: _Item, session: Session) -> None:
        item.sends += 1
        item.session = session
        item.sequence = session.send_request(
            lambda sequence: session.encode_deliver(item.payload, sequence),
            lambda answer: self._answered(item, answer),
        )
        item.timer = asyncio.get_running_loop().call_later(self._resend_after, self._overdue, item)
        self._in_flight.add(item)

    def _answered(self, item: _Item, answer: Frame) -> None:
        if item not in self._in_flight or item.session is None or not item.session.delivered(answer):
            return
        self._in_flight.discard(item)
        if item.timer is not None:
            item.timer.cancel()

    def _overdue(self, item: _Item) -> None:
        if item not in self._in_flight:
            return
        self._in_flight.discard(item)
        if item.session is not None:
            item.session.forget(item.sequence)
        self._retry(item)

    def _retry(self, item: _Item) -> None:
        if item.sends > self._resends:
            _log.warning("sandbox.smsc_deliver_given_up", sends=item.sends)
            return
        self._queue.append(item)
        self.wake()
