"""SIM swap subscriptions against the webhook outbox on SQLite and PostgreSQL: the poller's leases
(one event however many processes poll), shared operator calls, 410 from a sink, independence from
the tenant's webhook endpoint, and ending on time while the operator is down.

The operator is :class:`carrier_adapters.testing.FakeExchanger`; notifications go over real sockets to a
receiver on 127.0.0.1 through the real delivery worker.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select
from standardwebhooks import Webhook

from carrier_adapters import CarrierUnavailable, CustomerRecord, SwapHistory
from carrier_adapters.testing import FakeExchanger
from gateway.camara.identifiers import LineDirectory
from gateway.camara.subscriptions.models import SimSwapSubscription
from gateway.camara.subscriptions.poller import SwapPoller
from gateway.camara.subscriptions.schemas import SubscriptionRequest
from gateway.camara.subscriptions.service import Created, SubscriptionService
from gateway.crypto import BlindIndex, Keyring
from gateway.oauth.tokens import Principal
from gateway.webhooks.models import WebhookDelivery
from gateway.webhooks.service import WebhookService
from tests.leaks import SENSITIVE
from tests.stack import SESSION_INDEX_KEYS
from tests.unit.sim_swap_subscriptions.support import end_subscriptions
from tests.unit.webhooks.support import Harness, Receiver, open_harness

pytestmark = pytest.mark.integration

SWAPPED = "org.camaraproject.sim-swap-subscriptions.v0.swapped"
ENDED = "org.camaraproject.sim-swap-subscriptions.v0.subscription-ended"
INTERVAL = timedelta(seconds=30)


def _phone() -> str:
    phone = f"+86138{secrets.randbelow(10**8):08d}"
    SENSITIVE.update({phone, phone[3:]})
    return phone


@dataclass
class Env:
    """Subscription service, pollers and delivery workers over one database and a fake cmcc."""

    harness: Harness
    webhooks: WebhookService
    operator: FakeExchanger
    service: SubscriptionService
    receiver: Receiver

    async def bank(self) -> Principal:
        """A fresh tenant's 2-legged principal."""
        tenant = await self.harness.tenant()
        return Principal(tenant, f"client-{tenant}", frozenset())

    def line(self, at: datetime) -> str:
        """A cmcc line whose latest SIM change is ``at``."""
        phone = _phone()
        self.operator.set_history(phone, sim=at)
        return phone

    async def subscribe(self, who: Principal, phone: str, path: str = "/sink", **config: Any) -> Created:
        """Subscribe the receiver's ``path`` to ``phone`` with a bearer sink credential."""
        token = "sink-" + secrets.token_urlsafe(12)
        SENSITIVE.add(token)
        body = SubscriptionRequest.model_validate(
            {
                "protocol": "HTTP",
                "sink": self.receiver.url(path),
                "sinkCredential": {
                    "credentialType": "ACCESSTOKEN",
                    "accessTokenType": "bearer",
                    "accessToken": token,
                    "accessTokenExpiresUtc": (self.harness.clock.now() + timedelta(days=30)).isoformat(),
                },
                "types": [SWAPPED],
                "config": {"subscriptionDetail": {"phoneNumber": phone}, **config},
            },
            strict=False,
        )
        created = await self.service.create(who, body)
        SENSITIVE.add(created.signing_secret)
        return created

    def poller(self, name: str = "p1") -> SwapPoller:
        """A poller as one gateway process runs it."""
        return SwapPoller(
            self.harness.sessions,
            service=self.service,
            operators={"cmcc": self.operator},
            clock=self.harness.clock,
            interval=INTERVAL,
            name=name,
        )

    async def deliveries(self, subscription_id: str) -> list[WebhookDelivery]:
        """The outbox rows of one subscription's sink, oldest first."""
        async with self.harness.sessions() as session:
            rows = await session.exec(
                select(WebhookDelivery)
                .where(WebhookDelivery.sink == f"sim-swap-subscription:{subscription_id}")
                .order_by(col(WebhookDelivery.created_at))
            )
            return list(rows)

    async def row(self, subscription_id: str) -> SimSwapSubscription:
        """The stored subscription."""
        async with self.harness.sessions() as session:
            row = await session.get(SimSwapSubscription, subscription_id)
            assert row is not None
            return row


@pytest.fixture
async def env(database_url: str) -> AsyncIterator[Env]:
    """The feature over the parametrised database, a fake cmcc and a receiver."""
    async with open_harness(database_url) as harness, Receiver() as receiver:
        webhooks = harness.service()
        operator = FakeExchanger("cmcc")
        service = SubscriptionService(
            harness.sessions,
            lines=LineDirectory({"cmcc": operator}),
            webhooks=webhooks,
            cipher=harness.cipher,
            index=BlindIndex(Keyring.parse(SESSION_INDEX_KEYS)),
            clock=harness.clock,
            source="https://gw.example.com/sim-swap-subscriptions/v0.3",
            allow_private=True,
            poll_interval=INTERVAL,
        )
        try:
            yield Env(harness, webhooks, operator, service, receiver)
        finally:
            await end_subscriptions(harness.sessions, harness.tenant_ids)


async def test_racing_pollers_queue_one_signed_event(env: Env) -> None:
    """Two processes polling the same due subscription at once queue one swapped event; it arrives
    signed under the subscription's secret, as a CloudEvent with the sink's bearer token."""
    now = env.harness.clock.now()
    phone = env.line(now - timedelta(days=3))
    created = await env.subscribe(await env.bank(), phone)
    swap = now + timedelta(seconds=5)
    env.operator.set_history(phone, sim=swap)
    env.harness.clock.advance(31)

    claimed = await asyncio.gather(*(env.poller(f"p{i}").poll_once() for i in range(4)))
    assert sum(claimed) == 1, "one process claims the subscription"
    [delivery] = await env.deliveries(created.subscription.id)
    assert delivery.event_type == SWAPPED and phone not in delivery.payload, "payload stored encrypted"
    await env.harness.worker(env.webhooks).run_once()

    [got] = env.receiver.at("/sink")
    Webhook(created.signing_secret).verify(got.body, got.headers)
    assert got.headers["content-type"] == "application/cloudevents+json"
    assert got.headers["authorization"].startswith("Bearer sink-")
    event = json.loads(got.body)
    assert event["id"] == got.webhook_id == delivery.id
    assert event["data"] == {"subscriptionId": created.subscription.id, "phoneNumber": phone}
    assert (await env.row(created.subscription.id)).events_sent == 1
    await env.poller().poll_once()
    assert len(await env.deliveries(created.subscription.id)) == 1, "a seen change is not an event again"


class _Stalled:
    """A cmcc whose SIM history answers only when released (a slow operator call)."""

    def __init__(self, inner: FakeExchanger) -> None:
        self.inner = inner
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    @property
    def history_window_hours(self) -> int:
        """As the wrapped operator."""
        return self.inner.history_window_hours

    async def sim_history(self, phone_number: str) -> SwapHistory:
        """Wait for :attr:`release`, then answer as the wrapped operator."""
        self.entered.set()
        await self.release.wait()
        return await self.inner.sim_history(phone_number)

    async def device_history(self, phone_number: str) -> SwapHistory:
        """As the wrapped operator."""
        return await self.inner.device_history(phone_number)

    async def customer_record(self, phone_number: str) -> CustomerRecord:
        """As the wrapped operator."""
        return await self.inner.customer_record(phone_number)


async def test_a_poller_that_lost_its_lease_writes_and_sends_nothing(env: Env) -> None:
    """A round that outlives its lease (slow operator) loses the subscription to another process;
    when it finally answers it writes nothing and queues no second event."""
    now = env.harness.clock.now()
    phone = env.line(now - timedelta(days=3))
    created = await env.subscribe(await env.bank(), phone)
    env.operator.set_history(phone, sim=now + timedelta(seconds=5))
    env.harness.clock.advance(31)
    stalled = _Stalled(env.operator)
    slow = SwapPoller(
        env.harness.sessions,
        service=env.service,
        operators={"cmcc": stalled},
        clock=env.harness.clock,
        interval=INTERVAL,
        lease=timedelta(seconds=60),
        name="slow",
    )
    round_ = asyncio.create_task(slow.poll_once())
    await asyncio.wait_for(stalled.entered.wait(), 10)
    env.harness.clock.advance(61)

    assert await env.poller("fast").poll_once() == 1
    stalled.release.set()
    assert await round_ == 1
    [delivery] = await env.deliveries(created.subscription.id)
    assert delivery.event_type == SWAPPED
    row = await env.row(created.subscription.id)
    assert row.events_sent == 1 and row.lease_owner is None


async def test_subscriptions_of_one_number_share_one_operator_call(env: Env) -> None:
    """Two tenants subscribed to one number cost one operator call per round, and both are notified."""
    now = env.harness.clock.now()
    phone = env.line(now - timedelta(days=3))
    first = await env.subscribe(await env.bank(), phone)
    second = await env.subscribe(await env.bank(), phone)
    env.operator.set_history(phone, sim=now + timedelta(seconds=1))
    env.harness.clock.advance(31)
    env.operator.calls.clear()

    assert await env.poller().poll_once() == 2
    assert env.operator.calls == [("sim_history", phone)]
    for created in (first, second):
        assert [d.event_type for d in await env.deliveries(created.subscription.id)] == [SWAPPED]


async def test_410_ends_the_subscription_but_not_the_tenant_endpoint(env: Env) -> None:
    """A sink answering 410 ends the subscription (DELETED, no more polls), fails that sink's other
    pending deliveries, and leaves the tenant's own webhook endpoint enabled and delivering."""
    who = await env.bank()
    await env.harness.put(env.webhooks, who.tenant_id, env.receiver.url("/hook"), ["message.delivered"])
    env.receiver.answer("/sink", 410)
    now = env.harness.clock.now()
    phone = env.line(now - timedelta(days=3))
    created = await env.subscribe(who, phone)
    for step in (1, 2):
        env.operator.set_history(phone, sim=env.harness.clock.now() + timedelta(seconds=step))
        env.harness.clock.advance(31)
        await env.poller().poll_once()
    hook = await env.webhooks.publish(who.tenant_id, "message.delivered", {"messageId": "m-1"})
    first, second = await env.deliveries(created.subscription.id)

    await env.harness.worker(env.webhooks, concurrency=1).run_once()
    await env.harness.worker(env.webhooks).run_once()

    assert [r.webhook_id for r in env.receiver.at("/sink")] == [first.id]
    assert [r.webhook_id for r in env.receiver.at("/hook")] == [hook]
    row = await env.row(created.subscription.id)
    assert row.status == "DELETED" and row.termination_reason == "SINK_GONE"
    assert (await env.harness.delivery(second.id)).status == "failed"
    assert (await env.webhooks.get(who.tenant_id)).status == "enabled"
    env.operator.set_history(phone, sim=env.harness.clock.now())
    env.harness.clock.advance(31)
    assert await env.poller().poll_once() == 0


async def test_removing_the_tenant_endpoint_keeps_sink_deliveries(env: Env) -> None:
    """Deleting the tenant's webhook endpoint fails its own pending deliveries, not a sink's."""
    who = await env.bank()
    await env.harness.put(env.webhooks, who.tenant_id, env.receiver.url("/hook"), ["message.delivered"])
    phone = env.line(env.harness.clock.now() - timedelta(days=3))
    created = await env.subscribe(who, phone)
    env.operator.set_history(phone, sim=env.harness.clock.now() + timedelta(seconds=1))
    env.harness.clock.advance(31)
    await env.poller().poll_once()
    hook = await env.webhooks.publish(who.tenant_id, "message.delivered", {"messageId": "m-1"})
    assert hook is not None

    await env.webhooks.delete(who.tenant_id)
    assert (await env.harness.delivery(hook)).status == "failed"
    [sink] = await env.deliveries(created.subscription.id)
    assert sink.status == "pending"
    await env.harness.worker(env.webhooks).run_once()
    assert (await env.harness.delivery(sink.id)).status == "delivered"


async def test_expiry_is_notified_on_time_while_the_operator_is_down(env: Env) -> None:
    """An operator outage produces no swap event, yet the subscription ends at its expire time."""
    now = env.harness.clock.now()
    phone = env.line(now - timedelta(days=3))
    expire = now + timedelta(seconds=10)
    created = await env.subscribe(await env.bank(), phone, subscriptionExpireTime=expire.isoformat())
    assert (await env.row(created.subscription.id)).next_poll_at is not None
    env.harness.clock.advance(11)
    env.operator.fail_next(CarrierUnavailable("cmcc", "down"))

    assert await env.poller().poll_once() == 1
    [ended] = await env.deliveries(created.subscription.id)
    await env.harness.worker(env.webhooks).run_once()
    [got] = env.receiver.at("/sink")
    event = json.loads(got.body)
    assert ended.event_type == ENDED and event["type"] == ENDED
    assert event["data"]["terminationReason"] == "SUBSCRIPTION_EXPIRED"
    row = await env.row(created.subscription.id)
    assert row.status == "EXPIRED" and row.termination_reason == "SUBSCRIPTION_EXPIRED"
