"""HTTP views of sim-swap-subscriptions 0.3.0 (``/sim-swap-subscriptions/v0.3``): wire format only."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.appkeys import RUNTIME
from gateway.auth import principal, requires_scope
from gateway.camara.subscriptions.events import API_PATH, rfc3339
from gateway.camara.subscriptions.schemas import SubscriptionRequest
from gateway.camara.subscriptions.service import Subscription, SubscriptionService
from gateway.wire import json_response, read_json

__all__ = ["routes"]

routes = web.RouteTableDef()
_CREATE = "sim-swap-subscriptions:org.camaraproject.sim-swap-subscriptions.v0.swapped:create"


def _service(request: web.Request) -> SubscriptionService:
    return request.app[RUNTIME].sim_swap_subscriptions.service


def _wire(subscription: Subscription) -> dict[str, Any]:
    detail = {} if subscription.phone_number is None else {"phoneNumber": subscription.phone_number}
    config: dict[str, Any] = {"subscriptionDetail": detail}
    if subscription.expires_at is not None:
        config["subscriptionExpireTime"] = rfc3339(subscription.expires_at)
    if subscription.max_events is not None:
        config["subscriptionMaxEvents"] = subscription.max_events
    body: dict[str, Any] = {
        "id": subscription.id,
        "protocol": "HTTP",
        "sink": subscription.sink,
        "types": [subscription.event_type],
        "config": config,
        "startsAt": rfc3339(subscription.starts_at),
    }
    if subscription.expires_at is not None:
        body["expiresAt"] = rfc3339(subscription.expires_at)
    body["status"] = subscription.status
    return body


@routes.post(f"{API_PATH}/subscriptions")
@requires_scope(_CREATE)
async def create_subscription(request: web.Request) -> web.Response:
    """Subscribe the sink to SIM swaps of a line (201; ``signingSecret`` shown only here)."""
    body = await read_json(request, SubscriptionRequest)
    created = await _service(request).create(principal(request), body)
    return json_response({**_wire(created.subscription), "signingSecret": created.signing_secret}, status=201)


@routes.get(f"{API_PATH}/subscriptions")
@requires_scope("sim-swap-subscriptions:read")
async def list_subscriptions(request: web.Request) -> web.Response:
    """The caller's subscriptions."""
    return json_response([_wire(s) for s in await _service(request).list(principal(request))])


@routes.get(f"{API_PATH}/subscriptions/{{subscriptionId}}")
@requires_scope("sim-swap-subscriptions:read")
async def get_subscription(request: web.Request) -> web.Response:
    """One of the caller's subscriptions."""
    found = await _service(request).get(principal(request), request.match_info["subscriptionId"])
    return json_response(_wire(found))


@routes.delete(f"{API_PATH}/subscriptions/{{subscriptionId}}")
@requires_scope("sim-swap-subscriptions:delete")
async def delete_subscription(request: web.Request) -> web.Response:
    """Delete one of the caller's subscriptions (204)."""
    await _service(request).delete(principal(request), request.match_info["subscriptionId"])
    return web.Response(status=204)
