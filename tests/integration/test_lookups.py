"""Shared key lookups (:class:`gateway.lookups.SharedLookup`) on both engines: concurrent questions
share lookups, a question never misses a row committed before it began, a failed lookup fails
only the questions that shared it. Used by the revocation list (one column) and the device
registry (three)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

import gateway.db
import gateway.lookups
from gateway.clock import SystemClock
from gateway.db import create_engine, migrate, run_unit
from gateway.lookups import SharedLookup
from gateway.oauth.revocation import Revocations

_LATER = datetime.now(UTC) + timedelta(hours=1)
_PAIRS = sa.Table(
    "lookup_test_pairs",
    sa.MetaData(),
    sa.Column("left_key", sa.String(16), primary_key=True),
    sa.Column("right_key", sa.Integer, primary_key=True),
)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        await run_unit(engine, lambda conn: _PAIRS.create(conn, checkfirst=True))
        yield engine
    finally:
        await run_unit(engine, lambda conn: _PAIRS.drop(conn, checkfirst=True))
        await engine.dispose()


def _recording_lookups(
    monkeypatch: pytest.MonkeyPatch, after: Callable[[int], Any] | None = None
) -> list[int]:
    """Record the number of distinct keys of every lookup (padding removed); ``after(n)``, awaited
    when given, runs once the n-th lookup (from 0) has its answer and before the questions get it."""
    real = gateway.db.rows
    lookups: list[int] = []

    async def recording(engine: Any, statement: Any, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        width = len(statement.selected_columns)
        values = list(params.values())
        lookups.append(len(dict.fromkeys(zip(*(values[j::width] for j in range(width)), strict=True))))
        found = await real(engine, statement, params)
        if after is not None:
            await after(len(lookups) - 1)
        return found

    monkeypatch.setattr(gateway.lookups, "rows", recording)
    return lookups


async def test_concurrent_revocation_checks_share_lookups_and_each_gets_its_own_answer(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """150 concurrent revocation checks (every tenth id revoked, some ids asked twice) go as three
    lookups of at most 64 ids, not 150, and each check answers for its own id."""
    revocations = Revocations(engine, SystemClock())
    for i in range(0, 140, 10):
        await revocations.revoke(f"shared-{i}", _LATER)
    lookups = _recording_lookups(monkeypatch)
    ids = [f"shared-{i}" for i in range(140)] + [f"shared-{i}" for i in range(0, 100, 10)]
    answers = await asyncio.gather(*(revocations.is_revoked(token_id) for token_id in ids))
    assert answers == [int(token_id.split("-")[1]) % 10 == 0 for token_id in ids]
    assert lookups == [64, 64, 22]
    assert await revocations.is_revoked("shared-10")
    assert not await revocations.is_revoked("shared-11")


async def test_questions_of_several_keys_over_several_columns_are_answered_key_by_key(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys of two columns (a string and an integer) match as whole tuples, never column by
    column; questions are packed up to ``max_batch`` keys per lookup, and a question larger than
    that goes alone rather than waiting forever."""
    stored = [("a", 1), ("b", 2), ("c", 3)]
    await run_unit(
        engine,
        lambda conn: conn.execute(
            sa.insert(_PAIRS), [dict(zip(("left_key", "right_key"), pair, strict=True)) for pair in stored]
        ),
    )
    lookups = _recording_lookups(monkeypatch)
    shared = SharedLookup(engine, [_PAIRS.c.left_key, _PAIRS.c.right_key], max_batch=4)
    questions = [[("a", 1), ("a", 2)], [("b", 1), ("c", 3)], [("b", 2)], [(f"x{i}", i) for i in range(6)]]
    answers = await asyncio.gather(*(shared.found(keys) for keys in questions))
    assert answers == [{("a", 1)}, {("c", 3)}, {("b", 2)}, set()]
    assert lookups == [4, 1, 6]
    assert await shared.found([]) == set()


async def test_a_question_begun_after_a_commit_sees_it_even_with_a_lookup_in_flight(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check asked while a lookup is in flight does not take that lookup's (older) answer: the
    first check ran before the revocation and answers false; the second, asked after the
    revocation committed but before the first lookup finished, answers true."""
    revocations = Revocations(engine, SystemClock())
    held, release = asyncio.Event(), asyncio.Event()

    async def hold_the_first(n: int) -> None:
        if n == 0:
            held.set()
            await release.wait()

    lookups = _recording_lookups(monkeypatch, hold_the_first)
    first = asyncio.create_task(revocations.is_revoked("in-flight"))
    await held.wait()
    await revocations.revoke("in-flight", _LATER)
    second = asyncio.create_task(revocations.is_revoked("in-flight"))
    await asyncio.sleep(0.01)
    release.set()
    assert (await first, await second) == (False, True)
    assert lookups == [1, 1]


async def test_a_failed_lookup_fails_the_questions_that_shared_it_and_the_next_one_runs(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When a lookup raises (here: the database is unreachable), every question in it gets the
    SQLAlchemy error (rendered 503 by the middleware); a cancelled question leaves the others
    answered; later questions look up afresh."""
    revocations = Revocations(engine, SystemClock())
    failures = iter([sa.exc.OperationalError("SELECT", {}, ConnectionError("down"))])

    async def fail_once(n: int) -> None:
        error = next(failures, None)
        if error is not None:
            raise error

    _recording_lookups(monkeypatch, fail_once)
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
