"""The webhook machinery of one gateway process, built from settings: service, sender and worker."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.clock import Clock
from gateway.crypto import FieldCipher
from gateway.settings import Settings
from gateway.webhooks.egress import WebhookSender
from gateway.webhooks.service import WebhookService
from gateway.webhooks.worker import DeliveryWorker

__all__ = ["open_webhooks"]


@asynccontextmanager
async def open_webhooks(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    cipher: FieldCipher,
    clock: Clock,
) -> AsyncIterator[WebhookService]:
    """The publishing service, with this process's delivery worker running until exit (unless
    ``WEBHOOK_DELIVERY_WORKER`` is false: then another process delivers).

    A claimed delivery's lease outlasts its attempt (at least three timeouts, at least 60 s), so
    another process never retries an attempt that is still in flight.
    """
    sender = WebhookSender(allow_private=settings.allow_private_webhooks, timeout=settings.webhook_timeout)
    service = WebhookService(
        sessions,
        cipher=cipher,
        clock=clock,
        allow_private=settings.allow_private_webhooks,
        secret_grace=timedelta(seconds=settings.webhook_secret_grace),
    )
    worker = DeliveryWorker(
        sessions,
        webhooks=service,
        sender=sender,
        clock=clock,
        poll_interval=settings.webhook_poll_interval,
        concurrency=settings.webhook_concurrency,
        lease=timedelta(seconds=max(60.0, 3 * settings.webhook_timeout)),
    )
    service.on_publish = worker.wake
    try:
        async with worker if settings.webhook_delivery_worker else contextlib.nullcontext():
            yield service
    finally:
        await sender.aclose()
