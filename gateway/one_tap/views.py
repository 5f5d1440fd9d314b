"""One-tap HTTP views: translate contract §4 requests into :class:`OneTapService` calls."""

from __future__ import annotations

from aiohttp import web

from gateway.appkeys import RUNTIME
from gateway.auth import principal, requires_scope
from gateway.one_tap.schemas import LoginRequest, VerifyRequest
from gateway.wire import json_response, read_json

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.post("/one-tap/v1/login")
@requires_scope("one-tap:login")
async def login(request: web.Request) -> web.Response:
    """Exchange an operator SDK login token for the phone number."""
    body = await read_json(request, LoginRequest)
    outcome = await request.app[RUNTIME].one_tap.login(
        tenant_id=principal(request).tenant_id, token=body.token, operator=body.operator
    )
    return json_response(
        {
            "phoneNumber": outcome.phone_number,
            "operator": outcome.operator,
            "assurance": outcome.assurance.value,
            "billed": outcome.billed,
            "providerRef": outcome.provider_ref,
        }
    )


@routes.post("/one-tap/v1/verify")
@requires_scope("one-tap:verify")
async def verify(request: web.Request) -> web.Response:
    """Check a typed phone number against the phone that obtained the token."""
    body = await read_json(request, VerifyRequest)
    outcome = await request.app[RUNTIME].one_tap.verify(
        tenant_id=principal(request).tenant_id,
        token=body.token,
        phone_number=body.phoneNumber,
        operator=body.operator,
    )
    return json_response(
        {
            "result": outcome.result.value,
            "operator": outcome.operator,
            "billed": outcome.billed,
            "providerRef": outcome.provider_ref,
        }
    )
