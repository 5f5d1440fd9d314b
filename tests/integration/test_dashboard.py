"""The operations dashboard (issue 21 item 3) over traffic sent through the real write paths, on
SQLite and PostgreSQL: a bank's messages accepted by the push API, dispatched to in-memory operator
channels, reported back through the signed operator callbacks, opened and completed by the
recipients' phones (sandbox operator tokens), a branch ticket called, a one-tap login; then the
daily rollups are computed and every figure is checked exactly against what the traffic did."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import secrets
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from carrier_adapters import DeliveryState
from gateway.crypto import BlindIndex, FieldCipher, Keyring
from gateway.dashboard import DashboardService, Period, identity_csv
from gateway.dashboard.period import shanghai_today
from gateway.db import as_utc, create_engine, session_factory
from gateway.errors import InvalidArgument
from gateway.flows.models import BranchTicket
from gateway.logs import mask_phone
from gateway.webhooks import WebhookService
from tests.leaks import SENSITIVE
from tests.stack import SESSION_DATA_KEYS, SESSION_INDEX_KEYS, Stack
from tests.unit.flows.support import SCOPES, Tenant, flow_call, flows_stack, h5_token, random_phone, redeem
from tests.unit.push.fakes import FakeSmsChannel
from tests.unit.webhooks.support import Receiver

pytestmark = pytest.mark.integration
CLAIM = {"claimNo": "BA2026-0042", "insurerName": "平安产险"}
HOOKS = [
    "message.submitted",
    "link.opened",
    "link.rejected",
    "claim.location_shared",
    "queue.ticket_called",
]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """The bank's webhook receiver on 127.0.0.1."""
    async with Receiver() as running:
        yield running


def _service(stack: Stack) -> tuple[DashboardService, AsyncEngine]:
    """The dashboard on the stack's database, with the stack's keys and clock."""
    engine = create_engine(stack.settings.database_url)
    cipher = FieldCipher(Keyring.parse(SESSION_DATA_KEYS))
    webhooks = WebhookService(session_factory(engine), cipher=cipher, clock=stack.clock, allow_private=True)
    service = DashboardService(
        engine,
        cipher=cipher,
        index=BlindIndex(Keyring.parse(SESSION_INDEX_KEYS)),
        webhooks=webhooks,
        clock=stack.clock,
    )
    return service, engine


async def _bank(stack: Stack, receiver: Receiver) -> Tenant:
    creds = await stack.tenant([*SCOPES, "one-tap:login"], sandbox=True)
    bank = Tenant(stack, creds, await stack.access_token(creds), receiver)
    resp = await bank.call("PUT", "/push/v1/webhook", {"url": receiver.url("/hook"), "events": HOOKS})
    assert resp.status_code == 200, resp.text
    bank.secret = str(resp.json()["secret"])
    SENSITIVE.add(bank.secret)
    return bank


async def _report(stack: Stack, channel: FakeSmsChannel, message_id: str, state: DeliveryState) -> None:
    body, headers = channel.sign([channel.report(message_id, state)])
    resp = await stack.http.post(
        f"{stack.gateway_url}/operator-callbacks/{channel.operator}", content=body, headers=headers
    )
    assert resp.status_code == 200, resp.text


async def _events(bank: Tenant, message_id: str, kind: str, within: float = 10.0) -> None:
    async with asyncio.timeout(within):
        while True:
            if kind in [e["type"] for e in (await bank.message(message_id))["events"]]:
                return
            await asyncio.sleep(0.05)


async def _hooks(receiver: Receiver, expected: Counter[str]) -> None:
    """Wait until the receiver got exactly these webhooks (by type; their signatures carry the moved
    clock's time, so they are not verified here: the webhooks' own tests do that)."""
    async with asyncio.timeout(15):
        while True:
            got = Counter(json.loads(r.body)["type"] for r in receiver.at("/hook"))
            if got == expected:
                return
            assert all(got[kind] <= n for kind, n in expected.items()) and set(got) <= set(expected), got
            await asyncio.sleep(0.05)


def _day(moment: str) -> date:
    return shanghai_today(datetime.fromisoformat(moment.replace("Z", "+00:00")))


async def test_every_figure_of_real_traffic(database_url: str, receiver: Receiver) -> None:
    """Six claim SMS, a ticket SMS and its call SMS: the funnel per day and template, failures by
    reason, per-operator delivery figures, report latency percentiles and errors, identity calls
    with their billed counts (and as CSV), webhook deliveries, the branch queue (all branches and a
    supervisor's), and the search by id and last four digits (masked, never another tenant's)
    all equal what the traffic did."""
    async with flows_stack(database_url) as (stack, channels):
        bank = await _bank(stack, receiver)
        claim = await bank.builtin("claim-location")
        ticket_template = await bank.builtin("branch-queue", "平安银行")
        branch = (
            await bank.call(
                "POST", "/push/v1/branches", {"name": "陆家嘴支行", "templateId": ticket_template}
            )
        ).json()
        p1, p2, p5, stranger = [await stack.subscriber("cmcc") for _ in range(4)]
        p3, p4 = await stack.subscriber("cucc"), await stack.subscriber("ctcc")
        p6 = random_phone("189")
        sent: dict[str, str] = {}

        sent["m4"], _ = await bank.send(claim, p4, CLAIM)
        await bank.wait_status(sent["m4"], "submitted")
        channels["ctcc"].down, channels["ctcc"].retry_after = True, 30.0
        sent["m6"], _ = await bank.send(claim, p6, CLAIM, ttlSeconds=60)
        await _events(bank, sent["m6"], "submit_failed")
        for name, phone in (("m1", p1), ("m2", p2), ("m3", p3)):
            sent[name], _ = await bank.send(claim, phone, CLAIM)
        issued = await bank.call("POST", f"/push/v1/branches/{branch['id']}/tickets", {"phoneNumber": p5})
        assert issued.status_code == 201, issued.text
        sent["mt"] = issued.json()["messageId"]
        for name in ("m1", "m2", "m3", "mt"):
            await bank.wait_status(sent[name], "submitted")

        stack.clock.advance(31)
        await bank.wait_status(sent["m6"], "failed")
        stack.clock.advance(1200 - 31)
        await bank.refresh()
        await _report(stack, channels["cmcc"], sent["m1"], DeliveryState.DELIVERED)
        await _report(stack, channels["cmcc"], sent["mt"], DeliveryState.DELIVERED)
        await _report(stack, channels["cucc"], sent["m3"], DeliveryState.FAILED)
        stack.clock.advance(1800)
        await bank.refresh()
        await _report(stack, channels["cmcc"], sent["m2"], DeliveryState.DELIVERED)
        for name, status in (("m1", "delivered"), ("mt", "delivered"), ("m3", "failed"), ("m2", "delivered")):
            await bank.wait_status(sent[name], status)

        usage_days = []
        opened = await redeem(stack, _code(bank, channels, p1), await h5_token(stack, p1), operator="cmcc")
        assert opened.status_code == 200, opened.text
        shared = await flow_call(
            stack,
            opened.json()["session"],
            "POST",
            "/flows/v1/claim-location",
            {"latitude": 31.2304, "longitude": 121.4737, "accuracyMeters": 12.5},
        )
        assert shared.status_code == 200, shared.text
        refused = await redeem(
            stack, _code(bank, channels, p2), await h5_token(stack, stranger), operator="cmcc"
        )
        assert refused.status_code == 403, refused.text
        login = await stack.call(
            "/one-tap/v1/login", bank.bearer, {"token": await stack.sdk_token(p1), "operator": "cmcc"}
        )
        assert login.status_code == 200, login.text
        usage_days.append(shanghai_today(stack.clock.now()))
        called = await bank.call("POST", f"/push/v1/branches/{branch['id']}/call-next", {"counter": 3})
        assert called.status_code == 200, called.text
        sent["mc"] = await _call_message(stack, bank.creds.tenant_id, set(sent.values()))
        await bank.wait_status(sent["mc"], "submitted")
        await bank.wait_status(sent["mt"], "completed")
        await bank.wait_status(sent["m1"], "completed")
        await _hooks(receiver, Counter({**dict.fromkeys(HOOKS, 1), "message.submitted": 6}))

        views = {name: await bank.message(message_id) for name, message_id in sent.items()}
        days = {name: _day(view["createdAt"]) for name, view in views.items()}
        period = Period(min([*days.values(), *usage_days]), max([*days.values(), *usage_days]))
        names = {
            template: (await bank.call("GET", f"/push/v1/templates/{template}")).json()["name"]
            for template in (claim, ticket_template, branch["callTemplateId"])
        }
        service, engine = _service(stack)
        try:
            for day in period.each_day():
                await service.rollups.compute(bank.creds.tenant_id, day)
            funnel = await service.funnel(bank.creds.tenant_id, period)
            operators = await service.operators(bank.creds.tenant_id, period)
            identity = await service.identity_calls(bank.creds.tenant_id, period)
            webhooks = await service.webhooks(bank.creds.tenant_id, period)
            queues = await service.queues(bank.creds.tenant_id, period)
            mine = await service.queues(bank.creds.tenant_id, period, branches=[branch["id"]])
            others = await service.queues(bank.creds.tenant_id, period, branches=[secrets.token_hex(8)])
            waits = await _waits(engine, branch["id"])

            expected: Counter[tuple[date, str, str]] = Counter()
            outcomes = {
                "m1": ("submitted", "delivered", "opened", "location_shared"),
                "m2": ("submitted", "delivered"),
                "m3": ("submitted", "failed"),
                "m4": ("submitted",),
                "m6": ("failed",),
                "mt": ("submitted", "delivered", "ticket_called"),
                "mc": ("submitted",),
            }
            template_of = {name: claim for name in ("m1", "m2", "m3", "m4", "m6")}
            template_of["mt"] = ticket_template
            template_of["mc"] = branch["callTemplateId"]
            for name, steps in outcomes.items():
                for step in ("accepted", *steps):
                    expected[days[name], template_of[name], step] += 1
            got: Counter[tuple[date, str, str]] = Counter()
            for row in funnel.rows:
                for step in (
                    "accepted",
                    "submitted",
                    "delivered",
                    "opened",
                    "location_shared",
                    "ticket_called",
                    "failed",
                ):
                    if getattr(row, step):
                        got[row.day, str(row.template_id), step] += getattr(row, step)
            assert got == expected
            assert {(row.template_id, row.template_name) for row in funnel.rows} == {
                (template_of[name], names[template_of[name]]) for name in outcomes
            }
            assert [d.day for d in funnel.days] == period.each_day()
            assert sum(d.accepted for d in funnel.days) == 7 and sum(d.completed for d in funnel.days) == 2
            assert {(f.reason, f.messages) for f in funnel.failures} == {
                ("UNDELIV", 1),
                ("OPERATOR_UNAVAILABLE", 1),
            }
            assert funnel.as_of is not None and funnel.as_of <= stack.clock.now()
            assert operators.as_of == funnel.as_of

            figures = {f.operator: f for f in operators.figures}
            assert set(figures) == {"cmcc", "cucc", "ctcc"}
            cmcc, cucc, ctcc = figures["cmcc"], figures["cucc"], figures["ctcc"]
            assert (cmcc.accepted, cmcc.submitted, cmcc.delivered, cmcc.undelivered, cmcc.no_report) == (
                4,
                4,
                3,
                0,
                0,
            )
            assert (cmcc.timed, cmcc.p50_ms, cmcc.p95_ms, cmcc.delivery_rate) == (
                3,
                1_200_000,
                3_000_000,
                0.75,
            )
            assert (cucc.accepted, cucc.submitted, cucc.delivered, cucc.undelivered, cucc.timed) == (
                1,
                1,
                0,
                1,
                0,
            )
            assert (cucc.p50_ms, cucc.delivery_rate) == (None, 0.0)
            assert (ctcc.accepted, ctcc.submitted, ctcc.delivered, ctcc.undelivered) == (2, 1, 0, 0)
            assert [(e.operator, e.kind, e.reason, e.events) for e in operators.errors] == [
                ("ctcc", "failed", "OPERATOR_UNAVAILABLE", 1),
                ("ctcc", "submit_failed", "OPERATOR_UNAVAILABLE", 1),
                ("cucc", "failed", "UNDELIV", 1),
            ]

            calls = {(r.day, r.operator, r.capability): (r.calls, r.billed) for r in identity}
            assert calls == {
                (usage_days[0], "cmcc", "one_tap_login"): (1, 1),
                (usage_days[0], "cmcc", "one_tap_verify"): (2, 2),
            }
            table = list(csv.reader(io.StringIO(identity_csv(identity).decode("utf-8-sig"))))
            assert sorted(table[1:]) == sorted(
                [day.isoformat(), op, "中国移动", "one_tap", capability, str(n), str(b)]
                for (day, op, capability), (n, b) in calls.items()
            )

            [hooks] = webhooks
            assert (hooks.target, hooks.statuses, hooks.dead, hooks.last_error) == (
                "",
                {"delivered": 10},
                0,
                None,
            )

            assert queues == mine and others == []
            [queue] = queues
            assert (queue.branch_id, queue.branch_name, queue.issued, queue.called) == (
                branch["id"],
                "陆家嘴支行",
                1,
                1,
            )
            assert (queue.no_show, queue.cancelled, queue.waiting) == (0, 0, 0)
            assert queue.average_wait_ms is not None and abs(queue.average_wait_ms - waits) <= 1

            phones = {"m1": p1, "m2": p2, "m3": p3, "m4": p4, "m6": p6, "mt": p5, "mc": p5}
            await _search(stack, service, bank, sent, (names[claim], views["m1"]["segments"]), phones)
        finally:
            await engine.dispose()


def _code(bank: Tenant, channels: dict[str, FakeSmsChannel], phone: str) -> str:
    [text] = channels["cmcc"].inbox(phone)
    start = text.index("/l/") + 3
    return text[start : start + 22]


async def _call_message(stack: Stack, tenant_id: str, known: set[str]) -> str:
    """The id of the call SMS that call-next sent (the only message of the tenant not yet known)."""
    engine = create_engine(stack.settings.database_url)
    try:
        async with asyncio.timeout(10):
            while True:
                async with engine.connect() as conn:
                    ids = {
                        row[0]
                        for row in await conn.execute(
                            sa.text("SELECT id FROM push_messages WHERE tenant_id = :t"), {"t": tenant_id}
                        )
                    }
                if len(ids - known) == 1:
                    return str((ids - known).pop())
                await asyncio.sleep(0.05)
    finally:
        await engine.dispose()


async def _waits(engine: AsyncEngine, branch_id: str) -> int:
    """The branch's one called ticket's wait in milliseconds, from its stored times."""
    tickets = BranchTicket.__table__.c  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(tickets.issued_at, tickets.called_at).where(tickets.branch_id == branch_id)
            )
        ).one()
    issued: datetime = as_utc(row.issued_at)
    called: datetime = as_utc(row.called_at)
    return round((called - issued).total_seconds() * 1000)


async def _search(
    stack: Stack,
    service: DashboardService,
    bank: Tenant,
    sent: dict[str, str],
    claim: tuple[str, int],
    phones: dict[str, str],
) -> None:
    """By the last four digits: the bank's messages to numbers ending so, newest first, masked, with
    their status, operator, template name (``claim``) and segments; by id: that message; another
    tenant's message to a number with the same digits is never found by
    the bank, and the other tenant finds only its own."""
    tenant_id = bank.creds.tenant_id
    digits = phones["m1"][-4:]
    hits = await service.search(tenant_id, digits)
    expected = {sent[name] for name, phone in phones.items() if phone.endswith(digits)}
    assert {h.id for h in hits} == expected
    [m1] = [h for h in hits if h.id == sent["m1"]]
    assert m1.to_masked == mask_phone(phones["m1"]) and phones["m1"] not in m1.to_masked
    assert (m1.status, m1.operator, m1.template_name, m1.segments) == ("completed", "cmcc", *claim)
    assert [h.created_at for h in hits] == sorted((h.created_at for h in hits), reverse=True)
    [m3] = await service.search(tenant_id, f" {sent['m3']} ")
    assert (m3.id, m3.status, m3.failure_reason, m3.operator) == (sent["m3"], "failed", "UNDELIV", "cucc")
    assert m3.to_masked == mask_phone(phones["m3"])

    other = await Tenant.create(stack)
    twin = f"+86139{secrets.randbelow(10**4):04d}{digits}"
    SENSITIVE.update({twin, twin[3:]})
    theirs, _ = await other.send(await other.builtin("claim-location"), twin, CLAIM)
    assert {h.id for h in await service.search(tenant_id, digits)} == expected
    assert [h.id for h in await service.search(other.creds.tenant_id, digits)] == [theirs]
    assert await service.search(tenant_id, theirs) == []
    assert await service.search(other.creds.tenant_id, sent["m1"]) == []
    for bad in ("123", "12a4", "+8613800138000", "not-an-id"):
        with pytest.raises(InvalidArgument):
            await service.search(tenant_id, bad)
