"""A webhook endpoint for the integration tests: a real HTTP server on 127.0.0.1 that records what it gets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

__all__ = ["webhook_receiver"]


@asynccontextmanager
async def webhook_receiver() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """Yield ``(url, received)``: every JSON body POSTed to ``url`` is appended to ``received`` and
    answered 204. The server is closed on exit."""
    received: list[dict[str, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("/hook")), received
    finally:
        await server.close()
