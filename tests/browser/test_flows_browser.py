"""The links and flows in a real browser (headless chromium via Playwright), as people use them:
phones open the SMS link from the sandbox phone page (which sets the phone's cellular identity),
the landing page gets an H5 token from the recipient's operator and redeems the link; the
insurer's and bank's webhook receivers verify every event with standardwebhooks."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.async_api import Browser, BrowserContext, Page, expect

from gateway.db import create_engine
from tests.browser.conftest import SHANGHAI, phone_context
from tests.stack import Stack
from tests.unit.console.support import create_staff
from tests.unit.flows.support import Tenant, dumps
from tests.unit.webhooks.support import Receiver

pytestmark = pytest.mark.browser
CLAIM = {"claimNo": "BA2026-0042", "insurerName": "平安产险"}
SMS_WAIT_MS = 15_000
ANDROID = "Mozilla/5.0 (Linux; Android 14; SandboxPhone) AppleWebKit/537.36 Chrome/156.0 Mobile Safari/537.36"
GEO_SPY = """
window.__geolocationCalls = 0;
if (navigator.geolocation) {
  const original = navigator.geolocation.getCurrentPosition.bind(navigator.geolocation);
  navigator.geolocation.getCurrentPosition = function (...args) {
    window.__geolocationCalls += 1;
    return original(...args);
  };
}
"""


async def _open_inbox(context: BrowserContext, stack: Stack, phone: str) -> Page:
    page = await context.new_page()
    await page.goto(f"{stack.sandbox_url}/sandbox/phone/{phone}")
    return page


async def _tap_link(context: BrowserContext, inbox: Page, nth: int = 0) -> Page:
    """Wait for the ``nth`` (oldest first) SMS with a gateway link and tap it; the landing page."""
    links = inbox.locator('a[href*="/l/"]')
    await expect(links.nth(nth)).to_be_visible(timeout=SMS_WAIT_MS)
    count = await links.count()
    async with context.expect_page() as opened:
        await links.nth(count - 1 - nth).click()
    landing = await opened.value
    await landing.wait_for_load_state()
    return landing


async def test_holder_shares_the_claim_location(browser: Browser, live: Stack, receiver: Receiver) -> None:
    """The recipient opens the claim SMS from the phone page, sees who asks for what and why,
    nothing is requested before consent; after "share" the page shows the accuracy in metres and
    the insurer's receiver gets a verified claim.location_shared with the coordinates."""
    insurer = await Tenant.create(live, receiver)
    phone = await live.subscriber("cmcc")
    template = await insurer.builtin("claim-location")
    message_id, _ = await insurer.send(template, phone, CLAIM)
    context = await phone_context(browser, live, geolocation=True)
    await context.add_init_script(GEO_SPY)

    inbox = await _open_inbox(context, live, phone)
    landing = await _tap_link(context, inbox)

    consent = landing.locator("#claim-consent")
    await expect(consent).to_be_visible(timeout=10_000)
    await expect(consent).to_contain_text("平安产险")
    await expect(consent).to_contain_text("BA2026-0042")
    await expect(consent).to_contain_text("敏感个人信息")
    await expect(consent).to_contain_text("With whom")
    assert await landing.evaluate("window.__geolocationCalls") == 0
    await landing.locator("#share").click()
    done = landing.locator("#claim-done")
    await expect(done).to_be_visible(timeout=10_000)
    await expect(landing.locator("#done-accuracy")).to_contain_text("15 米")
    assert await landing.evaluate("window.__geolocationCalls") == 1

    [event] = await insurer.wait_event("claim.location_shared")
    location = event["data"]["location"]
    assert location["latitude"] == pytest.approx(SHANGHAI["latitude"])
    assert location["longitude"] == pytest.approx(SHANGHAI["longitude"])
    assert location["accuracyMeters"] == pytest.approx(15)
    assert event["data"]["claim"] == CLAIM and event["data"]["messageId"] == message_id
    assert (await insurer.wait_status(message_id, "completed"))["status"] == "completed"
    await context.close()


async def test_forwarded_link_is_refused_on_another_phone(
    browser: Browser, live: Stack, receiver: Receiver
) -> None:
    """The same link opened on another phone of the same operator, and on a phone of another
    operator, shows "此链接属于另一部手机 · This link is for another phone" (Chinese first, English
    beside) and the insurer gets link.rejected (NUMBER_MISMATCH, then OPERATOR_MISMATCH without an
    operator check) with no number in it; tapping "try" again on the refused phone makes no new
    check. The holder can still use the link."""
    insurer = await Tenant.create(live, receiver)
    holder, forwardee = await live.subscriber("cmcc"), await live.subscriber("cmcc")
    unicom = await live.subscriber("cucc")
    template = await insurer.builtin("claim-location")
    message_id, code = await insurer.send(template, holder, CLAIM)
    holder_context = await phone_context(browser, live)
    link = await (await _tap_link(holder_context, await _open_inbox(holder_context, live, holder))).evaluate(
        "location.href"
    )

    other = await phone_context(browser, live)
    await _open_inbox(other, live, forwardee)
    page = await other.new_page()
    await page.goto(link)
    refused = page.locator("#step-refused")
    await expect(refused).to_be_visible(timeout=10_000)
    await expect(refused.locator("h1")).to_have_text("此链接属于另一部手机")
    await expect(refused.locator("h2[lang=en]")).to_have_text("This link is for another phone")
    await expect(refused).to_contain_text("此链接只能在接收短信的手机上打开")
    await expect(refused).to_contain_text("only opens on the phone that received the SMS")
    await expect(page.locator("#claim-consent")).to_be_hidden()
    [rejected] = await insurer.wait_event("link.rejected")
    assert rejected["data"]["messageId"] == message_id and rejected["data"]["reason"] == "NUMBER_MISMATCH"
    assert forwardee[3:] not in dumps(rejected) and holder[3:] not in dumps(rejected)
    checks = await _checks(live, insurer)
    await page.reload()
    await expect(page.locator("#step-refused")).to_be_visible(timeout=10_000)
    assert await _checks(live, insurer) == checks, "a phone known to be the wrong one is not checked again"

    third = await phone_context(browser, live)
    await _open_inbox(third, live, unicom)
    page = await third.new_page()
    await page.goto(link)
    refused = page.locator("#step-refused")
    await expect(refused).to_be_visible(timeout=10_000)
    await expect(refused.locator("h1")).to_have_text("此链接属于另一部手机")
    await expect(refused).to_contain_text("This link is for another phone")
    await expect(page.locator("#step-device")).to_be_hidden()
    events = await insurer.wait_event("link.rejected", 2)
    mismatch = [e for e in events if e["data"]["reason"] == "OPERATOR_MISMATCH"]
    assert len(mismatch) == 1 and mismatch[0]["data"]["operator"] == "cucc", events
    assert unicom[3:] not in dumps(mismatch[0])
    assert await _checks(live, insurer) == checks

    mine = await holder_context.new_page()
    await mine.goto(f"{live.gateway_url}/l/{code}")
    await expect(mine.locator("#claim-consent")).to_be_visible(timeout=10_000)
    for context in (holder_context, other, third):
        await context.close()


async def test_holder_declines_to_share_the_location(
    browser: Browser, live: Stack, receiver: Receiver
) -> None:
    """On the consent step the holder taps "不同意 · Decline": the page says nothing was collected,
    the browser was never asked for a position, the insurer gets claim.location_declined and the
    API has no location for the message; the holder can still change their mind."""
    insurer = await Tenant.create(live, receiver)
    phone = await live.subscriber("cmcc")
    template = await insurer.builtin("claim-location")
    message_id, _ = await insurer.send(template, phone, CLAIM)
    context = await phone_context(browser, live, geolocation=True)
    await context.add_init_script(GEO_SPY)
    landing = await _tap_link(context, await _open_inbox(context, live, phone))

    decline = landing.locator("#decline")
    await expect(decline).to_be_visible(timeout=10_000)
    await expect(decline).to_contain_text("不同意")
    await decline.click()

    declined = landing.locator("#claim-declined")
    await expect(declined).to_be_visible(timeout=10_000)
    await expect(declined).to_contain_text("您已选择不共享位置")
    await expect(declined).to_contain_text("Your location was not collected")
    assert await landing.evaluate("window.__geolocationCalls") == 0
    [event] = await insurer.wait_event("claim.location_declined")
    assert event["data"]["messageId"] == message_id and event["data"]["claim"] == CLAIM
    assert phone[3:] not in dumps(event)
    location = await insurer.call("GET", f"/push/v1/messages/{message_id}/location")
    assert location.status_code == 404
    await landing.locator("#reconsider").click()
    await expect(landing.locator("#claim-consent")).to_be_visible()
    await context.close()


async def _checks(stack: Stack, tenant: Tenant) -> int:
    """Operator number checks in the tenant's usage ledger."""
    engine = create_engine(stack.settings.database_url)
    try:
        async with engine.connect() as conn:
            sql = "SELECT count(*) FROM usage_records WHERE tenant_id = :t AND capability = 'one_tap_verify'"
            return int((await conn.execute(sa.text(sql), {"t": tenant.creds.tenant_id})).scalar_one())
    finally:
        await engine.dispose()


async def _console_sign_in(page: Page, stack: Stack, branch_id: str, username: str, password: str) -> None:
    await page.goto(f"{stack.gateway_url}/console/branches/{branch_id}")
    await page.locator("#username").fill(username)
    await page.locator("#password").fill(password)
    await page.locator("#signin-form button[type=submit]").click()
    await expect(page.locator("#desk")).to_be_visible()


async def _issue(console: Page, phone: str) -> None:
    await console.locator("#phone").fill(phone)
    await console.locator("#issue-form button[type=submit]").click()


async def test_teller_console_drives_the_queue(browser: Browser, live: Stack, receiver: Receiver) -> None:
    """A teller signs in to the desk with a staff account (no token anywhere) and issues two
    tickets; the customer's phone shows the SMS, the ticket page shows A002 at position 2; call-next
    moves it to position 1, the next call sends the "counter 5" SMS and the page says to go to
    counter 5; the desk's queue shows masked numbers only; the bank gets queue.ticket_called."""
    bank = await Tenant.create(live, receiver)
    template = await bank.builtin("branch-queue", "平安银行")
    created = await bank.call("POST", "/push/v1/branches", {"name": "陆家嘴支行", "templateId": template})
    assert created.status_code == 201, created.text
    branch: dict[str, Any] = created.json()
    teller_account, password = await create_staff(live, bank.creds.tenant_id, "teller", [branch["id"]])
    first, customer = await live.subscriber("cmcc"), await live.subscriber("cmcc")
    teller = await browser.new_context(locale="zh-CN")
    console = await teller.new_page()
    await _console_sign_in(console, live, branch["id"], teller_account["username"], password)
    await expect(console.locator("#branch-name")).to_have_text("陆家嘴支行")

    await _issue(console, first)
    await expect(console.locator("#result")).to_contain_text("A001")
    await _issue(console, customer[3:])
    await expect(console.locator("#result")).to_contain_text("A002")
    waiting = console.locator("#waiting tr")
    await expect(waiting).to_have_count(2)
    await expect(waiting.nth(1)).to_contain_text(customer[:6] + "****" + customer[-4:])
    assert customer[3:] not in await console.content()
    assert bank.bearer not in await console.content()

    phone = await phone_context(browser, live)
    inbox = await _open_inbox(phone, live, customer)
    await expect(inbox.locator("#inbox")).to_contain_text("A002", timeout=SMS_WAIT_MS)
    ticket_page = await _tap_link(phone, inbox)
    await expect(ticket_page.locator("#queue-ticket")).to_be_visible(timeout=10_000)
    await expect(ticket_page.locator("#ticket")).to_have_text("A002")
    await expect(ticket_page.locator("#position")).to_have_text("2")
    await expect(ticket_page.locator("#wait")).to_have_text("10")

    await console.locator("#counter").fill("5")
    await console.locator("#call-next").click()
    await expect(console.locator("#result")).to_contain_text("A001")
    await expect(ticket_page.locator("#position")).to_have_text("1", timeout=10_000)

    await console.locator("#call-next").click()
    await expect(console.locator("#result")).to_contain_text("A002")
    await expect(ticket_page.locator("#queue-called")).to_be_visible(timeout=10_000)
    await expect(ticket_page.locator("#counter")).to_have_text("5")
    await expect(inbox.locator("#inbox")).to_contain_text("5号窗口", timeout=SMS_WAIT_MS)
    await expect(console.locator("#waiting tr")).to_have_count(0)
    await expect(console.locator("#calls tr")).to_have_count(2)
    await expect(console.locator("#current-ticket")).to_have_text("A002")

    events = await bank.wait_event("queue.ticket_called", 2)
    assert sorted(e["data"]["ticket"] for e in events) == ["A001", "A002"]
    assert all(e["data"]["counter"] == "5" for e in events)
    for context in (teller, phone):
        await context.close()


async def test_customer_cancels_from_the_ticket_page(
    browser: Browser, live: Stack, receiver: Receiver
) -> None:
    """Cancelling on the ticket page takes two taps, shows the cancelled state, and the bank gets
    queue.ticket_cancelled; the console's queue empties."""
    bank = await Tenant.create(live, receiver)
    template = await bank.builtin("branch-queue", "平安银行")
    branch = (
        await bank.call("POST", "/push/v1/branches", {"name": "外滩支行", "templateId": template})
    ).json()
    customer = await live.subscriber("cmcc")
    issued = await bank.call("POST", f"/push/v1/branches/{branch['id']}/tickets", {"phoneNumber": customer})
    assert issued.status_code == 201, issued.text
    phone = await phone_context(browser, live)

    ticket_page = await _tap_link(phone, await _open_inbox(phone, live, customer))
    await expect(ticket_page.locator("#ticket")).to_have_text("A001", timeout=10_000)
    await ticket_page.locator("#cancel").click()
    await ticket_page.locator("#cancel-confirm").click()

    await expect(ticket_page.locator("#queue-cancelled")).to_be_visible(timeout=10_000)
    await expect(ticket_page.locator("#queue-waiting")).to_be_hidden()
    [event] = await bank.wait_event("queue.ticket_cancelled")
    assert event["data"]["ticket"] == "A001"
    queue = (await bank.call("GET", f"/push/v1/branches/{branch['id']}/queue")).json()
    assert queue["waiting"] == []
    await phone.close()


async def test_pages_send_a_strict_csp_and_load_without_violations(browser: Browser, live: Stack) -> None:
    """Landing, console (desk and sign-in) and error pages run under their CSP without a single
    violation or script error in chromium, and an expired link shows the 410 page."""
    bank = await Tenant.create(live)
    phone = await live.subscriber("cmcc")
    template = await bank.builtin("claim-location")
    _, code = await bank.send(template, phone, CLAIM, ttlSeconds=60)
    context = await phone_context(browser, live)
    page = await context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda msg: problems.append(msg.text) if re.search("Content Security|Refused", msg.text) else None,
    )
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    await page.goto(f"{live.gateway_url}/console/branches/00000000-0000-4000-8000-000000000000")
    await expect(page.locator("#signin")).to_be_visible()
    await page.goto(f"{live.gateway_url}/console/")
    await expect(page.locator("#signin")).to_be_visible()
    await page.goto(f"{live.gateway_url}/l/{code}")
    await expect(page.locator("#step-device")).to_be_visible(timeout=10_000)
    live.clock.advance(61)
    response = await page.goto(f"{live.gateway_url}/l/{code}")
    assert response is not None and response.status == 410
    await expect(page.locator("#gone")).to_contain_text("This link has expired")
    await asyncio.sleep(0.2)
    assert [p for p in problems if "hap:" not in p] == []
    await context.close()


async def test_android_tries_the_quick_app_first_then_runs_h5(browser: Browser, live: Stack) -> None:
    """On Android the landing page first navigates to hap://app/{package}/{page}?ticket={code}
    (chromium, with no quick app engine, refuses it) and then continues with the H5 flow."""
    bank = await Tenant.create(live)
    phone = await live.subscriber("cmcc")
    template = await bank.builtin("claim-location")
    _, code = await bank.send(template, phone, CLAIM)
    context = await browser.new_context(
        locale="zh-CN",
        user_agent=ANDROID,
    )
    await _open_inbox(context, live, phone)
    page = await context.new_page()
    requested: list[str] = []
    cdp = await context.new_cdp_session(page)
    await cdp.send("Page.enable")
    cdp.on("Page.frameRequestedNavigation", lambda event: requested.append(event["url"]))

    await page.goto(f"{live.gateway_url}/l/{code}")

    await expect(page.locator("#claim-consent")).to_be_visible(timeout=10_000)
    assert f"hap://app/com.carriergateway.claims/Location?ticket={code}" in requested, requested
    await context.close()
