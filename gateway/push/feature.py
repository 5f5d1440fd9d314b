"""The push feature assembled: acceptance, callbacks and the dispatch worker's lifetime.

:func:`open_push` starts the in-process dispatch worker unless ``PUSH_DISPATCH_WORKER`` is false
(then another process runs it, e.g. ``gateway worker``); on exit the worker stops claiming, lets
sends in flight finish within ``SHUTDOWN_TIMEOUT`` (then cancels them) and releases every lease it
still holds, so another process sends those messages at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from carrier_adapters import SmsCallbacks, SmsChannel
from gateway.clock import Clock
from gateway.crypto import BlindIndex, FieldCipher
from gateway.push.callbacks import CallbackProcessor
from gateway.push.dispatch import DispatchConfig, Dispatcher
from gateway.push.service import PushService, TemplateSource
from gateway.settings import Settings
from gateway.webhooks import Publisher

__all__ = ["Push", "dispatch_config", "open_push", "sms_channels_of"]


@dataclass(frozen=True)
class Push:
    """The push feature's services in one process."""

    service: PushService
    callbacks: CallbackProcessor
    dispatcher: Dispatcher
    channels: Mapping[str, SmsChannel]


def sms_channels_of(operators: Mapping[str, object]) -> dict[str, SmsChannel]:
    """The operators (adapters) that implement :class:`~carrier_adapters.SmsChannel`."""
    return {op: adapter for op, adapter in operators.items() if isinstance(adapter, SmsChannel)}


def dispatch_config(settings: Settings) -> DispatchConfig:
    """The worker's tuning from settings."""
    return DispatchConfig(
        poll_seconds=settings.push_dispatch_poll_seconds,
        batch=settings.push_dispatch_batch,
        concurrency=settings.push_dispatch_concurrency,
        lease_seconds=settings.push_lease_seconds,
        retry_base_seconds=settings.push_retry_base_seconds,
        retry_max_seconds=settings.push_retry_max_seconds,
        send_rate=settings.push_send_rate,
        send_rates=settings.push_send_rate_overrides(),
        fallback_operator=settings.push_fallback_operator,
        report_timeout_seconds=settings.push_report_timeout,
    )


@asynccontextmanager
async def open_push(
    settings: Settings,
    *,
    sessions: async_sessionmaker[AsyncSession],
    templates: TemplateSource,
    channels: Mapping[str, SmsChannel],
    cipher: FieldCipher,
    index: BlindIndex,
    clock: Clock,
    events: Publisher,
) -> AsyncIterator[Push]:
    """Build the feature; run the dispatch worker for the duration when enabled."""
    publisher = events
    dispatcher = Dispatcher(
        sessions=sessions,
        channels=channels,
        cipher=cipher,
        clock=clock,
        events=publisher,
        config=dispatch_config(settings),
    )
    service = PushService(
        sessions=sessions,
        templates=templates,
        operators=frozenset(channels),
        cipher=cipher,
        index=index,
        clock=clock,
        public_url=settings.issuer,
        default_ttl=settings.push_default_ttl_seconds,
        fallback_operator=settings.push_fallback_operator,
        on_queued=dispatcher.wake if settings.push_dispatch_worker else None,
    )
    callbacks = CallbackProcessor(
        sessions=sessions,
        channels={op: ch for op, ch in channels.items() if isinstance(ch, SmsCallbacks)},
        index=index,
        clock=clock,
        events=publisher,
    )
    worker = None
    if settings.push_dispatch_worker:
        worker = asyncio.create_task(dispatcher.run(), name="push-dispatch")
    try:
        yield Push(service=service, callbacks=callbacks, dispatcher=dispatcher, channels=channels)
    finally:
        if worker is not None:
            dispatcher.stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(worker, timeout=settings.shutdown_timeout)
            await dispatcher.release_leases()
