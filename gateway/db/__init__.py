"""Database engine: the contract's URLs mapped to async drivers, and migrations at start-up.

``sqlite:///path`` runs on aiosqlite (WAL, busy timeout, foreign keys on); ``postgresql://``
runs on asyncpg. Schema changes are alembic revisions in ``gateway/migrations``, applied by
:func:`migrate` under an advisory lock on PostgreSQL so concurrent starts do not race.

Hot paths run a whole unit of work through :func:`run_unit`. On a SQLite file, aiosqlite sends
every DBAPI call (checkout, cursor, execute, fetch, commit, the pool's reset) to the connection's
thread and back, and each trip costs the event loop a wake-up: a primary-key read cost 370 µs of
event-loop CPU (590 µs in all). :class:`SqliteEngine` instead hands the whole unit to a worker
thread that runs it on a synchronous pysqlite engine over the same file, with the same PRAGMAs:
25 µs of event-loop CPU (120 µs in all). A unit that only reads runs on the event loop itself, on
a read-only connection that never waits for a lock (in WAL mode readers do not wait for writers):
the hop to a worker and back, and the worker's turns at the GIL under a busy loop, cost more
than the read. Number Verification (one revocation read per call) went from 0.73 to 0.54 ms of
gateway CPU per call and the login check (one device read) from 0.90 to 0.73
(``bench/identity.py``). On PostgreSQL the unit runs in one ``AsyncConnection.run_sync`` call.

Batched inserts (the usage ledger's group commit) go through :func:`insert_rows`: on a SQLite
file, one multi-row ``INSERT`` on a dedicated statement thread, whose only Python work is binding
the values. Under 32 concurrent one-tap logins a ledger batch through a worker unit needed the GIL
between every DBAPI call and waited for the busy event loop each time; the statement thread
raised one-tap throughput from 0.38-0.40 to 0.43-0.45 of the pass-through's
(``bench/one_tap.py``).

SQLite admits one writer at a time, and its busy handler makes a waiting writer poll with sleeps
that grow to 100 ms: under 32 concurrent push acceptances p99 reached 0.9 s. On a
:class:`SqliteEngine`, every ``session.begin()`` block and every writing unit therefore first
takes the engine's :class:`WriterGate`, an in-process FIFO lock, so transactions queue on the
event loop and each starts the moment the previous one ends (see :class:`GatedSession`). Other
processes on the same file still meet SQLite's busy handler.

This package's public surface is the names below; the engines live in :mod:`gateway.db.sqlite` and
:mod:`gateway.db.postgres`, the writer gate and sessions in :mod:`gateway.db.sessions`, and what
both engines share (compiled statements, bind processors, the plain SQLAlchemy unit of work) in
:mod:`gateway.db.statements`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from gateway.db.postgres import POSTGRES_DIRECT_POOL_SIZE, POSTGRES_POOL_SIZE, PostgresEngine, ping_after_idle
from gateway.db.sessions import GatedSession, WriterGate, bound_engine, session_factory
from gateway.db.sqlite import SQLITE_POOL_SIZE, SqliteEngine, sqlite_pragmas
from gateway.db.statements import fetch_rows, sqlalchemy_unit

__all__ = [
    "POSTGRES_DIRECT_POOL_SIZE",
    "POSTGRES_POOL_SIZE",
    "SQLITE_POOL_SIZE",
    "GatedSession",
    "PostgresEngine",
    "SqliteEngine",
    "WriterGate",
    "as_utc",
    "async_url",
    "bound_engine",
    "create_engine",
    "exists",
    "insert_rows",
    "migrate",
    "rows",
    "run_unit",
    "session_factory",
]

_T = TypeVar("_T")

MIGRATIONS = Path(__file__).parent.parent / "migrations"
_LOCK_ID = 0x6A7E_0001


def async_url(url: str) -> str:
    """Map ``sqlite:///…`` / ``postgresql://…`` to their async driver URLs."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+aiosqlite"):
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+asyncpg"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database URL scheme: {parsed.drivername}")


def create_engine(url: str) -> AsyncEngine:
    """An async engine for a contract URL; creates the SQLite file's directory if needed.

    The pool is fixed-size, without overflow: a request that finds every connection busy waits
    for one. An overflow pool opens a connection for the burst and closes it when it comes back,
    so under steady concurrency above its size every call paid a new connection (an aiosqlite
    thread and PRAGMAs, or a PostgreSQL session): Number Verification cost 7 ms of CPU per call
    with 8 + 8 connections and 2 ms with 16 fixed (``bench/identity.py``).
    """
    target = async_url(url)
    parsed = make_url(target)
    if parsed.drivername.startswith("sqlite"):
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(target, pool_size=SQLITE_POOL_SIZE, max_overflow=0)
        event.listen(engine.sync_engine, "connect", sqlite_pragmas)
        if database and database != ":memory:":
            return SqliteEngine(engine.sync_engine, parsed.set(drivername="sqlite"))
        return engine
    engine = create_async_engine(target, pool_size=POSTGRES_POOL_SIZE, max_overflow=0)
    ping_after_idle(engine.sync_engine)
    return PostgresEngine(engine.sync_engine, parsed)


async def insert_rows(engine: AsyncEngine, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` into ``table`` atomically: :meth:`SqliteEngine.insert` on a SQLite file,
    :meth:`PostgresEngine.insert` on PostgreSQL, else one ``executemany`` in a unit of work."""
    if isinstance(engine, SqliteEngine | PostgresEngine):
        await engine.insert(table, rows)
        return
    await run_unit(engine, lambda conn: conn.execute(sa.insert(table), list(rows)))


async def rows(
    engine: AsyncEngine, statement: sa.Select[Any], params: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """Every row ``statement``, an indexed lookup, finds for ``params``, as tuples.

    ``params`` hold values the driver takes as they are (``str``, ``int``, ``bytes``), and so do
    the values returned: no SQLAlchemy type processing applies on a :class:`SqliteEngine` (the
    event loop's own pysqlite connection, :meth:`SqliteEngine.rows`) or a
    :class:`PostgresEngine` (its asyncpg direct pool, :meth:`PostgresEngine.rows`); another
    engine runs a read unit (:func:`run_unit`). The login check's device lookup cost 150 us of
    event-loop CPU per call through a SQLAlchemy connection on SQLite; this way the whole
    evaluation went from 3.12 to 2.66 million instructions (``bench/instructions.py``).
    """
    if isinstance(engine, SqliteEngine | PostgresEngine):
        return await engine.rows(statement, params)
    return await run_unit(engine, functools.partial(fetch_rows, statement, params), writes=False)


async def exists(engine: AsyncEngine, statement: sa.Select[Any], params: Mapping[str, Any]) -> bool:
    """Whether ``statement`` (best with ``LIMIT 1``) finds a row for ``params``; see :func:`rows`."""
    return bool(await rows(engine, statement, params))


async def run_unit(engine: AsyncEngine, work: Callable[[Connection], _T], *, writes: bool = True) -> _T:
    """Run ``work(connection)`` in one transaction, committed unless it raises.

    ``work`` is synchronous: it uses the Core ``Connection`` API and must not block on anything but
    the database. A unit that does not write must be one statement (an indexed lookup). On a
    :class:`SqliteEngine` see :meth:`SqliteEngine.run`; elsewhere
    :func:`~gateway.db.statements.sqlalchemy_unit`.
    """
    if isinstance(engine, SqliteEngine):
        return await engine.run(work, writes=writes)
    return await sqlalchemy_unit(engine, work, writes=writes)


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "heads")


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the latest revision of every branch (features add their own branches)."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


def as_utc(value: datetime | None) -> datetime | None:
    """A stored datetime as timezone-aware UTC (SQLite hands back naive values)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
