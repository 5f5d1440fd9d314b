"""Rich-channel HTTP views: the tenant's 5G chatbots and card-SMS accounts (``/push/v1/channels``),
card templates (``/push/v1/card-templates``), and the platforms' callbacks (public, authenticated by
the platform's signature; bodies at most :data:`CALLBACK_MAX_BYTES`)."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from gateway.appkeys import RUNTIME
from gateway.auth import principal, public, requires_scope
from gateway.errors import PayloadTooLarge
from gateway.rich.accounts import AccountView
from gateway.rich.callbacks import StoredEvent
from gateway.rich.card_templates import CardTemplate
from gateway.rich.schemas import CardAccountPut, CardTemplateCreate, ChatbotPut
from gateway.wire import json_response, read_json

__all__ = ["CALLBACK_MAX_BYTES", "routes"]

routes = web.RouteTableDef()

CALLBACK_MAX_BYTES = 16 * 1024
"""The largest platform callback accepted (a 5G event or card receipt is well under 2 KiB)."""


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _account(view: AccountView) -> dict[str, object]:
    key = ("operator", "botId") if view.kind == "5g" else ("vendor", "appId")
    return {
        key[0]: view.where,
        key[1]: view.account,
        "enabled": view.enabled,
        "createdAt": _timestamp(view.created_at),
        "updatedAt": _timestamp(view.updated_at),
    }


def _template(template: CardTemplate) -> dict[str, object]:
    spec = template.spec
    body: dict[str, object] = {
        "id": template.id,
        "vendor": template.vendor,
        "name": spec.name,
        "title": spec.title,
        "description": spec.description,
    }
    if spec.media_url is not None:
        body["mediaUrl"] = spec.media_url
    body["buttons"] = [
        {"text": b.text, "actionType": b.action_type, "action": b.action} for b in spec.buttons
    ]
    body["params"] = list(template.params)
    body["vendorTemplateId"] = template.vendor_template_id
    body["status"] = template.status.value
    if template.reason is not None:
        body["reason"] = template.reason
    body["createdAt"] = _timestamp(template.created_at)
    body["checkedAt"] = _timestamp(template.checked_at)
    if template.decided_at is not None:
        body["decidedAt"] = _timestamp(template.decided_at)
    return body


@routes.put("/push/v1/channels/5g/{operator}")
@requires_scope("templates:write")
async def put_chatbot(request: web.Request) -> web.Response:
    """Set the tenant's chatbot at an operator (``201`` when new, ``200`` when replaced)."""
    body = await read_json(request, ChatbotPut)
    view, created = await request.app[RUNTIME].rich.accounts.put_chatbot(
        principal(request).tenant_id,
        request.match_info["operator"],
        bot_id=body.botId,
        secret=body.secret,
        enabled=body.enabled,
    )
    return json_response(_account(view), status=201 if created else 200)


@routes.get("/push/v1/channels/5g/{operator}")
@requires_scope("push:read", "templates:write")
async def get_chatbot(request: web.Request) -> web.Response:
    """The tenant's chatbot at an operator, without its secret."""
    view = await request.app[RUNTIME].rich.accounts.get_chatbot(
        principal(request).tenant_id, request.match_info["operator"]
    )
    return json_response(_account(view))


@routes.delete("/push/v1/channels/5g/{operator}")
@requires_scope("templates:write")
async def delete_chatbot(request: web.Request) -> web.Response:
    """Forget the tenant's chatbot at an operator."""
    await request.app[RUNTIME].rich.accounts.delete_chatbot(
        principal(request).tenant_id, request.match_info["operator"]
    )
    return web.Response(status=204)


@routes.put("/push/v1/channels/card/{vendor}")
@requires_scope("templates:write")
async def put_card_account(request: web.Request) -> web.Response:
    """Set the tenant's card-SMS account at a vendor (``201`` when new, ``200`` when replaced)."""
    body = await read_json(request, CardAccountPut)
    view, created = await request.app[RUNTIME].rich.accounts.put_card_account(
        principal(request).tenant_id,
        request.match_info["vendor"],
        app_id=body.appId,
        secret=body.appKey,
        enabled=body.enabled,
    )
    return json_response(_account(view), status=201 if created else 200)


@routes.get("/push/v1/channels/card/{vendor}")
@requires_scope("push:read", "templates:write")
async def get_card_account(request: web.Request) -> web.Response:
    """The tenant's card-SMS account at a vendor, without its key."""
    view = await request.app[RUNTIME].rich.accounts.get_card_account(
        principal(request).tenant_id, request.match_info["vendor"]
    )
    return json_response(_account(view))


@routes.delete("/push/v1/channels/card/{vendor}")
@requires_scope("templates:write")
async def delete_card_account(request: web.Request) -> web.Response:
    """Forget the tenant's card-SMS account at a vendor."""
    await request.app[RUNTIME].rich.accounts.delete_card_account(
        principal(request).tenant_id, request.match_info["vendor"]
    )
    return web.Response(status=204)


@routes.post("/push/v1/card-templates")
@requires_scope("templates:write")
async def create_card_template(request: web.Request) -> web.Response:
    """Register a card template at its vendor through the tenant's account (review pending)."""
    body = await read_json(request, CardTemplateCreate)
    template = await request.app[RUNTIME].rich.templates.register(
        principal(request).tenant_id, body.vendor, body.to_spec(), tuple(body.params)
    )
    return json_response(
        {"id": template.id, "status": template.status.value},
        status=201,
        headers={"Location": f"/push/v1/card-templates/{template.id}"},
    )


@routes.get("/push/v1/card-templates/{id}")
@requires_scope("templates:write", "push:send", "push:read")
async def get_card_template(request: web.Request) -> web.Response:
    """The tenant's card template; a pending review is asked of the vendor again."""
    template = await request.app[RUNTIME].rich.templates.get(
        principal(request).tenant_id, request.match_info["id"]
    )
    return json_response(_template(template))


async def _bounded_body(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > CALLBACK_MAX_BYTES:
        raise PayloadTooLarge(f"A callback body is at most {CALLBACK_MAX_BYTES} bytes.")
    body = await request.read()
    if len(body) > CALLBACK_MAX_BYTES:
        raise PayloadTooLarge(f"A callback body is at most {CALLBACK_MAX_BYTES} bytes.")
    return body


def _received(stored: StoredEvent) -> web.Response:
    return json_response({"received": 0 if stored.outcome == "ignored" else 1, "outcome": stored.outcome})


@routes.post("/operator-callbacks/cards/{vendor}")
@public
async def card_callback(request: web.Request) -> web.Response:
    """A card receipt (rendered, failed, clicked) from a handset vendor's platform."""
    body = await _bounded_body(request)
    stored = await request.app[RUNTIME].rich.callbacks.receive_card(
        request.match_info["vendor"], body, request.headers
    )
    return _received(stored)


@routes.post("/operator-callbacks/{operator}/maap")
@public
async def maap_callback(request: web.Request) -> web.Response:
    """A 5G-message status notification or suggestion response from an operator's MaaP platform."""
    body = await _bounded_body(request)
    stored = await request.app[RUNTIME].rich.callbacks.receive_maap(
        request.match_info["operator"], body, request.headers
    )
    return _received(stored)
