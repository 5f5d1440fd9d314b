"""The aiohttp application factory: routes, middleware, body limits and the runtime's lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from aiohttp import web

from carrier_adapters import OneTapExchanger
from gateway import health, metrics
from gateway.appkeys import RUNTIME
from gateway.auth import policy_of
from gateway.clock import Clock
from gateway.middleware import gateway_middleware
from gateway.oauth import views as oauth_views
from gateway.one_tap import views as one_tap_views
from gateway.replay import ReplayCache
from gateway.runtime import open_runtime
from gateway.settings import Settings
from gateway.tenants import views as tenant_views

__all__ = ["create_app"]

_ROUTE_TABLES = (
    health.routes,
    metrics.routes,
    oauth_views.routes,
    tenant_views.routes,
    one_tap_views.routes,
)


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    exchangers: Mapping[str, OneTapExchanger] | None = None,
    replay: ReplayCache | None = None,
) -> web.Application:
    """The gateway application; every route must declare an auth policy (see :mod:`gateway.auth`)."""
    app = web.Application(middlewares=[gateway_middleware], client_max_size=settings.max_body_bytes)
    for table in _ROUTE_TABLES:
        app.add_routes(table)
    for route in app.router.routes():
        if route.method != "HEAD" and policy_of(route.handler) is None:
            raise RuntimeError(f"route {route.method} {route.resource} has no auth policy")

    async def runtime_ctx(app: web.Application) -> AsyncIterator[None]:
        async with open_runtime(settings, clock=clock, exchangers=exchangers, replay=replay) as runtime:
            app[RUNTIME] = runtime
            yield

    app.cleanup_ctx.append(runtime_ctx)
    return app
