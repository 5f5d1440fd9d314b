"""The dispatch worker on both databases: claims and leases, retries, expiry, routing, early reports."""

from __future__ import annotations

import asyncio

from carrier_adapters import DeliveryState
from gateway.push.models import IdempotencyRecord
from gateway.push.states import MessageStatus
from gateway.templates import Category, Template
from tests.unit.push.conftest import PushEnv, new_phone


def _template(env: PushEnv) -> Template:
    return env.templates.add(env.tenant_id)


async def test_a_due_message_is_submitted_with_its_id_as_reference(push_env: PushEnv) -> None:
    """The worker sends the rendered text to the block's operator and marks it submitted with a webhook,
    then wakes the webhook worker once the transaction has committed."""
    phone = new_phone("186")
    accepted = await push_env.send(phone, _template(push_env))
    message_id = accepted.body["id"]

    assert await push_env.dispatcher().dispatch_once() == 1

    cucc = push_env.channels["cucc"]
    assert cucc.calls == [message_id]
    [text] = cucc.inbox(phone)
    assert text.startswith("【平安银行】") and accepted.body["link"] in text
    row = await push_env.message(message_id)
    assert row.status == "submitted" and row.operator == "cucc" and row.attempts == 1
    assert row.provider_message_id == cucc.accepted[message_id].provider_message_id
    assert row.lease_owner is None and row.lease_until is None
    assert await push_env.events(message_id) == ["queued", "submitted"]
    [(tenant, event, data, in_transaction)] = push_env.publisher.published
    assert (tenant, event, in_transaction) == (push_env.tenant_id, "message.submitted", True)
    assert data["messageId"] == message_id and data["operator"] == "cucc"
    assert phone not in str(data) and accepted.body["link"] not in str(data)
    assert push_env.publisher.wakes == 1


async def test_scheduled_messages_wait_until_due(push_env: PushEnv) -> None:
    """A message held for quiet hours is not claimed before its time, and is after."""
    push_env.clock.advance(10 * 3600)
    marketing = push_env.templates.add(push_env.tenant_id, category=Category.MARKETING)
    accepted = await push_env.send(new_phone(), marketing)
    worker = push_env.dispatcher()
    assert await worker.dispatch_once() == 0
    push_env.clock.advance(10 * 3600 - 1)
    assert await worker.dispatch_once() == 0
    push_env.clock.advance(1)
    assert await worker.dispatch_once() == 1
    assert (await push_env.message(accepted.body["id"])).status == "submitted"


async def test_two_workers_claim_disjoint_sets(push_env: PushEnv) -> None:
    """Concurrent claims by two workers never share a message, and a live lease keeps others away."""
    template = _template(push_env)
    for _ in range(20):
        await push_env.send(new_phone(), template)
    first, second = push_env.dispatcher("w1", batch=50), push_env.dispatcher("w2", batch=50)
    a, b = await asyncio.gather(first.claim(12), second.claim(12))
    ids_a, ids_b = {c.id for c in a}, {c.id for c in b}
    assert not ids_a & ids_b and len(ids_a | ids_b) == 20
    assert await push_env.dispatcher("w3").claim(50) == []


async def test_a_crashed_workers_lease_expires_and_one_sms_is_sent(push_env: PushEnv) -> None:
    """A claim abandoned by a dead worker is taken over after the lease; the stale worker sends nothing."""
    accepted = await push_env.send(new_phone(), _template(push_env))
    crashed, survivor = push_env.dispatcher("dead", lease_seconds=30), push_env.dispatcher("alive")
    [stale] = await crashed.claim(10)
    assert await survivor.dispatch_once() == 0
    push_env.clock.advance(31)
    assert await survivor.dispatch_once() == 1
    await crashed._process(stale)
    assert push_env.channels["cmcc"].calls == [accepted.body["id"]]
    assert (await push_env.message(accepted.body["id"])).status == "submitted"


async def test_a_resubmission_after_a_lost_answer_reaches_the_handset_once(push_env: PushEnv) -> None:
    """Two submissions of one message (lost commit) are deduplicated by the operator on the reference."""
    phone = new_phone()
    accepted = await push_env.send(phone, _template(push_env))
    first = push_env.dispatcher("a", lease_seconds=10)
    [claim] = await first.claim(1)
    await push_env.channels["cmcc"].submit_sms(phone, "x", reference=claim.id)
    push_env.clock.advance(11)
    await push_env.dispatcher("b").dispatch_once()
    assert len(push_env.channels["cmcc"].calls) == 2 and len(push_env.channels["cmcc"].inbox(phone)) == 1
    assert (await push_env.message(accepted.body["id"])).status == "submitted"


async def test_operator_errors_back_off_then_recover(push_env: PushEnv) -> None:
    """While the operator is down the message is retried with growing delays, then submitted once it is up."""
    accepted = await push_env.send(new_phone(), _template(push_env))
    message_id = accepted.body["id"]
    cmcc = push_env.channels["cmcc"]
    cmcc.down = True
    worker = push_env.dispatcher(retry_base_seconds=2.0, retry_max_seconds=60.0)
    assert await worker.dispatch_once() == 1
    row = await push_env.message(message_id)
    delay = (
        row.next_attempt_at.replace(tzinfo=None) - push_env.clock.now().replace(tzinfo=None)
    ).total_seconds()
    assert row.status == "queued" and row.attempts == 1 and 1.0 <= delay <= 2.0
    assert row.failure_reason == "OPERATOR_UNAVAILABLE" and row.lease_owner is None
    assert await worker.dispatch_once() == 0
    push_env.clock.advance(2)
    assert await worker.dispatch_once() == 1
    push_env.clock.advance(4)
    cmcc.down = False
    assert await worker.dispatch_once() == 1
    row = await push_env.message(message_id)
    assert row.status == "submitted" and row.attempts == 3 and row.failure_reason is None
    assert await push_env.events(message_id) == ["queued", "submit_failed", "submit_failed", "submitted"]


async def test_an_open_circuit_defers_the_retry_to_its_cooldown(push_env: PushEnv) -> None:
    """An operator held down by an open circuit for 30 s is not retried before then, whatever the backoff."""
    accepted = await push_env.send(new_phone(), _template(push_env))
    cmcc = push_env.channels["cmcc"]
    cmcc.down, cmcc.retry_after = True, 30.0
    worker = push_env.dispatcher(retry_base_seconds=2.0, retry_max_seconds=60.0)
    assert await worker.dispatch_once() == 1
    row = await push_env.message(accepted.body["id"])
    delay = (
        row.next_attempt_at.replace(tzinfo=None) - push_env.clock.now().replace(tzinfo=None)
    ).total_seconds()
    assert row.status == "queued" and delay == 30.0
    push_env.clock.advance(29)
    assert await worker.dispatch_once() == 0


async def test_retries_stop_at_the_ttl_with_failed(push_env: PushEnv) -> None:
    """When the next retry would fall after the TTL the message fails, with a message.failed webhook."""
    accepted = await push_env.send(new_phone(), _template(push_env), ttl=60)
    push_env.channels["cmcc"].down = True
    worker = push_env.dispatcher(retry_base_seconds=20.0, retry_max_seconds=600.0)
    for _ in range(10):
        await worker.dispatch_once()
        push_env.clock.advance(80)
    row = await push_env.message(accepted.body["id"])
    assert row.status == "failed" and row.failure_reason == "OPERATOR_UNAVAILABLE"
    events = await push_env.events(row.id)
    assert events[0] == "queued" and events[-1] == "failed" and events.count("failed") == 1
    assert push_env.publisher.types(row.id) == ["message.failed"]
    assert len(push_env.channels["cmcc"].calls) == row.attempts


async def test_a_message_never_tried_before_its_ttl_expires(push_env: PushEnv) -> None:
    """Past its TTL a queued message is expired without a send and without a webhook."""
    accepted = await push_env.send(new_phone(), _template(push_env), ttl=60)
    push_env.clock.advance(61)
    assert await push_env.dispatcher().dispatch_once() == 1
    row = await push_env.message(accepted.body["id"])
    assert row.status == "expired"
    assert await push_env.events(row.id) == ["queued", "expired"]
    assert push_env.channels["cmcc"].calls == [] and push_env.publisher.published == []


async def test_a_ported_number_is_tried_at_the_next_operator(push_env: PushEnv) -> None:
    """'Not my subscriber' from the block's operator moves the send to the next operator."""
    phone = new_phone()
    push_env.channels["cmcc"].not_served.add(phone)
    accepted = await push_env.send(phone, _template(push_env))
    await push_env.dispatcher().dispatch_once()
    row = await push_env.message(accepted.body["id"])
    assert row.status == "submitted" and row.operator == "cucc"
    assert push_env.channels["cucc"].inbox(phone)


async def test_a_number_no_operator_serves_fails(push_env: PushEnv) -> None:
    """When every operator refuses the number the message fails as NUMBER_NOT_SERVED."""
    phone = new_phone()
    for channel in push_env.channels.values():
        channel.not_served.add(phone)
    accepted = await push_env.send(phone, _template(push_env))
    await push_env.dispatcher().dispatch_once()
    row = await push_env.message(accepted.body["id"])
    assert row.status == "failed" and row.failure_reason == "NUMBER_NOT_SERVED"


async def test_a_report_arriving_before_the_submission_commits_is_applied_by_it(push_env: PushEnv) -> None:
    """A delivery report received while the submit transaction is pending is applied right after it."""
    accepted = await push_env.send(new_phone(), _template(push_env))
    message_id = accepted.body["id"]
    cmcc = push_env.channels["cmcc"]
    cmcc.gate = asyncio.Event()
    sending = asyncio.create_task(push_env.dispatcher().dispatch_once())
    await asyncio.wait_for(cmcc.entered.wait(), 5)
    report = cmcc.report(message_id, DeliveryState.DELIVERED)
    body, headers = cmcc.sign([report])
    outcome = await push_env.callbacks.receive("cmcc", body, headers)
    assert outcome.outcomes == ("deferred",)
    assert (await push_env.message(message_id)).status == "queued"
    cmcc.gate.set()
    await sending
    assert (await push_env.message(message_id)).status == "delivered"
    assert await push_env.events(message_id) == ["queued", "report", "submitted", "delivered"]
    assert push_env.publisher.types(message_id) == ["message.submitted", "message.delivered"]


async def test_the_worker_loop_sends_on_wake_and_stops(push_env: PushEnv) -> None:
    """The running worker picks a new message up when woken and exits on stop."""
    worker = push_env.dispatcher(poll_seconds=30)
    push_env.service = push_env.make_service(on_queued=worker.wake)
    running = asyncio.create_task(worker.run())
    accepted = await push_env.send(new_phone(), _template(push_env))
    for _ in range(200):
        if (await push_env.message(accepted.body["id"])).status == MessageStatus.SUBMITTED:
            break
        await asyncio.sleep(0.02)
    assert (await push_env.message(accepted.body["id"])).status == "submitted"
    worker.stop()
    await asyncio.wait_for(running, 5)


async def test_expired_idempotency_keys_are_pruned(push_env: PushEnv) -> None:
    """The worker deletes idempotency records older than 24 h."""
    await push_env.send(new_phone(), _template(push_env), key="old")
    worker = push_env.dispatcher(prune_seconds=0)
    await worker._prune()
    assert await push_env.count(IdempotencyRecord) == 1
    push_env.clock.advance(24 * 3600 + 1)
    await worker._prune()
    assert await push_env.count(IdempotencyRecord) == 0


async def test_a_message_without_a_route_at_send_time_fails(push_env: PushEnv) -> None:
    """A foreign number accepted via a fallback operator fails as NO_ROUTE if the worker has no fallback."""
    push_env.service = push_env.make_service(fallback_operator="cucc")
    accepted = await push_env.send("+12025550123", _template(push_env))
    await push_env.dispatcher().dispatch_once()
    row = await push_env.message(accepted.body["id"])
    assert row.status == "failed" and row.failure_reason == "NO_ROUTE"
    assert all(channel.calls == [] for channel in push_env.channels.values())
