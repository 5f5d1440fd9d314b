"""Fixtures for the sandbox tests: a settable clock, fresh credentials, a sandbox on a real socket,
helpers that walk the operators' authorization flows as a browser would, and a stand-in for the
gateway's callback endpoint."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient, AiohttpServer

from sandbox import SandboxConfig, create_sandbox_app
from tests.clocks import ManualClock
from tests.sandbox.dialects import (
    AUTHORIZE,
    AUTHORIZE_PARAMS,
    CODE_FORM,
    ENRICHMENT,
    NUMBER_FORM,
    national,
    query_of,
)

SandboxClient = TestClient[web.Request, web.Application]
Subscribe = Callable[..., Awaitable[dict[str, Any]]]
OneTapToken = Callable[..., Awaitable[str]]
AuthorizeUrl = Callable[..., str]
NetworkCode = Callable[..., Awaitable[str]]
Inbox = Callable[[str], Awaitable[list[dict[str, Any]]]]
OtpFlow = Callable[..., Awaitable[tuple[str, str]]]
OtpCode = Callable[..., Awaitable[str]]
Call = Callable[..., Awaitable[dict[str, Any]]]
"""A test's signed request to an operator endpoint, returning the JSON answer."""


@pytest.fixture
def clock() -> ManualClock:
    """The sandbox's clock, frozen at a fixed instant until a test advances it."""
    return ManualClock(datetime(2026, 3, 2, 1, 30, 15, 250000, tzinfo=UTC))


@pytest.fixture
def config() -> SandboxConfig:
    """Fresh random credentials for the three operators."""
    return SandboxConfig.generate()


@pytest.fixture
async def client(aiohttp_client: AiohttpClient, config: SandboxConfig, clock: ManualClock) -> SandboxClient:
    """A client of a fresh sandbox served on a real loopback socket."""
    return await aiohttp_client(create_sandbox_app(config, clock=clock))


@pytest.fixture
def subscribe(client: SandboxClient) -> Subscribe:
    """Register a subscriber through the control API and return the stored record."""

    async def subscribe(phone_number: str, operator: str, **fields: Any) -> dict[str, Any]:
        response = await client.post(
            "/sandbox/subscribers", json={"phoneNumber": phone_number, "operator": operator, **fields}
        )
        assert response.status == 201, await response.text()
        record: dict[str, Any] = await response.json()
        return record

    return subscribe


@pytest.fixture
def one_tap_token(client: SandboxClient) -> OneTapToken:
    """Mint a token through the control API, as the operator SDK on the phone would."""

    async def one_tap_token(phone_number: str, purpose: str, **fields: Any) -> str:
        response = await client.post(
            f"/sandbox/devices/{phone_number}/one-tap-token", json={"purpose": purpose, **fields}
        )
        assert response.status == 200, await response.text()
        token: str = (await response.json())["token"]
        return token

    return one_tap_token


REDIRECT_URI = "https://gateway.example/oauth2/callback?op=1"
_TXN = re.compile(r'name="txn" value="([^"]+)"')
_OTP = re.compile(r"(?<![0-9])[0-9]{6}(?![0-9])")


def form_txn(page: str) -> str:
    """The hidden ``txn`` of an operator's authorization form page."""
    match = _TXN.search(page)
    assert match is not None, "no txn field on the page"
    return match.group(1)


@pytest.fixture
def authorize_url(config: SandboxConfig) -> AuthorizeUrl:
    """The path and query of an operator's authorize request (docs: common authorization table)."""

    def authorize_url(
        op: str, *, redirect_uri: str = REDIRECT_URI, state: str | None = "state-1", **extra: str
    ) -> str:
        app_param, redirect_param, _ = AUTHORIZE_PARAMS[op]
        params = {app_param: config.apps[op].app_id, redirect_param: redirect_uri}
        if state is not None:
            params["state"] = state
        return f"{AUTHORIZE[op]}?{urlencode(params | extra)}"

    return authorize_url


@pytest.fixture
def network_code(client: SandboxClient, authorize_url: AuthorizeUrl) -> NetworkCode:
    """Run an enriched authorize request and return the code it redirected with."""

    async def network_code(op: str, phone: str, *, redirect_uri: str = REDIRECT_URI) -> str:
        response = await client.get(
            authorize_url(op, redirect_uri=redirect_uri),
            headers={ENRICHMENT[op]: national(phone)},
            allow_redirects=False,
        )
        assert response.status == 302, await response.text()
        return query_of(response.headers["Location"])["code"]

    return network_code


@pytest.fixture
def inbox(client: SandboxClient) -> Inbox:
    """A phone's SMS inbox through the control API."""

    async def inbox(phone: str) -> list[dict[str, Any]]:
        response = await client.get(f"/sandbox/devices/{phone}/messages")
        assert response.status == 200
        messages: list[dict[str, Any]] = await response.json()
        return messages

    return inbox


@pytest.fixture
def otp_flow(client: SandboxClient, authorize_url: AuthorizeUrl, inbox: Inbox) -> OtpFlow:
    """Start the SMS-OTP fallback for ``phone``: submit its number, return ``(txn, the SMS code)``."""

    async def otp_flow(op: str, phone: str, *, redirect_uri: str = REDIRECT_URI) -> tuple[str, str]:
        page = await client.get(authorize_url(op, redirect_uri=redirect_uri))
        assert page.status == 200
        txn = form_txn(await page.text())
        path, field = NUMBER_FORM[op]
        sent = await client.post(path, data={"txn": txn, field: national(phone)})
        assert sent.status == 200, await sent.text()
        match = _OTP.search((await inbox(phone))[-1]["text"])
        assert match is not None
        return txn, match.group(0)

    return otp_flow


@pytest.fixture
def otp_code(client: SandboxClient, otp_flow: OtpFlow) -> OtpCode:
    """Complete the SMS-OTP fallback for ``phone`` and return the authorization code."""

    async def otp_code(op: str, phone: str, *, redirect_uri: str = REDIRECT_URI) -> str:
        txn, otp = await otp_flow(op, phone, redirect_uri=redirect_uri)
        path, field = CODE_FORM[op]
        response = await client.post(path, data={"txn": txn, field: otp}, allow_redirects=False)
        assert response.status == 302, await response.text()
        return query_of(response.headers["Location"])["code"]

    return otp_code


@dataclass(frozen=True)
class ReceivedCallback:
    """One request an operator POSTed to the callback endpoint."""

    operator: str
    body: bytes
    headers: dict[str, str]


@dataclass
class CallbackReceiver:
    """The gateway's ``/operator-callbacks/{operator}`` (and ``…/{operator}/{channel}``, named
    ``operator/channel``: 5G and card receipts) on a real socket: records every request and
    answers the queued ``statuses`` in turn, then 200. ``GET /landing`` is an empty page of the
    gateway's origin."""

    url: str = ""
    received: list[ReceivedCallback] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        name = "/".join(filter(None, (request.match_info["operator"], request.match_info.get("channel"))))
        self.received.append(ReceivedCallback(name, body, dict(request.headers)))
        self._changed.set()
        status = self.statuses.pop(0) if self.statuses else 200
        return web.json_response({"received": 1}, status=status)

    async def wait_for(self, count: int) -> list[ReceivedCallback]:
        """The callbacks received once there are at least ``count`` (at most 5 s)."""
        async with asyncio.timeout(5.0):
            while len(self.received) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.received


async def _landing(request: web.Request) -> web.Response:
    return web.Response(text="<!DOCTYPE html><title>landing</title>", content_type="text/html")


@pytest.fixture
async def receiver(aiohttp_server: AiohttpServer) -> CallbackReceiver:
    """A callback receiver on a loopback socket."""
    receiver = CallbackReceiver()
    app = web.Application()
    app.router.add_post("/operator-callbacks/{operator}", receiver.handle)
    app.router.add_post("/operator-callbacks/{operator}/{channel}", receiver.handle)
    app.router.add_get("/landing", _landing)
    server = await aiohttp_server(app)
    receiver.url = str(server.make_url("")).rstrip("/")
    return receiver


@pytest.fixture
def callback_config(config: SandboxConfig, receiver: CallbackReceiver) -> SandboxConfig:
    """``config`` with callbacks to ``receiver``: reports at once, retries after 50 ms."""
    return replace(
        config, callback_base_url=receiver.url, report_delay=0.0, callback_retry_delays=(0.05, 0.05, 0.05)
    )
