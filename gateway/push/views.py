"""Push message HTTP views (contract §6) and the operators' callback endpoint.

``POST /push/v1/messages`` answers ``202``; a replay of an ``Idempotency-Key`` answers the stored
response with ``Idempotent-Replayed: true``. ``GET /push/v1/usage`` and the admin's ``PUT
/admin/tenants/{id}/sms-policy`` expose the SMS-fraud controls (:mod:`gateway.push.guard`). ``POST
/operator-callbacks/{operator}`` is public and authenticated by the operator's own signature; it
answers ``200 {"received": n}``.
"""

from __future__ import annotations

from aiohttp import web

from gateway.appkeys import RUNTIME
from gateway.auth import admin, principal, public, requires_scope
from gateway.push.idempotency import HEADER, check_key
from gateway.push.schemas import MessageCreate, SmsPolicyBody, message_json, usage_json
from gateway.wire import json_response, read_json

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.post("/push/v1/messages")
@requires_scope("push:send")
async def send_message(request: web.Request) -> web.Response:
    """Queue one SMS from an approved template."""
    raw_key = request.headers.get(HEADER)
    key = check_key(raw_key) if raw_key is not None else None
    body = await read_json(request, MessageCreate)
    accepted = await request.app[RUNTIME].push.service.send(
        tenant_id=principal(request).tenant_id, request=body.to_domain(), idempotency_key=key
    )
    headers = {"Location": f"/push/v1/messages/{accepted.body['id']}"}
    if accepted.replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response(accepted.body, status=accepted.status, headers=headers)


@routes.get("/push/v1/messages/{id}")
@requires_scope("push:read")
async def get_message(request: web.Request) -> web.Response:
    """The tenant's message: status, masked recipient, link and history."""
    view = await request.app[RUNTIME].push.service.get(
        tenant_id=principal(request).tenant_id, message_id=request.match_info["id"]
    )
    return json_response(message_json(view))


@routes.get("/push/v1/usage")
@requires_scope("push:send", "push:read")
async def get_usage(request: web.Request) -> web.Response:
    """Today's SMS (messages, segments) against the tenant's daily budget and velocity limits."""
    usage = await request.app[RUNTIME].push.guard.usage(principal(request).tenant_id)
    return json_response(usage_json(usage))


@routes.put("/admin/tenants/{id}/sms-policy")
@admin
async def put_sms_policy(request: web.Request) -> web.Response:
    """Set a tenant's SMS limits and daily budget (the whole policy)."""
    body = await read_json(request, SmsPolicyBody)
    policy = body.to_domain()
    await request.app[RUNTIME].push.guard.set_policy(request.match_info["id"], policy)
    return json_response({"tenantId": request.match_info["id"], "policy": policy.as_json()})


@routes.post("/operator-callbacks/{operator}")
@public
async def operator_callback(request: web.Request) -> web.Response:
    """Delivery reports and replies pushed by an operator."""
    outcome = await request.app[RUNTIME].push.callbacks.receive(
        request.match_info["operator"], await request.read(), request.headers
    )
    return json_response({"received": len(outcome.outcomes)})
