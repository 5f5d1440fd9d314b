"""The SQLite file engine: units of work on worker threads, reads on the event loop, batched
inserts on a statement thread, every write behind the :class:`~gateway.db.sessions.WriterGate`.
:mod:`gateway.db` says what each of these saved, measured."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import queue
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.db.sessions import WriterGate
from gateway.db.statements import BinderCache, ProbeCache, binders, fetch_rows, lookup_sql

_T = TypeVar("_T")

SQLITE_POOL_SIZE = 16

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


sqlite_pragmas = _pragmas(*_SQLITE_PRAGMAS)


def _busy(error: BaseException | None) -> bool:
    """Whether pysqlite's ``error`` is a refusal for a lock held elsewhere (SQLITE_BUSY or
    SQLITE_LOCKED, any variant)."""
    code = getattr(error, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


_SQLITE_MAX_VARIABLES = 32766
"""Bound parameters per statement that every SQLite since 3.32 accepts (its default limit)."""

_Statements = list[tuple[str, list[Any]]]


class _StatementThread:
    """One thread and one pysqlite connection in autocommit mode, running submitted statements in
    order: one statement commits alone; several run in one ``BEGIN IMMEDIATE`` transaction."""

    def __init__(self, database: str) -> None:
        self._connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        sqlite_pragmas(self._connection, None)
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
        self._probes: ProbeCache = {}
        self._inserts: dict[tuple[str, int], str] = {}
        self._binders: BinderCache = {}
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
        """Every row ``statement`` finds; see :func:`gateway.db.rows`.

        The statement runs on the event loop's own pysqlite connection (read-only, autocommit,
        never waiting for a lock), compiled once per statement object: no pool checkout, no
        SQLAlchemy connection, result or row objects. Any DBAPI error there (``SQLITE_BUSY``
        included) runs it again as a read unit (:meth:`run`), which waits out a lock on a worker
        thread and raises SQLAlchemy's own error types; an error other than a lock also closes the
        connection, and the next call opens a new one.
        """
        sql, values = lookup_sql(self._probes, self._open_reader().dialect, statement, params)
        try:
            return self._open_probe().execute(sql, values).fetchall()
        except sqlite3.Error as exc:
            if not _busy(exc):
                self._close_probe()
        return await self.run(functools.partial(fetch_rows, statement, params), writes=False)

    def _open_lane(self) -> tuple[sa.Engine, ThreadPoolExecutor]:
        if self._lane is None:
            blocking = sa.create_engine(
                self._sync_url,
                pool_size=SQLITE_POOL_SIZE,
                max_overflow=0,
                connect_args={"check_same_thread": False},
            )
            event.listen(blocking, "connect", sqlite_pragmas)
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
        columns = binders(self._binders, table, self._open_reader().dialect)
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
