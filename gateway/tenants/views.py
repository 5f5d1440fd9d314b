"""Admin tenant API (contract §2): ``POST /admin/tenants`` with the bootstrap admin bearer."""

from __future__ import annotations

from aiohttp import web

from gateway.appkeys import RUNTIME
from gateway.auth import admin
from gateway.tenants.schemas import TenantCreate
from gateway.wire import json_response, read_json

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.post("/admin/tenants")
@admin
async def create_tenant(request: web.Request) -> web.Response:
    """Create a tenant; the client secret appears in this answer only."""
    body = await read_json(request, TenantCreate)
    credentials = await request.app[RUNTIME].tenants.create(
        name=body.name,
        scopes=body.scopes,
        redirect_uris=body.redirect_uris,
        jwks=body.jwks,
        sandbox=body.sandbox,
        id_token_signed_response_alg=body.id_token_signed_response_alg,
        require_signed_request_object=body.require_signed_request_object,
    )
    return json_response(credentials.as_dict(), status=201, headers={"Cache-Control": "no-store"})
