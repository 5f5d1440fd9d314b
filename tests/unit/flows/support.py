"""A bank or insurer driving the links, flows and branch APIs over real sockets, and helpers to
wait for webhooks; shared by the flows' integration and browser tests."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from standardwebhooks import Webhook

from gateway.flows.attempts import DEVICE_COOKIE
from tests.leaks import SENSITIVE
from tests.stack import Stack, TenantCreds, open_stack
from tests.unit.push.fakes import FakeSmsChannel
from tests.unit.webhooks.support import Receiver

SCOPES = ["push:send", "push:read", "templates:write", "webhooks:manage", "branches:manage"]
EVENTS = [
    "message.submitted",
    "link.opened",
    "link.rejected",
    "claim.location_shared",
    "claim.location_declined",
    "queue.ticket_called",
    "queue.ticket_cancelled",
]
FAST = {
    "push_dispatch_poll_seconds": 0.05,
    "webhook_poll_interval": 0.1,
    "allow_private_webhooks": True,
}


def fake_channels() -> dict[str, FakeSmsChannel]:
    """In-memory SMS channels for the three operators."""
    return {op: FakeSmsChannel(op) for op in ("cmcc", "cucc", "ctcc")}


@asynccontextmanager
async def flows_stack(url: str, **overrides: Any) -> AsyncIterator[tuple[Stack, dict[str, FakeSmsChannel]]]:
    """Gateway + sandbox with in-memory SMS channels and fast workers."""
    channels = fake_channels()
    async with open_stack(url, sms_channels=channels, **{**FAST, **overrides}) as stack:
        yield stack, channels


def code_of(link: str) -> str:
    """The code of a ``{PUBLIC_URL}/l/{code}`` link (not registered as a log secret: the test
    servers' aiohttp access log prints request paths, which production turns off)."""
    return link.rsplit("/l/", 1)[1]


class Tenant:
    """An insurer or bank: its credentials, an access token and a webhook receiver."""

    def __init__(self, stack: Stack, creds: TenantCreds, bearer: str, receiver: Receiver | None) -> None:
        self.stack = stack
        self.creds = creds
        self.bearer = bearer
        self.receiver = receiver
        self.secret: str | None = None

    @classmethod
    async def create(cls, stack: Stack, receiver: Receiver | None = None, *, sandbox: bool = True) -> Tenant:
        creds = await stack.tenant(SCOPES, sandbox=sandbox)
        tenant = cls(stack, creds, await stack.access_token(creds), receiver)
        if receiver is not None:
            resp = await tenant.call(
                "PUT", "/push/v1/webhook", {"url": receiver.url("/hook"), "events": EVENTS}
            )
            assert resp.status_code == 200, resp.text
            tenant.secret = str(resp.json()["secret"])
            SENSITIVE.add(tenant.secret)
        return tenant

    async def refresh(self) -> None:
        """A new access token (the clock was moved past the old one)."""
        self.bearer = await self.stack.access_token(self.creds)

    async def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        """An API call with the tenant's access token."""
        return await self.stack.http.request(
            method,
            f"{self.stack.gateway_url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.bearer}"},
        )

    async def builtin(self, name: str, signature: str = "平安保险") -> str:
        """Install a built-in template; its id."""
        resp = await self.call("POST", f"/push/v1/templates/builtin/{name}", {"signature": signature})
        assert resp.status_code == 201, resp.text
        return str(resp.json()["id"])

    async def send(self, template_id: str, to: str, params: dict[str, Any], **extra: Any) -> tuple[str, str]:
        """Queue a message; its id and link code."""
        body = {"templateId": template_id, "to": to, "params": params, **extra}
        resp = await self.call("POST", "/push/v1/messages", body)
        assert resp.status_code == 202, resp.text
        return str(resp.json()["id"]), code_of(str(resp.json()["link"]))

    async def message(self, message_id: str) -> dict[str, Any]:
        """``GET /push/v1/messages/{id}``."""
        resp = await self.call("GET", f"/push/v1/messages/{message_id}")
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    async def wait_status(self, message_id: str, *statuses: str, within: float = 10.0) -> dict[str, Any]:
        """Poll the message until its status is one of ``statuses``."""
        async with asyncio.timeout(within):
            while True:
                body = await self.message(message_id)
                if body["status"] in statuses:
                    return body
                await asyncio.sleep(0.05)

    def events(self, event_type: str) -> list[dict[str, Any]]:
        """Verified webhook payloads of ``event_type`` received so far (Standard Webhooks signature)."""
        assert self.receiver is not None and self.secret is not None
        found = []
        for request in self.receiver.at("/hook"):
            payload = Webhook(self.secret).verify(request.body, request.headers)
            if payload["type"] == event_type:
                found.append(payload)
        return found

    async def wait_event(self, event_type: str, count: int = 1, within: float = 10.0) -> list[dict[str, Any]]:
        """Wait until ``count`` webhooks of ``event_type`` arrived."""
        async with asyncio.timeout(within):
            while True:
                found = self.events(event_type)
                if len(found) >= count:
                    return found
                await asyncio.sleep(0.05)


async def h5_token(stack: Stack, phone: str) -> str:
    """What the operator's H5 SDK returns on ``phone`` (over cellular data)."""
    return await stack.sdk_token(phone, "h5")


async def redeem(stack: Stack, code: str, token: str, **extra: Any) -> httpx.Response:
    """``POST /push/v1/links/{code}/redeem`` from a client that keeps no cookie (each call is a new
    device to the gateway: the ``gw_device`` cookie it sets is dropped)."""
    resp = await stack.http.post(
        f"{stack.gateway_url}/push/v1/links/{code}/redeem", json={"token": token, **extra}
    )
    stack.http.cookies.delete(DEVICE_COOKIE)
    if resp.status_code == 200:
        SENSITIVE.add(resp.json()["session"])
    return resp


class Browser:
    """One phone's browser as the gateway sees it: its own cookie jar (so it keeps the ``gw_device``
    cookie like a browser) and its source address (``X-Forwarded-For``, which the test gateway
    believes from 127.0.0.1, its trusted proxy)."""

    def __init__(self, stack: Stack, address: str) -> None:
        self.stack = stack
        self.client = httpx.AsyncClient(headers={"X-Forwarded-For": address}, timeout=10.0)

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.client.aclose()

    async def redeem(self, code: str, token: str, **extra: Any) -> httpx.Response:
        """``POST /push/v1/links/{code}/redeem`` with this browser's cookie and address."""
        resp = await self.client.post(
            f"{self.stack.gateway_url}/push/v1/links/{code}/redeem", json={"token": token, **extra}
        )
        if resp.status_code == 200:
            SENSITIVE.add(resp.json()["session"])
        return resp


async def flow_call(stack: Stack, session: str, method: str, path: str, body: Any = None) -> httpx.Response:
    """A flow API call with a flow session."""
    return await stack.http.request(
        method, f"{stack.gateway_url}{path}", json=body, headers={"Authorization": f"Bearer {session}"}
    )


def random_phone(prefix: str = "138") -> str:
    """A random mainland number registered as sensitive (not a sandbox subscriber)."""
    phone = f"+86{prefix}{secrets.randbelow(10**8):08d}"
    SENSITIVE.update({phone, phone[3:]})
    return phone


def dumps(value: Any) -> str:
    """Compact JSON (for leak checks on payloads)."""
    return json.dumps(value, ensure_ascii=False)
