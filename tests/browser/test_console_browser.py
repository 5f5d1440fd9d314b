"""The staff console in a real browser (headless chromium via Playwright): sign-in with a wrong then
the right password, the branch list, the teller desk driven by the keyboard alone, the idle warning
and the end of an idle session, sign-out, TOTP enrolment and signing in with the code, and both at
desktop (1280x800) and phone (390x844) width.

Screenshots of every page are kept under the pytest base temporary directory, in
``console-screenshots/`` (``pytest --basetemp=DIR`` chooses where).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, expect

from tests.browser.conftest import open_live
from tests.leaks import SENSITIVE
from tests.stack import Stack
from tests.unit.console.support import create_staff
from tests.unit.flows.support import Tenant

pytestmark = pytest.mark.browser
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
SIZES = {"desktop": DESKTOP, "phone": PHONE}


@pytest.fixture(scope="session")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go: ``<basetemp>/console-screenshots``."""
    path = tmp_path_factory.getbasetemp() / "console-screenshots"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
async def short_idle(tmp_path: Path) -> AsyncIterator[Stack]:
    """A gateway whose console sessions end after 12 s without activity, with the warning 10 s
    before (the page warns 2 s after the last activity)."""
    async with open_live(
        f"sqlite:///{tmp_path}/browser.db", console_idle_timeout_seconds=12, console_idle_warning_seconds=10
    ) as stack:
        yield stack


async def _bank(stack: Stack, *names: str) -> tuple[Tenant, list[str]]:
    bank = await Tenant.create(stack)
    template = await bank.builtin("branch-queue", "平安银行")
    ids = []
    for name in names:
        resp = await bank.call("POST", "/push/v1/branches", {"name": name, "templateId": template})
        assert resp.status_code == 201, resp.text
        ids.append(str(resp.json()["id"]))
    return bank, ids


async def _desk_context(browser: Browser, size: ViewportSize) -> tuple[BrowserContext, Page, list[str]]:
    context = await browser.new_context(locale="zh-CN", viewport=size)
    page = await context.new_page()
    problems: list[str] = []

    def note(text: str, kind: str) -> None:
        if kind == "error" and not text.startswith("Failed to load resource"):
            problems.append(text)

    page.on("console", lambda msg: note(msg.text, msg.type))
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return context, page, problems


async def _fits(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= await page.evaluate("window.innerWidth"), width


async def _type_sign_in(page: Page, username: str, password: str) -> None:
    """Fill the form by keyboard: the page focuses the username field itself."""
    await expect(page.locator("#username")).to_be_focused()
    await page.keyboard.type(username)
    await page.keyboard.press("Tab")
    await page.keyboard.type(password)
    await page.keyboard.press("Enter")


@pytest.mark.parametrize("size", sorted(SIZES))
async def test_sign_in_with_a_wrong_then_the_right_password(
    browser: Browser, live: Stack, artefacts: Path, size: str
) -> None:
    """The sign-in page speaks Chinese first with English beside; a wrong password is refused in
    both, the field is emptied; the right one shows the teller's two branches, and a branch opens
    its desk. A branch not assigned is the server's 404 page. Nothing overflows sideways."""
    bank, [a, b, other] = await _bank(live, "陆家嘴支行", "外滩支行", "南京路支行")
    teller, password = await create_staff(live, bank.creds.tenant_id, "teller", [a, b])
    context, page, problems = await _desk_context(browser, SIZES[size])
    await page.goto(f"{live.gateway_url}/console/")
    signin = page.locator("#signin")
    await expect(signin).to_be_visible()
    await expect(signin.locator("h2")).to_have_text("登录 Sign in")
    await _fits(page)
    await page.screenshot(path=artefacts / f"sign-in-{size}.png", full_page=True)

    await _type_sign_in(page, teller["username"], password + "-wrong")
    error = page.locator("#signin-error")
    await expect(error).to_contain_text("用户名、密码或验证码不正确")
    await expect(error).to_contain_text("The username, password or code is wrong")
    await expect(page.locator("#password")).to_have_value("")
    await page.screenshot(path=artefacts / f"sign-in-refused-{size}.png", full_page=True)

    await page.locator("#password").fill(password)
    await page.keyboard.press("Enter")
    links = page.locator("#branch-list a")
    await expect(links).to_have_count(2)
    await expect(links).to_have_text(sorted(["陆家嘴支行", "外滩支行"]))
    await expect(page.locator("#who-role")).to_have_text("柜员 · Teller")
    await _fits(page)
    await page.screenshot(path=artefacts / f"branches-{size}.png", full_page=True)

    await page.get_by_role("link", name="外滩支行").click()
    await expect(page.locator("#desk")).to_be_visible()
    await expect(page.locator("#branch-name")).to_have_text("外滩支行")
    response = await page.goto(f"{live.gateway_url}/console/branches/{other}")
    assert response is not None and response.status == 404
    await expect(page.locator("#gone")).to_contain_text("找不到此网点")
    assert problems == []
    await context.close()


@pytest.mark.parametrize("size", sorted(SIZES))
async def test_the_desk_by_keyboard_only(browser: Browser, live: Stack, artefacts: Path, size: str) -> None:
    """Signed in by keyboard, a teller with one branch lands on its desk; with keys alone: / and a
    national number and Enter issue A001 and A002, C 5 Enter sets the counter, N calls A001, R
    recalls it, X marks it no-show, N calls A002 (X then R: nobody left to recall). The desk shows
    each result in words, the day's calls, the masked numbers, and no token or readable session
    cookie."""
    bank, [branch] = await _bank(live, "陆家嘴支行")
    teller, password = await create_staff(live, bank.creds.tenant_id, "teller", [branch])
    first, second = await live.subscriber("cmcc"), await live.subscriber("cucc")
    context, page, problems = await _desk_context(browser, SIZES[size])
    await page.goto(f"{live.gateway_url}/console/")
    await _type_sign_in(page, teller["username"], password)
    await expect(page.locator("#desk")).to_be_visible()
    assert page.url == f"{live.gateway_url}/console/branches/{branch}"
    result = page.locator("#result")

    for phone, label in ((first, "A001"), (second, "A002")):
        await page.keyboard.press("/")
        await expect(page.locator("#phone")).to_be_focused()
        await page.keyboard.type(f"{phone[3:6]} {phone[6:10]} {phone[10:]}")
        await page.keyboard.press("Enter")
        await expect(result).to_contain_text(f"已取号 {label}")
    await expect(page.locator("#waiting tr")).to_have_count(2)
    await expect(page.locator("#waiting tr").nth(0)).to_contain_text(first[:6] + "****" + first[-4:])

    await page.keyboard.press("c")
    await expect(page.locator("#counter")).to_be_focused()
    await page.keyboard.type("5")
    await page.keyboard.press("Enter")
    await page.keyboard.press("n")
    await expect(result).to_contain_text("已叫号 A001 到 5 号窗口")
    await expect(page.locator("#current-ticket")).to_have_text("A001")
    await page.keyboard.press("r")
    await expect(result).to_contain_text("已重呼 A001")
    await page.keyboard.press("x")
    await expect(result).to_contain_text("A001 已标记为过号")
    await expect(result).to_contain_text("marked as no-show")
    await expect(page.locator("#current-ticket")).to_have_text("—")
    await page.keyboard.press("n")
    await expect(result).to_contain_text("已叫号 A002")
    calls = page.locator("#calls tr")
    await expect(calls).to_have_count(2)
    await expect(calls.nth(0)).to_contain_text("已叫 · Called")
    await expect(calls.nth(1)).to_contain_text("过号 · No-show")
    await page.keyboard.press("x")
    await expect(result).to_contain_text("A002 已标记为过号")
    await page.keyboard.press("r")
    await expect(result).to_contain_text("此窗口当前没有已叫的号")
    await _fits(page)
    await page.screenshot(path=artefacts / f"desk-{size}.png", full_page=True)

    content = await page.content()
    assert first[3:] not in content and second[3:] not in content
    assert "Bearer" not in content and bank.bearer not in content
    assert "gw_console" not in await page.evaluate("document.cookie")
    [cookie] = [c for c in await context.cookies() if c["name"] == "gw_console"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"
    assert problems == []
    await context.close()


async def test_the_idle_warning_and_the_end_of_an_idle_session(
    browser: Browser, short_idle: Stack, artefacts: Path
) -> None:
    """Before the idle end the page warns with a countdown and a "keep me signed in" button, which
    keeps the session; left alone, the page shows the sign-in form with a message saying why (never
    a silent sign-out) and the server has ended the session too."""
    stack = short_idle
    bank, [branch] = await _bank(stack, "陆家嘴支行")
    teller, password = await create_staff(stack, bank.creds.tenant_id, "teller", [branch])
    context, page, problems = await _desk_context(browser, DESKTOP)
    await page.goto(f"{stack.gateway_url}/console/branches/{branch}")
    await _type_sign_in(page, teller["username"], password)
    await expect(page.locator("#desk")).to_be_visible()

    warning = page.locator("#idle-warning")
    await expect(warning).to_be_visible(timeout=6_000)
    await expect(warning).to_contain_text("即将自动退出")
    await expect(warning).to_contain_text("You will be signed out soon")
    await expect(page.locator("#idle-left")).to_have_text(re.compile(r"^0:(0\d|10)$"))
    await expect(page.locator("#keep-signed-in")).to_be_focused()
    await page.screenshot(path=artefacts / "idle-warning-desktop.png", full_page=True)
    await page.keyboard.press("Enter")
    await expect(warning).to_be_hidden()

    message = page.locator("#signin-message")
    await expect(message).to_be_visible(timeout=16_000)
    await expect(message).to_contain_text("您已自动退出")
    await expect(message).to_contain_text("without activity")
    await expect(page.locator("#signin")).to_be_visible()
    await expect(page.locator("#desk")).to_be_hidden()
    await page.screenshot(path=artefacts / "idle-ended-desktop.png", full_page=True)
    status = await page.evaluate("fetch('/console/api/session').then(r => r.status)")
    assert status == 401
    assert problems == []
    await context.close()


async def test_sign_out_ends_the_session(browser: Browser, live: Stack, artefacts: Path) -> None:
    """Sign-out shows the sign-in form with "signed out"; a reload still asks to sign in, and the
    old cookie value sent again is refused by the server."""
    bank, [branch] = await _bank(live, "陆家嘴支行")
    teller, password = await create_staff(live, bank.creds.tenant_id, "supervisor", [branch])
    context, page, _ = await _desk_context(browser, PHONE)
    await page.goto(f"{live.gateway_url}/console/branches/{branch}")
    await _type_sign_in(page, teller["username"], password)
    await expect(page.locator("#desk")).to_be_visible()
    await expect(page.locator("#who-role")).to_have_text("主管 · Supervisor")
    [cookie] = [c["value"] for c in await context.cookies() if c["name"] == "gw_console"]

    await page.locator("#sign-out").click()
    await expect(page.locator("#signin-message")).to_contain_text("您已退出")
    await expect(page.locator("#signin-message")).to_contain_text("You have signed out")
    await page.screenshot(path=artefacts / "signed-out-phone.png", full_page=True)
    await page.reload()
    await expect(page.locator("#signin")).to_be_visible()
    await expect(page.locator("#desk")).to_be_hidden()
    replay: dict[str, Any] = {"Cookie": f"gw_console={cookie}"}
    async with httpx.AsyncClient() as http:
        resp = await http.get(f"{live.gateway_url}/console/api/session", headers=replay)
    assert resp.status_code == 401
    await context.close()


@pytest.mark.parametrize("size", sorted(SIZES))
async def test_two_step_enrolment_then_sign_in_with_the_code(
    browser: Browser, live: Stack, artefacts: Path, size: str
) -> None:
    """From the console's bar a teller opens two-step verification (off), sets it up (a wrong
    password is refused in words, the right one shows the enrolment): the QR code
    loads under the page's CSP (no console error) and the secret is shown as text. A wrong code is
    refused in words and TOTP stays off; the code computed from the secret read off the page turns
    it on. After signing out, the password alone makes the form ask for the code, and password plus
    a current code sign in; the page then says two-step verification is on."""
    bank, [a, b] = await _bank(live, "陆家嘴支行", "外滩支行")
    teller, password = await create_staff(live, bank.creds.tenant_id, "teller", [a, b])
    context, page, problems = await _desk_context(browser, SIZES[size])
    await page.goto(f"{live.gateway_url}/console/")
    await _type_sign_in(page, teller["username"], password)
    await expect(page.locator("#branch-list a")).to_have_count(2)
    await page.locator("#to-security").click()
    await page.wait_for_url(f"{live.gateway_url}/console/security")
    await expect(page.locator("#twostep-off")).to_be_visible()
    await expect(page.locator("#twostep-on")).to_be_hidden()
    await expect(page.locator("h1")).to_contain_text("两步验证")

    await page.locator("#twostep-password").fill(password + "x")
    await page.locator("#twostep-begin").click()
    await expect(page.locator("#twostep-result")).to_contain_text("密码不正确")
    await expect(page.locator("#twostep-enrol")).to_be_hidden()
    await page.locator("#twostep-password").fill(password)
    await page.keyboard.press("Enter")
    await expect(page.locator("#twostep-enrol")).to_be_visible()
    await expect(page.locator("#twostep-code")).to_be_focused()
    qr = page.locator("#twostep-qr")
    await expect(qr).to_have_attribute("src", re.compile(r"^data:image/svg\+xml;base64,"))
    await page.wait_for_function(
        "() => { const i = document.getElementById('twostep-qr'); return i.complete && i.naturalWidth > 0; }",
        timeout=10_000,
    )
    secret = "".join((await page.locator("#twostep-secret").inner_text()).split())
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret
    SENSITIVE.add(secret)
    await _fits(page)
    await page.screenshot(path=artefacts / f"two-step-enrol-{size}.png", full_page=True)

    totp = pyotp.TOTP(secret)
    step = totp.timecode(live.clock.now())
    window = {totp.generate_otp(step + offset) for offset in (-1, 0, 1)}
    wrong = next(code for code in ("000000", "111111", "222222") if code not in window)
    await page.keyboard.type(wrong)
    await page.keyboard.press("Enter")
    result = page.locator("#twostep-result")
    await expect(result).to_contain_text("验证码不正确")
    await expect(result).to_contain_text("That code is not right")
    await expect(page.locator("#twostep-enrol")).to_be_visible()

    await page.locator("#twostep-code").fill(totp.at(live.clock.now()))
    await page.keyboard.press("Enter")
    await expect(page.locator("#twostep-on")).to_be_visible()
    await expect(page.locator("#twostep-enrol")).to_be_hidden()
    await expect(result).to_contain_text("两步验证已开启")
    assert secret not in await page.content()
    await page.screenshot(path=artefacts / f"two-step-on-{size}.png", full_page=True)

    await page.locator("#sign-out").click()
    await expect(page.locator("#signin-message")).to_contain_text("您已退出")
    live.clock.advance(30)
    await page.locator("#username").fill(teller["username"])
    await page.locator("#password").fill(password)
    await page.keyboard.press("Enter")
    await expect(page.locator("#totp-field")).to_be_visible()
    await expect(page.locator("#totp")).to_be_focused()
    await expect(page.locator("#signin-error")).to_contain_text("请输入身份验证器中的动态验证码")
    await page.screenshot(path=artefacts / f"sign-in-totp-{size}.png", full_page=True)
    await page.keyboard.type(totp.at(live.clock.now()))
    await page.keyboard.press("Enter")
    await expect(page.locator("#security")).to_be_visible()
    await expect(page.locator("#twostep-on")).to_be_visible()
    await expect(page.locator("#who-name")).to_have_text(teller["username"])
    await _fits(page)
    assert problems == []
    await context.close()
