"""Sessions: SQLite's in-process writer turn (:class:`WriterGate`) and the session factory whose
``session.begin()`` takes it."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.ext.asyncio.session import AsyncSessionTransaction
from sqlmodel.ext.asyncio.session import AsyncSession

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
    """A session whose ``async with session.begin()`` takes its engine's :class:`WriterGate`
    first when the engine has one (a :class:`SqliteEngine`); otherwise a plain session."""

    def begin(self) -> AsyncSessionTransaction:
        """The transaction context manager (gated on SQLite, see the class docstring)."""
        gate = getattr(self.bind, "writer_gate", None)
        if isinstance(gate, WriterGate):
            return _GatedTransaction(self, gate)
        return super().begin()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (:class:`GatedSession`)."""
    return async_sessionmaker(engine, class_=GatedSession, expire_on_commit=False)


def bound_engine(sessions: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    """The engine a :func:`session_factory` binds its sessions to (for :func:`gateway.db.run_unit`)."""
    engine = sessions.kw.get("bind")
    if not isinstance(engine, AsyncEngine):
        raise TypeError("the session factory is not bound to an AsyncEngine")
    return engine
