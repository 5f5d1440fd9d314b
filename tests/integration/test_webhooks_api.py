"""The webhook API through a running gateway: register, read, replace, remove, validation, scopes,
and an event published by the gateway's domain code delivered by the gateway's own worker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from gateway.crypto import FieldCipher, Keyring
from gateway.db import create_engine, session_factory
from gateway.webhooks.events import EVENT_TYPES
from gateway.webhooks.service import WebhookService
from tests.leaks import SENSITIVE
from tests.stack import SESSION_DATA_KEYS, Stack, open_stack
from tests.unit.webhooks.support import Receiver

pytestmark = pytest.mark.integration

PATH = "/push/v1/webhook"


@pytest.fixture
async def dev_stack(database_url: str) -> AsyncIterator[Stack]:
    """A gateway with private webhooks allowed (as under `gateway up`) and a fast outbox poll."""
    async with open_stack(database_url, allow_private_webhooks=True, webhook_poll_interval=0.05) as running:
        yield running


@pytest.fixture
async def strict_stack(sqlite_url: str) -> AsyncIterator[Stack]:
    """A gateway with private webhooks refused (as under `gateway serve`)."""
    async with open_stack(sqlite_url, allow_private_webhooks=False) as running:
        yield running


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A tenant's receiver on 127.0.0.1."""
    async with Receiver() as running:
        yield running


async def _bearer(stack: Stack, scopes: list[str] | None = None) -> tuple[str, str]:
    creds = await stack.tenant(scopes or ["webhooks:manage"])
    return creds.tenant_id, await stack.access_token(creds)


async def _request(
    stack: Stack, method: str, bearer: str, body: Any = None, path: str = PATH
) -> httpx.Response:
    return await stack.http.request(
        method,
        f"{stack.gateway_url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {bearer}"},
    )


def _assert_error(resp: httpx.Response, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.json()["code"] == code and resp.json()["status"] == status


async def test_register_read_replace_and_remove(dev_stack: Stack, receiver: Receiver) -> None:
    """PUT answers the URL, events and a new whsec_ secret each time; GET never shows the secret;
    DELETE removes the endpoint, after which GET and DELETE are 404."""
    _, bearer = await _bearer(dev_stack)
    url = receiver.url("/hooks")
    first = await _request(
        dev_stack, "PUT", bearer, {"url": url, "events": ["link.opened", "message.failed"]}
    )
    assert first.status_code == 200, first.text
    body = first.json()
    SENSITIVE.add(body["secret"])
    assert set(body) == {"url", "events", "secret"}
    assert body["url"] == url and body["events"] == ["message.failed", "link.opened"]
    assert body["secret"].startswith("whsec_")

    shown = await _request(dev_stack, "GET", bearer)
    assert shown.status_code == 200
    assert shown.json() == {
        "url": url,
        "events": ["message.failed", "link.opened"],
        "status": "enabled",
        "disabledReason": None,
        "disabledAt": None,
    }
    assert body["secret"] not in shown.text

    again = await _request(dev_stack, "PUT", bearer, {"url": url, "events": list(EVENT_TYPES)})
    assert again.status_code == 200
    SENSITIVE.add(again.json()["secret"])
    assert again.json()["secret"] != body["secret"]
    assert (await _request(dev_stack, "GET", bearer)).json()["events"] == list(EVENT_TYPES)

    assert (await _request(dev_stack, "DELETE", bearer)).status_code == 204
    _assert_error(await _request(dev_stack, "GET", bearer), 404, "NOT_FOUND")
    _assert_error(await _request(dev_stack, "DELETE", bearer), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    "body",
    [
        {"url": "https://hooks.bank.example/x", "events": ["message.exploded"]},
        {"url": "https://hooks.bank.example/x", "events": []},
        {"url": "https://hooks.bank.example/x"},
        {"url": "https://hooks.bank.example/x", "events": ["link.opened"], "secret": "mine"},
        {"url": "ftp://hooks.bank.example/x", "events": ["link.opened"]},
        {"url": 42, "events": ["link.opened"]},
        {"url": "https://hooks.bank.example/x", "events": "link.opened"},
    ],
)
async def test_invalid_registrations_are_400(dev_stack: Stack, body: dict[str, Any]) -> None:
    """Unknown or missing events, unknown properties, bad types and non-http(s) URLs: 400 INVALID_ARGUMENT."""
    _, bearer = await _bearer(dev_stack)
    _assert_error(await _request(dev_stack, "PUT", bearer, body), 400, "INVALID_ARGUMENT")


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.bank.example/x",
        "https://127.0.0.1/x",
        "https://localhost/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://[::ffff:169.254.169.254]/x",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.8/x",
        "https://100.64.1.1/x",
    ],
)
async def test_private_or_plain_http_targets_are_refused_without_private_webhooks(
    strict_stack: Stack, url: str
) -> None:
    """Without private webhooks, http and non-global literal or local hosts are 400 at registration."""
    _, bearer = await _bearer(strict_stack)
    _assert_error(
        await _request(strict_stack, "PUT", bearer, {"url": url, "events": ["link.opened"]}),
        400,
        "INVALID_ARGUMENT",
    )


async def test_public_https_target_registers_without_private_webhooks(strict_stack: Stack) -> None:
    """A public https URL registers under the strict policy (its name is checked again at send time)."""
    _, bearer = await _bearer(strict_stack)
    resp = await _request(
        strict_stack, "PUT", bearer, {"url": "https://hooks.bank.example/in", "events": ["link.opened"]}
    )
    assert resp.status_code == 200, resp.text
    SENSITIVE.add(resp.json()["secret"])


async def test_scope_and_credentials_are_required(dev_stack: Stack) -> None:
    """Without a token the API is 401; with a token lacking webhooks:manage it is 403."""
    _, bearer = await _bearer(dev_stack, ["push:send"])
    _assert_error(await _request(dev_stack, "GET", "not-a-token"), 401, "UNAUTHENTICATED")
    _assert_error(await _request(dev_stack, "GET", bearer), 403, "PERMISSION_DENIED")
    body = {"url": "https://hooks.bank.example/x", "events": ["link.opened"]}
    _assert_error(await _request(dev_stack, "PUT", bearer, body), 403, "PERMISSION_DENIED")


async def test_published_event_is_delivered_by_the_gateway_worker(
    dev_stack: Stack, database_url: str, receiver: Receiver
) -> None:
    """An event published by domain code reaches the tenant's receiver through the running gateway's
    worker, verifies with the secret from PUT, and its history is readable by that tenant only."""
    tenant_id, bearer = await _bearer(dev_stack)
    put = await _request(
        dev_stack, "PUT", bearer, {"url": receiver.url("/in"), "events": ["queue.ticket_called"]}
    )
    secret = put.json()["secret"]
    SENSITIVE.add(secret)
    _, stranger = await _bearer(dev_stack)

    engine = create_engine(database_url)
    try:
        publisher = WebhookService(
            session_factory(engine),
            cipher=FieldCipher(Keyring.parse(SESSION_DATA_KEYS)),
            clock=dev_stack.clock,
            allow_private=True,
        )
        delivery_id = await publisher.publish(tenant_id, "queue.ticket_called", {"ticket": "A-017"})
    finally:
        await engine.dispose()
    assert delivery_id is not None
    for _ in range(200):
        if receiver.at("/in"):
            break
        await asyncio.sleep(0.025)
    [got] = receiver.at("/in")
    assert Webhook(secret).verify(got.body, got.headers)["data"] == {"ticket": "A-017"}
    assert got.webhook_id == delivery_id

    path = f"{PATH}/deliveries/{delivery_id}"
    for _ in range(100):
        history = await _request(dev_stack, "GET", bearer, path=path)
        if history.json().get("status") == "delivered":
            break
        await asyncio.sleep(0.02)
    assert history.status_code == 200
    shown = history.json()
    assert (
        shown["id"] == delivery_id
        and shown["type"] == "queue.ticket_called"
        and shown["status"] == "delivered"
    )
    assert [(a["statusCode"], a["error"]) for a in shown["attempts"]] == [(200, None)]
    _assert_error(await _request(dev_stack, "GET", stranger, path=path), 404, "NOT_FOUND")
    _assert_error(await _request(dev_stack, "GET", bearer, path=f"{PATH}/deliveries/nope"), 404, "NOT_FOUND")
