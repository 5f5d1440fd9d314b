"""The connection pool under concurrent requests: connections are reused, never opened per call."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine, QueuePool, event

from gateway.clock import SystemClock
from gateway.db import create_engine, migrate
from gateway.oauth.revocation import Revocations


async def test_concurrent_reads_reuse_the_pool_instead_of_opening_connections(database_url: str) -> None:
    """64 concurrent revocation checks, twice: at most the pool's size of connections is opened over
    both waves (an overflow pool would close and reopen connections on every burst); the
    migration's connection, opened before the waves, is not counted."""
    engine = create_engine(database_url)
    opened = 0

    def count(*_: object) -> None:
        nonlocal opened
        opened += 1

    event.listen(Engine, "connect", count)
    try:
        await migrate(engine)
        opened = 0
        revocations = Revocations(engine, SystemClock())
        first = await asyncio.gather(*(revocations.is_revoked(f"jti-{i}") for i in range(64)))
        second = await asyncio.gather(*(revocations.is_revoked(f"jti-{i}") for i in range(64)))
        assert not any(first) and not any(second)
        assert isinstance(engine.pool, QueuePool)
        assert opened <= engine.pool.size()
    finally:
        event.remove(Engine, "connect", count)
        await engine.dispose()
