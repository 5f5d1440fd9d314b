"""`GET /metrics` backlog gauges and delivery-report lag, with the sandbox operators sending the SMS
and their delivery reports, on SQLite and PostgreSQL (a database of the test's own: the gauges
count every tenant's rows)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway import backlog
from tests.leaks import SENSITIVE
from tests.stack import Stack, open_stack
from tests.unit.webhooks.support import Receiver

pytestmark = pytest.mark.integration
LAG = "gateway_delivery_report_lag_seconds"


@pytest.fixture
async def stack(own_database_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Stack]:
    """Fast workers, private webhooks allowed, and backlog gauges read at every scrape."""
    monkeypatch.setattr(backlog, "SCRAPE_TTL_SECONDS", 0.0)
    async with open_stack(
        own_database_url,
        allow_private_webhooks=True,
        webhook_poll_interval=0.05,
        push_dispatch_poll_seconds=0.05,
    ) as running:
        yield running


def _value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels``."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


async def _scrape(stack: Stack) -> str:
    resp = await stack.http.get(
        f"{stack.gateway_url}/metrics", headers={"Authorization": f"Bearer {stack.admin_token}"}
    )
    assert resp.status_code == 200, resp.text
    return resp.text


async def _api(stack: Stack, bearer: str, method: str, path: str, body: Any = None) -> dict[str, Any]:
    resp = await stack.http.request(
        method, f"{stack.gateway_url}{path}", json=body, headers={"Authorization": f"Bearer {bearer}"}
    )
    assert resp.status_code < 300, resp.text
    answer: dict[str, Any] = resp.json()
    return answer


async def _send(stack: Stack, bearer: str, template_id: str, phone: str) -> str:
    body = {"templateId": template_id, "to": phone, "params": {"claimNo": "C-1"}}
    return str((await _api(stack, bearer, "POST", "/push/v1/messages", body))["id"])


async def _until_status(stack: Stack, bearer: str, message_id: str, status: str) -> None:
    async with asyncio.timeout(15):
        while True:
            if (await _api(stack, bearer, "GET", f"/push/v1/messages/{message_id}"))["status"] == status:
                return
            await asyncio.sleep(0.05)


async def test_scrape_shows_outbox_webhook_backlog_and_report_lag(stack: Stack) -> None:
    """Messages sent through the sandbox: delivered ones observe the report lag under their operator,
    one whose operator sends no report stays counted as submitted, the bank's failing webhook
    receiver leaves pending deliveries whose oldest age follows the clock, and no label value
    carries a number."""
    async with Receiver() as receiver:
        receiver.answer("/hook", 503)
        creds = await stack.tenant(
            ["push:send", "push:read", "templates:write", "webhooks:manage"], sandbox=True
        )
        bearer = await stack.access_token(creds)
        hook = {"url": receiver.url("/hook"), "events": ["message.submitted", "message.delivered"]}
        SENSITIVE.add((await _api(stack, bearer, "PUT", "/push/v1/webhook", hook))["secret"])
        template = await _api(
            stack,
            bearer,
            "POST",
            "/push/v1/templates",
            {
                "name": "claim",
                "category": "notification",
                "signature": "平安银行",
                "text": "您的案件{{claimNo}}请点击 {{link}} 共享位置。",
                "flow": "claim_location",
                "quickApp": {"package": "com.example.claims", "page": "Location"},
                "params": {"claimNo": {"type": "string", "required": True}},
            },
        )
        before = await _scrape(stack)
        assert _value(before, "gateway_backlog_up") == 1
        assert _value(before, "gateway_push_outbox_messages", status="queued") == 0
        assert _value(before, "gateway_push_outbox_messages", status="submitted") == 0
        assert _value(before, "gateway_webhook_backlog_deliveries", target="endpoint") == 0

        await stack.faults("ctcc", deliveryReport="none")
        phones = [await stack.subscriber(op) for op in ("cmcc", "cmcc", "ctcc")]
        sent = [await _send(stack, bearer, template["id"], phone) for phone in phones]
        await _until_status(stack, bearer, sent[0], "delivered")
        await _until_status(stack, bearer, sent[1], "delivered")
        await _until_status(stack, bearer, sent[2], "submitted")

        after = await _scrape(stack)

        def grown(name: str, **labels: str) -> float:
            return _value(after, name, **labels) - _value(before, name, **labels)

        assert grown(f"{LAG}_count", operator="cmcc") == 2 and 0 <= grown(f"{LAG}_sum", operator="cmcc") < 10
        assert grown(f"{LAG}_count", operator="ctcc") == 0
        assert _value(after, "gateway_push_outbox_messages", status="queued") == 0
        assert _value(after, "gateway_push_outbox_messages", status="submitted") == 1
        assert _value(after, "gateway_push_outbox_due_messages") == 0
        assert _value(after, "gateway_webhook_backlog_deliveries", target="endpoint") == 5

        stack.clock.advance(300)
        later = await _scrape(stack)
        assert _value(later, "gateway_webhook_backlog_deliveries", target="endpoint") == 5
        assert 300 <= _value(later, "gateway_webhook_backlog_oldest_seconds", target="endpoint") < 330
        for phone in phones:
            assert phone not in later and phone[3:] not in later
