"""The push feature assembled: acceptance, callbacks, the protocol gateways and the dispatch worker.

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
from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from carrier_adapters import SmsCallbacks, SmsChannel
from carrier_adapters.sms_gateways import OperatorSms, operator_sms
from carrier_adapters.smsc import InboundSink
from gateway.clock import Clock
from gateway.crypto import BlindIndex, FieldCipher
from gateway.db import bound_engine
from gateway.push.callbacks import CallbackProcessor
from gateway.push.dispatch import DispatchConfig, Dispatcher
from gateway.push.guard import SmsGuard
from gateway.push.reports import ReportSink
from gateway.push.service import PushService, TemplateSource
from gateway.ratelimit import RateLimiter
from gateway.retry import RetryPolicy
from gateway.settings import Settings
from gateway.webhooks import Publisher

__all__ = ["Push", "dispatch_config", "open_push", "protocol_gateways", "sms_channels_of"]


@dataclass(frozen=True)
class Push:
    """The push feature's services in one process."""

    service: PushService
    callbacks: CallbackProcessor
    dispatcher: Dispatcher
    channels: Mapping[str, SmsChannel]
    guard: SmsGuard


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


def protocol_gateways(settings: Settings, *, on_inbound: InboundSink, clock: Clock) -> list[OperatorSms]:
    """The operators' binary-protocol SMS gateways configured by ``<OP>_SMS_URL`` (not started).

    :raises SystemExit: a URL is wrong (the message names the setting, never the secret).
    """
    backoff = RetryPolicy(base=0.5, cap=30.0, jitter=0.5).delay
    gateways = []
    for operator, url in settings.sms_urls().items():
        try:
            gateways.append(
                operator_sms(operator, url, on_inbound=on_inbound, now=clock.now, backoff=backoff)
            )
        except ValueError as exc:
            raise SystemExit(f"GATEWAY_{operator.upper()}_SMS_URL: {exc}") from None
    return gateways


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
    limiter: RateLimiter,
) -> AsyncIterator[Push]:
    """Build the feature; run the dispatch worker for the duration when enabled.

    The operators configured with an ``<OP>_SMS_URL`` send over their binary protocol instead of
    ``channels``; their sessions (and SGIP's listener) run only where the dispatch worker runs,
    and their reports and replies are stored through :class:`~gateway.push.reports.ReportSink`.
    """
    callbacks = CallbackProcessor(
        sessions=sessions,
        channels={op: ch for op, ch in channels.items() if isinstance(ch, SmsCallbacks)},
        index=index,
        clock=clock,
        events=events,
    )
    sink = ReportSink(bound_engine(sessions), clock=clock, events=events, replies=callbacks.apply_reply)
    gateways = (
        protocol_gateways(settings, on_inbound=sink, clock=clock) if settings.push_dispatch_worker else []
    )
    channels = {**channels, **{gateway.operator: gateway.channel for gateway in gateways}}
    dispatcher = Dispatcher(
        sessions=sessions,
        channels=channels,
        cipher=cipher,
        clock=clock,
        events=events,
        config=replace(
            dispatch_config(settings), self_paced=frozenset(gateway.operator for gateway in gateways)
        ),
    )
    guard = SmsGuard(engine=bound_engine(sessions), limiter=limiter, index=index, clock=clock)
    service = PushService(
        sessions=sessions,
        templates=templates,
        operators=frozenset(channels) | frozenset(settings.sms_urls()),
        cipher=cipher,
        index=index,
        guard=guard,
        clock=clock,
        public_url=settings.issuer,
        default_ttl=settings.push_default_ttl_seconds,
        fallback_operator=settings.push_fallback_operator,
        on_queued=dispatcher.wake if settings.push_dispatch_worker else None,
    )
    async with contextlib.AsyncExitStack() as stack:
        for gateway in gateways:
            await gateway.start()
            stack.push_async_callback(gateway.close)
        worker = None
        if settings.push_dispatch_worker:
            worker = asyncio.create_task(dispatcher.run(), name="push-dispatch")
        try:
            yield Push(
                service=service, callbacks=callbacks, dispatcher=dispatcher, channels=channels, guard=guard
            )
        finally:
            if worker is not None:
                dispatcher.stop()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(worker, timeout=settings.shutdown_timeout)
                await dispatcher.release_leases()
