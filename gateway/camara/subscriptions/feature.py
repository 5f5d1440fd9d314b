"""The SIM swap subscriptions feature of one process: the service, and the poller running until exit."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from carrier_adapters import LineInsight
from gateway.camara.identifiers import LineDirectory
from gateway.camara.subscriptions.events import API_PATH
from gateway.camara.subscriptions.poller import SwapPoller
from gateway.camara.subscriptions.service import SubscriptionService
from gateway.clock import Clock
from gateway.crypto import BlindIndex, FieldCipher
from gateway.settings import Settings
from gateway.webhooks import WebhookService

__all__ = ["SimSwapSubscriptions", "open_sim_swap_subscriptions"]


@dataclass(frozen=True, slots=True)
class SimSwapSubscriptions:
    """The feature's objects in one process."""

    service: SubscriptionService
    poller: SwapPoller


@asynccontextmanager
async def open_sim_swap_subscriptions(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    webhooks: WebhookService,
    operators: Mapping[str, LineInsight],
    cipher: FieldCipher,
    index: BlindIndex,
    clock: Clock,
) -> AsyncIterator[SimSwapSubscriptions]:
    """Build the feature and run its poller for the duration (unless ``SIM_SWAP_POLL_WORKER`` is false).

    A claim's lease outlasts a whole round of operator calls (at least three operator timeouts per
    wave of ``SIM_SWAP_POLL_CONCURRENCY`` calls, at least 60 s), so no other process polls a
    subscription whose round is still running.
    """
    interval = timedelta(seconds=settings.sim_swap_poll_seconds)
    service = SubscriptionService(
        sessions,
        lines=LineDirectory(operators),
        webhooks=webhooks,
        cipher=cipher,
        index=index,
        clock=clock,
        source=settings.issuer + API_PATH,
        allow_private=settings.allow_private_webhooks,
        poll_interval=interval,
    )
    waves = math.ceil(settings.sim_swap_poll_batch / settings.sim_swap_poll_concurrency)
    poller = SwapPoller(
        sessions,
        service=service,
        operators=operators,
        clock=clock,
        interval=interval,
        batch=settings.sim_swap_poll_batch,
        concurrency=settings.sim_swap_poll_concurrency,
        lease=timedelta(seconds=max(60.0, 3 * settings.operator_timeout * waves)),
    )
    task = (
        asyncio.create_task(poller.run(), name="sim-swap-poller") if settings.sim_swap_poll_worker else None
    )
    try:
        yield SimSwapSubscriptions(service=service, poller=poller)
    finally:
        poller.stop()
        if task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(task, timeout=settings.shutdown_timeout)
