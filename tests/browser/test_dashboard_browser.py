"""The operations dashboard in a real browser (headless chromium via Playwright) against a live
gateway and sandbox: SMS sent through the operators' southbound APIs to sandbox phones, a branch
ticket, a one-tap login; an admin signs in at the console and opens the dashboard, whose tables
and charts show the numbers the database holds, whose CSV downloads with a BOM, and whose search
shows numbers masked; a supervisor at phone width sees only the assigned branch's queue and no
retry button; a teller gets the server's 403 page. Both widths without sideways overflow.

Screenshots are kept under the pytest base temporary directory, in ``dashboard-screenshots/``
(``pytest --basetemp=DIR`` chooses where).
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.async_api import Browser, Page, ViewportSize, expect

from gateway.crypto import BlindIndex, FieldCipher, Keyring
from gateway.dashboard import DashboardService
from gateway.dashboard.period import shanghai_today
from gateway.dashboard.queries import OPENINGS
from gateway.db import create_engine, session_factory
from gateway.logs import mask_phone
from gateway.webhooks import WebhookService
from tests.leaks import SENSITIVE
from tests.stack import SESSION_DATA_KEYS, SESSION_INDEX_KEYS, Stack
from tests.unit.console.support import create_staff
from tests.unit.flows.support import SCOPES, Tenant

pytestmark = pytest.mark.browser
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
CLAIM = {"claimNo": "BA2026-0042", "insurerName": "平安产险"}


@pytest.fixture(scope="session")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go: ``<basetemp>/dashboard-screenshots``."""
    path = tmp_path_factory.getbasetemp() / "dashboard-screenshots"
    path.mkdir(exist_ok=True)
    return path


async def _traffic(stack: Stack) -> tuple[Tenant, list[str], list[str]]:
    """Three claim SMS delivered to sandbox phones, a ticket at each of two branches, a one-tap
    login; the tenant's rollups of today computed. The branches' ids and the claim phones."""
    creds = await stack.tenant([*SCOPES, "one-tap:login"], sandbox=True)
    bank = Tenant(stack, creds, await stack.access_token(creds), None)
    claim = await bank.builtin("claim-location")
    phones = [await stack.subscriber(op) for op in ("cmcc", "cucc", "ctcc")]
    sent = [(await bank.send(claim, phone, CLAIM))[0] for phone in phones]
    template = await bank.builtin("branch-queue", "平安银行")
    branches = []
    for name in ("陆家嘴支行", "外滩支行"):
        branch = await bank.call("POST", "/push/v1/branches", {"name": name, "templateId": template})
        branches.append(str(branch.json()["id"]))
        ticket = await bank.call(
            "POST",
            f"/push/v1/branches/{branches[-1]}/tickets",
            {"phoneNumber": await stack.subscriber("cmcc")},
        )
        assert ticket.status_code == 201, ticket.text
        sent.append(str(ticket.json()["messageId"]))
    for message_id in sent:
        await bank.wait_status(message_id, "delivered", within=20)
    login = await stack.call("/one-tap/v1/login", bank.bearer, {"token": await stack.sdk_token(phones[0])})
    assert login.status_code == 200, login.text
    engine = create_engine(stack.settings.database_url)
    cipher = FieldCipher(Keyring.parse(SESSION_DATA_KEYS))
    webhooks = WebhookService(session_factory(engine), cipher=cipher, clock=stack.clock, allow_private=True)
    index = BlindIndex(Keyring.parse(SESSION_INDEX_KEYS))
    service = DashboardService(engine, cipher=cipher, index=index, webhooks=webhooks, clock=stack.clock)
    try:
        await service.rollups.compute(creds.tenant_id, shanghai_today(stack.clock.now()))
    finally:
        await engine.dispose()
    return bank, branches, phones


async def _outage(stack: Stack, seconds: float) -> None:
    """A cucc outage of ``seconds`` that ended just now, as a gateway process's journal keeps it."""
    engine = create_engine(stack.settings.database_url)
    closed = stack.clock.now()
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.insert(OPENINGS).values(
                    operator="cucc",
                    process="gw-test:1",
                    opened_at=closed - timedelta(seconds=seconds),
                    closed_at=closed,
                )
            )
    finally:
        await engine.dispose()


async def _database(stack: Stack, tenant_id: str) -> dict[str, int]:
    """Counts straight from the raw tables (not the rollups): messages by step, usage rows."""
    engine = create_engine(stack.settings.database_url)
    try:
        async with engine.connect() as conn:
            one = (
                await conn.execute(
                    sa.text(
                        "SELECT count(*), sum(CASE WHEN provider_message_id IS NOT NULL THEN 1 ELSE 0 END), "
                        "sum(CASE WHEN status IN ('delivered', 'opened', 'completed') THEN 1 ELSE 0 END) "
                        "FROM push_messages WHERE tenant_id = :t"
                    ),
                    {"t": tenant_id},
                )
            ).one()
            usage = (
                await conn.execute(
                    sa.text(
                        "SELECT count(*), sum(CASE WHEN billed THEN 1 ELSE 0 END) FROM usage_records "
                        "WHERE tenant_id = :t"
                    ),
                    {"t": tenant_id},
                )
            ).one()
    finally:
        await engine.dispose()
    return {
        "accepted": one[0],
        "submitted": one[1],
        "delivered": one[2],
        "calls": usage[0],
        "billed": usage[1],
    }


async def _sign_in(page: Page, stack: Stack, username: str, password: str) -> None:
    await page.goto(f"{stack.gateway_url}/console/")
    await expect(page.locator("#username")).to_be_focused()
    await page.locator("#username").fill(username)
    await page.locator("#password").fill(password)
    await page.keyboard.press("Enter")
    await expect(page.locator("#who")).to_be_visible()
    # The home page then loads the member's branches and may move on to the only one's desk: let
    # that navigation finish, or the test's own navigation aborts it (ERR_ABORTED).
    await page.wait_for_load_state("networkidle")


async def _dashboard(page: Page, stack: Stack) -> None:
    await page.goto(f"{stack.gateway_url}/console/dashboard")
    await expect(page.locator("#board")).to_be_visible()
    await expect(page.locator("#dashboard")).to_have_attribute(
        "data-loaded", re.compile(r".+"), timeout=20_000
    )


async def _fits(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= await page.evaluate("window.innerWidth"), width


def _problems(page: Page) -> list[str]:
    """Script errors of the page (a refused request, such as the sign-in page's first 401, is not one)."""
    found: list[str] = []

    def note(text: str, kind: str) -> None:
        if kind == "error" and not text.startswith("Failed to load resource"):
            found.append(text)

    page.on("console", lambda msg: note(msg.text, msg.type))
    page.on("pageerror", lambda exc: found.append(str(exc)))
    return found


async def _cells(page: Page, selector: str) -> list[str]:
    texts: list[str] = await page.locator(selector).all_inner_texts()
    return [t.strip() for t in texts]


async def test_an_admin_sees_the_databases_numbers(browser: Browser, live: Stack, artefacts: Path) -> None:
    """The funnel's totals equal the messages counted in the database (accepted, submitted,
    delivered) and its chart holds the table's numbers; identity totals equal the usage rows; the
    CSV downloads as UTF-8 with a BOM with the table's rows; the search by the last four digits
    shows the number masked; both queues are listed with a retry column for the admin; an operator
    outage is listed with its length."""
    bank, _, phones = await _traffic(live)
    admin, password = await create_staff(live, bank.creds.tenant_id, "admin")
    expected = await _database(live, bank.creds.tenant_id)
    await _outage(live, 90)
    assert expected["accepted"] == 5 and expected["delivered"] == 5 and expected["billed"] >= 1
    context = await browser.new_context(locale="zh-CN", viewport=DESKTOP, accept_downloads=True)
    page = await context.new_page()
    problems = _problems(page)
    await _sign_in(page, live, admin["username"], password)
    await _dashboard(page, live)
    await expect(page.locator("#board h2").first).to_contain_text("消息漏斗")

    totals = await _cells(page, "#funnel-table tfoot td")
    assert totals[:4] == [
        "合计 · Total",
        str(expected["accepted"]),
        str(expected["submitted"]),
        str(expected["delivered"]),
    ]
    drawn = await page.evaluate(
        """() => Chart.getChart(document.getElementById('funnel-chart')).data.datasets
              .map(d => d.data.reduce((a, b) => a + b, 0))"""
    )
    assert drawn[:3] == [expected["accepted"], expected["submitted"], expected["delivered"]]
    identity = await _cells(page, "#identity-table tfoot td")
    assert identity[-2:] == [str(expected["calls"]), str(expected["billed"])]
    assert await page.evaluate("Chart.getChart(document.getElementById('identity-chart')) !== undefined")
    queue_rows = page.locator("#queue-table tbody tr")
    await expect(queue_rows).to_have_count(2)
    await expect(page.locator("#operator-table tbody tr")).to_have_count(3)
    outage = page.locator("#outage-table tbody tr", has_text="gw-test:1")
    await expect(outage).to_contain_text("中国联通 · cucc")
    await expect(outage).to_contain_text("90.0 s")
    await _fits(page)
    await page.screenshot(path=artefacts / "dashboard-admin-desktop.png", full_page=True)

    async with page.expect_download() as waiting:
        await page.locator("#identity-csv").click()
    download = await waiting.value
    saved = await download.path()
    assert saved is not None
    data = await asyncio.to_thread(Path(saved).read_bytes)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][0] == "日期 day"
    assert sum(int(r[5]) for r in rows[1:]) == expected["calls"]

    await page.locator("#q").fill(phones[1][-4:])
    await page.keyboard.press("Enter")
    await expect(page.locator("#search-table tbody tr").first).to_contain_text(mask_phone(phones[1]))
    content = await page.content()
    for phone in phones:
        assert phone not in content and phone[3:] not in content
    assert problems == []
    await context.close()


async def test_a_supervisor_at_phone_width_and_a_teller(
    browser: Browser, live: Stack, artefacts: Path
) -> None:
    """A supervisor's dashboard at phone width lists only the assigned branch's queue, offers no
    retry, and fits the screen; a teller opening the dashboard gets the server's 403 page."""
    bank, [mine, _], _ = await _traffic(live)
    supervisor, password = await create_staff(live, bank.creds.tenant_id, "supervisor", [mine])
    context = await browser.new_context(locale="zh-CN", viewport=PHONE)
    page = await context.new_page()
    problems = _problems(page)
    await _sign_in(page, live, supervisor["username"], password)
    await _dashboard(page, live)
    rows = page.locator("#queue-table tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("陆家嘴支行")
    await expect(page.locator("#queue-scope")).to_contain_text("仅显示您负责的网点")
    await expect(page.locator("button.retry")).to_have_count(0)
    await _fits(page)
    await page.screenshot(path=artefacts / "dashboard-supervisor-phone.png", full_page=True)
    assert problems == []
    await context.close()

    teller, teller_password = await create_staff(live, bank.creds.tenant_id, "teller", [mine])
    SENSITIVE.add(teller_password)
    context = await browser.new_context(locale="zh-CN", viewport=DESKTOP)
    page = await context.new_page()
    await _sign_in(page, live, teller["username"], teller_password)
    response = await page.goto(f"{live.gateway_url}/console/dashboard")
    assert response is not None and response.status == 403
    await expect(page.locator("#forbidden")).to_contain_text("此页面仅限管理员和主管")
    await expect(page.locator("#board")).to_have_count(0)
    await page.screenshot(path=artefacts / "dashboard-teller-refused.png", full_page=True)
    await context.close()
