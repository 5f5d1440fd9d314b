"""The operators' outages as this process's circuit breakers saw them, kept for the dashboard.

An outage is one row of ``operator_circuit_openings``: written when an operator's circuit opens
while it was closed, and closed (``closed_at``) when a probe closes it again; a failed probe that
re-opens a half-open circuit continues the same outage. Circuits are per process
(:mod:`gateway.circuit`), so each process that noticed an outage has its own row, named by
``process`` (host and pid). Rows name operators only: an outage is the same for every tenant. A
process that stops closes its open outages; one killed outright leaves its last outage open.

The breaker's listener is synchronous and runs on the event loop in the middle of an operator call,
so :class:`CircuitJournal` only queues the change; one task writes the queue in order, and a write
that fails is logged and dropped (the metric ``gateway_operator_circuit_open`` and the log line of
:mod:`gateway.outbound` remain).
"""

from __future__ import annotations

import asyncio
import os
import socket
from datetime import datetime
from functools import partial

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import Field, SQLModel

from gateway.circuit import CircuitState
from gateway.clock import Clock
from gateway.db import run_unit

__all__ = ["CircuitJournal", "CircuitOpening"]

log = structlog.get_logger(__name__)


class CircuitOpening(SQLModel, table=True):
    """One outage of one operator as one process saw it; ``closed_at`` None while it lasts."""

    __tablename__ = "operator_circuit_openings"
    __table_args__ = (sa.Index("ix_operator_circuit_openings_opened_at", "opened_at"),)

    id: int | None = Field(default=None, primary_key=True)
    operator: str = Field(max_length=8)
    process: str = Field(max_length=80)
    opened_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    closed_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


_TABLE: sa.Table = CircuitOpening.__table__  # type: ignore[attr-defined]

_Change = tuple[str, CircuitState, datetime]


class CircuitJournal:
    """A circuit state listener (:data:`gateway.circuit.StateListener`) that records outages.

    Call it only from the event loop; :meth:`aclose` writes what is queued and stops.
    """

    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock
        self._process = f"{socket.gethostname()[:60]}:{os.getpid()}"
        self._changes: asyncio.Queue[_Change | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._open: dict[str, int] = {}

    def __call__(self, operator: str, state: CircuitState) -> None:
        if state is CircuitState.HALF_OPEN:
            return
        self._changes.put_nowait((operator, state, self._clock.now()))
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write(), name="circuit-journal")

    async def aclose(self) -> None:
        """Write the queued changes, close the outages still open (this process stops watching
        them), then stop."""
        if self._writer is not None:
            self._changes.put_nowait(None)
            await self._writer

    async def _write(self) -> None:
        while (change := await self._changes.get()) is not None:
            await self._record(*change)
        for operator in list(self._open):
            await self._record(operator, CircuitState.CLOSED, self._clock.now())

    async def _record(self, operator: str, state: CircuitState, moment: datetime) -> None:
        try:
            await self._store(operator, state, moment)
        except Exception:
            log.exception("circuit_journal_write_failed", operator=operator, state=state.value)

    async def _store(self, operator: str, state: CircuitState, moment: datetime) -> None:
        opening = self._open.get(operator)
        if (state is CircuitState.OPEN) == (opening is not None):
            return
        if opening is None:
            work = partial(_insert, operator, self._process, moment)
            self._open[operator] = await run_unit(self._engine, work)
        else:
            await run_unit(self._engine, partial(_close, opening, moment))
            del self._open[operator]


def _insert(operator: str, process: str, opened_at: datetime, conn: Connection) -> int:
    statement = (
        sa.insert(_TABLE)
        .values(operator=operator, process=process, opened_at=opened_at)
        .returning(_TABLE.c.id)
    )
    opening: int = conn.execute(statement).scalar_one()
    return opening


def _close(opening: int, closed_at: datetime, conn: Connection) -> None:
    conn.execute(sa.update(_TABLE).where(_TABLE.c.id == opening).values(closed_at=closed_at))
