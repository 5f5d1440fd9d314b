"""A 5G message and a card SMS on the sandbox phone page in a real browser (headless Debian chromium via
Playwright, :func:`tests.chromium.launch_chromium`): both show as cards, and tapping the button opens the
link's page in a new tab, as an SMS link does, while the platform hears of the tap."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect
from pytest_aiohttp import AiohttpClient

from sandbox import SandboxConfig, create_sandbox_app
from tests.chromium import launch_chromium
from tests.clocks import ManualClock
from tests.sandbox.conftest import CallbackReceiver, SandboxClient, Subscribe
from tests.sandbox.rich_client import BOT_SECRET, CARD_KEY, card_call, maap_call, rich_card

PHONE = "+8613800138000"
BOT = "bot-tenant-a"


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient, callback_config: SandboxConfig, clock: ManualClock
) -> SandboxClient:
    """A sandbox posting callbacks to the receiver, with chatbot BOT at cmcc and card account tenant-a."""
    client = await aiohttp_client(create_sandbox_app(callback_config, clock=clock))
    assert (await client.put(f"/sandbox/maap/cmcc/chatbots/{BOT}", json={"secret": BOT_SECRET})).status == 200
    assert (await client.put("/sandbox/cards/accounts/tenant-a", json={"appKey": CARD_KEY})).status == 200
    return client


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless chromium."""
    async with launch_chromium() as launched:
        yield launched


@pytest.fixture
async def phone_page(client: SandboxClient, browser: Browser, subscribe: Subscribe) -> AsyncIterator[Page]:
    """The page of a cmcc phone with 5G messages, made by huawei, open in a fresh browser context."""
    await subscribe(PHONE, "cmcc", rcs=True, vendor="huawei")
    context = await browser.new_context(locale="zh-CN")
    page = await context.new_page()
    await page.goto(str(client.make_url(f"/sandbox/phone/{PHONE}")))
    yield page
    await context.close()


async def _tap_opens(page: Page, button_text: str, url: str) -> None:
    button = page.locator("#cards .button", has_text=button_text)
    async with page.context.expect_page() as opened:
        await button.click()
    tab = await opened.value
    await tab.wait_for_load_state()
    assert tab.url == url
    assert await tab.title() == "landing"
    await tab.close()


async def test_5g_card_button_opens_its_link(
    client: SandboxClient, phone_page: Page, receiver: CallbackReceiver, clock: ManualClock
) -> None:
    """A 5G message sent after the page loaded appears as a card (title, description, buttons); its
    openUrl button opens the link's page in a new tab; the platform posts displayed and the response."""
    page = phone_page
    link = f"{receiver.url}/landing"
    status, _ = await maap_call(client, "cmcc", BOT, "messages", rich_card("m-1", PHONE, link), clock.now())
    assert status == 202

    card = page.locator("#cards li.card")
    await expect(card).to_have_count(1, timeout=5000)
    await expect(card).to_contain_text("理赔进度")
    await expect(card).to_contain_text("您的理赔已受理")
    await expect(card.locator(".button")).to_have_count(2)
    assert await card.locator("a.button").get_attribute("href") == link

    await _tap_opens(page, "查看进度", link)

    callbacks = await receiver.wait_for(3)
    events = [json.loads(callback.body) for callback in callbacks]
    assert [event["event"] for event in events] == ["messageStatus", "messageStatus", "response"]
    assert [event["RCSMessage"].get("status") for event in events[:2]] == ["delivered", "displayed"]
    assert events[2]["RCSMessage"]["suggestedResponse"]["response"]["action"]["postback"] == {"data": "open"}


async def test_card_sms_button_opens_its_link(
    client: SandboxClient,
    browser: Browser,
    subscribe: Subscribe,
    receiver: CallbackReceiver,
    clock: ManualClock,
) -> None:
    """A card SMS sent before the page opened is rendered by the server as a card; its button opens the
    link's page in a new tab and the vendor posts CLICKED after RENDERED."""
    await subscribe(PHONE, "cmcc", vendor="huawei")
    template = {
        "name": "claim",
        "title": "${company}理赔",
        "description": "案件 ${case} 已受理",
        "buttons": [{"text": "立即查看", "actionType": "OPEN_URL", "action": "${link}"}],
    }
    registered = await card_call(client, "huawei", "templates", template, clock.now())
    template_id = registered["data"]["templateId"]
    link = f"{receiver.url}/landing"
    send = {
        "templateId": template_id,
        "mobile": PHONE[3:],
        "params": {"company": "平安", "case": "A1", "link": link},
        "bizId": "b-1",
    }
    assert (await card_call(client, "huawei", "send", send, clock.now()))["code"] == "0"

    context = await browser.new_context(locale="zh-CN")
    page = await context.new_page()
    await page.goto(str(client.make_url(f"/sandbox/phone/{PHONE}")))
    card = page.locator("#cards li.card")
    await expect(card).to_have_count(1)
    await expect(card).to_contain_text("平安理赔")
    await expect(card).to_contain_text("卡片短信 · huawei")

    await _tap_opens(page, "立即查看", link)

    callbacks = await receiver.wait_for(2)
    assert [json.loads(callback.body)["event"] for callback in callbacks] == ["RENDERED", "CLICKED"]
    assert await page.locator("#inbox li").count() == 0
    await context.close()
