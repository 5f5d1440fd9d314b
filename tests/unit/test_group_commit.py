"""GroupCommit: concurrent callers' items written together, each caller answered after its commit
with its unit's result."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.db import GroupCommit, create_engine, run_unit

_ITEMS = sa.Table("items", sa.MetaData(), sa.Column("value", sa.Integer, nullable=False, unique=True))


@pytest.fixture
async def engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sqlite_url)
    async with engine.begin() as conn:
        await conn.run_sync(_ITEMS.metadata.create_all)
    yield engine
    await engine.dispose()


async def _stored(engine: AsyncEngine) -> list[int]:
    return await run_unit(
        engine,
        lambda conn: list(conn.scalars(sa.select(_ITEMS.c.value).order_by(_ITEMS.c.value))),
        writes=False,
    )


async def test_concurrent_callers_share_units_of_at_most_max_items(engine: AsyncEngine) -> None:
    """Ten callers at once are written in units of at most four items; a lone caller gets its own unit."""
    units: list[list[int]] = []

    def write(conn: Connection, batch: list[int]) -> int:
        units.append(batch)
        conn.execute(sa.insert(_ITEMS), [{"value": value} for value in batch])
        return len(batch)

    group: GroupCommit[int, int] = GroupCommit(engine, write, max_items=4)
    results = await asyncio.gather(*(group.add([value]) for value in range(10)))
    assert units == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert results == [4, 4, 4, 4, 4, 4, 4, 4, 2, 2]
    await group.add([10])
    assert units[-1] == [10]
    assert await _stored(engine) == list(range(11))


async def test_a_failed_unit_fails_only_its_callers_and_stores_none_of_their_items(
    engine: AsyncEngine,
) -> None:
    """A unit that raises rolls back: its callers get the error; later units still run."""
    committed: list[int] = []
    group: GroupCommit[int, int] = GroupCommit(
        engine,
        lambda conn, batch: conn.execute(sa.insert(_ITEMS), [{"value": v} for v in batch]).rowcount,
        after=committed.append,
        max_items=2,
    )
    await group.add([1])
    outcomes = await asyncio.gather(group.add([2]), group.add([1]), group.add([3]), return_exceptions=True)
    assert isinstance(outcomes[0], sa.exc.IntegrityError) and isinstance(outcomes[1], sa.exc.IntegrityError)
    assert outcomes[2] == 1
    assert await _stored(engine) == [1, 3]
    assert committed == [1, 1]


async def test_with_two_units_a_caller_is_written_while_the_first_unit_waits_on_a_lock(
    own_postgres_url: str,
) -> None:
    """units=2 on PostgreSQL: a unit blocked on a row another transaction holds does not hold up
    the next caller, whose unit commits meanwhile; the blocked one commits once the lock is gone."""
    engine = create_engine(own_postgres_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_ITEMS.metadata.create_all)
        group: GroupCommit[int, int] = GroupCommit(
            engine,
            lambda conn, batch: conn.execute(sa.insert(_ITEMS), [{"value": v} for v in batch]).rowcount,
            units=2,
        )
        async with engine.connect() as holder:
            transaction = await holder.begin()
            await holder.execute(sa.insert(_ITEMS), [{"value": 1}])
            blocked = asyncio.create_task(group.add([1]))
            await asyncio.sleep(0.2)
            assert await asyncio.wait_for(group.add([2]), 5) == 1
            assert not blocked.done()
            await transaction.rollback()
        assert await asyncio.wait_for(blocked, 5) == 1
        assert await _stored(engine) == [1, 2]
    finally:
        await engine.dispose()
