"""Console single sign-on in a real browser (headless chromium via Playwright) against the
sandbox's bank identity provider: the bank's sign-in link shows the bank-account button, the
provider's page signs the employee in, and the teller lands on the desk of the only branch; an
employee of the bank with no console account comes back to the sign-in page with the reason in
words. Screenshots go to ``<basetemp>/console-screenshots/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.stack import Stack
from tests.unit.console.sso_support import bank_client, bank_employee, configure_sso, link
from tests.unit.console.support import create_staff
from tests.unit.flows.support import Tenant

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go: ``<basetemp>/console-screenshots``."""
    path = tmp_path_factory.getbasetemp() / "console-screenshots"
    path.mkdir(exist_ok=True)
    return path


async def test_a_teller_signs_in_with_the_bank_account_and_lands_on_the_desk(
    browser: Browser, live: Stack, artefacts: Path
) -> None:
    """``/console/?tenant=<id>`` shows 使用银行账号登录 · Sign in with bank account; pressing it and
    then the employee's button at the bank's provider lands on the desk of the teller's one branch,
    signed in as the linked member (no password, no TOTP asked). An unlinked employee comes back to
    the sign-in page saying, Chinese first, that the bank account is not linked."""
    bank = await Tenant.create(live)
    template = await bank.builtin("branch-queue", "平安银行")
    resp = await bank.call("POST", "/push/v1/branches", {"name": "陆家嘴支行", "templateId": template})
    assert resp.status_code == 201, resp.text
    branch = str(resp.json()["id"])
    tenant_id = bank.creds.tenant_id
    teller, _ = await create_staff(live, tenant_id, "teller", [branch])
    await configure_sso(live, tenant_id, await bank_client(live))
    await link(live, tenant_id, teller["id"], "employee-0001")
    await bank_employee(live, "employee-0404", "李明 Li Ming")

    context = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    await page.goto(f"{live.gateway_url}/console/?tenant={tenant_id}")
    button = page.locator("#sso-start")
    await expect(button).to_be_visible()
    await expect(button).to_have_text("使用银行账号登录 · Sign in with bank account")
    await page.screenshot(path=artefacts / "sso-sign-in-desktop.png", full_page=True)

    await button.click()
    await expect(page).to_have_url(re.compile(re.escape(live.sandbox_url) + r"/bank-idp/authorize\?"))
    await page.get_by_role("button", name="以 王芳 Wang Fang 登录 · Sign in as 王芳 Wang Fang").click()
    await expect(page).to_have_url(f"{live.gateway_url}/console/branches/{branch}")
    await expect(page.locator("#who-name")).to_have_text(teller["username"])
    await expect(page.locator("#who-role")).to_have_text("柜员 · Teller")
    await page.screenshot(path=artefacts / "sso-desk-desktop.png", full_page=True)
    assert problems == []
    await context.close()

    context = await browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = await context.new_page()
    await page.goto(f"{live.gateway_url}/console/?tenant={tenant_id}")
    await page.locator("#sso-start").click()
    await page.get_by_role("button", name=re.compile("李明 Li Ming")).first.click()
    await expect(page).to_have_url(re.compile(re.escape(live.gateway_url) + r"/console/\?tenant="))
    error = page.locator("#sso-error")
    await expect(error).to_contain_text("此银行账号未关联控制台账号")
    await expect(error).to_contain_text("not linked to a console account")
    await expect(page.locator("#sso-start")).to_be_visible()
    await page.screenshot(path=artefacts / "sso-refused-phone.png", full_page=True)
    await context.close()
