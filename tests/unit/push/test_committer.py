"""Group commit of accepted messages (gateway.push.committer), through PushService.send, on both databases."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable
from datetime import date

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.db import create_engine, writer_gate
from gateway.errors import IdempotencyKeyReused, QuotaExceeded, TemplateNotApproved
from gateway.push.guard import Charge, SmsPolicy, combine_charges
from gateway.push.models import MessageEvent, PushLink, PushMessage, SmsUsage
from gateway.push.service import Accepted
from gateway.templates import Status, Template
from gateway.templates.models import TemplateRecord
from tests.unit.push.conftest import NOON_IN_SHANGHAI, PushEnv, new_phone

_BATCHES = "gateway_push_accept_batch_size"
_MESSAGES: sa.Table = PushMessage.__table__  # type: ignore[attr-defined]
_USAGE: sa.Table = SmsUsage.__table__  # type: ignore[attr-defined]
_LOOSE = SmsPolicy(number_per_10min=100, number_per_day=100, prefix_per_10min=1000, prefix_per_day=1000)


def _units() -> tuple[float, float]:
    """(units written, messages written) by every committer so far."""
    count = REGISTRY.get_sample_value(f"{_BATCHES}_count") or 0.0
    total = REGISTRY.get_sample_value(f"{_BATCHES}_sum") or 0.0
    return count, total


@contextlib.asynccontextmanager
async def _separate_engine(push_env: PushEnv) -> AsyncIterator[AsyncEngine]:
    """A second engine (its own pool and connections) on the environment's database."""
    engine = create_engine(push_env.engine.url.render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        await engine.dispose()


async def _stored_whole(engine: AsyncEngine, message_id: str) -> bool:
    """Whether the message, its link and its 'queued' event are all committed."""
    async with engine.connect() as conn:
        found = [
            await conn.scalar(sa.select(sa.func.count()).select_from(table).where(column == message_id))
            for table, column in (
                (_MESSAGES, _MESSAGES.c.id),
                (PushLink.__table__, PushLink.__table__.c.message_id),  # type: ignore[attr-defined]
                (MessageEvent.__table__, MessageEvent.__table__.c.message_id),  # type: ignore[attr-defined]
            )
        ]
    return found == [1, 1, 1]


async def _usage_messages(push_env: PushEnv) -> int:
    async with push_env.engine.connect() as conn:
        return int(await conn.scalar(sa.select(sa.func.coalesce(sa.func.sum(_USAGE.c.messages), 0))) or 0)


async def test_concurrent_sends_share_transactions_and_each_202_is_already_committed(
    push_env: PushEnv,
) -> None:
    """Twenty concurrent sends are written by fewer than twenty units (the batch-size metric), and
    each accepted message is readable through another engine the moment its send returns."""
    await push_env.guard.set_policy(push_env.tenant_id, _LOOSE)
    template = push_env.templates.add(push_env.tenant_id)
    units_before, messages_before = _units()
    async with _separate_engine(push_env) as reader:

        async def send_then_read() -> bool:
            accepted = await push_env.send(new_phone(), template)
            return await _stored_whole(reader, accepted.body["id"])

        seen = await asyncio.gather(*(send_then_read() for _ in range(20)))
    units, messages = _units()
    assert all(seen)
    assert messages - messages_before == 20
    assert units - units_before < 20
    assert await _usage_messages(push_env) == 20


async def test_a_conflicting_key_in_a_batch_gets_its_own_answer_and_the_others_are_accepted(
    push_env: PushEnv,
) -> None:
    """In one burst, two requests with one key and different bodies, two with another key and one
    body, and six without a key: one of the first pair is 409, the second pair shares one message,
    every other request is accepted, and nothing half-written is left."""
    await push_env.guard.set_policy(push_env.tenant_id, _LOOSE)
    template = push_env.templates.add(push_env.tenant_id)
    phone = new_phone()
    sends: list[Awaitable[Accepted]] = [
        push_env.send(phone, template, key="k1", params={"name": "张三"}),
        push_env.send(phone, template, key="k1", params={"name": "李四"}),
        push_env.send(phone, template, key="k2"),
        push_env.send(phone, template, key="k2"),
        *(push_env.send(new_phone(), template) for _ in range(6)),
    ]
    outcomes = await asyncio.gather(*sends, return_exceptions=True)
    first_pair = outcomes[:2]
    assert sum(isinstance(o, IdempotencyKeyReused) for o in first_pair) == 1
    assert sum(isinstance(o, Accepted) and not o.replayed for o in first_pair) == 1
    second_pair = [o for o in outcomes[2:4] if isinstance(o, Accepted)]
    assert len(second_pair) == 2 and second_pair[0].body == second_pair[1].body
    assert sorted(o.replayed for o in second_pair) == [False, True]
    assert all(isinstance(o, Accepted) and not o.replayed for o in outcomes[4:])
    assert await push_env.count(PushMessage) == 8
    assert await push_env.count(PushLink) == 8 and await push_env.count(MessageEvent) == 8
    assert await _usage_messages(push_env) == 8


async def test_a_budget_that_fits_part_of_a_batch_accepts_exactly_that_part(push_env: PushEnv) -> None:
    """Six concurrent one-segment sends against a budget of four segments: four are accepted, two
    answer QUOTA_EXCEEDED, and the day's usage counts the four."""
    await push_env.guard.set_policy(push_env.tenant_id, SmsPolicy(daily_budget=4, number_per_10min=100))
    template = push_env.templates.add(push_env.tenant_id)
    outcomes = await asyncio.gather(
        *(push_env.send(new_phone(), template) for _ in range(6)), return_exceptions=True
    )
    assert sum(isinstance(o, Accepted) for o in outcomes) == 4
    assert sum(isinstance(o, QuotaExceeded) for o in outcomes) == 2
    assert await push_env.count(PushMessage) == 4
    async with push_env.engine.connect() as conn:
        usage = (await conn.execute(sa.select(_USAGE.c.messages, _USAGE.c.segments))).one()
    assert tuple(usage) == (4, 4)


async def _withdraw(push_env: PushEnv, template: Template) -> None:
    """Store ``template`` as the templates feature would after a reviewer withdrew it."""
    async with push_env.sessions() as session, session.begin():
        session.add(
            TemplateRecord(
                id=template.id,
                tenant_id=template.tenant_id,
                name="t",
                category=template.spec.category.value,
                signature=template.spec.signature,
                text=template.spec.text,
                params="{}",
                status=Status.REJECTED.value,
                reason="withdrawn",
                created_at=NOON_IN_SHANGHAI,
            )
        )


async def test_a_withdrawn_template_is_refused_by_the_unit_and_read_again_next_time(
    push_env: PushEnv,
) -> None:
    """A template the service read once is not read again for later sends; once its stored review
    state says rejected, sends of it answer TEMPLATE_NOT_APPROVED while a concurrent send of another
    template is accepted; the next send reads the template feature again (and is refused again)."""
    await push_env.guard.set_policy(push_env.tenant_id, _LOOSE)
    template = push_env.templates.add(push_env.tenant_id)
    other = push_env.templates.add(push_env.tenant_id)
    reads: list[str] = []
    source = push_env.templates.get_approved

    async def counting(tenant_id: str, template_id: str) -> Template:
        reads.append(template_id)
        return await source(tenant_id, template_id)

    push_env.templates.get_approved = counting  # type: ignore[method-assign]
    await push_env.send(new_phone(), template)
    await push_env.send(new_phone(), template)
    await push_env.send(new_phone(), other)
    assert reads == [template.id, other.id]
    await _withdraw(push_env, template)
    outcomes = await asyncio.gather(
        push_env.send(new_phone(), template), push_env.send(new_phone(), other), return_exceptions=True
    )
    assert isinstance(outcomes[0], TemplateNotApproved) and isinstance(outcomes[1], Accepted)
    with pytest.raises(TemplateNotApproved):
        await push_env.send(new_phone(), template)
    assert reads == [template.id, other.id, template.id]
    assert await push_env.count(PushMessage) == 4


@contextlib.asynccontextmanager
async def _units_held(push_env: PushEnv, tenant_id: str) -> AsyncIterator[None]:
    """Make every unit wait until the block ends: the SQLite writer turn, or on PostgreSQL the
    tenant's budget row locked by another transaction."""
    gate = writer_gate(push_env.engine)
    if gate is not None:
        await gate.acquire()
        try:
            yield
        finally:
            gate.release()
        return
    async with _separate_engine(push_env) as other, other.begin() as conn:
        await conn.execute(
            sa.select(_USAGE.c.messages).where(_USAGE.c.tenant_id == tenant_id).with_for_update()
        )
        yield


async def test_a_cancelled_waiting_send_is_committed_whole_and_the_others_are_accepted(
    push_env: PushEnv,
) -> None:
    """While units are held, five sends wait; one is cancelled. Once released, the other four are
    accepted and the cancelled one's message is stored whole by its unit (message, link, event and
    budget charge), never in part."""
    await push_env.guard.set_policy(push_env.tenant_id, _LOOSE)
    template = push_env.templates.add(push_env.tenant_id)
    await push_env.send(new_phone(), template)
    units_before, _ = _units()
    async with _units_held(push_env, push_env.tenant_id):
        waiting = [asyncio.create_task(push_env.send(new_phone(), template)) for _ in range(5)]
        await asyncio.sleep(0.2)
        assert not any(task.done() for task in waiting)
        waiting[2].cancel()
        await asyncio.sleep(0)
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)
    assert isinstance(outcomes[2], asyncio.CancelledError)
    accepted = [o for i, o in enumerate(outcomes) if i != 2]
    assert all(isinstance(o, Accepted) for o in accepted)
    async with _separate_engine(push_env) as reader, reader.connect() as conn:
        ids = list(await conn.scalars(sa.select(_MESSAGES.c.id)))
        assert len(ids) == 6
        assert all([await _stored_whole(reader, message_id) for message_id in ids])
    assert await _usage_messages(push_env) == 6
    assert _units()[0] > units_before


async def test_a_lone_send_is_a_unit_of_one(push_env: PushEnv) -> None:
    """With nothing else waiting, a send's unit holds its message alone (it waits for no company)."""
    template = push_env.templates.add(push_env.tenant_id)
    units_before, messages_before = _units()
    await push_env.send(new_phone(), template)
    units, messages = _units()
    assert (units - units_before, messages - messages_before) == (1, 1)


def test_charges_add_up_per_tenant_and_day_in_lock_order() -> None:
    """Charges of one tenant, day and budget add up (segments and messages); the sums come ordered
    by tenant and day, the order units lock budget rows in."""
    day = date(2026, 1, 1)
    charges = [
        Charge("t1", day, 2, 10, 60),
        Charge("t0", day, 1, 10, 60),
        Charge("t1", day, 3, 10, 60),
        Charge("t0", date(2025, 12, 31), 1, 10, 60),
    ]
    combined = combine_charges(charges)
    assert [(c.tenant_id, c.day, c.segments, c.messages) for c in combined] == [
        ("t0", date(2025, 12, 31), 1, 1),
        ("t0", day, 1, 1),
        ("t1", day, 5, 2),
    ]
