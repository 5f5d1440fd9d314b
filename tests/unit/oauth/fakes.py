"""Fake operators for the authorization server's tests: network authorization plus one-tap exchange.

:class:`FakeNetworkOperator` is an in-memory :class:`~carrier_adapters.Operator`: network
authorization here, one-tap exchange and line insight delegated to a
:class:`~carrier_adapters.testing.FakeExchanger` (``one_tap``). Its "authorization endpoint" identifies a
device by its source IP on the operator's data network (``cellular``), else by the hinted number
through an SMS-OTP fallback (``sms_fallback``), and issues single-use codes bound to the callback
URI. :func:`operator_app` serves those endpoints over HTTP (the device's source IP is read from
``X-Forwarded-For``, as the gateway's telco finder reads it). :func:`run_device` plays the phone's
browser: it follows redirects from an authorize URL until the client's redirect URI.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
from aiohttp import web

from carrier_adapters import (
    AuthMethod,
    CarrierError,
    CustomerRecord,
    LoginOutcome,
    NetworkIdentity,
    SwapHistory,
    TokenRejected,
    VerifyOutcome,
)
from carrier_adapters.testing import FakeExchanger

__all__ = ["FakeNetworkOperator", "cellular_ip", "operator_app", "run_device"]

_FIRST_OCTETS = {"cmcc": 64, "cucc": 65, "ctcc": 66}


def cellular_ip(operator: str, host: int = 7) -> str:
    """An address in ``operator``'s default cellular range (``10.64/16``, ``10.65/16``, ``10.66/16``)."""
    return f"10.{_FIRST_OCTETS[operator]}.0.{host}"


@dataclass
class _Code:
    identity: NetworkIdentity
    redirect_uri: str
    used: bool = False


class FakeNetworkOperator:
    """One fake operator; see the module docstring."""

    def __init__(self, operator: str, *, base_url: str = "https://operator.invalid") -> None:
        self.one_tap = FakeExchanger(operator)
        self.base_url = base_url
        self.cellular: dict[str, str] = {}
        self.sms_fallback: set[str] = set()
        self.code_failures: list[CarrierError] = []
        self.login_gate: asyncio.Event | None = None
        self.authorize_requests: list[dict[str, str]] = []
        self._codes: dict[str, _Code] = {}

    @property
    def operator(self) -> str:
        """Operator code."""
        return self.one_tap.operator

    @property
    def token_lifetime(self) -> int:
        """SDK token lifetime (s)."""
        return self.one_tap.token_lifetime

    def recognises(self, token: str) -> bool:
        """Token shape check."""
        return self.one_tap.recognises(token)

    async def exchange_login(self, token: str) -> LoginOutcome:
        """Exchange an SDK login token, after ``login_gate`` opens when one is set."""
        if self.login_gate is not None:
            await self.login_gate.wait()
        return await self.one_tap.exchange_login(token)

    async def verify_number(self, token: str, phone_number: str) -> VerifyOutcome:
        """Delegate to the one-tap fake."""
        return await self.one_tap.verify_number(token, phone_number)

    async def ping(self) -> bool:
        """Always up."""
        return True

    @property
    def history_window_hours(self) -> int:
        """Delegate to the one-tap fake."""
        return self.one_tap.history_window_hours

    async def sim_history(self, phone_number: str) -> SwapHistory:
        """Delegate to the one-tap fake."""
        return await self.one_tap.sim_history(phone_number)

    async def device_history(self, phone_number: str) -> SwapHistory:
        """Delegate to the one-tap fake."""
        return await self.one_tap.device_history(phone_number)

    async def customer_record(self, phone_number: str) -> CustomerRecord:
        """Delegate to the one-tap fake."""
        return await self.one_tap.customer_record(phone_number)

    def authorization_url(self, *, redirect_uri: str, state: str, login_hint: str | None) -> str:
        """This operator's authorization endpoint with the gateway's callback and handle."""
        query = {
            "redirect_uri": redirect_uri,
            "state": state,
            **({"login_hint": login_hint} if login_hint else {}),
        }
        return f"{self.base_url}/{self.operator}/authorize?{urlencode(query)}"

    def issue_code(
        self, phone_number: str, redirect_uri: str, method: AuthMethod = AuthMethod.NETWORK
    ) -> str:
        """A single-use code identifying ``phone_number`` for ``redirect_uri``."""
        code = secrets.token_urlsafe(16)
        self._codes[code] = _Code(
            NetworkIdentity(self.operator, phone_number, method, f"ref-{code[:6]}"), redirect_uri
        )
        return code

    def authorize(self, url: str, *, device_ip: str | None) -> str:
        """What the operator's authorization endpoint answers the device: the callback location."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        self.authorize_requests.append(query)
        redirect_uri, state = query["redirect_uri"], query["state"]
        hint = query.get("login_hint")
        if device_ip is not None and device_ip in self.cellular:
            code = self.issue_code(self.cellular[device_ip], redirect_uri)
        elif hint is not None and hint in self.sms_fallback:
            code = self.issue_code(hint, redirect_uri, AuthMethod.SMS_OTP)
        else:
            return f"{redirect_uri}?{urlencode({'error': 'access_denied', 'state': state})}"
        return f"{redirect_uri}?{urlencode({'code': code, 'state': state})}"

    async def exchange_code(self, code: str, *, redirect_uri: str) -> NetworkIdentity:
        """The identity behind a code; single use, bound to its redirect URI."""
        if self.code_failures:
            raise self.code_failures.pop(0)
        grant = self._codes.get(code)
        if grant is None or grant.used or grant.redirect_uri != redirect_uri:
            raise TokenRejected(self.operator, "unknown, reused or misdirected code", code="invalid")
        grant.used = True
        return grant.identity


def operator_app(operators: Mapping[str, FakeNetworkOperator]) -> web.Application:
    """The operators' authorization endpoints over HTTP: ``GET /{operator}/authorize``."""

    async def authorize(request: web.Request) -> web.Response:
        operator = operators[request.match_info["operator"]]
        forwarded = request.headers.get("X-Forwarded-For")
        location = operator.authorize(
            str(request.url), device_ip=forwarded.split(",")[-1].strip() if forwarded else None
        )
        return web.Response(status=302, headers={"Location": location})

    app = web.Application()
    app.router.add_get("/{operator}/authorize", authorize)
    return app


async def run_device(
    url: str,
    *,
    until: str,
    device_ip: str | None = None,
    max_hops: int = 5,
    method: str = "GET",
    form: dict[str, str] | None = None,
) -> str:
    """Open ``url`` as the phone's browser would (from ``device_ip``) and follow redirects until one
    points at ``until`` (the client's redirect URI); returns that location."""
    headers = {"X-Forwarded-For": device_ip} if device_ip else {}
    async with aiohttp.ClientSession(headers=headers) as session:
        for _ in range(max_hops):
            async with session.request(method, url, data=form, allow_redirects=False) as resp:
                location = resp.headers.get("Location")
                if resp.status != 302 or location is None:
                    raise AssertionError(f"expected a redirect, got {resp.status}: {await resp.text()}")
            if location.startswith(until):
                return location
            url, method, form = location, "GET", None
    raise AssertionError("too many redirects")
