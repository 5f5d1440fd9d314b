"""The leased-queue claim (:class:`gateway.leases.LeasedQueue`) on SQLite and PostgreSQL: concurrent
claimers never share a row, a claim takes at most its limit in queue order, an ended lease frees
its rows for another owner, and a write conditional on the lease is refused to a former owner."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.db import as_utc, create_engine, run_unit
from gateway.leases import LeasedQueue

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
_METADATA = sa.MetaData()
_JOBS = sa.Table(
    f"lease_jobs_{uuid.uuid4().hex[:8]}",
    _METADATA,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("owner", sa.String(64)),
    sa.Column("until", sa.DateTime(timezone=True)),
    sa.Column("done_by", sa.String(64)),
)
QUEUE = LeasedQueue(
    _JOBS,
    owner=_JOBS.c.owner,
    until=_JOBS.c.until,
    order_by=_JOBS.c.due_at,
    due=lambda now: (_JOBS.c.state == "ready", _JOBS.c.due_at <= now),
)


@pytest.fixture
async def engines(database_url: str) -> AsyncIterator[list[AsyncEngine]]:
    """Two engines on one database (two processes' pools), the job table created and dropped."""
    pair = [create_engine(database_url), create_engine(database_url)]
    await run_unit(pair[0], _METADATA.create_all)
    try:
        yield pair
    finally:
        await run_unit(pair[0], _METADATA.drop_all)
        for engine in pair:
            await engine.dispose()


async def _add(engine: AsyncEngine, count: int, *, at: datetime = T0, state: str = "ready") -> list[str]:
    ids = [f"job-{uuid.uuid4().hex[:12]}" for _ in range(count)]
    rows = [{"id": job, "state": state, "due_at": at + timedelta(seconds=n)} for n, job in enumerate(ids)]
    await run_unit(engine, lambda conn: conn.execute(sa.insert(_JOBS), rows))
    return ids


async def _claim(engine: AsyncEngine, owner: str, now: datetime, limit: int = 10) -> list[str]:
    rows = await QUEUE.claim(
        engine, owner=owner, now=now, until=now + timedelta(seconds=30), limit=limit, columns=(_JOBS.c.id,)
    )
    return [row["id"] for row in rows]


async def test_concurrent_claimers_never_share_a_row(engines: list[AsyncEngine]) -> None:
    """Sixteen claims at once from two pools take disjoint rows; later claims take the rest, so
    every row is claimed exactly once."""
    ids = await _add(engines[0], 60)
    now = T0 + timedelta(minutes=5)
    rounds = await asyncio.gather(*(_claim(engines[n % 2], f"w{n}", now, limit=5) for n in range(16)))
    claimed = [job for taken in rounds for job in taken]
    assert len(claimed) == len(set(claimed)) and all(len(taken) <= 5 for taken in rounds)
    while rest := await _claim(engines[0], "sweeper", now, limit=7):
        claimed += rest
    assert sorted(claimed) == sorted(ids)


async def test_a_claim_takes_the_earliest_due_rows_up_to_its_limit(engines: list[AsyncEngine]) -> None:
    """Rows not yet due, in another state or under a live lease are left; due rows go in order."""
    ids = await _add(engines[0], 5)
    await _add(engines[0], 2, at=T0 + timedelta(hours=1))
    await _add(engines[0], 2, state="done")
    assert set(await _claim(engines[0], "a", T0 + timedelta(seconds=10), limit=3)) == set(ids[:3])
    assert set(await _claim(engines[1], "b", T0 + timedelta(seconds=10))) == set(ids[3:])
    assert await _claim(engines[1], "c", T0 + timedelta(seconds=10)) == []


async def test_an_ended_lease_is_claimed_again_and_its_former_owner_writes_nothing(
    engines: list[AsyncEngine],
) -> None:
    """A lease until T holds before T and is free at T: another owner claims the row, the dead
    owner's conditional write changes nothing, and the new owner's write frees the lease."""
    [job] = await _add(engines[0], 1)
    assert await _claim(engines[0], "dead", T0) == [job]
    assert await _claim(engines[1], "alive", T0 + timedelta(seconds=29)) == []
    assert await _claim(engines[1], "alive", T0 + timedelta(seconds=30)) == [job]

    def finish(owner: str) -> sa.Update:
        return QUEUE.release(owner, _JOBS.c.id == job, state="done", done_by=owner)

    stale = await run_unit(engines[0], lambda conn: conn.execute(finish("dead")).rowcount)
    fresh = await run_unit(engines[1], lambda conn: conn.execute(finish("alive")).rowcount)
    assert (stale, fresh) == (0, 1)
    row = await run_unit(engines[0], lambda conn: conn.execute(sa.select(_JOBS)).mappings().one())
    assert (row["state"], row["done_by"], row["owner"], as_utc(row["until"])) == ("done", "alive", None, None)
