"""Shared key lookups: concurrent "which of these keys are stored?" questions answered together.

A :class:`SharedLookup` answers :meth:`~SharedLookup.found` for keys of some columns of a table
(each key one value per column, matched exactly: a primary or unique key). A question waits for
the lookup in flight, if any, to finish, then goes in the next one with every question that queued
meanwhile, up to ``max_batch`` keys in one ``IN`` list (a question with more keys goes alone).
A lookup starts only after each of its questions was asked, so a row committed before a question
began is always seen. A failed lookup fails exactly the questions that shared it. Each lookup is
one read unit of work (:func:`gateway.db.rows`): one statement whose ``IN`` list has a bound
parameter per key, its key list padded to a power of two. The statement of each padded size is
built once and reused, so SQLAlchemy compiles it once and the database sees few distinct
statements.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.db import rows

__all__ = ["Key", "SharedLookup"]

Key = tuple[Any, ...]
"""One value per column of the lookup, as the columns' types take and return them."""

_Question = tuple[Sequence[Key], asyncio.Future[set[Key]]]


class SharedLookup:
    """Which keys of ``columns`` (all of one table) are stored; see the module docstring."""

    def __init__(
        self, engine: AsyncEngine, columns: Sequence[sa.Column[Any]], *, max_batch: int = 64
    ) -> None:
        if not columns or max_batch < 1:
            raise ValueError("a lookup needs at least one column and a batch of at least one key")
        self._engine = engine
        self._columns = tuple(columns)
        self._max_batch = max_batch
        self._queued: list[_Question] = []
        self._lookups: asyncio.Task[None] | None = None
        self._statements: dict[int, sa.Select[Any]] = {}

    async def found(self, keys: Sequence[Key]) -> set[Key]:
        """The keys among ``keys`` that are stored (at the latest, when this call began).

        :raises sqlalchemy.exc.SQLAlchemyError: the lookup failed (for every question that shared it).
        """
        if not keys:
            return set()
        done: asyncio.Future[set[Key]] = asyncio.get_running_loop().create_future()
        self._queued.append((keys, done))
        if self._lookups is None:
            self._lookups = asyncio.create_task(self._look_up_queued(), name="shared-lookups")
        return await done

    async def _look_up_queued(self) -> None:
        batch: list[_Question] = []
        try:
            while self._queued:
                batch = self._next_batch()
                keys = list(dict.fromkeys(key for question, _ in batch for key in question))
                size = 1 << (len(keys) - 1).bit_length()
                padded = keys + [keys[-1]] * (size - len(keys))
                params = {f"k{i}_{j}": value for i, key in enumerate(padded) for j, value in enumerate(key)}
                try:
                    stored = set(await rows(self._engine, self._statement(size), params))
                except Exception as exc:
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                else:
                    for question, done in batch:
                        if not done.done():
                            done.set_result(stored.intersection(question))
        finally:
            self._lookups = None
            for _, done in [*batch, *self._queued]:
                done.cancel()
            self._queued.clear()

    def _next_batch(self) -> list[_Question]:
        taken, keys = 0, 0
        for question, _ in self._queued:
            if taken and keys + len(question) > self._max_batch:
                break
            taken, keys = taken + 1, keys + len(question)
        batch = self._queued[:taken]
        del self._queued[:taken]
        return batch

    def _statement(self, size: int) -> sa.Select[Any]:
        """The stored keys among ``size`` keys bound as ``k<i>_<j>`` (key ``i``, column ``j``);
        one statement per size, kept (sizes are powers of two up to the largest batch)."""
        statement = self._statements.get(size)
        if statement is None:
            if len(self._columns) == 1:
                found = self._columns[0].in_([sa.bindparam(f"k{i}_0") for i in range(size)])
            else:
                width = range(len(self._columns))
                found = sa.tuple_(*self._columns).in_(
                    [sa.tuple_(*(sa.bindparam(f"k{i}_{j}") for j in width)) for i in range(size)]
                )
            statement = self._statements[size] = sa.select(*self._columns).where(found)
        return statement
