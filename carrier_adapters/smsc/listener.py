"""A TCP listener for operators that connect to us to deliver reports and replies (SGIP's SMG).

Each accepted connection is served by :meth:`Session.accept` with a fresh dialect: the peer's
login is checked, then its DELIVER/REPORT requests go to ``on_inbound`` and are answered. The
listener keeps no state beyond its open sessions, which :meth:`SmscListener.close` ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from carrier_adapters.smsc.dialect import ListeningDialect
from carrier_adapters.smsc.session import InboundSink, Session, SessionSettings

__all__ = ["SmscListener"]


class SmscListener:
    """See the module docstring; :meth:`start` binds (port 0 picks a free one, see :attr:`port`)."""

    def __init__(
        self,
        operator: str,
        dialect: Callable[[], ListeningDialect[Any, Any]],
        *,
        host: str,
        port: int,
        settings: SessionSettings,
        on_inbound: InboundSink,
        now: Callable[[], datetime],
    ) -> None:
        self.operator = operator
        self._dialect = dialect
        self._host = host
        self._port = port
        self._settings = settings
        self._on_inbound = on_inbound
        self._now = now
        self._server: asyncio.Server | None = None
        self._sessions: set[Session[Any, Any]] = set()
        self._serving: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        if self._server is None:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        """Start accepting connections."""
        self._server = await asyncio.start_server(self._accept, self._host, self._port, reuse_port=True)

    async def close(self) -> None:
        """Stop accepting and end every open session (their handlers then return on their own; one
        still waiting for a login is cancelled after ``close_timeout``)."""
        if self._server is not None:
            self._server.close()
        await asyncio.gather(
            *(session.close(graceful=False) for session in list(self._sessions)), return_exceptions=True
        )
        if self._serving:
            _, logging_in = await asyncio.wait(self._serving, timeout=self._settings.close_timeout)
            for task in logging_in:
                task.cancel()
            await asyncio.gather(*logging_in, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._serving.add(task)
        try:
            session = await Session.accept(
                self._dialect(),
                reader,
                writer,
                operator=self.operator,
                settings=self._settings,
                on_inbound=self._on_inbound,
                now=self._now,
            )
            if session is None:
                return
            self._sessions.add(session)
            await session.wait_closed()
            self._sessions.discard(session)
            await session.close(graceful=False)
        finally:
            if task is not None:
                self._serving.discard(task)
