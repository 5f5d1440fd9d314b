"""Fault injection on everything under an operator's prefix (``/cmcc``, ``/cucc``, ``/ctcc``).

Per operator, in this order: ``latencyMs`` delays every answer; ``down`` closes the connection
without an HTTP answer (clients see the server disconnect); ``errorRate`` answers that fraction of
requests with HTTP 500 and an HTML body.
"""

from __future__ import annotations

import asyncio
import random
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from sandbox.config import OPERATORS, Operator
from sandbox.state import SandboxState

__all__ = ["faults_middleware"]

_OPERATOR_BY_PREFIX: Final[dict[str, Operator]] = {f"/{operator}/": operator for operator in OPERATORS}
_OPERATOR_BY_ROOT: Final[dict[str, Operator]] = {f"/{operator}": operator for operator in OPERATORS}
_PREFIX_LENGTH: Final = len("/cmcc/")
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
            await asyncio.sleep(faults.latency_ms / 1000)
        if faults.down:
            return _drop_connection(request)
        if faults.error_rate and random.random() < faults.error_rate:  # fault injection  # nosec B311
            return web.Response(status=500, text=_ERROR_PAGE, content_type="text/html")
        return await handler(request)

    return apply_faults


def _drop_connection(request: web.Request) -> web.StreamResponse:
    """Close the socket; aiohttp's write of the returned placeholder fails and is ignored at debug level."""
    transport = request.transport
    if transport is not None:
        transport.close()
    return web.Response(status=503)
