"""The revoked-token list (:mod:`gateway.oauth.revocation`) on both engines: concurrent checks share
lookups, a check never misses a revocation committed before it began, and a failed lookup fails
only the checks that shared it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

import gateway.oauth.revocation
from gateway.clock import SystemClock
from gateway.db import create_engine, migrate
from gateway.oauth.revocation import Revocations

_LATER = datetime.now(UTC) + timedelta(hours=1)


@pytest.fixture
async def revocations(database_url: str) -> AsyncIterator[Revocations]:
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        yield Revocations(engine, SystemClock())
    finally:
        await engine.dispose()


def _counting_lookups(
    monkeypatch: pytest.MonkeyPatch, after: Callable[[int], Any] | None = None
) -> list[list[str]]:
    """Record the ids of every lookup (padding removed); ``after(n)``, awaited when given, runs
    once the n-th lookup (from 0) has its answer and before the checks get it."""
    real = gateway.oauth.revocation.column
    lookups: list[list[str]] = []

    async def recording(engine: Any, statement: Any, params: dict[str, str]) -> list[Any]:
        lookups.append(list(dict.fromkeys(params.values())))
        found = await real(engine, statement, params)
        if after is not None:
            await after(len(lookups) - 1)
        return found

    monkeypatch.setattr(gateway.oauth.revocation, "column", recording)
    return lookups


async def test_concurrent_checks_share_lookups_and_each_gets_its_own_answer(
    revocations: Revocations, monkeypatch: pytest.MonkeyPatch
) -> None:
    """150 concurrent checks (every tenth id revoked, some ids asked twice) go as three lookups of
    at most 64 ids, not 150, and each check answers for its own id."""
    for i in range(0, 140, 10):
        await revocations.revoke(f"shared-{i}", _LATER)
    lookups = _counting_lookups(monkeypatch)
    ids = [f"shared-{i}" for i in range(140)] + [f"shared-{i}" for i in range(0, 100, 10)]
    answers = await asyncio.gather(*(revocations.is_revoked(token_id) for token_id in ids))
    assert answers == [int(token_id.split("-")[1]) % 10 == 0 for token_id in ids]
    assert [len(ids) for ids in lookups] == [64, 64, 22]
    assert await revocations.is_revoked("shared-10")
    assert not await revocations.is_revoked("shared-11")


async def test_a_check_begun_after_a_revocation_sees_it_even_with_a_lookup_in_flight(
    revocations: Revocations, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check asked while a lookup is in flight does not take that lookup's (older) answer: the
    first check ran before the revocation and answers false; the second, asked after the
    revocation committed but before the first lookup finished, answers true."""
    held, release = asyncio.Event(), asyncio.Event()

    async def hold_the_first(n: int) -> None:
        if n == 0:
            held.set()
            await release.wait()

    lookups = _counting_lookups(monkeypatch, hold_the_first)
    first = asyncio.create_task(revocations.is_revoked("in-flight"))
    await held.wait()
    await revocations.revoke("in-flight", _LATER)
    second = asyncio.create_task(revocations.is_revoked("in-flight"))
    await asyncio.sleep(0.01)
    release.set()
    assert (await first, await second) == (False, True)
    assert lookups == [["in-flight"], ["in-flight"]]


async def test_a_failed_lookup_fails_the_checks_that_shared_it_and_the_next_one_runs(
    revocations: Revocations, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When a lookup raises (here: the database is unreachable), every check in it gets the
    SQLAlchemy error (rendered 503 by the middleware); a cancelled check leaves the others
    answered; later checks look up afresh."""
    failures = iter([sa.exc.OperationalError("SELECT", {}, ConnectionError("down"))])

    async def fail_once(n: int) -> None:
        error = next(failures, None)
        if error is not None:
            raise error

    _counting_lookups(monkeypatch, fail_once)
    failed = await asyncio.gather(
        *(revocations.is_revoked(f"failing-{i}") for i in range(5)), return_exceptions=True
    )
    assert all(isinstance(result, sa.exc.OperationalError) for result in failed)
    await revocations.revoke("after-failure", _LATER)
    cancelled = asyncio.create_task(revocations.is_revoked("cancelled"))
    kept = asyncio.create_task(revocations.is_revoked("after-failure"))
    await asyncio.sleep(0)
    cancelled.cancel()
    assert await kept
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert not await revocations.is_revoked("never-revoked")
