"""The gateway's OpenAPI 3.1 document, generated from the router, the auth policies, the request
models and the per-route metadata of :mod:`gateway.openapi.operations`; served at ``/openapi.json``."""

from __future__ import annotations

from gateway.openapi.document import UndocumentedRoute, build_document
from gateway.openapi.views import OPENAPI_JSON, install, router_routes, routes

__all__ = ["OPENAPI_JSON", "UndocumentedRoute", "build_document", "install", "router_routes", "routes"]
