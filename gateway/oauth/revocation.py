"""Revoked access tokens (by ``jti``), shared by every gateway process through the database.

Only 3-legged tokens are ever revoked (those a reused authorization code produced, RFC 6749
§4.1.2), so only they are checked: one primary-key lookup per 3-legged call, none for 2-legged
traffic. Rows are dropped once the token would have expired anyway.

Concurrent checks share lookups: a check waits for the lookup in flight, if any, to finish, then
goes in the next one with every check that queued meanwhile (up to ``max_batch`` ids in one
``IN`` list). A lookup starts only after each of its checks was asked, so a revocation committed
before a check began is always seen. On PostgreSQL each lookup is a round trip whose send costs
the event loop about as much as a SIM Swap's own work; under 32 concurrent Number Verification
calls, several checks go in one.
"""

from __future__ import annotations

import asyncio
import functools
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.clock import Clock
from gateway.db import column
from gateway.oauth.models import RevokedToken

__all__ = ["Revocations"]

_TABLE = RevokedToken.__table__  # type: ignore[attr-defined]
_Check = tuple[str, asyncio.Future[bool]]


@functools.cache
def _among(size: int) -> sa.Select[Any]:
    """The revoked ids among ``id0``...: one statement per size (a power of two, so few sizes)."""
    return sa.select(_TABLE.c.token_id).where(
        _TABLE.c.token_id.in_([sa.bindparam(f"id{i}") for i in range(size)])
    )


class Revocations:
    """The revoked-token list; see the module docstring."""

    def __init__(self, engine: AsyncEngine, clock: Clock, *, max_batch: int = 64) -> None:
        self._engine = engine
        self._clock = clock
        self._max_batch = max_batch
        self._queued: list[_Check] = []
        self._lookups: asyncio.Task[None] | None = None

    async def revoke(self, token_id: str, expires_at: datetime) -> None:
        """Refuse the token ``token_id`` from now on (idempotent)."""
        async with self._engine.begin() as conn:
            await conn.execute(sa.delete(_TABLE).where(_TABLE.c.expires_at < self._clock.now()))
            exists = await conn.execute(sa.select(_TABLE.c.token_id).where(_TABLE.c.token_id == token_id))
            if exists.first() is None:
                await conn.execute(sa.insert(_TABLE).values(token_id=token_id, expires_at=expires_at))

    async def is_revoked(self, token_id: str) -> bool:
        """Whether ``token_id`` was revoked (at the latest, before this call).

        :raises sqlalchemy.exc.SQLAlchemyError: the lookup failed (every check that shared it).
        """
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queued.append((token_id, done))
        if self._lookups is None:
            self._lookups = asyncio.create_task(self._look_up_queued(), name="revocation-lookups")
        return await done

    async def _look_up_queued(self) -> None:
        batch: list[_Check] = []
        try:
            while self._queued:
                batch = self._queued[: self._max_batch]
                del self._queued[: self._max_batch]
                ids = list(dict.fromkeys(token_id for token_id, _ in batch))
                size = 1 << (len(ids) - 1).bit_length()
                params = {f"id{i}": ids[min(i, len(ids) - 1)] for i in range(size)}
                try:
                    revoked = set(await column(self._engine, _among(size), params))
                except Exception as exc:
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                else:
                    for token_id, done in batch:
                        if not done.done():
                            done.set_result(token_id in revoked)
        finally:
            self._lookups = None
            for _, done in [*batch, *self._queued]:
                done.cancel()
            self._queued.clear()
