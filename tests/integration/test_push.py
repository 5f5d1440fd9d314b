"""Push messages over real sockets (contract §6): the gateway with in-memory operator SMS channels,
dispatch workers in this and other runtimes, operator callbacks over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from carrier_adapters import DeliveryState
from gateway.runtime import Runtime, open_runtime
from tests.leaks import SENSITIVE
from tests.stack import Stack, TenantCreds, open_stack
from tests.unit.push.fakes import FakeSmsChannel
from tests.webhooks import webhook_receiver

pytestmark = pytest.mark.integration
SHANGHAI = ZoneInfo("Asia/Shanghai")
SCOPES = ["push:send", "push:read", "templates:write", "webhooks:manage"]
FINAL = {"delivered", "failed", "expired"}
D, F = DeliveryState.DELIVERED, DeliveryState.FAILED


def _channels() -> dict[str, FakeSmsChannel]:
    return {op: FakeSmsChannel(op) for op in ("cmcc", "cucc", "ctcc")}


@asynccontextmanager
async def _push_stack(
    url: str, channels: dict[str, FakeSmsChannel], **overrides: Any
) -> AsyncIterator[Stack]:
    settings = {"push_dispatch_poll_seconds": 0.05, **overrides}
    async with open_stack(url, sms_channels=channels, **settings) as stack:
        yield stack


def _phone(prefix: str = "138") -> str:
    phone = f"+86{prefix}{secrets.randbelow(10**8):08d}"
    SENSITIVE.update({phone, phone[3:]})
    return phone


class Bank:
    """A tenant driving the push API."""

    def __init__(self, stack: Stack, creds: TenantCreds, bearer: str) -> None:
        self.stack = stack
        self.creds = creds
        self.bearer = bearer

    @classmethod
    async def create(cls, stack: Stack, *, sandbox: bool = True) -> Bank:
        creds = await stack.tenant(SCOPES, sandbox=sandbox)
        return cls(stack, creds, await stack.access_token(creds))

    async def refresh(self) -> None:
        """A new access token (after the test moved the clock past the old one's expiry)."""
        self.bearer = await self.stack.access_token(self.creds)

    async def template(self, category: str = "notification", signature: str = "平安银行") -> str:
        resp = await self.stack.call(
            "/push/v1/templates",
            self.bearer,
            {
                "name": "claim",
                "category": category,
                "signature": signature,
                "text": "您的案件{{claimNo}}请点击 {{link}} 共享位置。",
                "flow": "claim_location",
                "quickApp": {"package": "com.example.claims", "page": "Location"},
                "params": {"claimNo": {"type": "string", "required": True}},
            },
        )
        assert resp.status_code == 201, resp.text
        return str(resp.json()["id"])

    async def send(
        self, template_id: str, to: str, *, key: str | None = None, **extra: Any
    ) -> httpx.Response:
        body = {"templateId": template_id, "to": to, "params": {"claimNo": "C-1"}, **extra}
        headers = {"Authorization": f"Bearer {self.bearer}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return await self.stack.http.post(
            f"{self.stack.gateway_url}/push/v1/messages", json=body, headers=headers
        )

    async def queued(self, template_id: str, to: str, **extra: Any) -> str:
        resp = await self.send(template_id, to, **extra)
        assert resp.status_code == 202, resp.text
        return str(resp.json()["id"])

    async def message(self, message_id: str) -> dict[str, Any]:
        resp = await self.stack.http.get(
            f"{self.stack.gateway_url}/push/v1/messages/{message_id}",
            headers={"Authorization": f"Bearer {self.bearer}"},
        )
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    async def status(self, message_id: str) -> str:
        return str((await self.message(message_id))["status"])


async def _callback(stack: Stack, channel: FakeSmsChannel, *items: dict[str, Any]) -> httpx.Response:
    body, headers = channel.sign(list(items))
    return await stack.http.post(
        f"{stack.gateway_url}/operator-callbacks/{channel.operator}", content=body, headers=headers
    )


async def _eventually(check: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


def _error(resp: httpx.Response, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["status"] == status and body["code"] == code and isinstance(body["message"], str)


async def test_send_submit_deliver_with_webhooks(own_database_url: str) -> None:
    """A message is queued, submitted with its link, delivered by report; the bank gets both webhooks."""
    channels = _channels()
    async with (
        _push_stack(own_database_url, channels, allow_private_webhooks=True) as stack,
        webhook_receiver() as (hook_url, received),
    ):
        bank = await Bank.create(stack)
        resp = await stack.http.put(
            f"{stack.gateway_url}/push/v1/webhook",
            json={"url": hook_url, "events": ["message.submitted", "message.delivered"]},
            headers={"Authorization": f"Bearer {bank.bearer}"},
        )
        assert resp.status_code == 200, resp.text
        SENSITIVE.add(resp.json()["secret"])
        template = await bank.template()
        phone = _phone("189")

        resp = await bank.send(template, phone)

        assert resp.status_code == 202, resp.text
        body = resp.json()
        assert set(body) == {"id", "status", "link", "segments"} and body["status"] == "queued"
        assert (
            body["link"].startswith(f"{stack.settings.issuer}/l/")
            and len(body["link"].rsplit("/", 1)[1]) == 22
        )
        message_id = body["id"]
        await _eventually(lambda: _is(bank, message_id, "submitted"))
        [text] = channels["ctcc"].inbox(phone)
        assert text == f"【平安银行】您的案件C-1请点击 {body['link']} 共享位置。"
        view = await bank.message(message_id)
        assert view["to"] == phone[:6] + "****" + phone[-4:] and phone not in str(view)
        assert view["operator"] == "ctcc" and view["segments"] == 1 and view["link"] == body["link"]
        assert [e["type"] for e in view["events"]] == ["queued", "submitted"]

        report = await _callback(stack, channels["ctcc"], channels["ctcc"].report(message_id, D))

        assert report.status_code == 200 and report.json() == {"received": 1}
        assert await bank.status(message_id) == "delivered"

        async def both_hooks() -> bool:
            return {h["type"] for h in received} == {"message.submitted", "message.delivered"}

        await _eventually(both_hooks)
        assert all(h["data"]["messageId"] == message_id for h in received)


async def _is(bank: Bank, message_id: str, status: str) -> bool:
    return await bank.status(message_id) == status


async def test_idempotency_key_over_http(own_database_url: str) -> None:
    """Same key and body: the same answer and one SMS; another body: 409; concurrent repeats: one message.
    (Each concurrent repeat counts in the number's velocity window before the key settles it, so
    the tenant's per-number limit is raised above the ten sends here.)"""
    channels = _channels()
    async with _push_stack(own_database_url, channels) as stack:
        bank = await Bank.create(stack)
        await stack.sms_policy(bank.creds.tenant_id, numberPer10Min=20)
        template = await bank.template()
        phone = _phone()
        first = await bank.send(template, phone, key="order-1")
        again = await bank.send(template, phone, key="order-1")
        assert first.status_code == again.status_code == 202
        assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
        await _eventually(lambda: _is(bank, first.json()["id"], "submitted"))
        third = await bank.send(template, phone, key="order-1")
        assert third.json() == first.json()
        _error(await bank.send(template, phone, key="order-1", ttlSeconds=600), 409, "IDEMPOTENCY_KEY_REUSED")

        racing = await asyncio.gather(*(bank.send(template, phone, key="order-2") for _ in range(6)))
        assert {r.status_code for r in racing} == {202}
        assert len({r.json()["id"] for r in racing}) == 1
        await _eventually(lambda: _is(bank, racing[0].json()["id"], "submitted"))
        await asyncio.sleep(0.3)
        assert sorted(channels["cmcc"].calls) == sorted([first.json()["id"], racing[0].json()["id"]])
        assert len(channels["cmcc"].inbox(phone)) == 2


async def test_opt_out_reply_blocks_marketing(sqlite_url: str) -> None:
    """After a 'TD' reply the number gets no more marketing of that signature (422); notifications pass."""
    channels = _channels()
    async with _push_stack(sqlite_url, channels) as stack:
        bank = await Bank.create(stack)
        notice, marketing = await bank.template(), await bank.template("marketing")
        phone = _phone()
        message_id = await bank.queued(notice, phone)
        await _eventually(lambda: _is(bank, message_id, "submitted"))

        resp = await _callback(stack, channels["cmcc"], FakeSmsChannel.reply(phone, " td "))

        assert resp.status_code == 200
        _error(await bank.send(marketing, phone), 422, "RECIPIENT_OPTED_OUT")
        assert (await bank.send(notice, phone)).status_code == 202
        assert (await bank.send(marketing, _phone())).status_code == 202
        events = [e["type"] for e in (await bank.message(message_id))["events"]]
        assert events[-1] == "opted_out"


def _seconds_until(now: datetime, hour: int) -> float:
    local = now.astimezone(SHANGHAI)
    target = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if target <= local:
        target += timedelta(days=1)
    return (target - local).total_seconds()


async def test_marketing_in_quiet_hours_waits_for_eight(sqlite_url: str) -> None:
    """Marketing sent at 22:00 Shanghai answers scheduledAt 08:00 and is sent only then."""
    channels = _channels()
    async with _push_stack(sqlite_url, channels) as stack:
        bank = await Bank.create(stack)
        marketing = await bank.template("marketing")
        stack.clock.advance(_seconds_until(stack.clock.now(), 22))
        await bank.refresh()
        resp = await bank.send(marketing, _phone())
        assert resp.status_code == 202, resp.text
        scheduled = datetime.fromisoformat(resp.json()["scheduledAt"].replace("Z", "+00:00"))
        assert scheduled.astimezone(SHANGHAI).hour == 8 and scheduled.astimezone(SHANGHAI).minute == 0
        assert timedelta(hours=9, minutes=59) < scheduled - stack.clock.now() <= timedelta(hours=10)
        message_id = resp.json()["id"]
        await asyncio.sleep(0.4)
        assert channels["cmcc"].calls == [] and await bank.status(message_id) == "queued"
        view = await bank.message(message_id)
        assert view["scheduledAt"] == resp.json()["scheduledAt"]
        stack.clock.advance((scheduled - stack.clock.now()).total_seconds() + 1)
        await bank.refresh()
        await _eventually(lambda: _is(bank, message_id, "submitted"))


@asynccontextmanager
async def _worker_runtime(
    stack: Stack, channels: dict[str, FakeSmsChannel], **overrides: Any
) -> AsyncIterator[Runtime]:
    settings = stack.settings.model_copy(update={"push_dispatch_worker": True, **overrides})
    async with open_runtime(settings, clock=stack.clock, exchangers={}, sms_channels=channels) as runtime:
        yield runtime


async def test_a_message_nobody_sent_in_time_expires(own_database_url: str) -> None:
    """With no worker running until after its TTL, a message ends expired and is never sent."""
    channels = _channels()
    async with _push_stack(own_database_url, channels, push_dispatch_worker=False) as stack:
        bank = await Bank.create(stack)
        message_id = await bank.queued(await bank.template(), _phone(), ttlSeconds=60)
        stack.clock.advance(61)
        async with _worker_runtime(stack, channels):
            await _eventually(lambda: _is(bank, message_id, "expired"))
        assert channels["cmcc"].calls == []
        assert [e["type"] for e in (await bank.message(message_id))["events"]] == ["queued", "expired"]


async def test_duplicate_early_and_late_reports(own_database_url: str) -> None:
    """A report before the submit commits is applied after it; repeats and late reports change nothing."""
    channels = _channels()
    cmcc = channels["cmcc"]
    async with _push_stack(own_database_url, channels) as stack:
        bank = await Bank.create(stack)
        template = await bank.template()
        cmcc.gate = asyncio.Event()
        early = await bank.queued(template, _phone())
        await asyncio.wait_for(cmcc.entered.wait(), 10)
        assert (await _callback(stack, cmcc, cmcc.report(early, F, status="UNDELIV"))).status_code == 200
        assert await bank.status(early) == "queued"
        cmcc.gate.set()
        await _eventually(lambda: _is(bank, early, "failed"))
        assert (await bank.message(early))["failureReason"] == "UNDELIV"

        late = await bank.queued(template, _phone())
        await _eventually(lambda: _is(bank, late, "submitted"))
        delivered = cmcc.report(late, D)
        for item in (delivered, delivered, cmcc.report(late, F), delivered):
            assert (await _callback(stack, cmcc, item)).status_code == 200
        view = await bank.message(late)
        assert view["status"] == "delivered"
        assert [e["type"] for e in view["events"]] == ["queued", "submitted", "delivered", "report"]
        assert [e.get("detail") for e in view["events"]][2:] == ["DELIVRD", "UNDELIV"]


async def test_operator_outage_then_recovery(own_database_url: str) -> None:
    """During an outage messages retry; short-lived ones fail at their TTL, the rest are sent after
    recovery; every message ends in exactly one final state and no SMS is sent twice."""
    channels = _channels()
    cmcc = channels["cmcc"]
    cmcc.down = True
    async with _push_stack(own_database_url, channels) as stack:
        bank = await Bank.create(stack)
        template = await bank.template()
        short = [await bank.queued(template, _phone(), ttlSeconds=60) for _ in range(3)]
        long = [await bank.queued(template, _phone()) for _ in range(3)]

        async def all_tried() -> bool:
            return set(cmcc.calls) == set(short + long)

        await _eventually(all_tried)
        stack.clock.advance(120)

        async def short_failed() -> bool:
            return all([await _is(bank, m, "failed") for m in short])

        await _eventually(short_failed)
        cmcc.down = False
        stack.clock.advance(700)
        await bank.refresh()

        async def long_submitted() -> bool:
            return all([await _is(bank, m, "submitted") for m in long])

        await _eventually(long_submitted)
        for message_id in long:
            assert (await _callback(stack, cmcc, cmcc.report(message_id, D))).status_code == 200
        for message_id in short + long:
            view = await bank.message(message_id)
            finals = [e["type"] for e in view["events"] if e["type"] in FINAL]
            assert finals == [view["status"]] and view["status"] == (
                "failed" if message_id in short else "delivered"
            )
        assert set(cmcc.accepted) == set(long)
        assert (await bank.message(short[0]))["failureReason"] == "OPERATOR_UNAVAILABLE"


async def test_two_dispatch_processes_never_send_a_message_twice(own_database_url: str) -> None:
    """Two runtimes with dispatch workers on one database submit each of 30 messages exactly once."""
    channels = _channels()
    async with _push_stack(own_database_url, channels, push_dispatch_worker=False) as stack:
        bank = await Bank.create(stack)
        template = await bank.template()
        async with AsyncExitStack() as workers:
            for _ in range(2):
                await workers.enter_async_context(
                    _worker_runtime(stack, channels, push_dispatch_poll_seconds=0.01, push_dispatch_batch=4)
                )
            ids = await asyncio.gather(*(bank.queued(template, _phone()) for _ in range(30)))

            async def all_submitted() -> bool:
                return sum(len(c.calls) for c in channels.values()) >= 30

            await _eventually(all_submitted, within=30)
            await asyncio.sleep(0.3)
        calls = channels["cmcc"].calls
        assert sorted(calls) == sorted(ids)
        assert all([await _is(bank, m, "submitted") for m in ids])


async def test_a_dead_workers_claims_are_taken_over(own_database_url: str) -> None:
    """Messages claimed by a worker that died are sent by another once the lease expires, once each."""
    channels = _channels()
    async with _push_stack(own_database_url, channels, push_dispatch_worker=False) as stack:
        bank = await Bank.create(stack)
        template = await bank.template()
        ids = [await bank.queued(template, _phone()) for _ in range(3)]
        async with _worker_runtime(stack, channels, push_dispatch_worker=False) as dead:
            claimed = await dead.push.dispatcher.claim(10)
        assert {c.id for c in claimed} == set(ids)
        async with _worker_runtime(stack, channels):
            await asyncio.sleep(0.3)
            assert channels["cmcc"].calls == []
            stack.clock.advance(stack.settings.push_lease_seconds + 1)

            async def taken_over() -> bool:
                return all([await _is(bank, m, "submitted") for m in ids])

            await _eventually(taken_over)
        assert sorted(channels["cmcc"].calls) == sorted(ids)


async def test_other_tenants_ids_and_scopes(sqlite_url: str) -> None:
    """Another tenant's message id and a malformed id are 404; reading needs push:read."""
    channels = _channels()
    async with _push_stack(sqlite_url, channels) as stack:
        bank, other = await Bank.create(stack), await Bank.create(stack)
        message_id = await bank.queued(await bank.template(), _phone())
        for who, path_id in [
            (other, message_id),
            (bank, "nope"),
            (bank, "00000000-0000-4000-8000-000000000000"),
        ]:
            resp = await stack.http.get(
                f"{stack.gateway_url}/push/v1/messages/{path_id}",
                headers={"Authorization": f"Bearer {who.bearer}"},
            )
            _error(resp, 404, "NOT_FOUND")
        send_only = await stack.access_token(await stack.tenant(["push:send"]))
        resp = await stack.http.get(
            f"{stack.gateway_url}/push/v1/messages/{message_id}",
            headers={"Authorization": f"Bearer {send_only}"},
        )
        _error(resp, 403, "PERMISSION_DENIED")
        _error(await stack.call("/push/v1/messages", "forged", {}), 401, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    "body",
    [
        {"to": "+8613800138000", "params": {}},
        {"templateId": "TEMPLATE", "to": "13800138000", "params": {"claimNo": "x"}},
        {"templateId": "TEMPLATE", "to": "+86 138 0013 8000", "params": {"claimNo": "x"}},
        {"templateId": "TEMPLATE", "to": "+8613800138000", "params": {"claimNo": "x"}, "extra": 1},
        {"templateId": "TEMPLATE", "to": "+8613800138000", "params": {"claimNo": "x"}, "ttlSeconds": 59},
        {"templateId": "TEMPLATE", "to": "+8613800138000", "params": {"claimNo": "x"}, "ttlSeconds": 604801},
        {"templateId": "TEMPLATE", "to": "+8613800138000", "params": {"claimNo": "x"}, "ttlSeconds": "600"},
        {"templateId": "TEMPLATE", "to": "+8613800138000", "params": {"claimNo": "x"}, "ttlSeconds": 60.5},
        {"templateId": "TEMPLATE", "to": "+8613800138000", "params": ["x"]},
        {"templateId": "TEMPLATE", "to": "+8613800138000", "params": {"claimNo": ["x"]}},
        {"templateId": "TEMPLATE", "to": "+8613800138000", "params": {"claimNo": "x", "other": "y"}},
        {"templateId": "TEMPLATE", "to": "+8613800138000", "params": {"claimNo": "【x】"}},
        {"templateId": 7, "to": "+8613800138000", "params": {"claimNo": "x"}},
    ],
)
async def test_bad_input_is_400(
    sqlite_stack_with_channels: tuple[Stack, Bank, str], body: dict[str, Any]
) -> None:
    """Malformed bodies are 400 INVALID_ARGUMENT, never a 500, and the number is not echoed."""
    stack, bank, template = sqlite_stack_with_channels
    if body.get("templateId") == "TEMPLATE":
        body = {**body, "templateId": template}
    resp = await stack.call("/push/v1/messages", bank.bearer, body)
    _error(resp, 400, "INVALID_ARGUMENT")
    assert "13800138000" not in resp.text


@pytest.fixture
async def sqlite_stack_with_channels(sqlite_url: str) -> AsyncIterator[tuple[Stack, Bank, str]]:
    """One SQLite stack with fake channels, a sandbox bank and an approved template."""
    async with _push_stack(sqlite_url, _channels()) as stack:
        bank = await Bank.create(stack)
        yield stack, bank, await bank.template()


async def test_business_refusals(sqlite_stack_with_channels: tuple[Stack, Bank, str]) -> None:
    """Bad keys and null params are 400; unknown templates 404; unapproved, missing params, no route 422."""
    stack, bank, template = sqlite_stack_with_channels
    phone = _phone()
    _error(await bank.send(template, phone, key="x" * 256), 400, "INVALID_ARGUMENT")
    _error(await bank.send(template, phone, key="has space"), 400, "INVALID_ARGUMENT")
    _error(await bank.send("00000000-0000-4000-8000-000000000000", phone), 404, "NOT_FOUND")
    _error(await bank.send("not-a-template", phone), 404, "NOT_FOUND")
    _error(await bank.send(template, phone, params={}), 422, "MISSING_PARAM")
    _error(await bank.send(template, "+12025550123"), 422, "SERVICE_NOT_APPLICABLE")
    reviewed = await Bank.create(stack, sandbox=False)
    _error(await reviewed.send(await reviewed.template(), phone), 422, "TEMPLATE_NOT_APPROVED")
    _error(await bank.send(template, phone, params=None), 400, "INVALID_ARGUMENT")


async def test_callback_endpoint_errors(sqlite_stack_with_channels: tuple[Stack, Bank, str]) -> None:
    """Bad signature 401, unknown operator 404, signed garbage 400; all in the contract's error shape."""
    stack, _, _ = sqlite_stack_with_channels
    url = f"{stack.gateway_url}/operator-callbacks"
    body = b'{"items": []}'
    _error(
        await stack.http.post(f"{url}/cmcc", content=body, headers={"x-fake-signature": "00"}),
        401,
        "UNAUTHENTICATED",
    )
    _error(await stack.http.post(f"{url}/vodafone", content=body), 404, "NOT_FOUND")
    resp = await stack.http.post(f"{url}/cmcc", content=b"{]", headers={"x-fake-signature": "00"})
    _error(resp, 401, "UNAUTHENTICATED")
