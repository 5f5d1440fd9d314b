"""The dashboard's routes over real sockets on SQLite and PostgreSQL: who may read what (admins and
supervisors; a supervisor's queues only for the assigned branches; tellers and anonymous callers
refused by the server), CSRF and role on the dead-letter retry and its audit entry, the CSV
download, range and search validation, the page, and the vendored Chart.js it loads."""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from gateway.crypto import BlindIndex, FieldCipher, Keyring
from gateway.dashboard import DashboardService
from gateway.dashboard.period import shanghai_today
from gateway.db import create_engine, session_factory
from gateway.logs import mask_phone
from gateway.webhooks import WebhookService
from gateway.webhooks.models import WebhookDelivery
from tests.stack import SESSION_DATA_KEYS, SESSION_INDEX_KEYS, Stack
from tests.unit.console.support import ConsoleClient, admin_call, console_client, create_staff
from tests.unit.flows.support import Tenant, flows_stack
from tests.unit.push.fakes import FakeSmsChannel
from tests.unit.webhooks.support import Receiver

pytestmark = pytest.mark.integration
Flows = tuple[Stack, dict[str, FakeSmsChannel]]
READS = ("funnel", "operators", "identity", "identity.csv", "verifications", "webhooks", "queues")
CHART_JS_SHA256 = "3f288f4f26882c26b58931fb586a9b4f30370b5de38d69dc005b0bd05b08e113"


@pytest.fixture
async def flows(database_url: str) -> AsyncIterator[Flows]:
    """Gateway + sandbox with in-memory SMS channels, on SQLite and PostgreSQL."""
    async with flows_stack(database_url) as running:
        yield running


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """The bank's webhook receiver on 127.0.0.1."""
    async with Receiver() as running:
        yield running


async def _bank(stack: Stack, receiver: Receiver) -> tuple[Tenant, list[str], dict[str, str]]:
    """A bank with two branches, a ticket at each (their SMS), rollups computed for today."""
    bank = await Tenant.create(stack, receiver)
    template = await bank.builtin("branch-queue", "平安银行")
    branches, phones = [], {}
    for name in ("陆家嘴支行", "外滩支行"):
        resp = await bank.call("POST", "/push/v1/branches", {"name": name, "templateId": template})
        assert resp.status_code == 201, resp.text
        branches.append(str(resp.json()["id"]))
        phones[name] = await stack.subscriber("cmcc")
        ticket = await bank.call(
            "POST", f"/push/v1/branches/{branches[-1]}/tickets", {"phoneNumber": phones[name]}
        )
        assert ticket.status_code == 201, ticket.text
    await _compute(stack, bank.creds.tenant_id)
    return bank, branches, phones


async def _compute(stack: Stack, tenant_id: str) -> None:
    """Compute today's rollups of the tenant now (the gateway's own refresh waits 30 s)."""
    engine = create_engine(stack.settings.database_url)
    cipher = FieldCipher(Keyring.parse(SESSION_DATA_KEYS))
    webhooks = WebhookService(session_factory(engine), cipher=cipher, clock=stack.clock, allow_private=True)
    index = BlindIndex(Keyring.parse(SESSION_INDEX_KEYS))
    service = DashboardService(engine, cipher=cipher, index=index, webhooks=webhooks, clock=stack.clock)
    try:
        await service.rollups.compute(tenant_id, shanghai_today(stack.clock.now()))
    finally:
        await engine.dispose()


async def _member(
    stack: Stack, bank: Tenant, role: str, branches: list[str], client: ConsoleClient
) -> dict[str, Any]:
    member, password = await create_staff(stack, bank.creds.tenant_id, role, branches)
    resp = await client.sign_in(member["username"], password)
    assert resp.status_code == 200, resp.text
    return member


async def test_admins_and_supervisors_read_tellers_and_strangers_are_refused(
    flows: Flows, receiver: Receiver
) -> None:
    """Without a session every figure is 401; a teller's is 403 on every figure, the retry and the page
    (the server's answer, not a hidden button); a supervisor reads the tenant's figures but only the
    assigned branch's queue, and may not retry; an admin sees both branches."""
    stack, _ = flows
    bank, [a, b], _ = await _bank(stack, receiver)
    async with console_client(stack) as anonymous:
        for name in READS:
            resp = await anonymous.call("GET", f"/dashboard/{name}")
            assert resp.status_code == 401 and resp.json()["code"] == "UNAUTHENTICATED", name
        page = await anonymous.http.get("/console/dashboard")
        assert page.status_code == 200 and 'id="signin-needed"' in page.text
    async with console_client(stack) as teller:
        await _member(stack, bank, "teller", [a], teller)
        for name in READS:
            resp = await teller.call("GET", f"/dashboard/{name}")
            assert resp.status_code == 403 and resp.json()["code"] == "PERMISSION_DENIED", name
        assert (await teller.call("POST", "/dashboard/webhooks/retry", {})).status_code == 403
        page = await teller.http.get("/console/dashboard")
        assert (
            page.status_code == 403
            and "此页面仅限管理员和主管" in page.text
            and 'id="board"' not in page.text
        )
    async with console_client(stack) as supervisor:
        await _member(stack, bank, "supervisor", [a], supervisor)
        queues = await supervisor.ok("GET", "/dashboard/queues")
        assert [(q["branchId"], q["issued"]) for q in queues["branches"]] == [(a, 1)]
        funnel = await supervisor.ok("GET", "/dashboard/funnel")
        assert sum(d["accepted"] for d in funnel["days"]) == 2
        assert (await supervisor.ok("GET", "/dashboard/webhooks"))["canRetry"] is False
        refused = await supervisor.call("POST", "/dashboard/webhooks/retry", {})
        assert refused.status_code == 403
        assert (await supervisor.http.get("/console/dashboard")).status_code == 200
    async with console_client(stack) as admin:
        await _member(stack, bank, "admin", [], admin)
        queues = await admin.ok("GET", "/dashboard/queues")
        assert sorted(q["branchId"] for q in queues["branches"]) == sorted([a, b])
        assert (await admin.ok("GET", "/dashboard/webhooks"))["canRetry"] is True
        for name in READS:
            resp = await admin.call("GET", f"/dashboard/{name}")
            assert resp.status_code == 200 and resp.headers["cache-control"] == "no-store", name


async def test_retry_needs_the_csrf_token_and_is_audited(flows: Flows, receiver: Receiver) -> None:
    """The retry without the session's CSRF token is 403 and moves nothing; with it the admin's
    dead letter is requeued (1), the answer and the audit log say so; a sink nobody has is 404."""
    stack, _ = flows
    bank, _, _ = await _bank(stack, receiver)
    dead = "msg_" + secrets.token_hex(13)
    engine = create_engine(stack.settings.database_url)
    now = stack.clock.now() - timedelta(days=2)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.insert(WebhookDelivery.__table__),  # type: ignore[attr-defined]
                {
                    "id": dead,
                    "tenant_id": bank.creds.tenant_id,
                    "event_type": "message.submitted",
                    "payload": "{}",
                    "status": "failed",
                    "attempts": 3,
                    "next_attempt_at": now,
                    "last_error": "gave up",
                    "created_at": now,
                    "finished_at": now,
                },
            )
        async with console_client(stack) as admin:
            member = await _member(stack, bank, "admin", [], admin)
            missing = await admin.call("POST", "/dashboard/webhooks/retry", {}, csrf=False)
            assert missing.status_code == 403
            assert (
                await admin.call("POST", "/dashboard/webhooks/retry", {"target": "camara:nobody"})
            ).status_code == 404
            done = await admin.call("POST", "/dashboard/webhooks/retry", {})
            assert done.status_code == 200 and done.json() == {"target": "", "requeued": 1}
        async with engine.connect() as conn:
            status = (
                await conn.execute(
                    sa.text("SELECT status FROM webhook_deliveries WHERE id = :i"), {"i": dead}
                )
            ).scalar()
        assert status in ("pending", "delivered")
    finally:
        await engine.dispose()
    resp = await admin_call(stack, "GET", f"/admin/tenants/{bank.creds.tenant_id}/audit")
    [entry] = [e for e in resp.json()["entries"] if e["action"] == "webhooks.dead_letters_retried"]
    assert entry["staffId"] == member["id"] and entry["detail"] == {"requeued": 1}


async def test_csv_download_ranges_and_search(flows: Flows, receiver: Receiver) -> None:
    """The CSV is text/csv, UTF-8 with a BOM, an attachment named after the range, with the JSON's
    rows; a range past 92 days is 400 OUT_OF_RANGE, a reversed or malformed one or an unknown
    parameter 400 INVALID_ARGUMENT; the search by the last four digits answers the number masked."""
    stack, _ = flows
    bank, _, phones = await _bank(stack, receiver)
    phone = phones["外滩支行"]
    async with console_client(stack) as admin:
        await _member(stack, bank, "admin", [], admin)
        today = shanghai_today(stack.clock.now())
        week = f"?from={(today - timedelta(days=6)).isoformat()}&to={today.isoformat()}"
        resp = await admin.call("GET", "/dashboard/identity.csv" + week)
        assert resp.status_code == 200
        assert resp.headers["content-type"] == "text/csv; charset=utf-8"
        name = f"identity-calls-{(today - timedelta(days=6)).isoformat()}-{today.isoformat()}.csv"
        assert resp.headers["content-disposition"] == f'attachment; filename="{name}"'
        assert resp.content.startswith(b"\xef\xbb\xbf")
        table = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
        rows = (await admin.ok("GET", "/dashboard/identity" + week))["rows"]
        assert table[0][0] == "日期 day" and len(table) == len(rows) + 1

        for query, code in (
            (f"?from={(today - timedelta(days=92)).isoformat()}&to={today.isoformat()}", "OUT_OF_RANGE"),
            (f"?from={today.isoformat()}&to={(today - timedelta(days=1)).isoformat()}", "INVALID_ARGUMENT"),
            ("?from=2026-13-01", "INVALID_ARGUMENT"),
            ("?days=7", "INVALID_ARGUMENT"),
            ("?to=2026-01-01&to=2026-01-02", "INVALID_ARGUMENT"),
        ):
            bad = await admin.call("GET", "/dashboard/funnel" + query)
            assert bad.status_code == 400 and bad.json()["code"] == code, query
        full = await admin.ok(
            "GET", f"/dashboard/funnel?from={(today - timedelta(days=91)).isoformat()}&to={today.isoformat()}"
        )
        assert len(full["days"]) == 92 and full["timeZone"] == "Asia/Shanghai"

        found = await admin.ok("GET", f"/dashboard/search?q={phone[-4:]}")
        assert [m["to"] for m in found["messages"]] == [mask_phone(phone)]
        assert phone not in str(found)
        assert (await admin.call("GET", "/dashboard/search?q=12")).status_code == 400
        assert (await admin.call("GET", "/dashboard/search")).status_code == 400


async def test_the_page_loads_its_scripts_from_the_gateway(flows: Flows) -> None:
    """The page's CSP allows scripts from the gateway only, and the scripts it names are served:
    Chart.js byte for byte the vendored 4.6.2 (checksum), the dashboard's script and style."""
    stack, _ = flows
    page = await stack.http.get(f"{stack.gateway_url}/console/dashboard")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for name in ("chart.umd.min.js", "console-session.js", "dashboard.js", "dashboard.css"):
        assert f"/flows/static/{name}" in page.text
        resp = await stack.http.get(f"{stack.gateway_url}/flows/static/{name}")
        assert resp.status_code == 200, name
        assert resp.headers["content-type"].startswith(
            "text/css" if name.endswith(".css") else "text/javascript"
        )
    chart = await stack.http.get(f"{stack.gateway_url}/flows/static/chart.umd.min.js")
    assert hashlib.sha256(chart.content).hexdigest() == CHART_JS_SHA256
    assert "http://" not in page.text.replace(stack.gateway_url, "") and "https://" not in page.text
