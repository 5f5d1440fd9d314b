"""Units of work (:func:`gateway.db.run_unit`): one transaction, committed or rolled back, on both
engines; on a SQLite file, run on a bounded set of worker threads over a reused pool. On SQLite,
session transactions and writing units take turns through the engine's writer gate."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import gateway.db.postgres
import gateway.db.sqlite
from gateway.db import (
    SQLITE_POOL_SIZE,
    PostgresEngine,
    SqliteEngine,
    WriterGate,
    as_utc,
    create_engine,
    exists,
    insert_rows,
    migrate,
    run_unit,
    session_factory,
)
from gateway.oauth.models import RevokedToken

_TABLE = RevokedToken.__table__  # type: ignore[attr-defined]


def _insert(token_id: str, conn: Connection) -> None:
    conn.execute(sa.insert(_TABLE).values(token_id=token_id, expires_at=sa.func.now()))


def _count(prefix: str, conn: Connection) -> int:
    query = sa.select(sa.func.count()).select_from(_TABLE).where(_TABLE.c.token_id.startswith(prefix))
    return int(conn.execute(query).scalar_one())


def _unit_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("sqlite-unit")]


async def test_a_unit_commits_and_its_rows_are_seen_by_the_async_engine(database_url: str) -> None:
    """What a unit wrote is committed: the async engine (another connection) reads it."""
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        await run_unit(engine, lambda conn: _insert("unit-commit-1", conn))
        async with engine.connect() as conn:
            assert await conn.run_sync(lambda c: _count("unit-commit-", c)) == 1
    finally:
        await engine.dispose()


async def test_a_unit_that_raises_is_rolled_back_and_the_error_reaches_the_caller(database_url: str) -> None:
    """A unit that fails after writing leaves nothing behind, and its exception propagates."""
    engine = create_engine(database_url)

    def write_then_fail(conn: Connection) -> None:
        _insert("unit-rollback-1", conn)
        raise LookupError("boom")

    try:
        await migrate(engine)
        with pytest.raises(LookupError, match="boom"):
            await run_unit(engine, write_then_fail)
        assert await run_unit(engine, lambda c: _count("unit-rollback-", c)) == 0
    finally:
        await engine.dispose()


async def test_sqlite_units_run_off_the_event_loop_on_reused_connections(sqlite_url: str) -> None:
    """On a SQLite file, units run on worker threads, not the event loop's; four waves of 64 concurrent
    units open at most the pool's size of connections in all (a pool that churned would open about
    64 per wave); dispose stops the threads."""
    engine = create_engine(sqlite_url)
    assert isinstance(engine, SqliteEngine)
    opened = 0

    def count(*_: object) -> None:
        nonlocal opened
        opened += 1

    loop_thread = threading.get_ident()
    sa.event.listen(sa.Engine, "connect", count)
    try:
        await migrate(engine)
        opened = 0
        ran_on = await asyncio.gather(*(run_unit(engine, lambda _: threading.get_ident()) for _ in range(64)))
        for _ in range(3):
            await asyncio.gather(*(run_unit(engine, lambda c: _count("x", c)) for _ in range(64)))
        assert loop_thread not in ran_on
        assert 1 <= opened <= SQLITE_POOL_SIZE
        assert 1 <= len(_unit_threads()) <= SQLITE_POOL_SIZE
    finally:
        sa.event.remove(sa.Engine, "connect", count)
        await engine.dispose()
    assert _unit_threads() == []


async def test_sqlite_writers_take_turns_and_postgresql_ones_do_not(database_url: str) -> None:
    """24 session transactions that write and then await, mixed with 24 writing units: on SQLite
    one runs at a time (no unit runs while a transaction is open, and every write commits, with
    no "database is locked"); on PostgreSQL the transactions overlap, as row locks allow."""
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    inside = peak = 0

    async def transaction(i: int) -> None:
        nonlocal inside, peak
        async with sessions() as session, session.begin():
            inside += 1
            peak = max(peak, inside)
            await session.exec(sa.insert(_TABLE).values(token_id=f"turn-tx-{i}", expires_at=sa.func.now()))
            await asyncio.sleep(0.005)
            inside -= 1

    def unit(i: int, conn: Connection) -> bool:
        _insert(f"turn-unit-{i}", conn)
        return inside == 0

    try:
        await migrate(engine)
        results = await asyncio.gather(
            *(transaction(i) for i in range(24)),
            *(run_unit(engine, lambda c, i=i: unit(i, c)) for i in range(24)),
        )
        assert await run_unit(engine, lambda c: _count("turn-", c), writes=False) == 48
        if isinstance(engine, SqliteEngine):
            assert peak == 1
            assert all(results[24:])
        else:
            assert peak > 1
    finally:
        await engine.dispose()


async def test_a_transaction_opened_inside_another_fails_fast_on_sqlite(sqlite_url: str) -> None:
    """A second transaction in the task that holds the gate would wait for itself: it raises
    RuntimeError at once, and the outer transaction still ends normally."""
    engine = create_engine(sqlite_url)
    sessions = session_factory(engine)
    try:
        await migrate(engine)
        async with sessions() as outer, outer.begin():
            with pytest.raises(RuntimeError, match="inside another"):
                async with sessions() as inner, inner.begin():
                    pass
            with pytest.raises(RuntimeError, match="inside another"):
                await run_unit(engine, lambda c: _insert("nested", c))
        async with sessions() as after, after.begin():
            await after.exec(sa.insert(_TABLE).values(token_id="after-nested", expires_at=sa.func.now()))
    finally:
        await engine.dispose()


async def test_the_writer_gate_gives_up_after_its_timeout_as_a_pool_would() -> None:
    """A writer that gets no turn within the timeout gets sqlalchemy's TimeoutError (answered 503
    UNAVAILABLE by the middleware, as an exhausted pool is) and the holder keeps its turn."""
    gate = WriterGate(timeout=0.05)
    await gate.acquire()
    waiter = asyncio.create_task(gate.acquire())
    with pytest.raises(sa.exc.TimeoutError):
        await waiter
    gate.release()
    await asyncio.wait_for(gate.acquire(), 1.0)
    gate.release()


async def test_a_cancelled_writing_unit_keeps_the_turn_until_its_thread_is_done(sqlite_url: str) -> None:
    """Cancelling the caller does not stop the worker thread; the gate stays taken until the unit
    has committed, so the next writer never finds SQLite's lock held."""
    engine = create_engine(sqlite_url)
    assert isinstance(engine, SqliteEngine)
    started, finish = threading.Event(), threading.Event()

    def slow(conn: Connection) -> None:
        _insert("cancelled-unit", conn)
        started.set()
        finish.wait(5)

    try:
        await migrate(engine)
        task = asyncio.create_task(run_unit(engine, slow))
        await asyncio.to_thread(started.wait, 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        follower = asyncio.create_task(run_unit(engine, lambda c: _insert("after-cancel", c)))
        await asyncio.sleep(0.05)
        assert not follower.done()
        finish.set()
        await asyncio.wait_for(follower, 5)
        assert await run_unit(engine, lambda c: _count("cancelled-unit", c), writes=False) == 1
    finally:
        finish.set()
        await engine.dispose()


async def test_a_writing_unit_that_cannot_reach_a_thread_gives_the_turn_back(sqlite_url: str) -> None:
    """When the worker pool refuses new work (as at interpreter shutdown), the writer gets the
    pool's error and the gate is free again: the next writer is not left waiting for a turn."""
    engine = create_engine(sqlite_url)
    assert isinstance(engine, SqliteEngine)
    try:
        await migrate(engine)
        await run_unit(engine, lambda c: _insert("before-shutdown", c))
        lane = engine._lane
        assert lane is not None
        lane[1].shutdown(wait=True)
        with pytest.raises(RuntimeError, match="cannot schedule new futures"):
            await run_unit(engine, lambda c: _insert("refused", c))
        await asyncio.wait_for(engine.writer_gate.acquire(), 1.0)
        engine.writer_gate.release()
    finally:
        await engine.dispose()


def _expiring(prefix: str, count: int) -> list[dict[str, object]]:
    at = datetime(2026, 12, 4, 8, 30, 15, 123456, tzinfo=UTC)
    return [{"token_id": f"{prefix}{i}", "expires_at": at + timedelta(seconds=i)} for i in range(count)]


async def test_insert_rows_stores_what_sqlalchemy_would_and_is_atomic(database_url: str) -> None:
    """insert_rows writes values that read back exactly as rows SQLAlchemy's own insert wrote (a
    timezone-aware datetime included); a batch with one bad row (a duplicate key) writes nothing and
    raises SQLAlchemy's IntegrityError, on both engines."""
    engine = create_engine(database_url)
    prefix = f"bulk-{uuid.uuid4().hex[:8]}-"
    read = (
        sa.select(_TABLE.c.expires_at).where(_TABLE.c.token_id.startswith(prefix)).order_by(_TABLE.c.token_id)
    )
    try:
        await migrate(engine)
        rows = _expiring(prefix, 5)
        await insert_rows(engine, _TABLE, rows)
        await run_unit(engine, lambda c: c.execute(sa.insert(_TABLE), _expiring(prefix + "orm-", 5)))
        async with engine.connect() as conn:
            stored = (await conn.execute(read)).scalars().all()
        assert len(stored) == 10
        assert [as_utc(v) for v in stored[:5]] == [r["expires_at"] for r in rows]
        assert [as_utc(v) for v in stored[5:]] == [r["expires_at"] for r in rows]
        with pytest.raises(sa.exc.IntegrityError):
            await insert_rows(engine, _TABLE, [*_expiring(prefix + "new-", 3), rows[0]])
        assert await run_unit(engine, lambda c: _count(prefix + "new-", c), writes=False) == 0
    finally:
        await engine.dispose()


async def test_sqlite_insert_rows_past_the_parameter_limit_is_one_transaction(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows beyond one statement's bound-parameter limit go as several statements in one
    transaction: all of them commit together, or (a duplicate in the last statement) none."""
    monkeypatch.setattr(gateway.db.sqlite, "_SQLITE_MAX_VARIABLES", 4)
    engine = create_engine(sqlite_url)
    try:
        await migrate(engine)
        await insert_rows(engine, _TABLE, _expiring("chunked-", 5))
        assert await run_unit(engine, lambda c: _count("chunked-", c), writes=False) == 5
        with pytest.raises(sa.exc.IntegrityError):
            await insert_rows(engine, _TABLE, [*_expiring("more-", 4), _expiring("chunked-", 1)[0]])
        assert await run_unit(engine, lambda c: _count("more-", c), writes=False) == 0
    finally:
        await engine.dispose()


async def test_sqlite_insert_rows_waits_for_the_writer_turn_and_survives_its_caller(sqlite_url: str) -> None:
    """On SQLite the insert takes the writer gate like any writing unit (it waits while a transaction
    holds it); a caller cancelled meanwhile still gets its rows written; dispose stops the thread."""
    engine = create_engine(sqlite_url)
    assert isinstance(engine, SqliteEngine)
    try:
        await migrate(engine)
        await engine.writer_gate.acquire()
        waiting = asyncio.create_task(insert_rows(engine, _TABLE, _expiring("gated-", 2)))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        engine.writer_gate.release()
        await asyncio.wait_for(waiting, 5)
        cancelled = asyncio.create_task(insert_rows(engine, _TABLE, _expiring("cancelled-", 3)))
        await asyncio.sleep(0)
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        await asyncio.wait_for(engine.writer_gate.acquire(), 5)
        engine.writer_gate.release()
        assert await run_unit(engine, lambda c: _count("gated-", c), writes=False) == 2
        assert await run_unit(engine, lambda c: _count("cancelled-", c), writes=False) == 3
        assert [t for t in threading.enumerate() if t.name == "sqlite-statements"]
    finally:
        await engine.dispose()
    assert not [t for t in threading.enumerate() if t.name == "sqlite-statements"]


async def test_sqlite_read_units_run_on_the_event_loop_on_a_read_only_connection(sqlite_url: str) -> None:
    """A unit that does not write runs on the calling (event-loop) thread and sees committed rows;
    its connection refuses writes (SQLITE_READONLY surfaces, nothing is written, no retry)."""
    engine = create_engine(sqlite_url)
    loop_thread = threading.get_ident()
    try:
        await migrate(engine)
        await run_unit(engine, lambda c: _insert("read-on-loop", c))
        ran_on, count = await run_unit(
            engine, lambda c: (threading.get_ident(), _count("read-on-loop", c)), writes=False
        )
        assert (ran_on, count) == (loop_thread, 1)
        with pytest.raises(sa.exc.OperationalError, match="readonly"):
            await run_unit(engine, lambda c: _insert("sneaked-in", c), writes=False)
        assert await run_unit(engine, lambda c: _count("sneaked-in", c), writes=False) == 0
    finally:
        await engine.dispose()


async def test_a_read_that_sqlite_refuses_as_busy_runs_again_on_a_worker_thread(sqlite_url: str) -> None:
    """When SQLite answers SQLITE_BUSY (or a variant of it) to a read on the event loop, the unit
    runs again on a worker thread, which may wait for the lock; other errors are not retried."""
    engine = create_engine(sqlite_url)
    loop_thread = threading.get_ident()
    attempts: list[int] = []

    def busy_on_the_loop(code: int, conn: Connection) -> int:
        attempts.append(threading.get_ident())
        if threading.get_ident() == loop_thread:
            refused = sqlite3.OperationalError("database is locked")
            refused.sqlite_errorcode = code  # type: ignore[attr-defined]
            raise sa.exc.OperationalError("SELECT 1", None, refused)
        return _count("", conn)

    try:
        await migrate(engine)
        for code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_BUSY | 1 << 8):  # SQLITE_BUSY_RECOVERY
            attempts.clear()
            assert await run_unit(engine, lambda c, code=code: busy_on_the_loop(code, c), writes=False) == 0
            assert attempts[0] == loop_thread and attempts[1:] and attempts[1] != loop_thread
        attempts.clear()
        with pytest.raises(sa.exc.OperationalError):
            await run_unit(engine, lambda c: busy_on_the_loop(sqlite3.SQLITE_IOERR, c), writes=False)
        assert attempts == [loop_thread]
    finally:
        await engine.dispose()


_FIND_TOKEN = (
    sa.select(_TABLE.c.token_id)
    .where(_TABLE.c.token_id.in_([sa.bindparam("first"), sa.bindparam("second")]))
    .limit(1)
)


async def test_exists_answers_whether_a_lookup_finds_a_row(database_url: str) -> None:
    """``exists`` is true iff the statement finds a row for the given parameters (bound ones and
    the statement's own, here its LIMIT), and sees rows committed after its previous call."""
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        assert not await exists(engine, _FIND_TOKEN, {"first": "exists-1", "second": "exists-2"})
        await run_unit(engine, lambda c: _insert("exists-2", c))
        assert await exists(engine, _FIND_TOKEN, {"first": "exists-1", "second": "exists-2"})
        assert await exists(engine, _FIND_TOKEN, {"first": "exists-2", "second": "exists-3"})
        assert not await exists(engine, _FIND_TOKEN, {"first": "exists-3", "second": "exists-4"})
    finally:
        await engine.dispose()


async def test_sqlite_exists_runs_on_the_event_loop_and_recovers_a_broken_connection(sqlite_url: str) -> None:
    """On a SQLite file the probe runs on the event loop's thread, without SQLAlchemy's pool; when
    its connection fails (here: closed underneath) the lookup is answered all the same and the
    next one runs on a new connection."""
    engine = create_engine(sqlite_url)
    assert isinstance(engine, SqliteEngine)
    try:
        await migrate(engine)
        await run_unit(engine, lambda c: _insert("probe-1", c))
        params = {"first": "probe-1", "second": "probe-2"}
        assert await exists(engine, _FIND_TOKEN, params)
        assert engine.sync_engine.pool.checkedout() == 0
        broken = engine._open_probe()
        broken.close()
        assert await exists(engine, _FIND_TOKEN, params)
        assert engine._open_probe() is not broken
        assert await exists(engine, _FIND_TOKEN, params)
    finally:
        await engine.dispose()


async def test_exists_reports_database_errors_as_sqlalchemy_errors(database_url: str) -> None:
    """A lookup the database cannot run raises SQLAlchemy's error type, as every other unit does
    (the middleware renders those), never the driver's own (pysqlite's, asyncpg's)."""
    engine = create_engine(database_url)
    missing = sa.table("no_such_table", sa.column("id", sa.Integer))
    try:
        await migrate(engine)
        with pytest.raises(sa.exc.DBAPIError, match=r"no.such.table"):
            await exists(engine, sa.select(missing.c.id).where(missing.c.id == sa.bindparam("id")), {"id": 1})
    finally:
        await engine.dispose()


async def test_postgresql_exists_runs_on_its_direct_pool_and_survives_lost_connections(
    postgres_url: str,
) -> None:
    """On PostgreSQL a probe runs on the engine's asyncpg direct pool, not SQLAlchemy's pool; when
    the server ends the direct pool's connections, lookups are answered all the same; disposing of
    the engine closes the direct pool."""
    engine = create_engine(postgres_url)
    assert isinstance(engine, PostgresEngine)
    try:
        await migrate(engine)
        await run_unit(engine, lambda c: _insert("pg-probe-1", c))
        params = {"first": "pg-probe-1", "second": "pg-probe-2"}
        assert await exists(engine, _FIND_TOKEN, params)
        pool = await engine._open_pool()
        assert pool.get_size() >= 1
        assert engine.sync_engine.pool.checkedout() == 0
        await _end_the_direct_connections(engine)
        for _ in range(3):
            assert await exists(engine, _FIND_TOKEN, params)
            assert not await exists(engine, _FIND_TOKEN, {"first": "pg-probe-3", "second": "pg-probe-4"})
    finally:
        await engine.dispose()
    assert engine._pool is None


async def _end_the_direct_connections(engine: AsyncEngine) -> None:
    """Terminate the server processes behind the direct pool's idle connections (asyncpg's carry
    no application name; SQLAlchemy's own connection, which runs this, is spared)."""
    async with engine.connect() as conn:
        await conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND application_name = '' AND state = 'idle'"
            )
        )


async def test_postgresql_insert_rows_runs_on_the_direct_pool_and_survives_lost_connections(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL insert_rows runs on the asyncpg direct pool, without SQLAlchemy (a unit of work
    would fail here): 2,000 rows, past any per-statement parameter limit a multi-row VALUES list
    would meet, are stored with their values intact. When the server ends the direct pool's
    connections, the next batch is stored all the same, through SQLAlchemy."""
    engine = create_engine(postgres_url)
    assert isinstance(engine, PostgresEngine)
    prefix = f"direct-{uuid.uuid4().hex[:8]}-"
    rows = _expiring(prefix, 2000)
    read = sa.select(_TABLE.c.token_id, _TABLE.c.expires_at).where(_TABLE.c.token_id.startswith(prefix))
    try:
        await migrate(engine)

        async def no_unit(*_: object, **__: object) -> None:
            raise AssertionError("insert_rows went through SQLAlchemy")

        monkeypatch.setattr(gateway.db.postgres, "sqlalchemy_unit", no_unit)
        await insert_rows(engine, _TABLE, rows)
        monkeypatch.undo()
        async with engine.connect() as conn:
            stored = {token: as_utc(at) for token, at in (await conn.execute(read)).all()}
        assert stored == {row["token_id"]: row["expires_at"] for row in rows}
        await _end_the_direct_connections(engine)
        await insert_rows(engine, _TABLE, _expiring(prefix + "after-", 3))
        assert await run_unit(engine, lambda c: _count(prefix + "after-", c), writes=False) == 3
    finally:
        await engine.dispose()


async def test_postgresql_read_units_run_outside_a_transaction_and_writing_units_inside(
    postgres_url: str,
) -> None:
    """On PostgreSQL a read unit runs in autocommit (no BEGIN/COMMIT round trips): a SET LOCAL in it
    has no transaction to live in, while in a writing unit it holds until the commit."""

    def timeout_after_set_local(conn: Connection) -> str:
        conn.exec_driver_sql("SET LOCAL statement_timeout = 1234")
        return str(conn.exec_driver_sql("SHOW statement_timeout").scalar_one())

    engine = create_engine(postgres_url)
    try:
        await migrate(engine)
        assert await run_unit(engine, timeout_after_set_local) == "1234ms"
        assert await run_unit(engine, timeout_after_set_local, writes=False) != "1234ms"
        await run_unit(engine, lambda c: _insert("pg-read-after-write", c))
        assert await run_unit(engine, lambda c: _count("pg-read-after-write", c), writes=False) == 1
    finally:
        await engine.dispose()


async def _kill_the_pooled_backend(engine: AsyncEngine, postgres_url: str) -> None:
    """Terminate the server process behind the engine's one pooled connection, from outside."""
    pid = await run_unit(engine, lambda c: int(c.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()))
    killer = create_engine(postgres_url)
    try:
        await run_unit(
            killer, lambda c: c.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        )
    finally:
        await killer.dispose()


async def test_postgresql_a_connection_that_sat_idle_is_pinged_and_replaced_when_dead(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pooled connection idle past IDLE_PING_SECONDS is pinged at checkout; one whose server
    process died meanwhile is replaced before use, so the unit succeeds."""
    monkeypatch.setattr(gateway.db.postgres, "IDLE_PING_SECONDS", 0.05)
    engine = create_engine(postgres_url)
    try:
        await _kill_the_pooled_backend(engine, postgres_url)
        await asyncio.sleep(0.1)
        assert await run_unit(engine, lambda c: c.exec_driver_sql("SELECT 1").scalar_one(), writes=False) == 1
    finally:
        await engine.dispose()


async def test_postgresql_a_connection_in_steady_use_is_not_pinged(postgres_url: str) -> None:
    """Within IDLE_PING_SECONDS of its last use a connection is handed out without a ping; if its
    server process died meanwhile, that one unit fails with a database error marked as having
    invalidated its connection (answered 503) and the pool is renewed, so the next unit succeeds."""
    engine = create_engine(postgres_url)
    pings = 0
    real_ping = engine.sync_engine.dialect.do_ping

    def counting_ping(dbapi_connection: object) -> bool:
        nonlocal pings
        pings += 1
        return real_ping(dbapi_connection)

    engine.sync_engine.dialect.do_ping = counting_ping  # type: ignore[method-assign]
    try:
        for _ in range(20):
            await run_unit(engine, lambda c: c.exec_driver_sql("SELECT 1").scalar_one(), writes=False)
        assert pings == 0
        await _kill_the_pooled_backend(engine, postgres_url)
        with pytest.raises(sa.exc.DBAPIError) as failed:
            await run_unit(engine, lambda c: c.exec_driver_sql("SELECT 1").scalar_one(), writes=False)
        assert failed.value.connection_invalidated
        assert await run_unit(engine, lambda c: c.exec_driver_sql("SELECT 1").scalar_one(), writes=False) == 1
    finally:
        await engine.dispose()
