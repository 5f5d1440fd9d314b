"""Dispatch leases on both databases: a claim takes at most one batch, a stopping worker gives its
leases back, and the push feature's shutdown releases a send it had to cancel."""

from __future__ import annotations

import asyncio

from gateway.push.feature import open_push
from gateway.push.states import MessageStatus
from gateway.ratelimit import InMemoryRateLimiter
from gateway.settings import Settings
from tests.unit.push.conftest import PushEnv, new_phone


async def _queue(env: PushEnv, count: int) -> list[str]:
    template = env.templates.add(env.tenant_id)
    return [(await env.send(new_phone(), template)).body["id"] for _ in range(count)]


async def test_a_claim_takes_at_most_its_limit_and_workers_split_the_rest(push_env: PushEnv) -> None:
    """With 120 due messages, claims of 50 take 50, 50 and the last 20, never one message twice."""
    await _queue(push_env, 120)
    first = await push_env.dispatcher("w1").claim(50)
    second = await push_env.dispatcher("w2").claim(50)
    third = await push_env.dispatcher("w3").claim(50)
    assert [len(first), len(second), len(third)] == [50, 50, 20]
    assert len({c.id for c in first + second + third}) == 120


async def test_release_leases_gives_back_only_this_workers_queued_claims(push_env: PushEnv) -> None:
    """A worker releases what it still leases; another worker's lease and a sent message are untouched,
    and a third worker claims the released messages at once."""
    queued = await _queue(push_env, 5)
    stopping, other = push_env.dispatcher("stopping"), push_env.dispatcher("other")
    mine = await stopping.claim(3)
    [theirs] = await other.claim(1)
    await stopping._process(mine[0])
    stopping.stop()

    assert await stopping.release_leases() == 2
    for claim in mine[1:]:
        row = await push_env.message(claim.id)
        assert (row.status, row.lease_owner, row.lease_until) == ("queued", None, None)
    assert (await push_env.message(mine[0].id)).status == MessageStatus.SUBMITTED.value
    assert (await push_env.message(theirs.id)).lease_owner == "other"
    taken = await push_env.dispatcher("next").claim(10)
    assert {c.id for c in taken} == set(queued) - {mine[0].id, theirs.id}
    assert await stopping.release_leases() == 0


async def test_shutdown_cancels_a_hung_send_and_releases_its_lease(push_env: PushEnv) -> None:
    """When a send outlasts SHUTDOWN_TIMEOUT the push feature cancels it and clears the lease, so the
    next worker sends at once; the operator deduplicates the reference and the phone gets one SMS."""
    phone = new_phone()
    template = push_env.templates.add(push_env.tenant_id)
    cmcc = push_env.channels["cmcc"]
    cmcc.gate = asyncio.Event()
    settings = Settings(shutdown_timeout=0.2, push_dispatch_poll_seconds=0.05, push_send_rate=1000)
    async with open_push(
        settings,
        sessions=push_env.sessions,
        templates=push_env.templates,
        channels=push_env.channels,
        cipher=push_env.cipher,
        index=push_env.index,
        clock=push_env.clock,
        events=push_env.publisher,
        limiter=InMemoryRateLimiter(push_env.clock),
    ):
        message_id = (await push_env.send(phone, template)).body["id"]
        await asyncio.wait_for(cmcc.entered.wait(), timeout=10)
    row = await push_env.message(message_id)
    assert (row.status, row.lease_owner, row.lease_until, row.attempts) == ("queued", None, None, 0)

    cmcc.gate = None
    assert await push_env.dispatcher("next").dispatch_once() == 1
    assert (await push_env.message(message_id)).status == MessageStatus.SUBMITTED.value
    assert cmcc.calls == [message_id, message_id] and len(cmcc.inbox(phone)) == 1
