"""Units of work (:func:`gateway.db.run_unit`) on plain SQLAlchemy engines, on both databases: one
transaction, committed or rolled back; statements off the event-loop thread; one fixed pool. On
SQLite, session transactions and writing units take turns through the engine's writer gate."""

from __future__ import annotations

import asyncio
import functools
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import gateway.db.engine
from gateway.db import (
    WriterGate,
    as_utc,
    create_engine,
    exists,
    insert_rows,
    migrate,
    run_unit,
    session_factory,
    writer_gate,
)
from gateway.oauth.models import RevokedToken

_TABLE = RevokedToken.__table__  # type: ignore[attr-defined]


def _insert(token_id: str, conn: Connection) -> None:
    conn.execute(sa.insert(_TABLE).values(token_id=token_id, expires_at=sa.func.now()))


def _count(prefix: str, conn: Connection) -> int:
    query = sa.select(sa.func.count()).select_from(_TABLE).where(_TABLE.c.token_id.startswith(prefix))
    return int(conn.execute(query).scalar_one())


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


def _register_thread_id(dbapi_connection: Any, _: Any) -> None:
    """A SQL function ``thread_id()`` answering the thread it runs on (the connection's aiosqlite thread)."""
    dbapi_connection.run_async(lambda raw: raw.create_function("thread_id", 0, threading.get_ident))


async def test_sqlite_statements_run_on_the_drivers_threads_not_the_event_loop(sqlite_url: str) -> None:
    """Reads and writes alike execute on aiosqlite's connection threads, never on the event loop's."""
    engine = create_engine(sqlite_url)
    sa.event.listen(engine.sync_engine, "connect", _register_thread_id)
    probe = sa.select(sa.func.thread_id())

    def read(conn: Connection) -> int:
        return int(conn.execute(probe).scalar_one())

    def write(conn: Connection) -> int:
        _insert(uuid.uuid4().hex, conn)
        return read(conn)

    try:
        await migrate(engine)
        ran_on = await asyncio.gather(
            *(run_unit(engine, read, writes=False) for _ in range(8)),
            *(run_unit(engine, write) for _ in range(8)),
        )
        assert threading.get_ident() not in ran_on
        assert (await exists(engine, sa.select(_TABLE.c.token_id).limit(1), {})) is True
    finally:
        await engine.dispose()


async def test_units_reuse_one_fixed_pool_of_the_given_size(database_url: str) -> None:
    """The engine's pool has exactly ``pool_size`` connections and no overflow: four waves of 64
    concurrent units open at most that many (a pool that churned would open about 64 per wave)."""
    engine = create_engine(database_url, pool_size=3)
    opened = 0

    def count(*_: object) -> None:
        nonlocal opened
        opened += 1

    sa.event.listen(engine.sync_engine, "connect", count)
    try:
        await migrate(engine)
        opened = 0
        for writes in (True, False, True, False):
            await asyncio.gather(
                *(run_unit(engine, lambda c: _count("x", c), writes=writes) for _ in range(64))
            )
        assert isinstance(engine.pool, sa.QueuePool)
        assert engine.pool.size() == 3
        assert 1 <= opened <= 3
    finally:
        await engine.dispose()


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
            *(run_unit(engine, functools.partial(unit, i)) for i in range(24)),
        )
        assert await run_unit(engine, lambda c: _count("turn-", c), writes=False) == 48
        if engine.dialect.name == "sqlite":
            assert writer_gate(engine) is not None
            assert peak == 1
            assert all(results[24:])
        else:
            assert writer_gate(engine) is None
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


async def test_a_writing_unit_runs_to_its_end_when_its_caller_is_cancelled_and_holds_the_turn(
    sqlite_url: str,
) -> None:
    """A writing unit whose caller is cancelled while its statement runs still runs to its end
    (here: commits), and the writer turn stays taken until then, so the next writer never meets
    SQLite's lock; then the turn is free. A unit that raises gives the turn back as well."""
    engine = create_engine(sqlite_url)
    started, finish = threading.Event(), threading.Event()

    def hold() -> int:
        started.set()
        finish.wait(5)
        return 1

    def register(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.run_async(lambda raw: raw.create_function("hold", 0, hold))

    sa.event.listen(engine.sync_engine, "connect", register)

    def slow(conn: Connection) -> None:
        _insert("cancelled-unit", conn)
        conn.execute(sa.select(sa.func.hold()))

    def fail(conn: Connection) -> None:
        _insert("failed-unit", conn)
        raise LookupError("boom")

    gate = writer_gate(engine)
    assert gate is not None
    try:
        await migrate(engine)
        task = asyncio.create_task(run_unit(engine, slow))
        await asyncio.to_thread(started.wait, 5)
        task.cancel()
        follower = asyncio.create_task(run_unit(engine, lambda c: _insert("after-cancel", c)))
        await asyncio.sleep(0.05)
        assert not follower.done()
        finish.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.wait_for(follower, 5)
        with pytest.raises(LookupError):
            await run_unit(engine, fail)
        await asyncio.wait_for(gate.acquire(), 1.0)
        gate.release()
        counts = [await run_unit(engine, functools.partial(_count, p), writes=False) for p in _PREFIXES]
        assert counts == [1, 1, 0]
    finally:
        finish.set()
        await engine.dispose()


_PREFIXES = ("cancelled-unit", "after-cancel", "failed-unit")


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


async def test_insert_rows_of_a_large_batch_is_one_transaction(database_url: str) -> None:
    """20,000 rows (40,000 values, past either database's bound-parameter limit for one statement)
    are all stored; the same batch with a duplicate key at its end stores none of them."""
    engine = create_engine(database_url)
    prefix = f"large-{uuid.uuid4().hex[:8]}-"
    try:
        await migrate(engine)
        await insert_rows(engine, _TABLE, _expiring(prefix, 20_000))
        assert await run_unit(engine, lambda c: _count(prefix, c), writes=False) == 20_000
        with pytest.raises(sa.exc.IntegrityError):
            await insert_rows(engine, _TABLE, [*_expiring(prefix + "more-", 19_999), _expiring(prefix, 1)[0]])
        assert await run_unit(engine, lambda c: _count(prefix + "more-", c), writes=False) == 0
    finally:
        await engine.dispose()


async def test_sqlite_insert_rows_waits_for_the_writer_turn(sqlite_url: str) -> None:
    """On SQLite the insert takes the writer gate like any writing unit: it waits while another
    writer holds the turn, then stores its rows."""
    engine = create_engine(sqlite_url)
    gate = writer_gate(engine)
    assert gate is not None
    try:
        await migrate(engine)
        await gate.acquire()
        waiting = asyncio.create_task(insert_rows(engine, _TABLE, _expiring("gated-", 2)))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        gate.release()
        await asyncio.wait_for(waiting, 5)
        assert await run_unit(engine, lambda c: _count("gated-", c), writes=False) == 2
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


async def test_postgresql_statement_caches_can_be_turned_off_for_pgbouncer(postgres_url: str) -> None:
    """``statement_cache_size=0`` in the URL reaches asyncpg as a number, turns SQLAlchemy's
    prepared-statement cache off too and names each prepared statement uniquely (what PgBouncer's
    transaction pooling needs); units run as usual."""
    engine = create_engine(f"{postgres_url}?statement_cache_size=0")
    connected: list[dict[str, Any]] = []

    def spy(_: Any, __: Any, ___: Any, cparams: dict[str, Any]) -> None:
        connected.append(dict(cparams))

    sa.event.listen(engine.sync_engine, "do_connect", spy)
    try:
        await migrate(engine)
        await run_unit(engine, lambda c: _insert("pgbouncer-1", c))
        for _ in range(3):
            assert await run_unit(engine, lambda c: _count("pgbouncer-", c), writes=False) == 1
        assert connected
        assert connected[0]["statement_cache_size"] == 0
        assert connected[0]["prepared_statement_cache_size"] == 0
        name = connected[0]["prepared_statement_name_func"]
        assert name() != name()
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
    monkeypatch.setattr(gateway.db.engine, "IDLE_PING_SECONDS", 0.05)
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

    def counting_ping(dbapi_connection: Any) -> bool:
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
