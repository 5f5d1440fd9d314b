"""Routes of single sign-on (docs/console.md, "Single sign-on"; :mod:`gateway.console.sso`).

Admin API (bootstrap admin bearer): ``PUT``/``GET``/``DELETE /admin/tenants/{tenant_id}/sso``, the
tenant's identity provider (the client secret is written, never read back).

Browser: ``GET /console/sso/{tenant_id}/start`` sends the browser to the provider with a new
state, and sets the ``gw_console_sso`` cookie (HttpOnly, SameSite=Lax so it comes back with the
provider's redirect, Path=/console/sso, ten minutes) binding the state to this browser;
``GET /console/sso/callback`` finishes the sign-in: the console's session cookie, and a redirect to
``/console/``. Every failure redirects to the sign-in page, ``/console/?tenant=…&sso_error=<reason>``,
which says what went wrong in words; nothing here answers a 500 or an error JSON (an unexpected
failure, a database outage say, is logged with its traceback and shown as ``unreachable``).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import structlog
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from gateway.appkeys import RUNTIME
from gateway.auth import admin, public
from gateway.console.auth import COOKIE, set_cookie
from gateway.console.sso import STATE_LIFETIME, SsoConfig, SsoFailed
from gateway.errors import NotFound
from gateway.push.service import timestamp
from gateway.wire import json_response, read_json

__all__ = ["SSO_COOKIE", "SsoPut", "routes", "sso_config_json", "well_formed_tenant"]

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()
SSO_COOKIE = "gw_console_sso"
_SSO_PATH = "/console/sso"
_NO_STORE = {"Cache-Control": "no-store"}
_TENANT = re.compile(r"[A-Za-z0-9_-]{1,40}")


def well_formed_tenant(value: str | None) -> bool:
    """Whether ``value`` has the shape of a tenant id (checked before any lookup)."""
    return value is not None and _TENANT.fullmatch(value) is not None


class SsoPut(BaseModel):
    """``PUT /admin/tenants/{tenant_id}/sso``: the tenant's OIDC provider and the gateway's client there."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str = Field(min_length=8, max_length=2048)
    """The provider's issuer URL, exactly as its ID tokens' ``iss`` (discovery at
    ``<issuer>/.well-known/openid-configuration``)."""
    clientId: str = Field(min_length=1, max_length=255, pattern=r"^[\x20-\x7e]+$")
    clientSecret: str = Field(min_length=1, max_length=1024)


def sso_config_json(config: SsoConfig, redirect_uri: str) -> dict[str, Any]:
    """A tenant's provider as the admin API shows it (never the client secret)."""
    return {
        "tenantId": config.tenant_id,
        "issuer": config.issuer,
        "clientId": config.client_id,
        "redirectUri": redirect_uri,
        "createdAt": timestamp(config.created_at),
        "updatedAt": timestamp(config.updated_at),
    }


@routes.put("/admin/tenants/{tenant_id}/sso")
@admin
async def put_sso(request: web.Request) -> web.Response:
    """Set (or replace) the tenant's identity provider."""
    body = await read_json(request, SsoPut)
    sso = request.app[RUNTIME].console.sso
    config = await sso.configs.put(
        request.match_info["tenant_id"],
        issuer=body.issuer,
        client_id=body.clientId,
        client_secret=body.clientSecret,
    )
    return json_response(sso_config_json(config, sso.redirect_uri), headers=_NO_STORE)


@routes.get("/admin/tenants/{tenant_id}/sso")
@admin
async def get_sso(request: web.Request) -> web.Response:
    """The tenant's identity provider (404: none set, or no such tenant)."""
    sso = request.app[RUNTIME].console.sso
    config = await sso.configs.get(request.match_info["tenant_id"])
    if config is None:
        raise NotFound()
    return json_response(sso_config_json(config, sso.redirect_uri), headers=_NO_STORE)


@routes.delete("/admin/tenants/{tenant_id}/sso")
@admin
async def delete_sso(request: web.Request) -> web.Response:
    """Remove the tenant's identity provider: the sign-in page no longer offers it."""
    await request.app[RUNTIME].console.sso.configs.delete(request.match_info["tenant_id"])
    return web.Response(status=204, headers=_NO_STORE)


def _back_to_sign_in(failure: SsoFailed) -> web.Response:
    query: dict[str, str] = {"sso_error": failure.reason}
    if failure.tenant_id is not None and well_formed_tenant(failure.tenant_id):
        query = {"tenant": failure.tenant_id, **query}
    response = web.Response(status=303, headers={"Location": "/console/?" + urlencode(query), **_NO_STORE})
    response.del_cookie(SSO_COOKIE, path=_SSO_PATH)
    return response


@routes.get("/console/sso/{tenant_id}/start")
@public
async def sso_start(request: web.Request) -> web.Response:
    """Send the browser to the tenant's identity provider."""
    tenant_id = request.match_info["tenant_id"]
    console = request.app[RUNTIME].console
    try:
        if not well_formed_tenant(tenant_id):
            raise SsoFailed("not_configured")
        started = await console.sso.start(tenant_id)
    except SsoFailed as failure:
        return _back_to_sign_in(failure)
    except Exception:
        log.exception("sso_start_failed")
        return _back_to_sign_in(SsoFailed("unreachable", tenant_id))
    response = web.Response(status=303, headers={"Location": started.authorize_url, **_NO_STORE})
    response.set_cookie(
        SSO_COOKIE,
        started.browser_token,
        path=_SSO_PATH,
        httponly=True,
        samesite="Lax",
        secure=console.secure_cookie,
        max_age=int(STATE_LIFETIME.total_seconds()),
    )
    return response


@routes.get("/console/sso/callback")
@public
async def sso_callback(request: web.Request) -> web.Response:
    """Finish the sign-in the identity provider sent the browser back from."""
    query = request.query
    console = request.app[RUNTIME].console
    try:
        if any(len(query.getall(name, [])) > 1 for name in ("state", "code", "error", "iss")):
            raise SsoFailed("expired")
        started = await console.sso.finish(
            state=query.get("state"),
            code=query.get("code"),
            error=query.get("error"),
            iss=query.get("iss"),
            browser_token=request.cookies.get(SSO_COOKIE),
            replacing=request.cookies.get(COOKIE),
        )
    except SsoFailed as failure:
        return _back_to_sign_in(failure)
    except Exception:
        log.exception("sso_callback_failed")
        return _back_to_sign_in(SsoFailed("unreachable"))
    response = web.Response(status=303, headers={"Location": "/console/", **_NO_STORE})
    set_cookie(response, started.token, secure=console.secure_cookie)
    response.del_cookie(SSO_COOKIE, path=_SSO_PATH)
    return response
