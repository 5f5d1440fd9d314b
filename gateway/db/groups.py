"""Group commit: concurrent callers' items written by one unit of work, each caller answered after it.

Callers :meth:`GroupCommit.add` their items and wait. While ``units`` units run (one by default),
new items gather; when one ends, the next unit takes everything gathered (up to ``max_items``, whole
callers at a time). A lone caller is written at once, so a quiet system pays no added latency, and a
busy one writes in batches as large as the database is slow. Several units overlap one unit's
round trips and commit with the next one's; their work must then be safe to run concurrently (lock
shared rows in one order). Each caller returns once the unit holding its items
committed, with that unit's result (shared by every caller in it), or raises what that unit raised
(its items are not stored; the caller decides).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from functools import partial
from typing import Generic, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.db.units import run_unit

__all__ = ["GroupCommit"]

_T = TypeVar("_T")
_R = TypeVar("_R")


class GroupCommit(Generic[_T, _R]):
    """See the module docstring; ``work(conn, items)`` writes one batch, ``after(result)`` runs
    once it committed (e.g. waking a worker)."""

    def __init__(
        self,
        engine: AsyncEngine,
        work: Callable[[Connection, list[_T]], _R],
        *,
        after: Callable[[_R], None] = lambda result: None,
        max_items: int = 1000,
        units: int = 1,
    ) -> None:
        self._engine = engine
        self._work = work
        self._after = after
        self._max = max_items
        self._units = units
        self._waiting: list[tuple[Sequence[_T], asyncio.Future[_R]]] = []
        self._writers: set[asyncio.Task[None]] = set()

    async def add(self, items: Sequence[_T]) -> _R:
        """Write ``items`` in the next unit; once it committed, return the unit's result."""
        done: asyncio.Future[_R] = asyncio.get_running_loop().create_future()
        self._waiting.append((items, done))
        if len(self._writers) < self._units:
            self._writers.add(asyncio.create_task(self._write()))
        return await asyncio.shield(done)

    async def _write(self) -> None:
        try:
            while self._waiting:
                batch, callers = self._take()
                try:
                    result = await run_unit(self._engine, partial(self._work_on, batch))
                except Exception as exc:
                    for caller in callers:
                        caller.set_exception(exc)
                    continue
                self._after(result)
                for caller in callers:
                    caller.set_result(result)
        finally:
            self._writers.difference_update({asyncio.current_task()})

    def _work_on(self, batch: list[_T], conn: Connection) -> _R:
        return self._work(conn, batch)

    def _take(self) -> tuple[list[_T], list[asyncio.Future[_R]]]:
        batch: list[_T] = []
        callers: list[asyncio.Future[_R]] = []
        while self._waiting and (not batch or len(batch) + len(self._waiting[0][0]) <= self._max):
            items, caller = self._waiting.pop(0)
            batch.extend(items)
            callers.append(caller)
        return batch, callers
