"""The handset vendors' card-SMS platforms (docs/operator-dialects.md, "Card SMS"), called with hand-signed
requests: accounts, template review, support query, send with parameters, receipts, taps and faults."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from sandbox import SandboxConfig, create_sandbox_app
from tests.clocks import ManualClock
from tests.sandbox.conftest import CallbackReceiver, SandboxClient, Subscribe
from tests.sandbox.rich_client import CARD_KEY, card_call

VENDORS = ("huawei", "honor", "xiaomi", "oppo", "vivo")
PHONE = "+8613800138000"
TEMPLATE = {
    "name": "claim",
    "title": "${company}理赔",
    "description": "您的案件 ${case} 已受理",
    "buttons": [{"text": "查看", "actionType": "OPEN_URL", "action": "${link}"}],
}


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient, callback_config: SandboxConfig, clock: ManualClock
) -> SandboxClient:
    """A sandbox posting callbacks to the receiver, with card account ``tenant-a``."""
    client = await aiohttp_client(create_sandbox_app(callback_config, clock=clock))
    response = await client.put("/sandbox/cards/accounts/tenant-a", json={"appKey": CARD_KEY})
    assert response.status == 200
    return client


async def _approved(client: SandboxClient, vendor: str, clock: ManualClock) -> str:
    answer = await card_call(client, vendor, "templates", TEMPLATE, clock.now())
    assert answer["code"] == "0" and answer["data"]["state"] == "pending"
    template_id: str = answer["data"]["templateId"]
    query = await card_call(client, vendor, "templates/query", {"templateId": template_id}, clock.now())
    assert query["data"] == {"templateId": template_id, "state": "approved"}
    return template_id


def _send(template_id: str, biz_id: str = "b-1", **params: str) -> dict[str, Any]:
    values = {"company": "平安", "case": "A1", "link": "https://gw.example/l/x", **params}
    return {"templateId": template_id, "mobile": PHONE[3:], "params": values, "bizId": biz_id}


@pytest.mark.parametrize("vendor", VENDORS)
async def test_send_renders_and_receipts(
    vendor: str, client: SandboxClient, subscribe: Subscribe, clock: ManualClock, receiver: CallbackReceiver
) -> None:
    """A phone of the vendor supports cards; the send fills the parameters, the card appears on the phone,
    RENDERED is posted to …/cards/{vendor}, a tap answers the link and posts CLICKED."""
    await subscribe(PHONE, "cmcc", vendor=vendor)
    template_id = await _approved(client, vendor, clock)
    support = await card_call(client, vendor, "support", {"mobiles": [PHONE[3:], "13900000000"]}, clock.now())
    assert support["data"]["results"] == [
        {"mobile": PHONE[3:], "support": True},
        {"mobile": "13900000000", "support": False},
    ]
    sent = await card_call(client, vendor, "send", _send(template_id), clock.now())
    assert sent["code"] == "0" and len(sent["data"]["cardMsgId"]) == 32

    (card,) = await (await client.get(f"/sandbox/devices/{PHONE}/rich-messages")).json()
    assert (card["kind"], card["from"], card["title"], card["description"]) == (
        "card",
        vendor,
        "平安理赔",
        "您的案件 A1 已受理",
    )
    assert card["buttons"] == [{"text": "查看", "url": "https://gw.example/l/x"}]
    (rendered,) = await receiver.wait_for(1)
    assert rendered.operator == f"cards/{vendor}"
    receipt = json.loads(rendered.body)
    assert (receipt["event"], receipt["cardMsgId"], receipt["bizId"], receipt["mobile"]) == (
        "RENDERED",
        sent["data"]["cardMsgId"],
        "b-1",
        PHONE[3:],
    )
    tap = await client.post(f"/sandbox/devices/{PHONE}/rich-messages/{card['id']}/tap", json={"button": 0})
    assert (await tap.json())["url"] == "https://gw.example/l/x"
    await receiver.wait_for(2)
    clicked = json.loads(receiver.received[1].body)
    assert (clicked["event"], clicked["button"]) == ("CLICKED", 0)


async def test_phones_of_another_vendor_are_not_supported(
    client: SandboxClient, subscribe: Subscribe, clock: ManualClock
) -> None:
    """A phone of vendor "other" (the default) or of another vendor gets 3001 and no card."""
    await subscribe(PHONE, "cucc")
    template_id = await _approved(client, "xiaomi", clock)
    assert (await card_call(client, "xiaomi", "send", _send(template_id), clock.now()))["code"] == "3001"
    await client.put(f"/sandbox/devices/{PHONE}", json={"vendor": "oppo"})
    assert (await card_call(client, "xiaomi", "send", _send(template_id), clock.now()))["code"] == "3001"
    assert await (await client.get(f"/sandbox/devices/{PHONE}/rich-messages")).json() == []


async def test_review_states_and_their_codes(
    client: SandboxClient, subscribe: Subscribe, clock: ManualClock
) -> None:
    """A template stays pending under reviewOutcome pending (send 2002); rejected by hand it carries a
    reason; an unknown id is 2001; missing parameters 2003; the same bizId answers the same cardMsgId."""
    await subscribe(PHONE, "ctcc", vendor="vivo")
    await client.put("/sandbox/cards/vivo/faults", json={"reviewOutcome": "pending"})
    answer = await card_call(client, "vivo", "templates", TEMPLATE, clock.now())
    template_id = answer["data"]["templateId"]
    assert (await card_call(client, "vivo", "send", _send(template_id), clock.now()))["code"] == "2002"
    await client.put(
        f"/sandbox/cards/vivo/templates/{template_id}", json={"state": "rejected", "reason": "图片"}
    )
    query = await card_call(client, "vivo", "templates/query", {"templateId": template_id}, clock.now())
    assert query["data"] == {"templateId": template_id, "state": "rejected", "reason": "图片"}
    assert (await card_call(client, "vivo", "send", _send("vivo-99"), clock.now()))["code"] == "2001"
    assert (await card_call(client, "huawei", "templates/query", {"templateId": template_id}, clock.now()))[
        "code"
    ] == "2001"

    await client.put(f"/sandbox/cards/vivo/templates/{template_id}", json={"state": "approved"})
    partial = {**_send(template_id), "params": {"company": "平安"}}
    assert (await card_call(client, "vivo", "send", partial, clock.now()))["code"] == "2003"
    first = await card_call(client, "vivo", "send", _send(template_id, "same"), clock.now())
    again = await card_call(client, "vivo", "send", _send(template_id, "same"), clock.now())
    assert first["data"] == again["data"]
    assert len(await (await client.get(f"/sandbox/devices/{PHONE}/rich-messages")).json()) == 1


async def test_authentication_codes(client: SandboxClient, clock: ManualClock) -> None:
    """An unknown account or a wrong key is 1001, a timestamp 301 s away 1002, a bad body 1004."""
    assert (
        await card_call(client, "oppo", "support", {"mobiles": ["13800138000"]}, clock.now(), app_id="x")
    )["code"] == "1001"
    wrong = await card_call(
        client, "oppo", "support", {"mobiles": ["13800138000"]}, clock.now(), key="w" * 32
    )
    assert wrong["code"] == "1001"
    then = clock.now()
    clock.advance(301)
    assert (await card_call(client, "oppo", "support", {"mobiles": ["13800138000"]}, then))["code"] == "1002"
    assert (await card_call(client, "oppo", "support", {"mobiles": []}, clock.now()))["code"] == "1004"


async def test_faults_down_failed_and_receipts_lost(
    client: SandboxClient, subscribe: Subscribe, clock: ManualClock, receiver: CallbackReceiver
) -> None:
    """down answers 503; delivery failed posts FAILED and shows nothing; none shows the card and posts
    nothing, not even CLICKED; DELETE /sandbox/faults clears the vendor's faults."""
    await subscribe(PHONE, "cmcc", vendor="honor")
    template_id = await _approved(client, "honor", clock)
    assert (await client.put("/sandbox/cards/honor/faults", json={"down": True})).status == 200
    response = await client.post("/cards/honor/v1/send", json={})
    assert response.status == 503
    faults = await client.put("/sandbox/cards/honor/faults", json={"down": False, "delivery": "failed"})
    assert (await faults.json())["delivery"] == "failed"
    await card_call(client, "honor", "send", _send(template_id, "f"), clock.now())
    (failed,) = await receiver.wait_for(1)
    assert json.loads(failed.body)["event"] == "FAILED"
    assert await (await client.get(f"/sandbox/devices/{PHONE}/rich-messages")).json() == []

    await client.put("/sandbox/cards/honor/faults", json={"delivery": "none"})
    await card_call(client, "honor", "send", _send(template_id, "n"), clock.now())
    (card,) = await (await client.get(f"/sandbox/devices/{PHONE}/rich-messages")).json()
    await client.post(f"/sandbox/devices/{PHONE}/rich-messages/{card['id']}/tap", json={"button": 0})
    await asyncio.sleep(0.3)
    assert len(receiver.received) == 1
    assert (await client.delete("/sandbox/faults")).status == 204
    assert (await (await client.get("/sandbox/cards/honor/faults")).json())["delivery"] == "rendered"
