"""Revoked access tokens (by ``jti``), shared by every gateway process through the database.

Only 3-legged tokens are ever revoked (those a reused authorization code produced, RFC 6749
§4.1.2), so only they are checked: one primary-key lookup per 3-legged call, none for 2-legged
traffic, shared by concurrent calls (:class:`gateway.lookups.SharedLookup`: a revocation committed
before a check began is always seen). Rows are dropped once the token would have expired anyway.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.clock import Clock
from gateway.db import run_unit
from gateway.lookups import SharedLookup
from gateway.oauth.models import RevokedToken

__all__ = ["Revocations"]

_TABLE = RevokedToken.__table__  # type: ignore[attr-defined]


class Revocations:
    """The revoked-token list; see the module docstring."""

    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock
        self._revoked = SharedLookup(engine, [_TABLE.c.token_id])

    async def revoke(self, token_id: str, expires_at: datetime) -> None:
        """Refuse the token ``token_id`` from now on (idempotent)."""
        await run_unit(self._engine, partial(_revoke, token_id, expires_at, self._clock.now()))

    async def is_revoked(self, token_id: str) -> bool:
        """Whether ``token_id`` was revoked (at the latest, before this call).

        :raises sqlalchemy.exc.SQLAlchemyError: the lookup failed.
        """
        return bool(await self._revoked.found([(token_id,)]))


def _revoke(token_id: str, expires_at: datetime, now: datetime, conn: Connection) -> None:
    conn.execute(sa.delete(_TABLE).where(_TABLE.c.expires_at < now))
    if conn.execute(sa.select(_TABLE.c.token_id).where(_TABLE.c.token_id == token_id)).first() is None:
        conn.execute(sa.insert(_TABLE).values(token_id=token_id, expires_at=expires_at))
