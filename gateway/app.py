"""The aiohttp application factory: routes, middleware, body limits and the runtime's lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from aiohttp import web

from carrier_adapters import Operator, SmsChannel
from gateway import apidocs, health, metrics
from gateway.appkeys import RUNTIME
from gateway.auth import policy_of
from gateway.auth_throttle import source_address_middleware
from gateway.camara import views as camara_views
from gateway.camara.subscriptions import views as sim_swap_subscription_views
from gateway.campaigns import views as campaign_views
from gateway.clock import Clock
from gateway.console import sso_views as console_sso_views
from gateway.console import views as console_views
from gateway.dashboard import views as dashboard_views
from gateway.flows import views as flow_views
from gateway.login_check import views as login_check_views
from gateway.middleware import gateway_middleware
from gateway.oauth import views as oauth_views
from gateway.one_tap import views as one_tap_views
from gateway.openapi import views as openapi_views
from gateway.push import views as push_views
from gateway.replay import ReplayCache
from gateway.rich import views as rich_views
from gateway.runtime import open_runtime
from gateway.settings import Settings
from gateway.staff import views as staff_views
from gateway.templates import views as template_views
from gateway.tenants import views as tenant_views
from gateway.verify import views as verify_views
from gateway.webhooks import views as webhook_views

__all__ = ["create_app"]

_ROUTE_TABLES = (
    health.routes,
    metrics.routes,
    openapi_views.routes,
    apidocs.routes,
    oauth_views.routes,
    tenant_views.routes,
    one_tap_views.routes,
    camara_views.routes,
    sim_swap_subscription_views.routes,
    login_check_views.routes,
    template_views.routes,
    webhook_views.routes,
    push_views.routes,
    campaign_views.routes,
    rich_views.routes,
    flow_views.routes,
    verify_views.routes,
    staff_views.routes,
    console_views.routes,
    console_sso_views.routes,
    dashboard_views.routes,
)


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    exchangers: Mapping[str, Operator] | None = None,
    replay: ReplayCache | None = None,
    sms_channels: Mapping[str, SmsChannel] | None = None,
) -> web.Application:
    """The gateway application; every route must declare an auth policy (see :mod:`gateway.auth`)."""
    app = web.Application(
        middlewares=[gateway_middleware, source_address_middleware(settings.trusted_proxies)],
        client_max_size=settings.max_body_bytes,
    )
    for table in _ROUTE_TABLES:
        app.add_routes(table)
    for route in app.router.routes():
        if route.method != "HEAD" and policy_of(route.handler) is None:
            raise RuntimeError(f"route {route.method} {route.resource} has no auth policy")
    openapi_views.install(app, settings.issuer)

    async def runtime_ctx(app: web.Application) -> AsyncIterator[None]:
        async with open_runtime(
            settings, clock=clock, exchangers=exchangers, replay=replay, sms_channels=sms_channels
        ) as runtime:
            app[RUNTIME] = runtime
            yield

    app.cleanup_ctx.append(runtime_ctx)
    return app
