"""``GET /openapi.json``: the document, rendered once when the application is created."""

from __future__ import annotations

import functools
import json

from aiohttp import web

from gateway.auth import policy_of, public
from gateway.openapi.document import RouteInfo, build_document

__all__ = ["OPENAPI_JSON", "install", "router_routes", "routes"]

OPENAPI_JSON = web.AppKey("openapi_json", bytes)
routes = web.RouteTableDef()


def router_routes(router: web.UrlDispatcher) -> list[RouteInfo]:
    """``(METHOD, path template, policy)`` of every route but the implicit ``HEAD`` ones."""
    found: list[RouteInfo] = []
    for route in router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue
        found.append((route.method, route.resource.canonical, policy_of(route.handler) or ""))
    return found


@functools.lru_cache(maxsize=8)
def _rendered(found: tuple[RouteInfo, ...], server_url: str) -> bytes:
    document = build_document(found, server_url)
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def install(app: web.Application, server_url: str) -> None:
    """Render the document of ``app``'s routes, served at ``server_url``, for ``GET /openapi.json``.

    :raises UndocumentedRoute: a route has no metadata in :mod:`gateway.openapi.operations`.
    """
    app[OPENAPI_JSON] = _rendered(tuple(router_routes(app.router)), server_url)


@routes.get("/openapi.json")
@public
async def openapi_json(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 document of this gateway."""
    return web.Response(
        body=request.app[OPENAPI_JSON],
        content_type="application/json",
        headers={"Cache-Control": "public, max-age=300"},
    )
