"""The verification check page in a real browser (headless chromium via Playwright): the phone opens
the check URL a bank's ``POST /verify/v1/requests`` returned. Requests reach the gateway from
127.0.0.1, a trusted proxy, so the ``X-Forwarded-For`` the browser sends is the phone's address:
its Wi-Fi address finds no mobile network and the page asks for the SMS code; its cellular address
sends the browser to its operator, whose data network adds the enrichment header (a Playwright
route adds it, as the network would, only to the operator's authorize endpoint)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, Route, ViewportSize, expect
from playwright.async_api import Request as PlaywrightRequest

from sandbox.cellular import cellular_ip, wifi_ip
from sandbox.operators import HEADER_ENRICHMENT
from tests.integration.test_verify import NETWORK_THEN_SMS, _code, _on, _steps
from tests.integration.test_verify import Bank as VerifyBank
from tests.leaks import SENSITIVE
from tests.stack import Stack

pytestmark = pytest.mark.browser
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
ANDROID = "Mozilla/5.0 (Linux; Android 14; SandboxPhone) AppleWebKit/537.36 Chrome/156.0 Mobile Safari/537.36"


class Bank(VerifyBank):
    """A tenant of the verification API with the zh-CN code template installed."""

    async def start_network(self, phone: str) -> tuple[str, str]:
        """A [network, sms] request for ``phone``: its id and check URL."""
        body = await self.started(phone, NETWORK_THEN_SMS)
        SENSITIVE.add(body["checkUrl"].rsplit("/", 1)[1])
        return body["requestId"], body["checkUrl"]

    async def steps(self, request_id: str) -> tuple[str, list[tuple[str, str, str | None]]]:
        """The request's status and each step's (channel, status, reason)."""
        view = await self.get(request_id)
        return view["status"], _steps(view)


async def _wifi_phone(stack: Stack, operator: str) -> str:
    phone = await stack.subscriber(operator)
    await _on(stack, phone, "wifi")
    return phone


def _wrong(code: str) -> str:
    return "".join(str((int(digit) + 1) % 10) for digit in code)


async def _phone_context(browser: Browser, address: object, **options: Any) -> BrowserContext:
    """A phone-sized zh-CN context whose every request says it comes from ``address``."""
    return await browser.new_context(
        locale="zh-CN",
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        user_agent=ANDROID,
        extra_http_headers={"X-Forwarded-For": str(address)},
        **options,
    )


def _watch(page: Page) -> list[str]:
    """CSP violations and script errors of ``page``, as they happen."""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if re.search("Content Security|Refused", message.text):
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return problems


async def _fits(page: Page, *, form: bool = True) -> None:
    """Nothing overflows the viewport sideways; with ``form``, the code field and the button are
    fully in view."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    viewport = await page.evaluate("window.innerWidth")
    assert width <= viewport, (width, viewport)
    if form:
        await expect(page.locator("#code")).to_be_in_viewport(ratio=1)
        await expect(page.get_by_role("button", name="验证 · Verify")).to_be_in_viewport(ratio=1)


async def test_on_wifi_the_phone_types_the_code_from_the_sms(browser: Browser, live: Stack) -> None:
    """A Wi-Fi phone opens the check URL: the network step fails off_network and the page asks, in
    Chinese then English, for the 6-digit code with the field focused; a wrong code shows the
    attempts left (4) in both languages; the right code, typed and sent with Enter only, shows
    验证成功 / Verified, and the API says completed on the SMS step. The page fits a phone's width
    and runs under its CSP without a violation."""
    bank = await Bank.create(live)
    phone = await _wifi_phone(live, "cmcc")
    request_id, check_url = await bank.start_network(phone)
    context = await _phone_context(browser, wifi_ip(phone))
    page = await context.new_page()
    problems = _watch(page)

    opened = await page.goto(check_url)

    assert opened is not None and opened.status == 200 and opened.url == check_url
    verify = page.locator("#verify")
    await expect(verify).to_have_attribute("data-channel", "sms")
    await expect(page.locator("h1")).to_have_text("输入验证码")
    await expect(verify).to_contain_text("我们已向您的手机发送了 6 位验证码")
    await expect(verify.locator('p[lang="en"]')).to_have_text("We sent a 6-digit code to your phone by SMS.")
    text = await verify.inner_text()
    assert text.index("输入验证码") < text.index("We sent")
    await expect(page.locator("#code")).to_be_focused()
    await _fits(page)
    assert await bank.steps(request_id) == (
        "pending",
        [("network", "failed", "off_network"), ("sms", "active", None)],
    )

    code = await _code(live, phone)
    await page.keyboard.type(_wrong(code))
    await page.keyboard.press("Enter")
    wrong = page.locator("#wrong-code")
    await expect(wrong).to_contain_text("验证码不正确，还可尝试 4 次。")  # noqa: RUF001 - Chinese text
    await expect(wrong.locator('[lang="en"]')).to_have_text("Wrong code; 4 attempts left.")
    await expect(page.locator("#code")).to_be_focused()
    await _fits(page)

    await page.keyboard.type(code)
    await page.keyboard.press("Enter")
    await expect(page.locator("#verify")).to_have_attribute("data-status", "completed")
    await expect(page.locator("h1")).to_have_text("验证成功")
    await expect(page.locator("h2")).to_have_text("Verified")
    await expect(page).to_have_title("验证成功 · Verified")
    status, steps = await bank.steps(request_id)
    assert status == "completed" and steps[1] == ("sms", "completed", None), steps
    assert problems == []
    await context.close()


async def test_on_cellular_the_operator_identifies_the_phone(browser: Browser, live: Stack) -> None:
    """A phone on cellular data opens the check URL: the gateway answers 302 (no-store) to its
    operator's authorize endpoint with the gateway's callback as the redirect URI. The browser goes
    there; the operator's network enriches that request with the number, the operator returns the
    browser through the callback to the check URL, the page shows 验证成功 / Verified and the API
    says completed on the network step, with no code sent.

    Playwright routes no redirect hop, so it cannot add the enrichment header to the authorize
    request the gateway's 302 starts: the 302 is read by a plain request from the cellular address,
    and the browser opens its Location (where the route adds the header)."""
    bank = await Bank.create(live)
    phone = await live.subscriber("cucc")
    request_id, check_url = await bank.start_network(phone)
    address = cellular_ip(phone, "cucc")
    enrichment = HEADER_ENRICHMENT["cucc"]
    callback = f"{live.gateway_url}/verify/v1/callback/cucc"

    sent = await live.http.get(check_url, headers={"X-Forwarded-For": str(address)}, follow_redirects=False)

    assert sent.status_code == 302, sent.text
    assert sent.headers["Cache-Control"] == "no-store"
    authorize = sent.headers["Location"]
    assert authorize.startswith(f"{live.sandbox_url}{enrichment.path}?"), authorize
    query = parse_qs(urlsplit(authorize).query)
    assert [callback] in query.values() and len(query["state"][0]) >= 32, query
    assert await bank.steps(request_id) == (
        "pending",
        [("network", "active", None), ("sms", "waiting", None)],
    )

    context = await _phone_context(browser, address)
    enriched: list[str] = []

    async def operator_network(route: Route) -> None:
        enriched.append(route.request.url)
        headers = {**await route.request.all_headers(), enrichment.header: phone[3:]}
        await route.continue_(headers=headers)

    await context.route(lambda url: urlsplit(url).path == enrichment.path, operator_network)
    page = await context.new_page()
    problems = _watch(page)
    opened = await page.goto(authorize)

    assert enriched == [authorize]
    assert opened is not None and opened.status == 200 and opened.url == check_url
    chain: list[str] = []
    request: PlaywrightRequest | None = opened.request
    while request is not None:
        chain.insert(0, urlsplit(request.url).path)
        request = request.redirected_from
    assert chain == [enrichment.path, "/verify/v1/callback/cucc", urlsplit(check_url).path]
    await expect(page.locator("#verify")).to_have_attribute("data-status", "completed")
    await expect(page.locator("h1")).to_have_text("验证成功")
    await expect(page.locator("h2")).to_have_text("Verified")
    await _fits(page, form=False)
    status, steps = await bank.steps(request_id)
    assert status == "completed" and steps == [("network", "completed", None), ("sms", "waiting", None)]
    inbox = await live.http.get(f"{live.sandbox_url}/sandbox/devices/{phone}/messages")
    assert inbox.status_code == 200 and inbox.json() == []
    assert problems == []
    await context.close()


async def test_the_page_is_a_plain_form_under_a_strict_csp(browser: Browser, live: Stack) -> None:
    """With JavaScript disabled, at desktop width, the code page is a plain HTML form that works:
    typing the code and Enter posts it to the check URL and the answer says 验证成功. Every answer
    carries a CSP with form-action 'self', scripts from 'self' only (no 'unsafe-inline'), no
    framing, and the page holds no inline script or event handler attribute."""
    bank = await Bank.create(live)
    phone = await _wifi_phone(live, "ctcc")
    request_id, check_url = await bank.start_network(phone)
    context = await browser.new_context(
        locale="zh-CN",
        viewport=DESKTOP,
        java_script_enabled=False,
        extra_http_headers={"X-Forwarded-For": str(wifi_ip(phone))},
    )
    page = await context.new_page()

    opened = await page.goto(check_url)

    assert opened is not None and opened.status == 200
    await expect(page.locator("#code")).to_be_visible()
    form = page.locator("form")
    await expect(form).to_have_attribute("method", "post")
    assert await page.locator("script").count() == 0
    handlers = await page.eval_on_selector_all(
        "*", "nodes => nodes.flatMap(n => n.getAttributeNames().filter(a => a.startsWith('on')))"
    )
    assert handlers == []
    _strict(await opened.all_headers())
    await _fits(page)

    code = await _code(live, phone)
    await expect(page.locator("#code")).to_be_focused()
    await page.keyboard.type(code)
    async with page.expect_response(lambda r: r.request.method == "POST") as posted:
        await page.keyboard.press("Enter")
    answer = await posted.value
    assert answer.status == 200 and answer.url == check_url
    _strict(await answer.all_headers())
    await expect(page.locator("h1")).to_have_text("验证成功")
    status, steps = await bank.steps(request_id)
    assert status == "completed" and steps[1] == ("sms", "completed", None)
    await context.close()


def _strict(headers: dict[str, str]) -> None:
    """The page headers of a check page: forms to the gateway only, no inline script, no framing."""
    directives = {
        name: value.split()
        for name, _, value in (
            d.strip().partition(" ") for d in headers["content-security-policy"].split(";")
        )
    }
    assert directives["form-action"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["default-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"
