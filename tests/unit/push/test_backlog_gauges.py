"""Outbox gauges read from the database and the delivery-report lag histogram, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from carrier_adapters import DeliveryState
from gateway.backlog import BacklogGauges, read_backlog
from gateway.db import create_engine, session_factory
from gateway.webhooks.models import WebhookDelivery
from tests.clocks import ManualClock
from tests.unit.push.conftest import NOON_IN_SHANGHAI, PushEnv, new_phone

LAG = "gateway_delivery_report_lag_seconds"


def _lag(operator: str) -> tuple[float, float]:
    """(count, sum) of the lag histogram for ``operator`` in this process."""
    labels = {"operator": operator}
    count = REGISTRY.get_sample_value(f"{LAG}_count", labels) or 0.0
    total = REGISTRY.get_sample_value(f"{LAG}_sum", labels) or 0.0
    return count, total


async def _post_report(env: PushEnv, message_id: str, at: datetime) -> tuple[str, ...]:
    body, headers = env.channels["cmcc"].sign(
        [env.channels["cmcc"].report(message_id, DeliveryState.DELIVERED, at=at)]
    )
    return (await env.callbacks.receive("cmcc", body, headers)).outcomes


async def test_outbox_depth_due_count_and_oldest_due_age(push_env: PushEnv) -> None:
    """Queued messages count as queued and due; the oldest due age grows with the clock; a failed
    attempt's backoff takes a message out of "due"; submission moves the rest to submitted."""
    env = push_env
    template = env.templates.add(env.tenant_id)
    empty = await read_backlog(env.sessions, env.clock.now())
    assert empty.push_by_status == {"queued": 0, "submitted": 0}
    assert (empty.push_due, empty.push_oldest_due_seconds) == (0, 0.0)

    for _ in range(3):
        await env.send(new_phone(), template)
    env.clock.advance(90)
    await env.send(new_phone(), template)
    reading = await read_backlog(env.sessions, env.clock.now())
    assert reading.push_by_status == {"queued": 4, "submitted": 0}
    assert reading.push_due == 4 and reading.push_oldest_due_seconds == 90.0

    env.channels["cmcc"].down = True
    await env.dispatcher().dispatch_once()
    backing_off = await read_backlog(env.sessions, env.clock.now())
    assert backing_off.push_by_status == {"queued": 4, "submitted": 0}
    assert backing_off.push_due == 0 and backing_off.push_oldest_due_seconds == 0.0

    env.channels["cmcc"].down = False
    env.clock.advance(3600)
    assert (await read_backlog(env.sessions, env.clock.now())).push_oldest_due_seconds == 3690.0
    await env.dispatcher().dispatch_once()
    sent = await read_backlog(env.sessions, env.clock.now())
    assert sent.push_by_status == {"queued": 0, "submitted": 4}
    assert (sent.push_due, sent.push_oldest_due_seconds) == (0, 0.0)
    assert sent.webhook_pending == {"endpoint": 0}


async def test_report_lag_runs_from_submission_to_arrival(push_env: PushEnv) -> None:
    """A report arriving 42 s after submission observes 42 s for its operator; a repeat observes
    nothing; a report that arrived before the submission committed observes 0."""
    env = push_env
    template = env.templates.add(env.tenant_id)
    message_id = (await env.send(new_phone(), template)).body["id"]
    await env.dispatcher().dispatch_once()
    env.clock.advance(42)
    count, total = _lag("cmcc")
    reported_at = datetime.now(UTC)
    assert await _post_report(env, message_id, reported_at) == ("applied",)
    assert await _post_report(env, message_id, reported_at) == ("duplicate",)
    after_count, after_total = _lag("cmcc")
    assert after_count == count + 1
    assert after_total == pytest.approx(total + 42.0)

    early = (await env.send(new_phone(), template)).body["id"]
    assert await _post_report(env, early, datetime.now(UTC)) == ("deferred",)
    env.clock.advance(10)
    await env.dispatcher().dispatch_once()
    late_count, late_total = _lag("cmcc")
    assert late_count == after_count + 1
    assert late_total == pytest.approx(after_total)


async def test_gauges_are_cached_for_their_ttl(push_env: PushEnv) -> None:
    """Within the TTL a scrape reuses the last reading; after it, the database is read again."""
    env = push_env
    now = [100.0]
    gauges = BacklogGauges(env.sessions, env.clock, ttl=5.0, monotonic=lambda: now[0])
    template = env.templates.add(env.tenant_id)
    assert (await gauges.refresh()) is not None
    await env.send(new_phone(), template)
    now[0] += 4.9
    cached = await gauges.refresh()
    assert cached is not None and cached.push_by_status["queued"] == 0
    now[0] += 0.1
    fresh = await gauges.refresh()
    assert fresh is not None and fresh.push_by_status["queued"] == 1

    families = {f.name: f for f in text_string_to_metric_families((await gauges.exposition()).decode())}
    assert [s.value for s in families["gateway_backlog_up"].samples] == [1.0]
    queued = {s.labels["status"]: s.value for s in families["gateway_push_outbox_messages"].samples}
    assert queued == {"queued": 1.0, "submitted": 0.0}


async def test_unreachable_database_reports_backlog_down(unused_tcp_port: int) -> None:
    """When the database does not answer, the scrape says so (gateway_backlog_up 0) and leaves the
    backlog gauges out instead of reporting stale values."""
    engine = create_engine(f"postgresql://127.0.0.1:{unused_tcp_port}/none")
    try:
        gauges = BacklogGauges(session_factory(engine), ManualClock(NOON_IN_SHANGHAI), ttl=0.0)
        families = list(text_string_to_metric_families((await gauges.exposition()).decode()))
        assert [(f.name, [s.value for s in f.samples]) for f in families] == [("gateway_backlog_up", [0.0])]
    finally:
        await engine.dispose()


async def test_webhook_backlog_by_target(push_env: PushEnv) -> None:
    """Pending deliveries count per target (the tenant's endpoint, or a sink's kind, never its key),
    with the oldest pending age; delivered and failed ones are not backlog."""
    env = push_env
    start = env.clock.now()

    def delivery(n: int, status: str, sink: str | None, minutes_ago: int) -> WebhookDelivery:
        created = start - timedelta(minutes=minutes_ago)
        return WebhookDelivery(
            id=f"msg_{n:026d}",
            tenant_id=env.tenant_id,
            event_type="message.submitted",
            payload="{}",
            status=status,
            next_attempt_at=created,
            created_at=created,
            sink=sink,
        )

    async with env.sessions() as session, session.begin():
        session.add_all(
            [
                delivery(1, "pending", None, 1),
                delivery(2, "pending", None, 7),
                delivery(3, "delivered", None, 60),
                delivery(4, "pending", "sim-swap-subscription:sub-a", 2),
                delivery(5, "pending", "sim-swap-subscription:sub-b", 3),
                delivery(6, "failed", "sim-swap-subscription:sub-c", 90),
            ]
        )
    reading = await read_backlog(env.sessions, start)
    assert reading.webhook_pending == {"endpoint": 2, "sim-swap-subscription": 2}
    assert reading.webhook_oldest_seconds == {"endpoint": 420.0, "sim-swap-subscription": 180.0}
