"""Per-tenant login-check thresholds: a stored row, else the gateway's defaults (settings).

Reads are remembered for ``cache_seconds`` (5 by default) per tenant, because every evaluation
needs them and they change rarely: a ``put`` is seen at once by its own process and within
``cache_seconds`` by the other gateway processes.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.clock import Clock
from gateway.login_check.models import LoginCheckPolicy
from gateway.login_check.policy import Thresholds

__all__ = ["ThresholdStore"]


class ThresholdStore:
    """Reads and replaces a tenant's :class:`Thresholds`."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        defaults: Thresholds,
        clock: Clock,
        cache_seconds: float = 5.0,
    ) -> None:
        self._sessions = sessions
        self._defaults = defaults
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[Thresholds, float]] = {}

    @property
    def defaults(self) -> Thresholds:
        """What a tenant without a stored policy gets."""
        return self._defaults

    async def get(self, tenant_id: str) -> Thresholds:
        """The tenant's thresholds (at most ``cache_seconds`` old)."""
        now = self._clock.now().timestamp()
        cached = self._cache.get(tenant_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        async with self._sessions() as session:
            row = await session.get(LoginCheckPolicy, tenant_id)
        if row is None:
            thresholds = self._defaults
        else:
            thresholds = Thresholds(**{f.name: getattr(row, f.name) for f in dataclasses.fields(Thresholds)})
        self._cache[tenant_id] = (thresholds, now + self._cache_seconds)
        return thresholds

    async def put(self, tenant_id: str, thresholds: Thresholds) -> Thresholds:
        """Replace the tenant's thresholds; returns what is now in force (the last writer wins)."""
        values = dataclasses.asdict(thresholds)
        try:
            await self._write(tenant_id, values)
        except IntegrityError:
            await self._write(tenant_id, values)
        self._cache.pop(tenant_id, None)
        return thresholds

    async def _write(self, tenant_id: str, values: dict[str, int]) -> None:
        async with self._sessions() as session, session.begin():
            row = await session.get(LoginCheckPolicy, tenant_id)
            if row is None:
                row = LoginCheckPolicy(tenant_id=tenant_id, updated_at=self._clock.now(), **values)
            else:
                for name, value in values.items():
                    setattr(row, name, value)
                row.updated_at = self._clock.now()
            session.add(row)
