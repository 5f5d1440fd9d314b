"""Fault injection on everything under an operator's prefix (``/cmcc``, ``/cucc``, ``/ctcc``).

Per operator, in this order: ``latencyMs`` delays every answer; ``down`` closes the connection
without an HTTP answer (clients see the server disconnect); ``errorRate`` answers that fraction of
requests with HTTP 500 and an HTML body.

Under ``latencyMs`` the operator reads the whole request before it stalls, then handles it like any
other. A client that gave up meanwhile (the gateway's operator timeout) is expected under this
fault: one ``sandbox.client_gone`` line at info level, and the answer is discarded.

The handset vendors' card platforms (``/cards/{vendor}/``) have their own faults
(``state.rich.vendor_faults``): ``latencyMs`` as above, then ``down`` answers HTTP 503 with an HTML body.
"""

from __future__ import annotations

import asyncio
import random
from typing import Final

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from sandbox.config import OPERATORS, Operator
from sandbox.errors import route_name
from sandbox.state import SandboxState

__all__ = ["faults_middleware", "vendor_faults_middleware"]

_log = structlog.get_logger(__name__)
_OPERATOR_BY_PREFIX: Final[dict[str, Operator]] = {f"/{operator}/": operator for operator in OPERATORS}
_OPERATOR_BY_ROOT: Final[dict[str, Operator]] = {f"/{operator}": operator for operator in OPERATORS}
_PREFIX_LENGTH: Final = len("/cmcc/")
_UNAVAILABLE_PAGE: Final = "<html><head><title>503 Service Unavailable</title></head><body>down</body></html>"
_ERROR_PAGE: Final = "<html><head><title>500 Internal Server Error</title></head><body>error</body></html>"


def faults_middleware(state: SandboxState) -> Middleware:
    """A middleware applying ``state.faults`` of the operator whose prefix a request's path has."""

    @web.middleware
    async def apply_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        operator = _OPERATOR_BY_PREFIX.get(path[:_PREFIX_LENGTH]) or _OPERATOR_BY_ROOT.get(path)
        if operator is None:
            return await handler(request)
        faults = state.faults[operator]
        if faults.latency_ms:
            await request.read()
            await asyncio.sleep(faults.latency_ms / 1000)
            if _client_gone(request):
                _log.info(
                    "sandbox.client_gone",
                    operator=operator,
                    method=request.method,
                    route=route_name(request),
                    latency_ms=faults.latency_ms,
                )
        if faults.down:
            return _drop_connection(request)
        if faults.error_rate and random.random() < faults.error_rate:  # fault injection  # nosec B311
            return web.Response(status=500, text=_ERROR_PAGE, content_type="text/html")
        return await handler(request)

    return apply_faults


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def _drop_connection(request: web.Request) -> web.StreamResponse:
    """Close the socket; aiohttp's write of the returned placeholder fails and is ignored at debug level."""
    transport = request.transport
    if transport is not None:
        transport.close()
    return web.Response(status=503)


def vendor_faults_middleware(state: SandboxState) -> Middleware:
    """A middleware applying the faults of the vendor whose card-platform prefix a request's path has."""

    @web.middleware
    async def apply_vendor_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
        parts = request.path.split("/", 3)
        faults = state.rich.vendor_faults.get(parts[2]) if len(parts) > 2 and parts[1] == "cards" else None
        if faults is None:
            return await handler(request)
        if faults.latency_ms:
            await request.read()
            await asyncio.sleep(faults.latency_ms / 1000)
        if faults.down:
            return web.Response(status=503, text=_UNAVAILABLE_PAGE, content_type="text/html")
        return await handler(request)

    return apply_vendor_faults
