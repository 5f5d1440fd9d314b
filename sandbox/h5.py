"""The operators' H5 SDK endpoint: a browser on a phone's mobile data gets an ``h5`` one-tap token.

``docs/operator-dialects.md``, "H5 one-tap token". The operator identifies the device as its
network would: by the cellular address in ``X-Forwarded-For``, else by the sandbox's stand-in for
header enrichment, the ``sandbox_phone`` cookie the phone page sets. CORS is open to any origin,
with credentials, so a landing page served by the gateway can call it.
"""

from __future__ import annotations

from ipaddress import IPv4Address, ip_address
from typing import Final
from urllib.parse import unquote

from aiohttp import web

from sandbox.cellular import CELLULAR_RANGES, cellular_ip
from sandbox.clock import Clock
from sandbox.config import AppCredentials, Operator
from sandbox.operators._wire import read_json_object
from sandbox.state import SandboxState
from sandbox.tokens import LIFETIMES, mint

__all__ = ["PHONE_COOKIE", "H5TokenEndpoint"]

PHONE_COOKIE: Final = "sandbox_phone"
_PREFLIGHT: Final = {
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "600",
}


def _cors(request: web.Request, response: web.Response) -> web.Response:
    origin = request.headers.get("Origin")
    if origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
        response.headers["Vary"] = "Origin"
    return response


def _error(request: web.Request, status: int, error: str) -> web.Response:
    return _cors(request, web.json_response({"error": error}, status=status))


def _forwarded_address(request: web.Request) -> IPv4Address | None:
    first = request.headers.get("X-Forwarded-For", "").split(",")[0].strip()
    try:
        address = ip_address(first)
    except ValueError:
        return None
    return address if isinstance(address, IPv4Address) else None


class H5TokenEndpoint:
    """``POST /{operator}/h5/token`` of one operator, and its CORS preflight."""

    def __init__(self, operator: Operator, *, state: SandboxState, app: AppCredentials, clock: Clock) -> None:
        self._operator = operator
        self._state = state
        self._app = app
        self._clock = clock
        self.path = f"/{operator}/h5/token"

    def routes(self) -> list[web.RouteDef]:
        """The token endpoint and its preflight."""
        return [web.post(self.path, self.token), web.options(self.path, self.preflight)]

    async def preflight(self, request: web.Request) -> web.Response:
        """``204`` allowing a credentialed ``POST`` with a JSON body from the requesting origin."""
        return _cors(request, web.Response(status=204, headers=_PREFLIGHT))

    async def token(self, request: web.Request) -> web.Response:
        """An ``h5`` token for the phone the network identifies; else 403 ``not_on_this_network``."""
        document = await read_json_object(request)
        app_id = document.get("appId") if document is not None else None
        if not isinstance(app_id, str):
            return _error(request, 400, "invalid_request")
        if app_id != self._app.app_id:
            return _error(request, 400, "invalid_app")
        phone = self._identify(request)
        if phone is None:
            return _error(request, 403, "not_on_this_network")
        now = self._clock.now()
        token = mint(
            self._state,
            phone_number=phone,
            operator=self._operator,
            app_id=app_id,
            purpose="h5",
            auth_type="network",
            now=now,
        )
        body = {"token": token.value, "operator": self._operator, "expiresIn": LIFETIMES[self._operator]}
        return _cors(request, web.json_response(body, headers={"Cache-Control": "no-store"}))

    def _identify(self, request: web.Request) -> str | None:
        """The E.164 number of this operator's subscriber making the request, if it is one."""
        address = _forwarded_address(request)
        if address is not None:
            for operator, network in CELLULAR_RANGES.items():
                if address in network:
                    return self._subscriber_at(address) if operator == self._operator else None
        phone = unquote(request.cookies.get(PHONE_COOKIE, ""))
        subscriber = self._state.subscribers.get(phone)
        if subscriber is None or subscriber.operator != self._operator:
            return None
        return subscriber.phone_number

    def _subscriber_at(self, address: IPv4Address) -> str | None:
        for subscriber in self._state.subscribers.values():
            phone = subscriber.phone_number
            if subscriber.operator == self._operator and cellular_ip(phone, self._operator) == address:
                return phone
        return None
