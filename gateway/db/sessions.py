"""Sessions and SQLite's writer rule: one writing transaction at a time per engine, in process.

SQLite admits one writer at a time, and its busy handler makes a waiting writer poll with growing
sleeps. On a SQLite engine every ``session.begin()`` block and every writing unit of work
(:func:`gateway.db.run_unit`) therefore first takes the engine's :class:`WriterGate`, an
in-process FIFO turn, so transactions queue on the event loop and each starts the moment the
previous one ends. Other processes on the same file still meet SQLite's busy timeout. PostgreSQL
engines have no gate.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.ext.asyncio.session import AsyncSessionTransaction
from sqlmodel.ext.asyncio.session import AsyncSession

__all__ = ["GatedSession", "WriterGate", "bound_engine", "session_factory", "writer_gate"]

WRITER_GATE_TIMEOUT = 5.0
"""Seconds a transaction waits for the writer gate, as long as SQLite's busy timeout."""


class WriterGate:
    """An in-process FIFO turn for SQLite transactions (one at a time), bounded in time.

    :meth:`acquire` raises ``sqlalchemy.exc.TimeoutError`` (answered 503 UNAVAILABLE, as a pool
    timeout) after :data:`WRITER_GATE_TIMEOUT` seconds, and ``RuntimeError`` when the calling task
    already holds the gate (a transaction opened inside another would wait for itself).
    """

    def __init__(self, timeout: float = WRITER_GATE_TIMEOUT) -> None:
        self._lock = asyncio.Lock()
        self._holder: asyncio.Task[Any] | None = None
        self._timeout = timeout

    async def acquire(self) -> None:
        """Wait for the turn (see the class errors)."""
        task = asyncio.current_task()
        if task is not None and task is self._holder:
            raise RuntimeError("a SQLite transaction was opened inside another in the same task")
        try:
            async with asyncio.timeout(self._timeout):
                await self._lock.acquire()
        except TimeoutError:
            raise sa.exc.TimeoutError(f"no SQLite writer turn within {self._timeout:g} s") from None
        self._holder = task

    def release(self) -> None:
        """End the turn."""
        self._holder = None
        self._lock.release()


_GATES: weakref.WeakKeyDictionary[sa.Engine, WriterGate] = weakref.WeakKeyDictionary()


def writer_gate(engine: AsyncEngine) -> WriterGate | None:
    """The engine's writer gate: one per SQLite engine (kept as long as the engine), None elsewhere."""
    if engine.dialect.name != "sqlite":
        return None
    gate = _GATES.get(engine.sync_engine)
    if gate is None:
        gate = _GATES[engine.sync_engine] = WriterGate()
    return gate


class _GatedTransaction(AsyncSessionTransaction):
    """``session.begin()`` that holds ``gate`` from before the transaction until after its end."""

    def __init__(self, session: AsyncSession, gate: WriterGate) -> None:
        super().__init__(session)
        self._gate = gate

    async def __aenter__(self) -> AsyncSessionTransaction:
        await self._gate.acquire()
        try:
            return await super().__aenter__()
        except BaseException:
            self._gate.release()
            raise

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        try:
            await super().__aexit__(type_, value, traceback)
        finally:
            self._gate.release()


class GatedSession(AsyncSession):
    """A session whose ``async with session.begin()`` first takes its engine's :class:`WriterGate`
    (on SQLite); otherwise a plain sqlmodel ``AsyncSession``."""

    def begin(self) -> AsyncSessionTransaction:
        """The transaction context manager (gated on SQLite, see the class docstring)."""
        gate = writer_gate(self.bind) if isinstance(self.bind, AsyncEngine) else None
        if gate is not None:
            return _GatedTransaction(self, gate)
        return super().begin()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """ORM sessions on ``engine`` that keep loaded objects usable after commit (:class:`GatedSession`)."""
    return async_sessionmaker(engine, class_=GatedSession, expire_on_commit=False)


def bound_engine(sessions: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    """The engine a :func:`session_factory` binds its sessions to (for :func:`gateway.db.run_unit`)."""
    engine = sessions.kw.get("bind")
    if not isinstance(engine, AsyncEngine):
        raise TypeError("the session factory is not bound to an AsyncEngine")
    return engine
