"""Helpers shared by the SIM swap subscription tests."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.camara.subscriptions.models import SimSwapSubscription

__all__ = ["end_subscriptions"]


async def end_subscriptions(sessions: async_sessionmaker[AsyncSession], tenant_ids: Iterable[str]) -> None:
    """End the tenants' active subscriptions, so later tests' pollers on a shared database skip them."""
    tenants = list(tenant_ids)
    if not tenants:
        return
    async with sessions() as session, session.begin():
        await session.exec(
            sa.update(SimSwapSubscription)
            .where(
                col(SimSwapSubscription.tenant_id).in_(tenants), col(SimSwapSubscription.status) == "ACTIVE"
            )
            .values(status="DELETED", termination_reason="SUBSCRIPTION_DELETED")
        )
