"""Liveness and readiness (contract §0).

``/healthz`` answers 200 while the process lives. ``/readyz`` answers 200 only when the database
(and Redis, when configured) answers and every configured operator answers HTTP, and 503
``Shutting down.`` as soon as SIGTERM arrives: for ``SHUTDOWN_GRACE_SECONDS`` the listener keeps
serving, so a load balancer probing readiness drains this process before it refuses connections
(:mod:`gateway.serving`). `gateway worker` serves the same two probes on ``WORKER_PORT``.
"""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
import structlog
from aiohttp import web

from gateway.appkeys import RUNTIME
from gateway.auth import public
from gateway.db import run_unit
from gateway.errors import Unavailable
from gateway.runtime import Runtime
from gateway.wire import json_response

__all__ = ["routes"]

routes = web.RouteTableDef()
log = structlog.get_logger(__name__)


@routes.get("/healthz")
@public
async def healthz(_: web.Request) -> web.Response:
    """The process is alive."""
    return json_response({"status": "ok"})


async def _database_ok(runtime: Runtime) -> bool:
    try:
        async with asyncio.timeout(2.0):
            await run_unit(runtime.engine, lambda conn: conn.execute(sa.text("SELECT 1")), writes=False)
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        log.warning("readiness_database_failed", error=type(exc).__name__)
        return False
    return True


async def _redis_ok(runtime: Runtime) -> bool:
    if runtime.redis is None:
        return True
    try:
        async with asyncio.timeout(2.0):
            await runtime.redis.ping()
    except Exception as exc:
        log.warning("readiness_redis_failed", error=type(exc).__name__)
        return False
    return True


@routes.get("/readyz")
@public
async def readyz(request: web.Request) -> web.Response:
    """Ready to serve: see the module docstring."""
    runtime = request.app[RUNTIME]
    if runtime.shutting_down.is_set():
        raise Unavailable("Shutting down.")
    operators = list(runtime.exchangers.values())
    results = await asyncio.gather(
        _database_ok(runtime), _redis_ok(runtime), *(op.ping() for op in operators)
    )
    names = ["database", "redis", *(op.operator for op in operators)]
    failing = [name for name, ok in zip(names, results, strict=True) if not ok]
    if failing:
        raise Unavailable("Not ready: " + ", ".join(failing) + " unreachable.")
    return json_response({"status": "ready"})
