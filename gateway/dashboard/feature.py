"""The dashboard assembled for one process: the service, and the background refresh of its rollups.

The rollups are kept by every process that runs the SMS dispatch worker (``PUSH_DISPATCH_WORKER``,
on by default: ``serve`` and ``worker`` processes); processes refreshing at once split the due
days between them (:mod:`gateway.dashboard.rollups`). One-off runtimes (the CLI, start-up
migrations) switch that worker off and so run no refresh.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.clock import Clock
from gateway.crypto import BlindIndex, FieldCipher
from gateway.dashboard.rollups import Refresher
from gateway.dashboard.service import DashboardService
from gateway.settings import Settings
from gateway.webhooks import WebhookService

__all__ = ["open_dashboard"]


@asynccontextmanager
async def open_dashboard(
    settings: Settings,
    *,
    engine: AsyncEngine,
    cipher: FieldCipher,
    index: BlindIndex,
    webhooks: WebhookService,
    clock: Clock,
) -> AsyncIterator[DashboardService]:
    """The dashboard service; its rollups refreshed in the background until exit (see the module
    docstring)."""
    service = DashboardService(engine, cipher=cipher, index=index, webhooks=webhooks, clock=clock)
    refresher = Refresher(service.rollups) if settings.push_dispatch_worker else None
    if refresher is not None:
        refresher.start()
    try:
        yield service
    finally:
        if refresher is not None:
            await refresher.stop()
