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
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import asyncpg
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio.session import AsyncSessionTransaction
from sqlmodel.ext.asyncio.session import AsyncSession

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

MIGRATIONS = Path(__file__).with_name("migrations")
_LOCK_ID = 0x6A7E_0001


def async_url(url: str) -> str:
    """Map ``sqlite:///…`` / ``postgresql://…`` to their async driver URLs."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+aiosqlite"):
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+asyncpg"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database URL scheme: {parsed.drivername}")


_SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=5000", "foreign_keys=ON")
_READER_PRAGMAS = (*_SQLITE_PRAGMAS, "busy_timeout=0", "query_only=ON")
"""A read unit on the event loop never waits for a lock and cannot write."""


def _pragmas(*pragmas: str) -> Callable[[Any, Any], None]:
    """A ``connect`` listener that sets ``pragmas`` on every new pysqlite connection, in order."""

    def apply(dbapi_connection: Any, _: Any) -> None:
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    return apply


_sqlite_pragmas = _pragmas(*_SQLITE_PRAGMAS)


def _busy(error: BaseException | None) -> bool:
    """Whether pysqlite's ``error`` is a refusal for a lock held elsewhere (SQLITE_BUSY or
    SQLITE_LOCKED, any variant)."""
    code = getattr(error, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


SQLITE_POOL_SIZE = 16
POSTGRES_POOL_SIZE = 20
WRITER_GATE_TIMEOUT = 5.0
"""Seconds a transaction waits for the writer gate, as long as SQLite's busy timeout."""


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
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        if database and database != ":memory:":
            return SqliteEngine(engine.sync_engine, parsed.set(drivername="sqlite"))
        return engine
    engine = create_async_engine(target, pool_size=POSTGRES_POOL_SIZE, max_overflow=0)
    _ping_after_idle(engine.sync_engine)
    return PostgresEngine(engine.sync_engine, parsed)


IDLE_PING_SECONDS = 5.0
"""A pooled PostgreSQL connection idle longer than this is pinged before it is handed out."""


def _ping_after_idle(engine: sa.Engine) -> None:
    """Ping a PostgreSQL connection at checkout only when it sat idle past ``IDLE_PING_SECONDS``.

    SQLAlchemy's ``pool_pre_ping`` pings at every checkout: a round trip that cost 100 us of CPU
    per unit of work (a primary-key read: 262 -> 161 us, 3,500 -> 6,100 reads/s at 32 concurrent
    readers). A connection in steady use has just answered, so only one that sat idle (where
    a restarted server, a failover or a firewall's idle timeout leaves dead connections) is
    pinged; a dead one is replaced before use. A server lost while connections are busy fails
    the statements in flight once (answered 503 with Retry-After), and SQLAlchemy then
    invalidates the whole pool, so the next checkouts open fresh connections.
    """

    @event.listens_for(engine, "checkin")
    def _idle_since(_: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, record: Any, _: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since <= IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise sa.exc.DisconnectionError("a pooled connection was dead after sitting idle") from exc


_ProbeCache = dict[sa.Select[Any], tuple[str, list[str], dict[str, Any]]]
_Binder = tuple[str, Callable[[Any], Any] | None]
_BinderCache = dict[str, list[_Binder]]


def _binders(cache: _BinderCache, table: sa.Table, dialect: sa.Dialect) -> list[_Binder]:
    """Each column of ``table`` with ``dialect``'s bind processor for it (None: the value as it is),
    in the table's column order; worked out once per table, kept in ``cache``."""
    columns = cache.get(table.name)
    if columns is None:
        columns = cache[table.name] = [
            (c.name, c.type.dialect_impl(dialect).bind_processor(dialect)) for c in table.columns
        ]
    return columns


def _probe(
    cache: _ProbeCache, dialect: sa.Dialect, statement: sa.Select[Any], params: Mapping[str, Any]
) -> tuple[str, list[Any]]:
    """``statement``'s SQL for ``dialect`` (compiled once per statement object, kept in ``cache``)
    and its positional values: ``params`` over the statement's own (e.g. its LIMIT)."""
    compiled = cache.get(statement)
    if compiled is None:
        done = statement.compile(dialect=dialect)
        compiled = cache[statement] = (str(done), list(done.positiontup or ()), dict(done.params))
    sql, names, defaults = compiled
    values = {**defaults, **params}
    return sql, [values[name] for name in names]


class SqliteEngine(AsyncEngine):
    """An ``AsyncEngine`` on a SQLite file that also runs units of work without aiosqlite.

    The worker threads (and their synchronous engine, a fixed pool of ``SQLITE_POOL_SIZE``) start
    on the first unit that needs one and stop in :meth:`dispose`. A unit holds its connection only
    while it runs, never across an await; a unit waiting for the write lock blocks its worker
    thread (up to the busy timeout), never the event loop.
    """

    def __init__(self, sync_engine: sa.Engine, url: sa.URL) -> None:
        super().__init__(sync_engine)
        self._sync_url = url
        self._lane: tuple[sa.Engine, ThreadPoolExecutor] | None = None
        self._statements: _StatementThread | None = None
        self._reader: sa.Engine | None = None
        self._probe: sqlite3.Connection | None = None
        self._probes: _ProbeCache = {}
        self._inserts: dict[tuple[str, int], str] = {}
        self._binders: _BinderCache = {}
        self.writer_gate = WriterGate()

    def _open_reader(self) -> sa.Engine:
        if self._reader is None:
            self._reader = sa.create_engine(self._sync_url, poolclass=sa.pool.SingletonThreadPool)
            event.listen(self._reader, "connect", _pragmas(*_READER_PRAGMAS))
        return self._reader

    def _open_probe(self) -> sqlite3.Connection:
        if self._probe is None:
            dialect = self._open_reader().dialect
            cargs, cparams = dialect.create_connect_args(self._sync_url)
            probe = cast(sqlite3.Connection, dialect.connect(*cargs, **cparams))
            probe.isolation_level = None
            _pragmas(*_READER_PRAGMAS)(probe, None)
            self._probe = probe
        return self._probe

    def _close_probe(self) -> None:
        if self._probe is not None:
            probe, self._probe = self._probe, None
            probe.close()

    async def rows(self, statement: sa.Select[Any], params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row ``statement`` finds; see :func:`rows`.

        The statement runs on the event loop's own pysqlite connection (read-only, autocommit,
        never waiting for a lock), compiled once per statement object: no pool checkout, no
        SQLAlchemy connection, result or row objects. Any DBAPI error there (``SQLITE_BUSY``
        included) runs it again as a read unit (:meth:`run`), which waits out a lock on a worker
        thread and raises SQLAlchemy's own error types; an error other than a lock also closes the
        connection, and the next call opens a new one.
        """
        sql, values = _probe(self._probes, self._open_reader().dialect, statement, params)
        try:
            return self._open_probe().execute(sql, values).fetchall()
        except sqlite3.Error as exc:
            if not _busy(exc):
                self._close_probe()
        return await self.run(functools.partial(_rows, statement, params), writes=False)

    def _open_lane(self) -> tuple[sa.Engine, ThreadPoolExecutor]:
        if self._lane is None:
            blocking = sa.create_engine(
                self._sync_url,
                pool_size=SQLITE_POOL_SIZE,
                max_overflow=0,
                connect_args={"check_same_thread": False},
            )
            event.listen(blocking, "connect", _sqlite_pragmas)
            self._lane = blocking, ThreadPoolExecutor(SQLITE_POOL_SIZE, thread_name_prefix="sqlite-unit")
        return self._lane

    async def run(self, work: Callable[[Connection], _T], *, writes: bool = True) -> _T:
        """``work(connection)`` in one transaction (committed unless it raises).

        A unit that does not write runs at once on the calling thread (the event loop's), on a
        read-only connection that never waits for a lock; in WAL mode readers do not wait for
        writers, and a read that SQLite refuses all the same (``SQLITE_BUSY``, as while another
        connection recovers the WAL) runs again on a worker thread, which waits out the busy
        timeout there. Read units must therefore be short indexed lookups.

        A unit that writes runs on a worker thread and holds the :class:`WriterGate` until its
        thread is done, even when the caller is cancelled meanwhile; a unit that could not be
        handed to a thread (the engine was disposed) releases it at once.
        """
        if not writes:
            try:
                with self._open_reader().connect() as conn:
                    return work(conn)
            except sa.exc.OperationalError as exc:
                if not _busy(exc.orig):
                    raise
        blocking, threads = self._open_lane()

        def unit() -> _T:
            with blocking.begin() as conn:
                return work(conn)

        loop = asyncio.get_running_loop()
        if not writes:
            return await loop.run_in_executor(threads, unit)
        gate = self.writer_gate
        await gate.acquire()
        try:
            done = loop.run_in_executor(threads, unit)
        except BaseException:
            gate.release()
            raise
        done.add_done_callback(lambda _: gate.release())
        return await asyncio.shield(done)

    async def insert(self, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert ``rows`` (a value for every column of ``table``) atomically, under the writer gate.

        The rows go as one multi-row ``INSERT`` (or, past SQLite's bound-parameter limit, several in
        one transaction) to the engine's statement thread, a pysqlite connection in autocommit mode.
        That thread needs the GIL only to bind the values and to hand the outcome back: a worker
        running a unit through SQLAlchemy needs it between every DBAPI call, and under a busy event
        loop each of those waits for the loop to let go of it. Values are converted by the
        dialect's bind processors, as SQLAlchemy would; errors arrive as SQLAlchemy's ``DBAPIError``
        subclasses.
        """
        if not rows:
            return
        statements = self._insert_statements(table, rows)
        if self._statements is None:
            self._statements = _StatementThread(self._sync_url.database or "")
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        gate = self.writer_gate
        await gate.acquire()
        done.add_done_callback(lambda _: gate.release())
        self._statements.submit(statements, loop, done)
        await asyncio.shield(done)

    def _insert_statements(self, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> _Statements:
        columns = _binders(self._binders, table, self._open_reader().dialect)
        per_statement = max(1, _SQLITE_MAX_VARIABLES // len(columns))
        statements: _Statements = []
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            values: list[Any] = []
            for row in chunk:
                for name, process in columns:
                    value = row[name]
                    values.append(value if process is None else process(value))
            statements.append((self._insert_sql(table, len(chunk)), values))
        return statements

    def _insert_sql(self, table: sa.Table, count: int) -> str:
        key = (table.name, count)
        sql = self._inserts.get(key)
        if sql is None:
            rows = [dict.fromkeys(table.columns.keys())] * count
            sql = self._inserts[key] = (
                sa.insert(table).values(rows).compile(dialect=self.sync_engine.dialect).string
            )
        return sql

    async def dispose(self, close: bool = True) -> None:
        """Dispose of every pool and stop the worker threads."""
        await super().dispose(close)
        self._close_probe()
        if self._reader is not None:
            reader, self._reader = self._reader, None
            reader.dispose(close)
        if self._statements is not None:
            statements, self._statements = self._statements, None
            await asyncio.to_thread(statements.close)
        if self._lane is not None:
            blocking, threads = self._lane
            self._lane = None
            threads.shutdown(wait=True)
            blocking.dispose(close)


POSTGRES_DIRECT_POOL_SIZE = 16
"""Connections of a :class:`PostgresEngine`'s direct pool (beside ``POSTGRES_POOL_SIZE``)."""


async def _keep_session(_: asyncpg.Connection) -> None:
    """The direct pool's reset: none. asyncpg's default resets the session (advisory locks,
    cursors, LISTEN, settings) with one more round trip per release, which doubled the time a probe
    held its connection; a probe or an insert is one autocommit statement and leaves no session
    state behind."""


class PostgresEngine(AsyncEngine):
    """An ``AsyncEngine`` on PostgreSQL that also runs existence probes and batched inserts on
    plain asyncpg, its *direct pool*.

    A read unit through SQLAlchemy's asyncpg adapter (pool checkout, greenlet hand-offs, result
    and row layers) cost about 300 us of CPU for a one-row lookup; the same statement on an asyncpg
    pool, 50 to 85 us. The direct pool (up to ``POSTGRES_DIRECT_POOL_SIZE`` connections, opened as
    concurrent statements need them, with SQLAlchemy's own connection arguments) is closed by
    :meth:`dispose`. Under 32 concurrent login checks, 16 connections kept p99 at 38 ms; 4 made
    probes queue (asyncpg's pool lets a new caller take a released connection before a waiting
    one) and p99 reached 170 ms.

    Any failure on the direct pool (connecting, a connection lost, a server error: asyncpg raises
    several unrelated exception types for these) runs the statement again through SQLAlchemy
    (:func:`run_unit`), which meets the same fault, if it lasts, with SQLAlchemy's error types;
    asyncpg drops the failed connection.
    """

    def __init__(self, sync_engine: sa.Engine, url: sa.URL) -> None:
        super().__init__(sync_engine)
        self._url = url
        self._pool: asyncpg.Pool | None = None
        self._opening: asyncio.Lock | None = None
        self._probes: _ProbeCache = {}
        self._binders: _BinderCache = {}
        self._inserts: dict[str, str] = {}

    async def _open_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            self._opening = self._opening or asyncio.Lock()
            async with self._opening:
                if self._pool is None:
                    cargs, cparams = self.sync_engine.dialect.create_connect_args(self._url)
                    self._pool = await asyncpg.create_pool(
                        *cargs, min_size=1, max_size=POSTGRES_DIRECT_POOL_SIZE, reset=_keep_session, **cparams
                    )
        return self._pool

    async def rows(self, statement: sa.Select[Any], params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row ``statement`` finds; see :func:`rows`."""
        sql, values = _probe(self._probes, self.sync_engine.dialect, statement, params)
        try:
            pool = await self._open_pool()
            found = await pool.fetch(sql, *values)
        except Exception:
            return await run_unit(self, functools.partial(_rows, statement, params), writes=False)
        return [tuple(row) for row in found]

    async def insert(self, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert ``rows`` (a value for every column of ``table``) atomically.

        However many rows, one statement, prepared once per connection: ``INSERT ... SELECT ... FROM
        unnest(CAST($1 AS type[]), ...)``, a column's values in each array, run in autocommit (one round
        trip, no BEGIN/COMMIT). Values are converted by the dialect's bind processors, as
        SQLAlchemy would. Through SQLAlchemy, a batch was a BEGIN, an executemany (one server-side
        execution per row) and a COMMIT, each through the greenlet adapter. If the direct pool
        fails after the server committed (the answer lost with the connection), the retry through
        SQLAlchemy meets the rows already written and raises ``IntegrityError``: the rows are
        stored once, and the caller hears of a failure.
        """
        if not rows:
            return
        columns = _binders(self._binders, table, self.sync_engine.dialect)
        arrays = [
            [row[name] for row in rows] if process is None else [process(row[name]) for row in rows]
            for name, process in columns
        ]
        try:
            pool = await self._open_pool()
            await pool.execute(self._insert_sql(table), *arrays)
        except Exception:
            await run_unit(self, lambda conn: conn.execute(sa.insert(table), list(rows)))

    def _insert_sql(self, table: sa.Table) -> str:
        sql = self._inserts.get(table.name)
        if sql is None:
            names = [c.name for c in table.columns]
            arrays = [sa.cast(sa.bindparam(c.name), postgresql.ARRAY(c.type)) for c in table.columns]
            source = sa.func.unnest(*arrays).table_valued(*names).render_derived()
            statement = sa.insert(table).from_select(names, sa.select(*(source.c[n] for n in names)))
            compiled = statement.compile(dialect=self.sync_engine.dialect)
            if list(compiled.positiontup or ()) != names:
                raise RuntimeError(f"unexpected parameter order in {compiled}")
            sql = self._inserts[table.name] = str(compiled)
        return sql

    async def dispose(self, close: bool = True) -> None:
        """Dispose of the SQLAlchemy pool and close the direct pool."""
        await super().dispose(close)
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()


_SQLITE_MAX_VARIABLES = 32766
"""Bound parameters per statement that every SQLite since 3.32 accepts (its default limit)."""

_Statements = list[tuple[str, list[Any]]]


class _StatementThread:
    """One thread and one pysqlite connection in autocommit mode, running submitted statements in
    order: one statement commits alone; several run in one ``BEGIN IMMEDIATE`` transaction."""

    def __init__(self, database: str) -> None:
        self._connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        _sqlite_pragmas(self._connection, None)
        self._jobs: queue.SimpleQueue[
            tuple[_Statements, asyncio.AbstractEventLoop, asyncio.Future[None]] | None
        ] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="sqlite-statements", daemon=True)
        self._thread.start()

    def submit(
        self, statements: _Statements, loop: asyncio.AbstractEventLoop, done: asyncio.Future[None]
    ) -> None:
        """Run ``statements``; ``done`` is settled on ``loop`` with the outcome."""
        self._jobs.put((statements, loop, done))

    def close(self) -> None:
        """Run what was submitted, then stop the thread and close the connection (blocks)."""
        self._jobs.put(None)
        self._thread.join()
        self._connection.close()

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            statements, loop, done = job
            error = self._execute(statements)
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, done, error)

    def _execute(self, statements: _Statements) -> BaseException | None:
        connection = self._connection
        sql = statements[0][0]
        try:
            if len(statements) == 1:
                connection.execute(sql, statements[0][1])
                return None
            connection.execute("BEGIN IMMEDIATE")
            try:
                for sql, values in statements:
                    connection.execute(sql, values)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            return sa.exc.DBAPIError.instance(sql, None, exc, sqlite3.Error, hide_parameters=True)
        except Exception as exc:
            return exc
        return None


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)


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
    return await run_unit(engine, functools.partial(_rows, statement, params), writes=False)


async def exists(engine: AsyncEngine, statement: sa.Select[Any], params: Mapping[str, Any]) -> bool:
    """Whether ``statement`` (best with ``LIMIT 1``) finds a row for ``params``; see :func:`rows`."""
    return bool(await rows(engine, statement, params))


def _rows(statement: sa.Select[Any], params: Mapping[str, Any], conn: Connection) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in conn.execute(statement, params)]


async def run_unit(engine: AsyncEngine, work: Callable[[Connection], _T], *, writes: bool = True) -> _T:
    """Run ``work(connection)`` in one transaction, committed unless it raises.

    ``work`` is synchronous: it uses the Core ``Connection`` API and must not block on anything but
    the database. On a :class:`SqliteEngine` see :meth:`SqliteEngine.run`; elsewhere it runs in one
    ``run_sync`` call on the event loop. A unit that does not write must be one statement (an
    indexed lookup): on PostgreSQL it runs in autocommit, without the BEGIN and COMMIT round trips
    (350 -> 263 us of CPU per primary-key read under 32 concurrent readers).
    """
    if isinstance(engine, SqliteEngine):
        return await engine.run(work, writes=writes)
    if not writes:
        async with engine.connect() as conn:
            reader = await conn.execution_options(isolation_level="AUTOCOMMIT")
            return await reader.run_sync(work)
    async with engine.begin() as conn:
        return await conn.run_sync(work)


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
    """The engine a :func:`session_factory` binds its sessions to (for :func:`run_unit`)."""
    engine = sessions.kw.get("bind")
    if not isinstance(engine, AsyncEngine):
        raise TypeError("the session factory is not bound to an AsyncEngine")
    return engine


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
