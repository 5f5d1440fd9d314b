"""Webhook HTTP views (scope ``webhooks:manage``): the tenant's endpoint and its deliveries.

``GET`` and ``DELETE`` without a registered endpoint are 404; a delivery id that is malformed,
unknown or another tenant's is 404.
"""

from __future__ import annotations

import re

from aiohttp import web

from gateway.appkeys import RUNTIME
from gateway.auth import principal, requires_scope
from gateway.errors import NotFound
from gateway.webhooks.schemas import WebhookPut, delivery_json, endpoint_json, registered_json
from gateway.webhooks.service import WebhookService
from gateway.wire import json_response, read_json

__all__ = ["routes"]

routes = web.RouteTableDef()
_SCOPE = "webhooks:manage"
_PATH = "/push/v1/webhook"
_DELIVERY_ID = re.compile(r"msg_[a-z2-7]{26}")


def _service(request: web.Request) -> WebhookService:
    return request.app[RUNTIME].webhooks


@routes.put(_PATH)
@requires_scope(_SCOPE)
async def put_webhook(request: web.Request) -> web.Response:
    """Create or replace the endpoint; answers the new secret once."""
    body = await read_json(request, WebhookPut)
    registered = await _service(request).put(principal(request).tenant_id, url=body.url, events=body.events)
    return json_response(registered_json(registered))


@routes.get(_PATH)
@requires_scope(_SCOPE)
async def get_webhook(request: web.Request) -> web.Response:
    """The endpoint, without its secret."""
    return json_response(endpoint_json(await _service(request).get(principal(request).tenant_id)))


@routes.delete(_PATH)
@requires_scope(_SCOPE)
async def delete_webhook(request: web.Request) -> web.Response:
    """Remove the endpoint; its pending deliveries fail."""
    await _service(request).delete(principal(request).tenant_id)
    return web.Response(status=204)


@routes.get(_PATH + "/deliveries/{id}")
@requires_scope(_SCOPE)
async def get_delivery(request: web.Request) -> web.Response:
    """One delivery (its id is the ``webhook-id`` header) with its attempt history."""
    delivery_id = request.match_info["id"]
    if not _DELIVERY_ID.fullmatch(delivery_id):
        raise NotFound()
    delivery = await _service(request).delivery(principal(request).tenant_id, delivery_id)
    return json_response(delivery_json(delivery))
