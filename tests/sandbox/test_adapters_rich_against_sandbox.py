"""The real MaaP and card clients against a running sandbox over 127.0.0.1 sockets (the production
transport): capability, send, the callbacks the sandbox POSTed parsed and verified by the clients, taps,
and the faults (platform down, delivery failed, receipts lost)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pytest_aiohttp import AiohttpClient

from carrier_adapters import (
    CarrierRejected,
    CarrierUnavailable,
    LineNotEligible,
    NumberNotServed,
    build_card_clients,
    build_maap_clients,
)
from carrier_adapters.cards import (
    CardAccountConfig,
    CardButton,
    CardClient,
    CardReceipt,
    CardReceiptEvent,
    CardTemplateSpec,
    ReviewState,
)
from carrier_adapters.cards.types import VENDORS
from carrier_adapters.maap import (
    ChatbotConfig,
    MaapClient,
    MaapStatus,
    MaapStatusEvent,
    RichCard,
    Suggestion,
    SuggestionResponse,
)
from gateway.outbound import GuardedTransport, build_operator_transport
from sandbox import SandboxConfig, create_sandbox_app
from tests.clocks import ManualClock
from tests.sandbox.conftest import CallbackReceiver, SandboxClient, Subscribe
from tests.sandbox.dialects import OPERATORS, PHONES
from tests.sandbox.rich_client import BOT_SECRET, CARD_KEY

BOT = "bot-tenant-a"
CARD = RichCard(
    "理赔进度",
    "您的理赔已受理, 请上传照片",
    (Suggestion("查看进度", "open", "https://gw.example/l/Zx81"), Suggestion("稍后提醒", "later")),
    media_url="https://cdn.example/claim.png",
    media_content_type="image/png",
)
SPEC = CardTemplateSpec(
    "claim",
    "${company}理赔",
    "案件 ${case} 已受理",
    (CardButton("查看", "OPEN_URL", "${link}"),),
)
PARAMS = {"company": "平安", "case": "A1", "link": "https://gw.example/l/Zx81"}


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient, callback_config: SandboxConfig, clock: ManualClock
) -> SandboxClient:
    """A sandbox posting callbacks to the receiver, chatbot BOT at every operator, card account tenant-a."""
    client = await aiohttp_client(create_sandbox_app(callback_config, clock=clock))
    for op in OPERATORS:
        assert (
            await client.put(f"/sandbox/maap/{op}/chatbots/{BOT}", json={"secret": BOT_SECRET})
        ).status == 200
    assert (await client.put("/sandbox/cards/accounts/tenant-a", json={"appKey": CARD_KEY})).status == 200
    return client


@pytest.fixture
async def transport() -> AsyncIterator[GuardedTransport]:
    """The production transport of operator calls."""
    operator_transport = build_operator_transport()
    yield operator_transport
    await operator_transport.aclose()


@pytest.fixture
def maap(client: SandboxClient, transport: GuardedTransport, clock: ManualClock) -> dict[str, MaapClient]:
    """BOT's client at each operator's platform."""
    base = str(client.make_url("")).rstrip("/")
    configs = [ChatbotConfig(op, f"{base}/{op}/maap", BOT, BOT_SECRET, timeout=2.0) for op in OPERATORS]
    return {op: c for (op, _), c in build_maap_clients(configs, transport, clock=clock.now).items()}


@pytest.fixture
def cards(client: SandboxClient, transport: GuardedTransport, clock: ManualClock) -> dict[str, CardClient]:
    """tenant-a's client at each vendor's platform."""
    base = str(client.make_url("")).rstrip("/")
    configs = [
        CardAccountConfig(vendor, f"{base}/cards/{vendor}", "tenant-a", CARD_KEY, timeout=2.0)
        for vendor in VENDORS
    ]
    return {vendor: c for (vendor, _), c in build_card_clients(configs, transport, clock=clock.now).items()}


@pytest.mark.parametrize("op", OPERATORS)
async def test_5g_card_delivered_displayed_and_tapped(
    op: str,
    client: SandboxClient,
    maap: dict[str, MaapClient],
    subscribe: Subscribe,
    receiver: CallbackReceiver,
    clock: ManualClock,
) -> None:
    """Capable number: the card reaches the phone; the client verifies and decodes delivered, displayed
    (the phone page shows it) and the response of a tap on the openUrl button."""
    phone = PHONES[op]
    await subscribe(phone, op, rcs=True)
    bot = maap[op]
    assert (await bot.capabilities(phone)).capable

    submission = await bot.send(CARD, to=phone, msg_id="msg-1")

    assert submission.msg_id == "msg-1"
    (card,) = await (await client.get(f"/sandbox/devices/{phone}/rich-messages")).json()
    assert card["buttons"][0] == {"text": "查看进度", "url": "https://gw.example/l/Zx81"}
    assert card["mediaUrl"] == "https://cdn.example/claim.png"
    await receiver.wait_for(1)
    assert (await client.get(f"/sandbox/phone/{phone}")).status == 200
    await receiver.wait_for(2)
    tap = await client.post(f"/sandbox/devices/{phone}/rich-messages/{card['id']}/tap", json={"button": 0})
    assert (await tap.json())["url"] == "https://gw.example/l/Zx81"
    callbacks = await receiver.wait_for(3)

    events = [bot.parse_callback(c.body, c.headers) for c in callbacks]
    assert all(c.operator == f"{op}/maap" for c in callbacks)
    assert events[:2] == [
        MaapStatusEvent(op, BOT, "msg-1", phone, MaapStatus.DELIVERED, clock.now()),
        MaapStatusEvent(op, BOT, "msg-1", phone, MaapStatus.DISPLAYED, clock.now()),
    ]
    response = events[2]
    assert isinstance(response, SuggestionResponse)
    assert (response.in_reply_to, response.text, response.postback, response.phone_number) == (
        "msg-1",
        "查看进度",
        "open",
        phone,
    )


async def test_5g_refusals(maap: dict[str, MaapClient], subscribe: Subscribe) -> None:
    """A phone without 5G messages is not capable and its send LineNotEligible; another operator's
    number NumberNotServed; a chatbot with a wrong secret CarrierRejected."""
    await subscribe(PHONES["cucc"], "cucc")
    bot = maap["cucc"]
    assert not (await bot.capabilities(PHONES["cucc"])).capable
    with pytest.raises(LineNotEligible):
        await bot.send(CARD, to=PHONES["cucc"], msg_id="a")
    with pytest.raises(NumberNotServed):
        await bot.send(CARD, to=PHONES["cmcc"], msg_id="b")


async def test_5g_wrong_secret_is_rejected(
    client: SandboxClient, transport: GuardedTransport, clock: ManualClock, subscribe: Subscribe
) -> None:
    """The platform refuses a chatbot signing with the wrong secret (401 → CarrierRejected)."""
    await subscribe(PHONES["ctcc"], "ctcc", rcs=True)
    base = str(client.make_url("")).rstrip("/")
    wrong = MaapClient(ChatbotConfig("ctcc", f"{base}/ctcc/maap", BOT, "w" * 32), transport, clock=clock.now)
    with pytest.raises(CarrierRejected) as caught:
        await wrong.capabilities(PHONES["ctcc"])
    assert caught.value.code == "UNAUTHORIZED"


async def test_5g_faults(
    client: SandboxClient,
    maap: dict[str, MaapClient],
    subscribe: Subscribe,
    receiver: CallbackReceiver,
    clock: ManualClock,
) -> None:
    """maapDown: CarrierUnavailable; the operator down (connection dropped): CarrierUnavailable;
    maapDelivery failed: a FAILED status; none: accepted, shown, no status at all."""
    phone = PHONES["cmcc"]
    await subscribe(phone, "cmcc", rcs=True)
    bot = maap["cmcc"]
    await client.put("/sandbox/operators/cmcc/faults", json={"maapDown": True})
    with pytest.raises(CarrierUnavailable):
        await bot.send(CARD, to=phone, msg_id="d")
    await client.put("/sandbox/operators/cmcc/faults", json={"maapDown": False, "down": True})
    with pytest.raises(CarrierUnavailable):
        await bot.capabilities(phone)
    await client.put("/sandbox/operators/cmcc/faults", json={"down": False, "maapDelivery": "failed"})
    await bot.send(CARD, to=phone, msg_id="f")
    (failed,) = await receiver.wait_for(1)
    assert bot.parse_callback(failed.body, failed.headers) == MaapStatusEvent(
        "cmcc", BOT, "f", phone, MaapStatus.FAILED, clock.now()
    )
    await client.put("/sandbox/operators/cmcc/faults", json={"maapDelivery": "none"})
    await bot.send(CARD, to=phone, msg_id="n")
    await client.get(f"/sandbox/phone/{phone}")
    await asyncio.sleep(0.3)
    assert len(receiver.received) == 1
    assert len(await (await client.get(f"/sandbox/devices/{phone}/rich-messages")).json()) == 1


@pytest.mark.parametrize("vendor", VENDORS)
async def test_card_sms_rendered_and_clicked(
    vendor: str,
    client: SandboxClient,
    cards: dict[str, CardClient],
    subscribe: Subscribe,
    receiver: CallbackReceiver,
    clock: ManualClock,
) -> None:
    """Register → approved, support, send with parameters; RENDERED and CLICKED parse and verify."""
    phone = PHONES["ctcc"]
    await subscribe(phone, "ctcc", vendor=vendor)
    card_client = cards[vendor]
    registered = await card_client.register_template(SPEC)
    assert registered.state is ReviewState.PENDING
    assert (await card_client.template_review(registered.template_id)).state is ReviewState.APPROVED
    assert await card_client.supports([phone, PHONES["cmcc"]]) == {phone: True, PHONES["cmcc"]: False}

    submission = await card_client.send(registered.template_id, to=phone, params=PARAMS, biz_id="biz-1")

    (card,) = await (await client.get(f"/sandbox/devices/{phone}/rich-messages")).json()
    assert (card["title"], card["buttons"]) == (
        "平安理赔",
        [{"text": "查看", "url": "https://gw.example/l/Zx81"}],
    )
    await receiver.wait_for(1)
    await client.post(f"/sandbox/devices/{phone}/rich-messages/{card['id']}/tap", json={"button": 0})
    callbacks = await receiver.wait_for(2)
    receipts = [card_client.parse_callback(c.body, c.headers) for c in callbacks]
    assert receipts == [
        CardReceipt(
            vendor, "tenant-a", submission.card_msg_id, "biz-1", phone, CardReceiptEvent.RENDERED, clock.now()
        ),
        CardReceipt(
            vendor,
            "tenant-a",
            submission.card_msg_id,
            "biz-1",
            phone,
            CardReceiptEvent.CLICKED,
            clock.now(),
            0,
        ),
    ]


async def test_card_refusals_and_review(
    client: SandboxClient, cards: dict[str, CardClient], subscribe: Subscribe
) -> None:
    """Another vendor's phone: unsupported and LineNotEligible (3001, fall back to SMS); a pending
    template: CarrierRejected 2002; a rejected one reads rejected with its reason."""
    phone = PHONES["cucc"]
    await subscribe(phone, "cucc", vendor="oppo")
    await client.put("/sandbox/cards/xiaomi/faults", json={"reviewOutcome": "pending"})
    xiaomi = cards["xiaomi"]
    pending = await xiaomi.register_template(SPEC)
    with pytest.raises(CarrierRejected) as caught:
        await xiaomi.send(pending.template_id, to=phone, params=PARAMS, biz_id="p")
    assert caught.value.code == "2002"
    await client.put(f"/sandbox/cards/xiaomi/templates/{pending.template_id}", json={"state": "approved"})
    assert await xiaomi.supports([phone]) == {phone: False}
    with pytest.raises(LineNotEligible) as not_eligible:
        await xiaomi.send(pending.template_id, to=phone, params=PARAMS, biz_id="q")
    assert not_eligible.value.code == "3001"
    await client.put("/sandbox/cards/oppo/faults", json={"reviewOutcome": "rejected"})
    rejected = await cards["oppo"].register_template(SPEC)
    review = await cards["oppo"].template_review(rejected.template_id)
    assert review.state is ReviewState.REJECTED and review.reason


async def test_card_faults(
    client: SandboxClient, cards: dict[str, CardClient], subscribe: Subscribe, receiver: CallbackReceiver
) -> None:
    """A down vendor is CarrierUnavailable; delivery failed gives FAILED; none: accepted, no receipt."""
    phone = PHONES["cmcc"]
    await subscribe(phone, "cmcc", vendor="vivo")
    vivo = cards["vivo"]
    template = await vivo.register_template(SPEC)
    await client.put("/sandbox/cards/vivo/faults", json={"down": True})
    with pytest.raises(CarrierUnavailable):
        await vivo.send(template.template_id, to=phone, params=PARAMS, biz_id="d")
    await client.put("/sandbox/cards/vivo/faults", json={"down": False, "delivery": "failed"})
    await vivo.send(template.template_id, to=phone, params=PARAMS, biz_id="f")
    (failed,) = await receiver.wait_for(1)
    assert vivo.parse_callback(failed.body, failed.headers).event is CardReceiptEvent.FAILED
    await client.put("/sandbox/cards/vivo/faults", json={"delivery": "none"})
    await vivo.send(template.template_id, to=phone, params=PARAMS, biz_id="n")
    await asyncio.sleep(0.3)
    assert len(receiver.received) == 1
