"""The sandbox phone page in a real browser (headless Debian chromium via Playwright): the inbox refreshes
by itself, hostile SMS text stays text, links carry the phone's cellular session, replies reach the
operator's callback receiver. The browser is :func:`tests.chromium.launch_chromium`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from playwright.async_api import Browser, Page, expect
from pytest_aiohttp import AiohttpClient

from sandbox import SandboxConfig, create_sandbox_app
from sandbox.appkeys import STATE
from tests.chromium import launch_chromium
from tests.clocks import ManualClock
from tests.sandbox.conftest import CallbackReceiver, SandboxClient, Subscribe
from tests.sandbox.dialects import SMS_SENDER, SMS_SUBMIT, open_callback, sms_submission

PHONE = "+8613800138000"
AT = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient, callback_config: SandboxConfig, clock: ManualClock
) -> SandboxClient:
    """A sandbox whose operators POST their callbacks to the receiver."""
    return await aiohttp_client(create_sandbox_app(callback_config, clock=clock))


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless chromium (:func:`tests.chromium.launch_chromium`)."""
    async with launch_chromium() as launched:
        yield launched


@pytest.fixture
async def phone_page(client: SandboxClient, browser: Browser, subscribe: Subscribe) -> AsyncIterator[Page]:
    """The cmcc phone's page, open in a fresh browser context."""
    await subscribe(PHONE, "cmcc")
    context = await browser.new_context(locale="zh-CN")
    page = await context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await page.goto(str(client.make_url(f"/sandbox/phone/{PHONE}")))
    yield page
    assert dialogs == [], "a script from an SMS ran"
    await context.close()


async def test_inbox_refreshes_and_keeps_hostile_text_inert(client: SandboxClient, phone_page: Page) -> None:
    """New SMS appear within a refresh, newest first; markup in an SMS is shown, never run."""
    page = phone_page
    await expect(page.locator("#empty")).to_be_visible()
    state = client.app[STATE]
    state.inboxes.deliver(PHONE, "10086", '<img src=x onerror="alert(1)"><script>alert(2)</script>', AT)
    state.inboxes.deliver(PHONE, SMS_SENDER, "【平安银行】请点击 https://gw.example/l/aB3 查看。", AT)

    items = page.locator("#inbox li")
    await expect(items).to_have_count(2, timeout=5000)
    await expect(items.nth(0)).to_contain_text("【平安银行】请点击")
    await expect(items.nth(1)).to_contain_text("<script>alert(2)</script>")
    assert await page.locator("#inbox img, #inbox script").count() == 0
    assert await page.locator("#inbox a").get_attribute("href") == "https://gw.example/l/aB3"
    await expect(page.locator("#empty")).to_be_hidden()


async def test_links_carry_the_cellular_session(
    client: SandboxClient, phone_page: Page, config: SandboxConfig, receiver: CallbackReceiver
) -> None:
    """A link tapped on the page opens a page of another origin (the gateway's landing page) whose
    credentialed cross-origin call to the operator's H5 endpoint carries the sandbox_phone cookie:
    CORS lets it through and the operator identifies the phone."""
    page = phone_page
    client.app[STATE].inboxes.deliver(PHONE, SMS_SENDER, f"打开 {receiver.url}/landing 查看", AT)
    link = page.locator("#inbox a")
    await expect(link).to_have_count(1, timeout=5000)

    async with page.context.expect_page() as opened:
        await link.click()
    tab = await opened.value
    await tab.wait_for_load_state()
    answer = await tab.evaluate(
        """async ([url, appId]) => {
            const response = await fetch(url, {method: "POST", credentials: "include",
                headers: {"Content-Type": "application/json"}, body: JSON.stringify({appId})});
            return {status: response.status, body: await response.json()};
        }""",
        [str(client.make_url("/cmcc/h5/token")), config.apps["cmcc"].app_id],
    )

    assert answer["status"] == 200 and answer["body"]["operator"] == "cmcc"
    issued = client.app[STATE].tokens.get(answer["body"]["token"])
    assert issued is not None and issued.phone_number == PHONE


async def test_reply_box_sends_an_mo(
    client: SandboxClient,
    phone_page: Page,
    config: SandboxConfig,
    clock: ManualClock,
    receiver: CallbackReceiver,
) -> None:
    """Typing TD and sending makes the operator POST a signed MO for the latest SMS."""
    page = phone_page
    submission = sms_submission(
        "cmcc",
        config.apps["cmcc"],
        clock.now(),
        to=PHONE,
        text="【平安银行】营销短信 回T退订",
        reference="m-1",
    )
    await client.post(SMS_SUBMIT["cmcc"], **submission)
    await receiver.wait_for(1)

    await page.fill("input[name=text]", "TD")
    await page.click("button[type=submit]")

    await expect(page.locator("#reply-status")).to_have_text(f"已回复 {SMS_SENDER}")
    callback = (await receiver.wait_for(2))[1]
    fields = open_callback("cmcc", config.apps["cmcc"], callback.body, callback.headers)
    assert (fields["kind"], fields["msgContent"], fields["spMsgId"]) == ("reply", "TD", "m-1")
