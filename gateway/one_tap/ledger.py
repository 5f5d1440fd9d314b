"""The usage ledger: durable usage rows written by group commit.

:meth:`UsageLedger.append` returns only once its row is committed, so an answered exchange is
never reported without its billing record. One writer task commits every row queued meanwhile
in a single transaction (at most ``max_batch``), which turns N concurrent commits into one and,
on SQLite, removes write-lock contention between pooled connections. If the transaction fails,
every caller of that batch gets the exception.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.db import insert_rows
from gateway.one_tap.models import UsageRecord, UsageRow

__all__ = ["UsageLedger"]

log = structlog.get_logger(__name__)
_Entry = tuple[UsageRow, asyncio.Future[None]]
_TABLE = UsageRecord.__table__  # type: ignore[attr-defined]


class UsageLedger:
    """See the module docstring; use as an async context manager around the writer's lifetime."""

    def __init__(self, engine: AsyncEngine, *, max_batch: int = 500) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Entry] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None

    async def __aenter__(self) -> UsageLedger:
        self._writer = asyncio.create_task(self._run(), name="usage-ledger")
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._queue.join()
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    async def append(self, row: UsageRow) -> None:
        """Queue ``row`` and wait until it is committed; the row of a cancelled caller is still written."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((row, done))
        await done

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await insert_rows(self._engine, _TABLE, [row for row, _ in batch])
            except Exception as exc:
                log.error("usage_batch_failed", rows=len(batch), error=type(exc).__name__)
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
            finally:
                for _ in batch:
                    self._queue.task_done()
