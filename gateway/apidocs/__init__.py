"""``GET /docs``: the API reference, ``/openapi.json`` rendered in the browser by Swagger UI.

The page loads only from the gateway: Swagger UI ships in the package (``static/``; version,
license and checksums in ``static/README.md``) and is served under ``/docs/``, and the
Content-Security-Policy allows scripts, styles, data and images from the gateway's own origin
only (plus ``data:`` images, which Swagger UI's stylesheet embeds), so the reference works
offline and never calls a CDN. "Try it out" sends its requests to the gateway itself.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import resources
from types import MappingProxyType
from typing import Final

from aiohttp import web

from gateway.auth import Handler, public

__all__ = ["ASSETS", "PAGE_HEADERS", "SWAGGER_UI_VERSION", "routes"]

SWAGGER_UI_VERSION: Final = "5.36.0"
ASSETS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "/docs/swagger-ui-bundle.js": "text/javascript",
        "/docs/swagger-ui.css": "text/css",
        "/docs/reference.js": "text/javascript",
    }
)
"""The files the page loads, by path, with their media types."""
PAGE_HEADERS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "Content-Security-Policy": (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        ),
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-cache",
    }
)
_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Carrier gateway API reference</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="reference"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/reference.js"></script>
</body>
</html>
"""
routes = web.RouteTableDef()


@functools.cache
def _asset(path: str) -> bytes:
    return (resources.files(__name__) / "static" / path.removeprefix("/docs/")).read_bytes()


@routes.get("/docs")
@public
async def reference(request: web.Request) -> web.Response:
    """The API reference page: a shell whose scripts render ``/openapi.json``."""
    response = web.Response(text=_PAGE, content_type="text/html", charset="utf-8")
    response.headers.update(PAGE_HEADERS)
    return response


def _asset_handler(path: str, media_type: str) -> Handler:
    async def asset(request: web.Request) -> web.Response:
        response = web.Response(body=_asset(path), content_type=media_type, charset="utf-8")
        response.headers.update(
            {
                "Cache-Control": "public, max-age=3600",
                "X-Content-Type-Options": "nosniff",
                "Cross-Origin-Resource-Policy": "same-origin",
            }
        )
        response.enable_compression()
        return response

    asset.__doc__ = f"``GET {path}``, compressed when the client accepts it."
    return public(asset)


for _path, _media_type in ASSETS.items():
    routes.get(_path)(_asset_handler(_path, _media_type))
