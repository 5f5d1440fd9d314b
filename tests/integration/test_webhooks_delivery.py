"""Webhook deliveries over real sockets on SQLite and PostgreSQL: signing, retries, 410, redirects,
SSRF refusals at send time, tenant isolation, the transactional outbox and concurrent workers."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from standardwebhooks import Webhook

from gateway.db import as_utc, create_engine, session_factory
from gateway.errors import NotFound
from gateway.webhooks.egress import AddressRefused, guarded_socket
from gateway.webhooks.events import EVENT_TYPES
from gateway.webhooks.models import WebhookDelivery
from tests.unit.webhooks.support import FakeResolver, Harness, Received, Receiver, TcpCounter, open_harness

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


async def test_delivery_is_signed_and_verifies(harness: Harness, receiver: Receiver) -> None:
    """A published event arrives once, signed so that standardwebhooks verifies it, with the
    Standard Webhooks payload and the delivery id as webhook-id; the history records the 200."""
    service = harness.service()
    tenant = await harness.tenant()
    secret = await harness.put(service, tenant, receiver.url("/hook"), EVENTS)
    delivery_id = await service.publish(tenant, "message.delivered", {"messageId": "m-1"})
    assert delivery_id is not None
    await harness.worker(service).run_once()

    [got] = receiver.at("/hook")
    payload = Webhook(secret).verify(got.body, got.headers)
    assert payload["type"] == "message.delivered" and payload["data"] == {"messageId": "m-1"}
    assert payload["timestamp"].endswith("Z")
    assert got.webhook_id == delivery_id
    assert got.headers["content-type"] == "application/json"
    row = await harness.delivery(delivery_id)
    assert row.status == "delivered" and row.attempts == 1
    [attempt] = await harness.attempts(delivery_id)
    assert attempt.status_code == 200 and attempt.error is None


async def test_500_then_200_is_retried_and_delivered_once(harness: Harness, receiver: Receiver) -> None:
    """A 500 schedules a retry within the first backoff step; the retry carries the same webhook-id
    and a fresh valid signature; once a 2xx arrives nothing more is sent."""
    service = harness.service()
    tenant = await harness.tenant()
    secret = await harness.put(service, tenant, receiver.url("/hook"), EVENTS)
    receiver.answer("/hook", 500, 200)
    worker = harness.worker(service)
    delivery_id = await service.publish(tenant, "message.delivered", {"messageId": "m-2"})
    assert delivery_id is not None

    await worker.run_once()
    row = await harness.delivery(delivery_id)
    assert row.status == "pending" and row.attempts == 1 and row.last_error == "status 500"
    first = as_utc(row.first_attempt_at)
    assert first is not None
    assert timedelta(0) < (as_utc(row.next_attempt_at) or first) - first <= timedelta(seconds=5)

    await worker.run_once()
    assert len(receiver.at("/hook")) == 1, "not due yet: the backoff must hold the retry back"
    harness.clock.advance(5)
    await worker.run_once()
    harness.clock.advance(3600)
    await worker.run_once()

    sent = receiver.at("/hook")
    assert [r.webhook_id for r in sent] == [delivery_id, delivery_id]
    for request in sent:
        Webhook(secret).verify(request.body, request.headers)
    assert (await harness.delivery(delivery_id)).status == "delivered"
    assert [a.status_code for a in await harness.attempts(delivery_id)] == [500, 200]


async def test_410_disables_the_endpoint(harness: Harness, receiver: Receiver) -> None:
    """A 410 disables the endpoint with a recorded reason, fails the tenant's other pending
    deliveries without sending them, and later events are not even stored."""
    service = harness.service()
    tenant = await harness.tenant()
    await harness.put(service, tenant, receiver.url("/gone"), EVENTS)
    receiver.answer("/gone", 410)
    first = await service.publish(tenant, "message.delivered", {"n": 1})
    harness.clock.advance(1)
    second = await service.publish(tenant, "message.delivered", {"n": 2})
    assert first and second
    await harness.worker(service, concurrency=1).run_once()

    assert [r.webhook_id for r in receiver.at("/gone")] == [first]
    endpoint = await service.get(tenant)
    assert endpoint.status == "disabled"
    assert endpoint.disabled_reason is not None and "410" in endpoint.disabled_reason
    assert (await harness.delivery(first)).status == "failed"
    other = await harness.delivery(second)
    assert other.status == "failed" and other.last_error is not None and "410" in other.last_error
    assert await service.publish(tenant, "message.delivered", {"n": 3}) is None
    harness.clock.advance(3600)
    await harness.worker(service).run_once()
    assert len(receiver.at("/gone")) == 1


async def test_redirect_is_not_followed(harness: Harness, receiver: Receiver) -> None:
    """A 302 is a failed attempt to retry; its Location is never requested."""
    service = harness.service()
    tenant = await harness.tenant()
    await harness.put(service, tenant, receiver.url("/moved"), EVENTS)
    receiver.answer("/moved", 302, headers={"Location": receiver.url("/elsewhere")})
    delivery_id = await service.publish(tenant, "message.delivered", {"n": 1})
    assert delivery_id is not None
    await harness.worker(service).run_once()

    assert len(receiver.at("/moved")) == 1 and receiver.at("/elsewhere") == []
    [attempt] = await harness.attempts(delivery_id)
    assert attempt.status_code == 302 and attempt.error == "redirect not followed (302)"
    assert (await harness.delivery(delivery_id)).status == "pending"


async def test_gives_up_24_hours_after_the_first_attempt(harness: Harness, receiver: Receiver) -> None:
    """An endpoint that always fails is tried with growing waits until exactly 24 h after the first
    attempt, then the delivery fails with the reason; no wait exceeds the 1 h cap."""
    service = harness.service()
    tenant = await harness.tenant()
    await harness.put(service, tenant, receiver.url("/down"), EVENTS)
    receiver.answer("/down", 503)
    worker = harness.worker(service)
    delivery_id = await service.publish(tenant, "message.delivered", {"n": 1})
    assert delivery_id is not None
    await worker.run_once()
    for _ in range(100):
        row = await harness.delivery(delivery_id)
        if row.status != "pending":
            break
        due = as_utc(row.next_attempt_at)
        assert due is not None
        harness.clock.advance((due - harness.clock.now()).total_seconds() + 0.001)
        await worker.run_once()

    row = await harness.delivery(delivery_id)
    assert row.status == "failed" and row.last_error is not None and "gave up" in row.last_error
    attempts = await harness.attempts(delivery_id)
    times = [as_utc(a.attempted_at) or a.attempted_at for a in attempts]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert gaps[:3] == pytest.approx([5, 10, 20], abs=0.1)
    assert max(gaps) <= 3600.1
    span = (times[-1] - times[0]).total_seconds()
    assert 86_400 <= span < 86_401
    assert len(receiver.at("/down")) == len(attempts)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (["127.0.0.1"], "loopback"),
        (["93.184.216.34", "127.0.0.1"], "loopback"),
        (["::ffff:127.0.0.1"], "IPv4-mapped loopback"),
        (["169.254.169.254"], "link-local"),
        (["::ffff:169.254.169.254"], "IPv4-mapped link-local"),
        (["10.1.2.3"], "private"),
        (["100.64.0.1"], "CGNAT"),
    ],
)
async def test_name_resolving_to_a_private_address_is_refused_at_send_time(
    harness: Harness, answer: list[str], reason: str
) -> None:
    """A public-looking name accepted at registration but resolving (at send time) to a forbidden
    address is a failed attempt with the reason; nothing connects and the worker carries on."""
    service = harness.service(allow_private=False)
    tenant = await harness.tenant()
    async with TcpCounter() as listener:
        await harness.put(service, tenant, f"https://hooks.bank.example:{listener.port}/hook", EVENTS)
        resolver = FakeResolver({"hooks.bank.example": answer})
        delivery_id = await service.publish(tenant, "link.opened", {"n": 1})
        assert delivery_id is not None
        await harness.worker(service, allow_private=False, resolver=resolver).run_once()

        assert resolver.lookups == ["hooks.bank.example"]
        assert listener.connections == 0
    [attempt] = await harness.attempts(delivery_id)
    assert attempt.status_code is None and attempt.error is not None
    assert attempt.error.startswith("refused:") and reason in attempt.error
    assert (await harness.delivery(delivery_id)).status == "pending"


@pytest.mark.parametrize(
    ("host", "reason"),
    [("127.0.0.1", "loopback"), ("[::ffff:127.0.0.1]", "IPv4-mapped loopback"), ("localhost", "local")],
)
async def test_private_targets_stored_earlier_are_refused_when_private_webhooks_are_off(
    harness: Harness, host: str, reason: str
) -> None:
    """An endpoint registered while private webhooks were allowed is refused once they are not:
    loopback, its IPv4-mapped IPv6 form and localhost never receive a connection."""
    tenant = await harness.tenant()
    async with TcpCounter() as listener:
        await harness.put(harness.service(), tenant, f"https://{host}:{listener.port}/hook", EVENTS)
        strict = harness.service(allow_private=False)
        delivery_id = await strict.publish(tenant, "link.opened", {"n": 1})
        assert delivery_id is not None
        await harness.worker(strict, allow_private=False).run_once()
        assert listener.connections == 0
    [attempt] = await harness.attempts(delivery_id)
    assert attempt.error is not None and attempt.error.startswith("refused:") and reason in attempt.error


@pytest.mark.parametrize("host", ["127.0.0.1", "[::ffff:127.0.0.1]"])
async def test_connect_time_guard_refuses_ip_literals(host: str) -> None:
    """The connector's socket factory refuses loopback literals (plain and IPv4-mapped) before any
    socket exists, while the same request without the guard does reach the listener."""
    async with TcpCounter() as listener:
        url = f"http://{host}:{listener.port}/"
        guarded = aiohttp.TCPConnector(socket_factory=guarded_socket)
        async with aiohttp.ClientSession(connector=guarded) as session:
            with pytest.raises(aiohttp.ClientConnectorError) as caught:
                await session.get(url)
        assert isinstance(caught.value.os_error, AddressRefused)
        assert listener.connections == 0
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientError):
                await session.get(url)
        await asyncio.sleep(0.05)
        assert listener.connections >= 1


async def test_tenants_never_receive_each_others_events(harness: Harness, receiver: Receiver) -> None:
    """Each event goes only to its own tenant's endpoint; a tenant without an endpoint stores nothing."""
    service = harness.service()
    alice, bob, carol = await harness.tenant(), await harness.tenant(), await harness.tenant()
    await harness.put(service, alice, receiver.url("/alice"), EVENTS)
    await harness.put(service, bob, receiver.url("/bob"), ["queue.ticket_called"])
    to_alice = await service.publish(alice, "message.delivered", {"n": "a"})
    to_bob = await service.publish(bob, "queue.ticket_called", {"n": "b"})
    assert await service.publish(bob, "message.delivered", {"n": "unsubscribed"}) is None
    assert await service.publish(carol, "message.delivered", {"n": "c"}) is None
    await harness.worker(service).run_once()

    assert [r.webhook_id for r in receiver.at("/alice")] == [to_alice]
    assert [r.webhook_id for r in receiver.at("/bob")] == [to_bob]
    assert await harness.count_deliveries(carol) == 0
    assert (await service.delivery(alice, str(to_alice))).status == "delivered"
    with pytest.raises(NotFound):
        await service.delivery(bob, str(to_alice))


async def test_publish_follows_the_callers_transaction(harness: Harness, receiver: Receiver) -> None:
    """Published inside a transaction that rolls back, an event leaves no row and is never sent;
    inside one that commits, it is delivered, and the commit wakes the worker."""
    wakes: list[int] = []
    service = harness.service(on_publish=lambda: wakes.append(1))
    tenant = await harness.tenant()
    await harness.put(service, tenant, receiver.url("/tx"), EVENTS)

    with pytest.raises(RuntimeError):
        async with harness.sessions() as session, session.begin():
            assert await service.publish(tenant, "claim.location_shared", {"n": 1}, session=session)
            raise RuntimeError("the caller's state change failed")
    assert await harness.count_deliveries(tenant) == 0 and wakes == []

    async with harness.sessions() as session, session.begin():
        kept = await service.publish(tenant, "claim.location_shared", {"n": 2}, session=session)
        assert wakes == []
    assert wakes == [1]
    await harness.worker(service).run_once()
    assert [json.loads(r.body)["data"] for r in receiver.at("/tx")] == [{"n": 2}]
    assert [r.webhook_id for r in receiver.at("/tx")] == [kept]


async def test_replaced_secret_keeps_signing_during_the_grace_period(
    harness: Harness, receiver: Receiver
) -> None:
    """After a PUT the previous secret still verifies deliveries for the grace period, alongside the
    new one; after it only the new secret signs."""
    service = harness.service(secret_grace=timedelta(hours=1))
    tenant = await harness.tenant()
    old = await harness.put(service, tenant, receiver.url("/rot"), EVENTS)
    new = await harness.put(service, tenant, receiver.url("/rot"), EVENTS)
    assert old != new
    worker = harness.worker(service)
    await service.publish(tenant, "link.opened", {"n": 1})
    await worker.run_once()
    [during] = receiver.at("/rot")
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(during.body, during.headers)
    Webhook(new).verify(during.body, during.headers)

    harness.clock.advance(3601)
    await service.publish(tenant, "link.opened", {"n": 2})
    await worker.run_once()
    after = receiver.at("/rot")[1]
    signed = Webhook(new).sign(after.webhook_id, _stamp(after), after.body.decode())
    assert after.headers["webhook-signature"] == signed


def _stamp(request: Received) -> datetime:
    return datetime.fromtimestamp(int(request.headers["webhook-timestamp"]), tz=UTC)


async def test_two_workers_deliver_each_event_exactly_once(database_url: str, receiver: Receiver) -> None:
    """Two workers on separate connection pools (as two processes) drain one outbox concurrently:
    every event arrives exactly once and is recorded as delivered after a single attempt."""
    receiver.delay = 0.01
    async with open_harness(database_url) as harness:
        service = harness.service()
        tenant = await harness.tenant()
        await harness.put(service, tenant, receiver.url("/both"), EVENTS)
        ids = [str(await service.publish(tenant, "message.submitted", {"n": n})) for n in range(40)]
        other = create_engine(database_url)
        try:
            first = harness.worker(service, poll_interval=0.02, concurrency=4, name="worker-a")
            second = harness.worker(
                service, poll_interval=0.02, concurrency=4, name="worker-b", sessions=session_factory(other)
            )
            async with first, second:
                for _ in range(500):
                    if len(receiver.at("/both")) >= len(ids):
                        break
                    await asyncio.sleep(0.02)
                await asyncio.sleep(0.2)
        finally:
            await other.dispose()
        got = [r.webhook_id for r in receiver.at("/both")]
        assert sorted(got) == sorted(ids)
        rows: list[WebhookDelivery] = [await harness.delivery(i) for i in ids]
        assert {r.status for r in rows} == {"delivered"} and {r.attempts for r in rows} == {1}
        assert {r.lease_owner for r in rows} == {None}
