"""Retrying an endpoint's dead letters (WebhookService.retry_dead_letters, issue 21's dashboard) on
SQLite and PostgreSQL: deliveries that failed after their 24 h window go out again, once, with the
attempt history kept; nothing of another tenant or another target moves."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.db import as_utc
from gateway.errors import NotFound, WebhookEndpointDisabled
from gateway.webhooks.events import EVENT_TYPES
from gateway.webhooks.service import Target, WebhookService
from gateway.webhooks.worker import DeliveryWorker
from tests.unit.webhooks.support import Harness, Receiver, open_harness

pytestmark = pytest.mark.integration

EVENTS = list(EVENT_TYPES)


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[Harness]:
    """Webhook service and workers on the parametrised database."""
    async with open_harness(database_url) as running:
        yield running


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A webhook receiver on 127.0.0.1."""
    async with Receiver() as running:
        yield running


@dataclass
class Sinks:
    """A feature's sinks: each key sends to one URL of the receiver."""

    urls: dict[str, str] = field(default_factory=dict)

    async def target(self, tenant_id: str, key: str) -> Target | None:
        """The sink's target, or None for an unknown key."""
        url = self.urls.get(key)
        if url is None:
            return None
        return Target(tenant_id, "g1", url, frozenset(EVENTS), (secrets.token_hex(16),), True, None)

    async def gone(self, session: AsyncSession, tenant_id: str, key: str, now: datetime) -> None:
        """Forget the sink."""
        self.urls.pop(key, None)


async def _drain(harness: Harness, worker: DeliveryWorker, *ids: str) -> None:
    """Run the worker, moving the clock to each next attempt, until none of ``ids`` is pending."""
    await worker.run_once()
    for _ in range(200):
        rows = [await harness.delivery(i) for i in ids]
        pending = [r for r in rows if r.status == "pending"]
        if not pending:
            return
        due = min(as_utc(r.next_attempt_at) or harness.clock.now() for r in pending)
        harness.clock.advance(max(0.0, (due - harness.clock.now()).total_seconds()) + 0.001)
        await worker.run_once()
    raise AssertionError("deliveries still pending")


async def _dead_letters(
    harness: Harness, service: WebhookService, receiver: Receiver, tenant: str, path: str, count: int
) -> list[str]:
    """``count`` deliveries of ``tenant`` that failed after their 24 h window (the path answers 503)."""
    receiver.answer(path, 503)
    ids = []
    for n in range(count):
        delivery_id = await service.publish(tenant, "message.delivered", {"n": n})
        assert delivery_id is not None
        ids.append(delivery_id)
    await _drain(harness, harness.worker(service), *ids)
    for delivery_id in ids:
        row = await harness.delivery(delivery_id)
        assert row.status == "failed" and row.last_error is not None and "gave up" in row.last_error
    return ids


async def test_dead_letters_go_out_again_once(harness: Harness, receiver: Receiver) -> None:
    """The endpoint's failed deliveries are requeued (count answered, worker woken), due at once with a
    new 24 h window and their history kept; the next attempt, numbered after the earlier ones,
    delivers each once with the same webhook-id."""
    wakes: list[int] = []
    service = harness.service(on_publish=lambda: wakes.append(1))
    tenant = await harness.tenant()
    await harness.put(service, tenant, receiver.url("/hook"), EVENTS)
    dead = await _dead_letters(harness, service, receiver, tenant, "/hook", 2)
    before = {i: (await harness.delivery(i)).attempts for i in dead}
    sent_before = len(receiver.at("/hook"))
    wakes.clear()

    assert await service.retry_dead_letters(tenant) == 2
    assert wakes == [1]
    now = harness.clock.now()
    for delivery_id in dead:
        row = await harness.delivery(delivery_id)
        assert row.status == "pending" and row.finished_at is None and row.first_attempt_at is None
        assert as_utc(row.next_attempt_at) == now and row.attempts == before[delivery_id]

    receiver.answer("/hook", 200)
    await harness.worker(service).run_once()
    resent = receiver.at("/hook")[sent_before:]
    assert sorted(r.webhook_id for r in resent) == sorted(dead)
    for delivery_id in dead:
        row = await harness.delivery(delivery_id)
        assert row.status == "delivered" and row.attempts == before[delivery_id] + 1
        assert as_utc(row.first_attempt_at) == now
        numbers = [a.number for a in await harness.attempts(delivery_id)]
        assert numbers == list(range(1, before[delivery_id] + 2))
        assert (await harness.attempts(delivery_id))[-1].status_code == 200
    assert await service.retry_dead_letters(tenant) == 0


async def test_only_the_tenants_dead_letters_of_that_target(harness: Harness, receiver: Receiver) -> None:
    """Retrying the endpoint's dead letters leaves pending and delivered deliveries, the tenant's sink
    deliveries and another tenant's dead letters as they are; retrying the sink moves only its own."""
    sinks = Sinks({"sub-1": receiver.url("/sink")})
    service = harness.service()
    service.register_sink("test", sinks)
    tenant, other = await harness.tenant(), await harness.tenant()
    await harness.put(service, tenant, receiver.url("/hook"), EVENTS)
    await harness.put(service, other, receiver.url("/other"), EVENTS)
    mine = await _dead_letters(harness, service, receiver, tenant, "/hook", 1)
    theirs = await _dead_letters(harness, service, receiver, other, "/other", 1)
    receiver.answer("/sink", 503)
    sink_id = await service.publish_to_sink(tenant, ("test", "sub-1"), "message.delivered", b'{"n": 1}')
    await _drain(harness, harness.worker(service), sink_id)
    assert (await harness.delivery(sink_id)).status == "failed"
    receiver.answer("/hook", 200)
    delivered = await service.publish(tenant, "message.delivered", {"n": "ok"})
    assert delivered is not None
    await harness.worker(service).run_once()
    pending = await service.publish(tenant, "message.delivered", {"n": "later"})
    assert pending is not None

    assert await service.retry_dead_letters(tenant) == 1
    assert (await harness.delivery(mine[0])).status == "pending"
    assert (await harness.delivery(theirs[0])).status == "failed"
    assert (await harness.delivery(sink_id)).status == "failed"
    assert (await harness.delivery(delivered)).status == "delivered"
    assert (await harness.delivery(pending)).status == "pending"

    assert await service.retry_dead_letters(tenant, sink="test:sub-1") == 1
    assert (await harness.delivery(sink_id)).status == "pending"
    assert (await harness.delivery(theirs[0])).status == "failed"


async def test_no_endpoint_unknown_sink_or_disabled_endpoint(harness: Harness, receiver: Receiver) -> None:
    """Without an endpoint, or for a sink nobody knows, the answer is NotFound; an endpoint disabled by
    a 410 refuses (WebhookEndpointDisabled) and its dead letters stay failed until a PUT enables it."""
    service = harness.service()
    tenant = await harness.tenant()
    with pytest.raises(NotFound):
        await service.retry_dead_letters(tenant)
    with pytest.raises(NotFound):
        await service.retry_dead_letters(tenant, sink="test:nobody")

    await harness.put(service, tenant, receiver.url("/gone"), EVENTS)
    receiver.answer("/gone", 410)
    first = await service.publish(tenant, "message.delivered", {"n": 1})
    assert first is not None
    await harness.worker(service).run_once()
    assert (await service.get(tenant)).status == "disabled"
    with pytest.raises(WebhookEndpointDisabled):
        await service.retry_dead_letters(tenant)
    assert (await harness.delivery(first)).status == "failed"

    await harness.put(service, tenant, receiver.url("/back"), EVENTS)
    assert await service.retry_dead_letters(tenant) == 1
    await harness.worker(service).run_once()
    assert (await harness.delivery(first)).status == "delivered"
    assert len(receiver.at("/back")) == 1
