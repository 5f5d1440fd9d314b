"""Core units of work: a synchronous function on a Core ``Connection``, run in one transaction
through ``AsyncConnection.run_sync``, and the lookups and batched inserts built on it."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.db.sessions import writer_gate

__all__ = ["exists", "insert_rows", "rows", "run_unit"]

_T = TypeVar("_T")


async def run_unit(engine: AsyncEngine, work: Callable[[Connection], _T], *, writes: bool = True) -> _T:
    """Run ``work(connection)`` in one transaction, committed unless it raises; return its result.

    ``work`` is synchronous and uses the Core ``Connection`` API; each statement it executes goes
    to the async driver (aiosqlite's thread, asyncpg's socket) and back while the event loop runs
    other tasks. It must not block on anything else.

    A writing unit on SQLite first takes the engine's writer turn
    (:func:`~gateway.db.sessions.writer_gate`). Once started, a writing unit runs to its end,
    commit or rollback, even if its caller is cancelled meanwhile, and holds the turn until then
    (cancelling a SQLite statement midway would leave the connection holding the file's write lock).
    A unit with ``writes=False`` must not write: it runs in autocommit, without a transaction's
    BEGIN and COMMIT, and takes no turn.

    :raises sqlalchemy.exc.SQLAlchemyError: the database failed; whatever ``work`` raised.
    :raises sqlalchemy.exc.TimeoutError: no pooled connection or writer turn within 5 s.
    :raises RuntimeError: a writing unit on SQLite inside a transaction of the same task.
    """
    if not writes:
        async with engine.connect() as conn:
            reader = await conn.execution_options(isolation_level="AUTOCOMMIT")
            return await reader.run_sync(work)
    gate = writer_gate(engine)
    if gate is not None:
        await gate.acquire()
    try:
        unit = asyncio.create_task(_transaction(engine, work))
    except BaseException:
        if gate is not None:
            gate.release()
        raise
    if gate is not None:
        unit.add_done_callback(lambda _: gate.release())
    return await asyncio.shield(unit)


async def _transaction(engine: AsyncEngine, work: Callable[[Connection], _T]) -> _T:
    async with engine.begin() as conn:
        return await conn.run_sync(work)


def _fetch(statement: sa.Executable, params: Mapping[str, Any], conn: Connection) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in conn.execute(statement, params)]


async def rows(
    engine: AsyncEngine, statement: sa.Select[Any], params: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """Every row ``statement`` (an indexed lookup) finds for ``params``, as tuples; a read unit."""
    return await run_unit(engine, functools.partial(_fetch, statement, params), writes=False)


async def exists(engine: AsyncEngine, statement: sa.Select[Any], params: Mapping[str, Any]) -> bool:
    """Whether ``statement`` (best with ``LIMIT 1``) finds a row for ``params``; see :func:`rows`."""
    return bool(await rows(engine, statement, params))


async def insert_rows(engine: AsyncEngine, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` into ``table`` atomically, in one writing unit (one ``executemany``)."""
    if not rows:
        return
    batch = list(rows)
    await run_unit(engine, lambda conn: conn.execute(sa.insert(table), batch))
