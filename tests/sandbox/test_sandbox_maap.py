"""The operators' MaaP chatbot platforms (docs/operator-dialects.md, "5G messages"), called with hand-signed
requests: signing, capability lookup, the botmessage send, notifications, taps and faults."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from sandbox import SandboxConfig, create_sandbox_app
from tests.clocks import ManualClock
from tests.sandbox.conftest import CallbackReceiver, SandboxClient, Subscribe
from tests.sandbox.dialects import OPERATORS, PHONES
from tests.sandbox.rich_client import BOT_SECRET, maap_call, rich_card

BOT = "bot-tenant-a"


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient, callback_config: SandboxConfig, clock: ManualClock
) -> SandboxClient:
    """A sandbox whose platforms POST their callbacks to the receiver, with chatbot BOT at every operator."""
    client = await aiohttp_client(create_sandbox_app(callback_config, clock=clock))
    for op in OPERATORS:
        response = await client.put(f"/sandbox/maap/{op}/chatbots/{BOT}", json={"secret": BOT_SECRET})
        assert response.status == 200
    return client


def _events(receiver: CallbackReceiver) -> list[dict[str, Any]]:
    return [json.loads(callback.body) for callback in receiver.received]


@pytest.mark.parametrize("op", OPERATORS)
async def test_capabilities_follow_the_subscriber_attribute(
    op: str, client: SandboxClient, subscribe: Subscribe, clock: ManualClock
) -> None:
    """An rcs subscriber has the three capabilities, another none; a non-subscriber is 404 UNKNOWN_USER."""
    await subscribe(PHONES[op], op, rcs=True)
    other = PHONES[op][:-1] + "9"
    await subscribe(other, op)

    status, body = await maap_call(
        client, op, BOT, "contactCapabilities", {"userContact": f"tel:{PHONES[op]}"}, clock.now()
    )
    assert (status, body["capabilities"]) == (
        200,
        ["chatbotCommunication", "richcardStandalone", "actionOpenUrl"],
    )
    status, body = await maap_call(
        client, op, BOT, "contactCapabilities", {"userContact": f"tel:{other}"}, clock.now()
    )
    assert (status, body["capabilities"]) == (200, [])
    status, body = await maap_call(
        client, op, BOT, "contactCapabilities", {"userContact": "tel:+8613900000000"}, clock.now()
    )
    assert (status, body["error"]["code"]) == (404, "UNKNOWN_USER")


async def test_signature_window_and_unknown_bot_are_unauthorized(
    client: SandboxClient, subscribe: Subscribe, clock: ManualClock
) -> None:
    """A wrong secret, a timestamp 301 s old and an unregistered chatbot are all 401 UNAUTHORIZED."""
    await subscribe(PHONES["cmcc"], "cmcc", rcs=True)
    payload = {"userContact": f"tel:{PHONES['cmcc']}"}
    wrong = await maap_call(client, "cmcc", BOT, "contactCapabilities", payload, clock.now(), secret="x" * 32)
    clock_then = clock.now()
    clock.advance(301)
    stale = await maap_call(client, "cmcc", BOT, "contactCapabilities", payload, clock_then)
    unknown = await maap_call(client, "cmcc", "nobody", "contactCapabilities", payload, clock.now())
    for status, body in (wrong, stale, unknown):
        assert (status, body["error"]["code"]) == (401, "UNAUTHORIZED")


async def test_the_operators_app_is_a_chatbot(
    client: SandboxClient, config: SandboxConfig, subscribe: Subscribe, clock: ManualClock
) -> None:
    """The operator's registered application signs as chatbot ``app_id`` with ``app_key``."""
    await subscribe(PHONES["cucc"], "cucc", rcs=True)
    app = config.apps["cucc"]
    status, _ = await maap_call(
        client,
        "cucc",
        app.app_id,
        "contactCapabilities",
        {"userContact": f"tel:{PHONES['cucc']}"},
        clock.now(),
        secret=app.app_key,
    )
    assert status == 200


@pytest.mark.parametrize("op", OPERATORS)
async def test_send_shows_the_card_and_notifies_delivered_then_displayed(
    op: str, client: SandboxClient, subscribe: Subscribe, clock: ManualClock, receiver: CallbackReceiver
) -> None:
    """A 202 send reaches the phone's rich messages; the platform posts a signed ``delivered`` notification,
    ``displayed`` once the phone shows it, and a ``response`` with the postback when a button is tapped."""
    await subscribe(PHONES[op], op, rcs=True)
    status, body = await maap_call(
        client,
        op,
        BOT,
        "messages",
        rich_card("m-1", PHONES[op], "hap://app/com.example/claim?t=1"),
        clock.now(),
    )
    assert (status, body) == (202, {"RCSMessage": {"msgId": "m-1", "status": "pending"}})

    (shown,) = await (await client.get(f"/sandbox/devices/{PHONES[op]}/rich-messages")).json()
    assert shown["kind"] == "5g" and shown["from"] == BOT and shown["title"] == "理赔进度"
    assert shown["buttons"] == [
        {"text": "查看进度", "url": "hap://app/com.example/claim?t=1"},
        {"text": "稍后提醒", "url": None},
    ]
    (delivered,) = await receiver.wait_for(1)
    assert delivered.operator == f"{op}/maap"
    headers = {name.lower(): value for name, value in delivered.headers.items()}
    digest = hashlib.sha256(delivered.body).hexdigest()
    message = f"{headers['x-maap-timestamp']}\n{headers['x-maap-nonce']}\n{digest}"
    expected = hmac.new(BOT_SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
    assert headers["x-maap-signature"] == expected and headers["x-maap-bot-id"] == BOT
    event = json.loads(delivered.body)
    assert event["event"] == "messageStatus" and event["botId"] == BOT
    assert event["messageContact"] == {"userContact": f"tel:{PHONES[op]}"}
    assert (event["RCSMessage"]["msgId"], event["RCSMessage"]["status"]) == ("m-1", "delivered")

    tap = await client.post(
        f"/sandbox/devices/{PHONES[op]}/rich-messages/{shown['id']}/tap", json={"button": 0}
    )
    assert (tap.status, await tap.json()) == (202, {"url": "hap://app/com.example/claim?t=1"})
    await receiver.wait_for(3)
    displayed, response = _events(receiver)[1:]
    assert displayed["RCSMessage"]["status"] == "displayed"
    assert response["event"] == "response"
    assert response["RCSMessage"]["inReplyToMsgId"] == "m-1"
    assert response["RCSMessage"]["suggestedResponse"] == {
        "response": {"action": {"displayText": "查看进度", "postback": {"data": "open"}}}
    }


async def test_send_is_deduplicated_by_msg_id(
    client: SandboxClient, subscribe: Subscribe, clock: ManualClock, receiver: CallbackReceiver
) -> None:
    """The same msgId again answers 202 and shows nothing new."""
    await subscribe(PHONES["cmcc"], "cmcc", rcs=True)
    for _ in range(2):
        status, _ = await maap_call(
            client,
            "cmcc",
            BOT,
            "messages",
            rich_card("same", PHONES["cmcc"], "https://a.example/x"),
            clock.now(),
        )
        assert status == 202
    assert len(await (await client.get(f"/sandbox/devices/{PHONES['cmcc']}/rich-messages")).json()) == 1


async def test_send_refusals(client: SandboxClient, subscribe: Subscribe, clock: ManualClock) -> None:
    """A phone without 5G messages is 403 NOT_RCS_USER, a non-subscriber 404, a malformed body 400."""
    await subscribe(PHONES["ctcc"], "ctcc")
    incapable = await maap_call(
        client, "ctcc", BOT, "messages", rich_card("a", PHONES["ctcc"], "https://a.example/"), clock.now()
    )
    unknown = await maap_call(
        client, "ctcc", BOT, "messages", rich_card("b", PHONES["cmcc"], "https://a.example/"), clock.now()
    )
    card = rich_card("c", PHONES["ctcc"], "ftp://a.example/")
    malformed = await maap_call(client, "ctcc", BOT, "messages", card, clock.now())
    assert (incapable[0], incapable[1]["error"]["code"]) == (403, "NOT_RCS_USER")
    assert (unknown[0], unknown[1]["error"]["code"]) == (404, "UNKNOWN_USER")
    assert (malformed[0], malformed[1]["error"]["code"]) == (400, "INVALID_REQUEST")


async def test_faults_platform_down_failed_and_receipts_lost(
    client: SandboxClient, subscribe: Subscribe, clock: ManualClock, receiver: CallbackReceiver
) -> None:
    """maapDown answers 503; maapDelivery failed keeps the card off the phone and notifies ``failed``;
    ``none`` shows it and sends no notification at all, not even ``displayed``."""
    phone = PHONES["cmcc"]
    await subscribe(phone, "cmcc", rcs=True)
    await client.put("/sandbox/operators/cmcc/faults", json={"maapDown": True})
    down = await maap_call(
        client, "cmcc", BOT, "messages", rich_card("d", phone, "https://a.example/"), clock.now()
    )
    assert (down[0], down[1]["error"]["code"]) == (503, "SERVICE_UNAVAILABLE")

    await client.put("/sandbox/operators/cmcc/faults", json={"maapDown": False, "maapDelivery": "failed"})
    await maap_call(client, "cmcc", BOT, "messages", rich_card("f", phone, "https://a.example/"), clock.now())
    (failed,) = await receiver.wait_for(1)
    assert json.loads(failed.body)["RCSMessage"]["status"] == "failed"
    assert await (await client.get(f"/sandbox/devices/{phone}/rich-messages")).json() == []

    await client.put("/sandbox/operators/cmcc/faults", json={"maapDelivery": "none"})
    await maap_call(client, "cmcc", BOT, "messages", rich_card("n", phone, "https://a.example/"), clock.now())
    (shown,) = await (await client.get(f"/sandbox/devices/{phone}/rich-messages")).json()
    assert (await client.post(f"/sandbox/devices/{phone}/rich-messages/{shown['id']}/display")).status == 204
    await client.get(f"/sandbox/phone/{phone}")
    await asyncio.sleep(0.3)
    assert len(receiver.received) == 1


async def test_phone_page_renders_cards_inert(
    client: SandboxClient, subscribe: Subscribe, clock: ManualClock
) -> None:
    """The phone page renders a 5G card with markup in its title as text; an http(s) button is an anchor
    opening a new tab, a hap:// button is a plain button showing the link (no quick-app runtime)."""
    phone = PHONES["cmcc"]
    await subscribe(phone, "cmcc", rcs=True)
    card = rich_card("x", phone, "hap://app/com.example/claim?t=1")
    content = card["RCSMessage"]["richcardMessage"]["message"]["generalPurposeCard"]["content"]
    content["title"] = '<img src=x onerror="alert(1)">'
    content["suggestions"].append(
        {
            "action": {
                "displayText": "网页",
                "postback": {"data": "web"},
                "urlAction": {"openUrl": {"url": "https://gw.example/l/a?b=1&c=2"}},
            }
        }
    )
    assert (await maap_call(client, "cmcc", BOT, "messages", card, clock.now()))[0] == 202

    html = await (await client.get(f"/sandbox/phone/{phone}")).text()

    assert "<img" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert '<button type="button" class="button" data-index="0">查看进度</button>' in html
    assert "快应用 hap://app/com.example/claim?t=1" in html
    assert (
        '<a class="button" data-index="2" href="https://gw.example/l/a?b=1&amp;c=2" target="_blank"'
        ' rel="noopener">网页</a>'
    ) in html
