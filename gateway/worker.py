"""``gateway worker``: a process that runs the background workers and serves no public API.

It opens the same runtime as ``gateway serve`` (so the same settings, database and operators),
whose background workers are switched per process by ``PUSH_DISPATCH_WORKER`` (SMS dispatch),
``WEBHOOK_DELIVERY_WORKER`` (webhook outbox) and ``SIM_SWAP_POLL_WORKER`` (SIM swap
subscriptions); each claims its rows from a :class:`~gateway.leases.LeasedQueue`, so any number
of processes may run each.
Its only HTTP surface, on ``WORKER_PORT``, is ``/healthz``, ``/readyz`` and ``/metrics`` (admin
bearer), so it can be probed and scraped like a gateway; it drains as ``serve`` does
(:mod:`gateway.serving`).

The production topology: ``gateway serve`` with the three switches false (API only; it still
accepts messages and operator callbacks) behind the load balancer, plus N ``gateway worker``
processes with the defaults.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from aiohttp import web

from carrier_adapters import Operator, SmsChannel
from gateway import health, metrics
from gateway.appkeys import RUNTIME
from gateway.auth import policy_of
from gateway.clock import Clock
from gateway.middleware import gateway_middleware
from gateway.runtime import open_runtime
from gateway.settings import Settings

__all__ = ["background_workers", "create_worker_app"]


def background_workers(settings: Settings) -> list[str]:
    """The background workers ``settings`` switch on, by setting name."""
    switches = ("push_dispatch_worker", "webhook_delivery_worker", "sim_swap_poll_worker")
    return [name for name in switches if getattr(settings, name)]


def create_worker_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    exchangers: Mapping[str, Operator] | None = None,
    sms_channels: Mapping[str, SmsChannel] | None = None,
) -> web.Application:
    """The worker's application: the runtime (and its background workers) plus probes and metrics.

    :raises SystemExit: when ``settings`` switch every background worker off.
    """
    if not background_workers(settings):
        raise SystemExit(
            "gateway worker has nothing to run: PUSH_DISPATCH_WORKER, WEBHOOK_DELIVERY_WORKER and "
            "SIM_SWAP_POLL_WORKER are all false"
        )
    app = web.Application(middlewares=[gateway_middleware], client_max_size=settings.max_body_bytes)
    for table in (health.routes, metrics.routes):
        app.add_routes(table)
    for route in app.router.routes():
        if route.method != "HEAD" and policy_of(route.handler) is None:
            raise RuntimeError(f"route {route.method} {route.resource} has no auth policy")

    async def runtime_ctx(app: web.Application) -> AsyncIterator[None]:
        async with open_runtime(
            settings, clock=clock, exchangers=exchangers, sms_channels=sms_channels
        ) as runtime:
            app[RUNTIME] = runtime
            yield

    app.cleanup_ctx.append(runtime_ctx)
    return app
