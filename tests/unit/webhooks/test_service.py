"""The webhook service: publishing rules, endpoint replacement and removal, and secrets at rest."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from gateway.db import as_utc
from gateway.errors import InvalidArgument, NotFound
from gateway.webhooks.events import EVENT_TYPES
from gateway.webhooks.models import WebhookEndpoint
from gateway.webhooks.service import MAX_PAYLOAD_BYTES
from tests.unit.webhooks.support import Harness, Receiver, open_harness


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[Harness]:
    """The webhook domain objects on the parametrised database."""
    async with open_harness(database_url) as running:
        yield running


async def test_publish_refuses_unknown_events_and_oversized_or_non_json_data(harness: Harness) -> None:
    """Unknown event types, payloads over the limit and non-JSON data are programming errors."""
    service = harness.service()
    tenant = await harness.tenant()
    await harness.put(service, tenant, "http://127.0.0.1:9/x", list(EVENT_TYPES))
    with pytest.raises(ValueError, match="unknown webhook event"):
        await service.publish(tenant, "message.exploded", {})
    with pytest.raises(ValueError, match="exceeds"):
        await service.publish(tenant, "link.opened", {"blob": "x" * MAX_PAYLOAD_BYTES})
    with pytest.raises(TypeError):
        await service.publish(tenant, "link.opened", {"when": object()})
    assert await harness.count_deliveries(tenant) == 0


async def test_payload_is_the_standard_webhooks_envelope(harness: Harness) -> None:
    """The stored body is {"type", "timestamp", "data"} with a UTC timestamp of the publish time."""
    service = harness.service()
    tenant = await harness.tenant()
    await harness.put(service, tenant, "http://127.0.0.1:9/x", ["link.rejected"])
    delivery_id = await service.publish(tenant, "link.rejected", {"linkId": "l-1", "reason": "expired"})
    assert delivery_id is not None and delivery_id.startswith("msg_")
    row = await harness.delivery(delivery_id)
    body = json.loads(row.payload)
    assert body == {
        "type": "link.rejected",
        "timestamp": body["timestamp"],
        "data": {"linkId": "l-1", "reason": "expired"},
    }
    assert body["timestamp"].endswith("Z")
    published = datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00"))
    created = as_utc(row.created_at)
    assert created is not None and abs(published - created) < timedelta(milliseconds=1)
    assert row.status == "pending" and row.attempts == 0


async def test_invalid_registrations_raise_invalid_argument(harness: Harness) -> None:
    """A refused URL or an unknown or empty event list is InvalidArgument and stores nothing."""
    strict = harness.service(allow_private=False)
    tenant = await harness.tenant()
    for url, events in [
        ("http://hooks.bank.example/x", ["link.opened"]),
        ("https://[::ffff:169.254.169.254]/x", ["link.opened"]),
        ("https://hooks.bank.example/x", ["link.opened", "bogus"]),
        ("https://hooks.bank.example/x", []),
    ]:
        with pytest.raises(InvalidArgument):
            await strict.put(tenant, url=url, events=events)
    with pytest.raises(NotFound):
        await strict.get(tenant)


async def test_secret_is_stored_encrypted(harness: Harness) -> None:
    """The secret never appears in the endpoint row; the row holds AES-GCM ciphertext."""
    service = harness.service()
    tenant = await harness.tenant()
    secret = await harness.put(service, tenant, "http://127.0.0.1:9/x", ["link.opened"])
    async with harness.sessions() as session:
        row = await session.get(WebhookEndpoint, tenant)
    assert row is not None
    stored = json.dumps(row.model_dump(mode="json"))
    assert secret not in stored and secret.removeprefix("whsec_") not in stored
    assert row.secret_cipher.startswith("v1.")


async def test_pending_deliveries_follow_a_replaced_endpoint(harness: Harness) -> None:
    """A delivery queued before a PUT goes to the new URL; one whose event the new endpoint no longer
    subscribes to fails without being sent."""
    service = harness.service()
    tenant = await harness.tenant()
    async with Receiver() as old, Receiver() as new:
        await harness.put(service, tenant, old.url("/old"), ["link.opened", "queue.ticket_called"])
        moved = await service.publish(tenant, "link.opened", {"n": 1})
        dropped = await service.publish(tenant, "queue.ticket_called", {"n": 2})
        await harness.put(service, tenant, new.url("/new"), ["link.opened"])
        await harness.worker(service).run_once()
        assert old.received == []
        assert [r.webhook_id for r in new.at("/new")] == [moved]
    gone = await harness.delivery(str(dropped))
    assert gone.status == "failed" and gone.last_error == "the endpoint no longer subscribes to this event"
    assert await harness.attempts(str(dropped)) == []


async def test_delete_fails_pending_deliveries(harness: Harness) -> None:
    """Removing the endpoint fails its pending deliveries and stops new ones from being stored."""
    service = harness.service()
    tenant = await harness.tenant()
    await harness.put(service, tenant, "http://127.0.0.1:9/x", ["link.opened"])
    pending = await service.publish(tenant, "link.opened", {"n": 1})
    await service.delete(tenant)
    row = await harness.delivery(str(pending))
    assert row.status == "failed" and row.last_error == "endpoint removed"
    assert await service.publish(tenant, "link.opened", {"n": 2}) is None
    with pytest.raises(NotFound):
        await service.delete(tenant)


async def test_previous_secret_is_live_only_during_the_grace_period(harness: Harness) -> None:
    """After a PUT both secrets sign until the grace period ends; with no grace only the new one does;
    a PUT re-enables a disabled endpoint."""
    service = harness.service(secret_grace=timedelta(minutes=10))
    tenant = await harness.tenant()
    old = await harness.put(service, tenant, "http://127.0.0.1:9/x", ["link.opened"])
    new = await harness.put(service, tenant, "http://127.0.0.1:9/x", ["link.opened"])
    target = await service.target(tenant)
    assert target is not None and target.secrets == (new, old)
    harness.clock.advance(601)
    target = await service.target(tenant)
    assert target is not None and target.secrets == (new,)

    no_grace = harness.service(secret_grace=timedelta(0))
    newest = await harness.put(no_grace, tenant, "http://127.0.0.1:9/x", ["link.opened"])
    target = await no_grace.target(tenant)
    assert target is not None and target.secrets == (newest,) and target.enabled
