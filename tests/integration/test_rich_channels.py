"""Rich-message channels over real sockets: a tenant configures its 5G chatbot and card-SMS account
against the sandbox's platforms, registers card templates whose review the gateway follows, and the
platforms' receipts of messages sent with the adapter clients arrive at the gateway's callback routes
and are stored once; forged, unknown and malformed callbacks are refused; tenants never see each
other's chatbots, accounts or templates."""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from carrier_adapters._signed import callback_signature
from carrier_adapters.cards import CardAccountConfig, CardClient
from carrier_adapters.maap import ChatbotConfig, MaapClient, RichCard, Suggestion
from gateway.db import create_engine
from gateway.outbound import GuardedTransport, build_operator_transport
from tests.leaks import SENSITIVE
from tests.stack import Stack, TenantCreds, open_stack

pytestmark = pytest.mark.integration

SCOPES = ["templates:write", "push:read", "push:send"]


def _secret() -> str:
    value = secrets.token_hex(16)
    SENSITIVE.add(value)
    return value


class Bank:
    """A tenant with its bearer."""

    def __init__(self, stack: Stack, creds: TenantCreds, bearer: str) -> None:
        self.stack, self.creds, self.bearer = stack, creds, bearer

    @classmethod
    async def create(cls, stack: Stack, scopes: list[str] | None = None) -> Bank:
        creds = await stack.tenant(scopes or SCOPES, sandbox=True)
        return cls(stack, creds, await stack.access_token(creds))

    async def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return await self.stack.http.request(
            method,
            f"{self.stack.gateway_url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.bearer}"},
        )


def _error(resp: httpx.Response, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"status", "code", "message"} and (body["status"], body["code"]) == (status, code)


async def _sandbox_chatbot(stack: Stack, operator: str) -> tuple[str, str]:
    bot_id, secret = f"bot-{secrets.token_hex(4)}", _secret()
    resp = await stack.http.put(
        f"{stack.sandbox_url}/sandbox/maap/{operator}/chatbots/{bot_id}", json={"secret": secret}
    )
    assert resp.status_code == 200, resp.text
    return bot_id, secret


async def _sandbox_account(stack: Stack) -> tuple[str, str]:
    app_id, key = f"app-{secrets.token_hex(4)}", _secret()
    resp = await stack.http.put(f"{stack.sandbox_url}/sandbox/cards/accounts/{app_id}", json={"appKey": key})
    assert resp.status_code == 200, resp.text
    return app_id, key


async def _events(stack: Stack, message_ref: str) -> list[tuple[str, str, str]]:
    engine = create_engine(stack.settings.database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                sa.text(
                    "SELECT channel, provider, kind FROM rich_events WHERE message_ref = :ref ORDER BY id"
                ),
                {"ref": message_ref},
            )
            return [(r.channel, r.provider, r.kind) for r in rows]
    finally:
        await engine.dispose()


async def _wait_events(stack: Stack, ref: str, count: int) -> list[tuple[str, str, str]]:
    async with asyncio.timeout(10):
        while True:
            found = await _events(stack, ref)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.05)


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[Stack]:
    """Gateway and sandbox; the sandbox posts its callbacks to the gateway."""
    async with open_stack(database_url, sms_protocols=False) as running:
        yield running


@pytest.fixture
async def transport() -> AsyncIterator[GuardedTransport]:
    """The production transport of operator calls, for the test's direct sends."""
    operator_transport = build_operator_transport()
    yield operator_transport
    await operator_transport.aclose()


CARD_TEMPLATE = {
    "vendor": "huawei",
    "name": "claim",
    "title": "${company}理赔",
    "description": "案件 ${case} 已受理",
    "buttons": [{"text": "查看", "actionType": "OPEN_URL", "action": "${link}"}],
    "params": ["company", "case", "link"],
}


async def test_chatbot_and_card_account_are_the_tenants_own(stack: Stack) -> None:
    """PUT creates (201) then replaces (200) a chatbot and a card account; GET (push:read is enough)
    shows them without the secret; bad shapes are 400, unknown operators and vendors 404; another
    tenant sees, deletes and reuses none of them (404, 404, 409 CHANNEL_ID_TAKEN); DELETE forgets."""
    a, b = await Bank.create(stack), await Bank.create(stack)
    reader = await Bank.create(stack, ["push:read"])
    bot_id, secret = _secret()[:12], _secret()
    first = await a.call("PUT", "/push/v1/channels/5g/cmcc", {"botId": bot_id, "secret": secret})
    assert first.status_code == 201, first.text
    again = await a.call(
        "PUT", "/push/v1/channels/5g/cmcc", {"botId": bot_id, "secret": secret, "enabled": False}
    )
    assert again.status_code == 200 and again.json()["enabled"] is False
    shown = (await a.call("GET", "/push/v1/channels/5g/cmcc")).json()
    assert set(shown) == {"operator", "botId", "enabled", "createdAt", "updatedAt"}
    assert (shown["operator"], shown["botId"]) == ("cmcc", bot_id) and secret not in json.dumps(shown)
    _error(await reader.call("GET", "/push/v1/channels/5g/cmcc"), 404, "NOT_FOUND")
    _error(
        await reader.call("PUT", "/push/v1/channels/5g/cmcc", {"botId": "x", "secret": secret}),
        403,
        "PERMISSION_DENIED",
    )

    _error(
        await a.call("PUT", "/push/v1/channels/5g/cmcc", {"botId": bot_id, "secret": "short"}),
        400,
        "INVALID_ARGUMENT",
    )
    _error(
        await a.call("PUT", "/push/v1/channels/5g/vodafone", {"botId": bot_id, "secret": secret}),
        404,
        "NOT_FOUND",
    )
    _error(await a.call("GET", "/push/v1/channels/card/nokia"), 404, "NOT_FOUND")

    _error(await b.call("GET", "/push/v1/channels/5g/cmcc"), 404, "NOT_FOUND")
    _error(await b.call("DELETE", "/push/v1/channels/5g/cmcc"), 404, "NOT_FOUND")
    taken = await b.call("PUT", "/push/v1/channels/5g/cmcc", {"botId": bot_id, "secret": _secret()})
    _error(taken, 409, "CHANNEL_ID_TAKEN")
    assert (
        await b.call("PUT", "/push/v1/channels/5g/cucc", {"botId": bot_id, "secret": secret})
    ).status_code == 201

    app_id, key = _secret()[:12], _secret()
    card = await a.call("PUT", "/push/v1/channels/card/oppo", {"appId": app_id, "appKey": key})
    assert card.status_code == 201 and card.json()["appId"] == app_id and key not in card.text
    read = await reader.call("GET", "/push/v1/channels/card/oppo")
    _error(read, 404, "NOT_FOUND")
    assert (await a.call("GET", "/push/v1/channels/card/oppo")).json()["vendor"] == "oppo"
    _error(await b.call("GET", "/push/v1/channels/card/oppo"), 404, "NOT_FOUND")
    _error(
        await b.call("PUT", "/push/v1/channels/card/oppo", {"appId": app_id, "appKey": key}),
        409,
        "CHANNEL_ID_TAKEN",
    )

    assert (await a.call("DELETE", "/push/v1/channels/5g/cmcc")).status_code == 204
    _error(await a.call("GET", "/push/v1/channels/5g/cmcc"), 404, "NOT_FOUND")
    assert (
        await b.call("PUT", "/push/v1/channels/5g/cmcc", {"botId": bot_id, "secret": secret})
    ).status_code == 201


async def test_card_template_review_moves_with_the_vendor(stack: Stack) -> None:
    """A registered template is pending at the vendor; reading it asks the vendor again, so it becomes
    approved once the reviewer decided, or rejected with the vendor's reason; a vendor that is down
    leaves the stored state (200) and refuses a registration (503); without an account the answer is
    409 CHANNEL_NOT_CONFIGURED, an undeclared placeholder 400; another tenant's id is 404."""
    a, b = await Bank.create(stack), await Bank.create(stack)
    app_id, key = await _sandbox_account(stack)
    assert (
        await a.call("PUT", "/push/v1/channels/card/huawei", {"appId": app_id, "appKey": key})
    ).status_code == 201
    faults = f"{stack.sandbox_url}/sandbox/cards/huawei/faults"
    assert (await stack.http.put(faults, json={"reviewDelayMs": 60_000})).status_code == 200

    created = await a.call("POST", "/push/v1/card-templates", CARD_TEMPLATE)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "pending"
    path = created.headers["Location"]
    pending = (await a.call("GET", path)).json()
    assert pending["status"] == "pending" and pending["vendorTemplateId"].startswith("huawei-")
    assert pending["params"] == ["company", "case", "link"] and "decidedAt" not in pending
    stack.clock.advance(61)
    approved = (await a.call("GET", path)).json()
    assert approved["status"] == "approved" and "decidedAt" in approved
    _error(await b.call("GET", path), 404, "NOT_FOUND")

    assert (
        await stack.http.put(faults, json={"reviewOutcome": "pending", "reviewDelayMs": 0})
    ).status_code == 200
    second = (await a.call("POST", "/push/v1/card-templates", {**CARD_TEMPLATE, "name": "claim-2"})).json()
    vendor_id = (await a.call("GET", f"/push/v1/card-templates/{second['id']}")).json()["vendorTemplateId"]
    decided = await stack.http.put(
        f"{stack.sandbox_url}/sandbox/cards/huawei/templates/{vendor_id}",
        json={"state": "rejected", "reason": "按钮文字不规范"},
    )
    assert decided.status_code == 200, decided.text
    assert (await stack.http.put(faults, json={"down": True})).status_code == 200
    still = await a.call("GET", f"/push/v1/card-templates/{second['id']}")
    assert still.status_code == 200 and still.json()["status"] == "pending"
    _error(await a.call("POST", "/push/v1/card-templates", CARD_TEMPLATE), 503, "UNAVAILABLE")
    assert (await stack.http.delete(faults)).status_code in (200, 204)
    rejected = (await a.call("GET", f"/push/v1/card-templates/{second['id']}")).json()
    assert (rejected["status"], rejected["reason"]) == ("rejected", "按钮文字不规范")

    _error(
        await a.call("POST", "/push/v1/card-templates", {**CARD_TEMPLATE, "vendor": "xiaomi"}),
        409,
        "CHANNEL_NOT_CONFIGURED",
    )
    undeclared = {**CARD_TEMPLATE, "params": ["company", "case"]}
    _error(await a.call("POST", "/push/v1/card-templates", undeclared), 400, "INVALID_ARGUMENT")
    _error(await b.call("POST", "/push/v1/card-templates", CARD_TEMPLATE), 409, "CHANNEL_NOT_CONFIGURED")
    _error(await a.call("GET", f"/push/v1/card-templates/{uuid.uuid4()}"), 404, "NOT_FOUND")


async def test_platform_receipts_reach_the_gateway_and_are_stored(
    stack: Stack, transport: GuardedTransport
) -> None:
    """A 5G card and a card SMS sent with the adapter clients to a sandbox phone: the platforms'
    delivered, displayed and response events and the RENDERED and CLICKED receipts arrive at the
    gateway's callback routes, verified by the tenant's chatbot and account, stored under our msgId
    and bizId."""
    a = await Bank.create(stack)
    phone = await stack.subscriber("cmcc", rcs=True, vendor="huawei")
    bot_id, secret = await _sandbox_chatbot(stack, "cmcc")
    app_id, key = await _sandbox_account(stack)
    assert (
        await a.call("PUT", "/push/v1/channels/5g/cmcc", {"botId": bot_id, "secret": secret})
    ).status_code == 201
    assert (
        await a.call("PUT", "/push/v1/channels/card/huawei", {"appId": app_id, "appKey": key})
    ).status_code == 201

    maap = MaapClient(
        ChatbotConfig("cmcc", f"{stack.sandbox_url}/cmcc/maap", bot_id, secret),
        transport,
        clock=stack.clock.now,
    )
    msg_id = str(uuid.uuid4())
    card = RichCard("理赔进度", "已受理", (Suggestion("查看", "open", "https://gw.example/l/Zx81"),))
    await maap.send(card, to=phone, msg_id=msg_id)
    assert await _wait_events(stack, msg_id, 1) == [("5g", "cmcc", "delivered")]
    feed = (await stack.http.get(f"{stack.sandbox_url}/sandbox/devices/{phone}/rich-messages")).json()
    shown = feed[-1]["id"]
    display = await stack.http.post(
        f"{stack.sandbox_url}/sandbox/devices/{phone}/rich-messages/{shown}/display"
    )
    assert display.status_code == 204
    tap = await stack.http.post(
        f"{stack.sandbox_url}/sandbox/devices/{phone}/rich-messages/{shown}/tap", json={"button": 0}
    )
    assert tap.status_code == 202
    events = await _wait_events(stack, msg_id, 3)
    assert sorted(events) == [
        ("5g", "cmcc", "delivered"),
        ("5g", "cmcc", "displayed"),
        ("5g", "cmcc", "response"),
    ]

    template = (await a.call("POST", "/push/v1/card-templates", CARD_TEMPLATE)).json()
    got = (await a.call("GET", f"/push/v1/card-templates/{template['id']}")).json()
    assert got["status"] == "approved"
    cards = CardClient(
        CardAccountConfig("huawei", f"{stack.sandbox_url}/cards/huawei", app_id, key),
        transport,
        clock=stack.clock.now,
    )
    biz_id = str(uuid.uuid4())
    params = {"company": "平安", "case": "A1", "link": "https://gw.example/l/Zx81"}
    await cards.send(got["vendorTemplateId"], to=phone, params=params, biz_id=biz_id)
    assert await _wait_events(stack, biz_id, 1) == [("card", "huawei", "rendered")]
    feed = (await stack.http.get(f"{stack.sandbox_url}/sandbox/devices/{phone}/rich-messages")).json()
    card_id = next(m["id"] for m in feed if m["kind"] == "card")
    tap = await stack.http.post(
        f"{stack.sandbox_url}/sandbox/devices/{phone}/rich-messages/{card_id}/tap", json={"button": 0}
    )
    assert tap.status_code == 202
    assert await _wait_events(stack, biz_id, 2) == [
        ("card", "huawei", "rendered"),
        ("card", "huawei", "clicked"),
    ]


def _signed(
    prefix: str, sign: str, account_header: str, account: str, secret: str, body: bytes, now_ms: int
) -> dict[str, str]:
    nonce = secrets.token_hex(16)
    timestamp = str(now_ms)
    return {
        "Content-Type": "application/json",
        f"X-{prefix}-{account_header}": account,
        f"X-{prefix}-Timestamp": timestamp,
        f"X-{prefix}-Nonce": nonce,
        f"X-{prefix}-{sign}": callback_signature(secret, timestamp, nonce, body),
    }


async def test_callbacks_are_verified_and_idempotent(stack: Stack) -> None:
    """A signed event posted twice (re-signed, as the platforms retry) is stored once; a bad signature,
    a stale timestamp, an unknown chatbot or account answer 401 in the error shape; a body that is not
    JSON or names no chatbot, or a verified body of the wrong shape, 400; an oversized body 413; an
    unknown operator or vendor 404; none of them stores anything."""
    a = await Bank.create(stack)
    bot_id, secret = _secret()[:16], _secret()
    app_id, key = _secret()[:16], _secret()
    assert (
        await a.call("PUT", "/push/v1/channels/5g/ctcc", {"botId": bot_id, "secret": secret})
    ).status_code == 201
    assert (
        await a.call("PUT", "/push/v1/channels/card/vivo", {"appId": app_id, "appKey": key})
    ).status_code == 201
    maap_url = f"{stack.gateway_url}/operator-callbacks/ctcc/maap"
    card_url = f"{stack.gateway_url}/operator-callbacks/cards/vivo"
    now_ms = int(stack.clock.now().timestamp() * 1000)
    ref = str(uuid.uuid4())
    event = {
        "event": "messageStatus",
        "botId": bot_id,
        "messageContact": {"userContact": "tel:+8618900000000"},
        "RCSMessage": {"msgId": ref, "status": "delivered", "timestamp": "2026-03-02T01:30:15.250Z"},
    }
    body = json.dumps(event).encode()

    def maap_headers(payload: bytes, key_: str = secret, at: int = now_ms) -> dict[str, str]:
        return _signed("Maap", "Signature", "Bot-Id", bot_id, key_, payload, at)

    first = await stack.http.post(maap_url, content=body, headers=maap_headers(body))
    assert first.status_code == 200 and first.json() == {"received": 1, "outcome": "stored"}
    replay = await stack.http.post(maap_url, content=body, headers=maap_headers(body))
    assert replay.status_code == 200 and replay.json()["outcome"] == "duplicate"

    receipt = {
        "event": "RENDERED",
        "appId": app_id,
        "cardMsgId": "a" * 32,
        "bizId": ref,
        "mobile": "18900000000",
        "at": "2026-03-02T01:30:15Z",
    }
    card_body = json.dumps(receipt).encode()
    card_ok = await stack.http.post(
        card_url, content=card_body, headers=_signed("Card", "Sign", "App-Id", app_id, key, card_body, now_ms)
    )
    assert card_ok.json()["outcome"] == "stored"
    card_again = await stack.http.post(
        card_url, content=card_body, headers=_signed("Card", "Sign", "App-Id", app_id, key, card_body, now_ms)
    )
    assert card_again.json()["outcome"] == "duplicate"
    assert await _events(stack, ref) == [("5g", "ctcc", "delivered"), ("card", "vivo", "rendered")]

    other = json.dumps({**event, "RCSMessage": {**event["RCSMessage"], "status": "displayed"}}).encode()  # type: ignore[dict-item]
    _error(
        await stack.http.post(maap_url, content=other, headers=maap_headers(other, _secret())),
        401,
        "UNAUTHENTICATED",
    )
    _error(
        await stack.http.post(maap_url, content=other, headers=maap_headers(other, at=now_ms - 400_000)),
        401,
        "UNAUTHENTICATED",
    )
    unknown = json.dumps({**event, "botId": "nobody-here"}).encode()
    _error(
        await stack.http.post(maap_url, content=unknown, headers=maap_headers(unknown)),
        401,
        "UNAUTHENTICATED",
    )
    foreign = json.dumps({**receipt, "appId": "nobody-here", "event": "CLICKED"}).encode()
    _error(
        await stack.http.post(
            card_url,
            content=foreign,
            headers=_signed("Card", "Sign", "App-Id", "nobody-here", key, foreign, now_ms),
        ),
        401,
        "UNAUTHENTICATED",
    )
    _error(
        await stack.http.post(maap_url, content=b"{not json", headers=maap_headers(b"{not json")),
        400,
        "INVALID_ARGUMENT",
    )
    _error(
        await stack.http.post(maap_url, content=b"[]", headers=maap_headers(b"[]")), 400, "INVALID_ARGUMENT"
    )
    shapeless = json.dumps({"event": "messageStatus", "botId": bot_id}).encode()
    _error(
        await stack.http.post(maap_url, content=shapeless, headers=maap_headers(shapeless)),
        400,
        "INVALID_ARGUMENT",
    )
    huge = json.dumps({**event, "pad": "x" * 20_000}).encode()
    _error(
        await stack.http.post(maap_url, content=huge, headers=maap_headers(huge)), 413, "PAYLOAD_TOO_LARGE"
    )
    _error(
        await stack.http.post(
            f"{stack.gateway_url}/operator-callbacks/vodafone/maap", content=body, headers=maap_headers(body)
        ),
        404,
        "NOT_FOUND",
    )
    _error(
        await stack.http.post(
            f"{stack.gateway_url}/operator-callbacks/cards/nokia",
            content=card_body,
            headers=maap_headers(card_body),
        ),
        404,
        "NOT_FOUND",
    )
    assert await _events(stack, ref) == [("5g", "ctcc", "delivered"), ("card", "vivo", "rendered")]
