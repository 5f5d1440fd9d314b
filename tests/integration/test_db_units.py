"""Units of work (:func:`gateway.db.run_unit`): one transaction, committed or rolled back, on both
engines; on a SQLite file, run on a bounded set of worker threads over a reused pool."""

from __future__ import annotations

import asyncio
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gateway.db import SQLITE_POOL_SIZE, SqliteEngine, create_engine, migrate, run_unit
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
