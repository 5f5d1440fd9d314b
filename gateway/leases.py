"""Leased queues: tables whose due rows workers claim for a while, so any number of processes share them.

A claim gives at most ``limit`` due rows whose lease is free (never taken, or ended at or before
now) to one owner until a given time, in one ``UPDATE … RETURNING``. On PostgreSQL the candidates
are selected ``FOR UPDATE SKIP LOCKED`` in a ``MATERIALIZED`` CTE of that ``UPDATE``, so
concurrent workers take disjoint sets without waiting and the ``LIMIT`` applies once (as a
semi-join PostgreSQL may rescan a plain sub-select, claiming every due row). On SQLite the
``UPDATE … WHERE id IN (SELECT … LIMIT n) AND <due> AND <lease free>`` is atomic under its single
writer. A read-only probe goes first, so a worker with nothing to do writes nothing.

Every later write of a claimed row is conditional on the lease (:meth:`LeasedQueue.release`), so
a worker whose lease ended writes nothing. A worker that dies leaves its leases to end, and its
rows are claimed again. Claims and probes run as :func:`gateway.db.run_unit` units.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import RowMapping
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.db import run_unit

__all__ = ["LeasedQueue"]


@dataclass(frozen=True, slots=True)
class LeasedQueue:
    """A table of leased rows: ``owner`` and ``until`` hold the lease, ``due(now)`` the conditions
    (besides a free lease) that make a row claimable, ``order_by`` which due rows go first."""

    table: sa.Table
    owner: sa.Column[Any]
    until: sa.Column[Any]
    order_by: sa.ColumnElement[Any]
    due: Callable[[datetime], Sequence[sa.ColumnElement[bool]]]

    def claimable(self, now: datetime) -> tuple[sa.ColumnElement[bool], ...]:
        """The conditions of a row another worker may claim at ``now``."""
        return (*self.due(now), sa.or_(self.until.is_(None), self.until <= now))

    async def claim(
        self,
        engine: AsyncEngine,
        *,
        owner: str,
        now: datetime,
        until: datetime,
        limit: int,
        columns: Sequence[sa.ColumnElement[Any]],
    ) -> list[RowMapping]:
        """Lease up to ``limit`` claimable rows to ``owner`` until ``until``; their ``columns``."""
        claimable = self.claimable(now)
        probe = sa.select(sa.literal(1)).select_from(self.table).where(*claimable).limit(1)
        if not await run_unit(engine, lambda conn: conn.execute(probe).first() is not None, writes=False):
            return []
        (key,) = self.table.primary_key.columns
        picked = sa.select(key).where(*claimable).order_by(self.order_by).limit(limit)

        def take(conn: Connection) -> list[RowMapping]:
            candidates = picked
            if conn.dialect.name == "postgresql":
                due = picked.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
                candidates = sa.select(due.c[key.name])
            claim = (
                sa.update(self.table)
                .where(key.in_(candidates), *claimable)
                .values({self.owner: owner, self.until: until})
                .returning(*columns)
            )
            return list(conn.execute(claim).mappings())

        return await run_unit(engine, take)

    def release(self, owner: str, *where: sa.ColumnElement[bool], **values: Any) -> sa.Update:
        """An ``UPDATE`` that sets ``values`` and frees the lease on the rows matching ``where`` that
        ``owner`` still holds (its row count says whether the lease was still held)."""
        return (
            sa.update(self.table)
            .where(self.owner == owner, *where)
            .values({self.owner.name: None, self.until.name: None, **values})
        )
