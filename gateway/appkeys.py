"""Every typed application and request key, in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from gateway.console.sessions import LiveSession
    from gateway.oauth.tokens import Principal
    from gateway.runtime import Runtime

__all__ = ["PRINCIPAL", "RUNTIME", "STAFF_SESSION"]

RUNTIME: web.AppKey[Runtime] = web.AppKey("runtime")
PRINCIPAL: web.RequestKey[Principal] = web.RequestKey("principal")
STAFF_SESSION: web.RequestKey[LiveSession] = web.RequestKey("staff_session")
