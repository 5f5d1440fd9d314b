"""The SMS-fraud controls on every SMS the push service accepts (gateway.push.guard), on both databases:
non-mobile targets, velocity per number and per 7-digit prefix, the daily budget in segments."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from gateway.db import run_unit
from gateway.errors import InvalidPhoneNumber, NotFound, QuotaExceeded, TooManyRequests
from gateway.push.guard import (
    Charge,
    SmsPolicy,
    budget_day,
    number_prefix,
    refuse_non_mobile,
    seconds_to_next_day,
)
from gateway.push.models import PushMessage, SmsUsage
from tests.leaks import SENSITIVE
from tests.unit.push.conftest import PushEnv, new_phone

NOT_MOBILE = {
    "Beijing fixed line": "+861012345678",
    "Shanghai fixed line": "+862161234567",
    "95xxx service number": "+8695588",
    "106xx SP service number": "+861069012345678",
    "400 service number": "+864001234567",
    "unallocated mobile-looking range": "+8614412345678",
    "reserved UK drama range": "+447700900123",
}


def _sequential(prefix: str, count: int) -> list[str]:
    numbers = [f"+86{prefix}{n:04d}" for n in range(count)]
    SENSITIVE.update(numbers)
    return numbers


@pytest.mark.parametrize("number", NOT_MOBILE.values(), ids=NOT_MOBILE.keys())
async def test_a_target_that_is_not_a_mobile_number_is_refused_before_anything_is_stored(
    push_env: PushEnv, number: str
) -> None:
    """Fixed lines, service numbers and unallocated ranges: 422 INVALID_PHONE_NUMBER, no message, no usage."""
    SENSITIVE.add(number)
    with pytest.raises(InvalidPhoneNumber):
        await push_env.send(number, push_env.templates.add(push_env.tenant_id))
    assert await push_env.count(PushMessage) == 0
    assert await push_env.count(SmsUsage) == 0


def test_mobile_numbers_pass_and_prefixes_are_the_first_seven_national_digits() -> None:
    """Mainland mobiles of each operator, a Hong Kong mobile and a US number (fixed-line-or-mobile) pass."""
    for number in ("+8613800138000", "+8618612345678", "+8619912345678", "+85291234567", "+12025550123"):
        refuse_non_mobile(number)
    assert number_prefix("+8613800138000") == "+861380013"
    assert number_prefix("+85291234567") == "+8529123456"


async def test_the_sixth_send_to_one_number_in_ten_minutes_waits(push_env: PushEnv) -> None:
    """Ten sends to one number at once: five accepted, the rest 429 with Retry-After; ten minutes
    later the number takes sends again."""
    template = push_env.templates.add(push_env.tenant_id)
    phone = new_phone()
    for _ in range(5):
        await push_env.send(phone, template)
    for _ in range(5):
        with pytest.raises(TooManyRequests) as refused:
            await push_env.send(phone, template)
        assert 1 <= int(refused.value.headers["Retry-After"]) <= 600
    assert await push_env.count(PushMessage) == 5
    push_env.clock.advance(601)
    await push_env.send(phone, template)


async def test_sequential_numbers_in_one_prefix_are_stopped_and_other_prefixes_still_go(
    push_env: PushEnv,
) -> None:
    """A pumping run over 50 sequential numbers of one HLR block: 30 accepted, 20 refused by the
    prefix window; a number in another block is still accepted; another tenant is not affected."""
    template = push_env.templates.add(push_env.tenant_id)
    outcomes = []
    for number in _sequential("1390012", 50):
        try:
            await push_env.send(number, template)
            outcomes.append("accepted")
        except TooManyRequests:
            outcomes.append("refused")
    assert outcomes == ["accepted"] * 30 + ["refused"] * 20
    await push_env.send(new_phone("137"), template)
    other = push_env.templates.add(push_env.other_tenant_id)
    await push_env.send(_sequential("1390012", 51)[50], other, tenant_id=push_env.other_tenant_id)


async def test_the_daily_budget_counts_segments_and_reopens_the_next_day_in_shanghai(
    push_env: PushEnv,
) -> None:
    """Budget 3 segments: three one-part messages go, the fourth is 429 QUOTA_EXCEEDED with Retry-After
    up to Shanghai midnight and nothing stored; usage shows 3; the next day sends again."""
    await push_env.guard.set_policy(push_env.tenant_id, SmsPolicy(daily_budget=3))
    template = push_env.templates.add(push_env.tenant_id)
    for _ in range(3):
        await push_env.send(new_phone(), template)
    with pytest.raises(QuotaExceeded) as refused:
        await push_env.send(new_phone(), template)
    assert int(refused.value.headers["Retry-After"]) == seconds_to_next_day(push_env.clock.now())
    assert await push_env.count(PushMessage) == 3
    usage = await push_env.guard.usage(push_env.tenant_id)
    assert (usage.messages, usage.segments, usage.remaining) == (3, 3, 0)
    push_env.clock.advance(seconds_to_next_day(push_env.clock.now()))
    await push_env.send(new_phone(), template)
    assert (await push_env.guard.usage(push_env.tenant_id)).segments == 1


async def test_a_two_part_message_does_not_fit_one_remaining_segment(push_env: PushEnv) -> None:
    """The budget is in segments: with one left, a message rendered in two parts is refused."""
    await push_env.guard.set_policy(push_env.tenant_id, SmsPolicy(daily_budget=1))
    long_text = push_env.templates.add(
        push_env.tenant_id,
        text="您好{{name}}，" + "理赔进度已更新。" * 12 + "{{link}}",  # noqa: RUF001
    )
    with pytest.raises(QuotaExceeded):
        await push_env.send(new_phone(), long_text)
    assert await push_env.count(PushMessage) == 0


async def test_an_idempotent_replay_spends_nothing(push_env: PushEnv) -> None:
    """The same request with the same key answers the first response without counting again."""
    await push_env.guard.set_policy(push_env.tenant_id, SmsPolicy(daily_budget=1, number_per_10min=1))
    template = push_env.templates.add(push_env.tenant_id)
    phone = new_phone()
    first = await push_env.send(phone, template, key="k-1")
    again = await push_env.send(phone, template, key="k-1")
    assert again.replayed and again.body == first.body
    assert (await push_env.guard.usage(push_env.tenant_id)).messages == 1


async def test_concurrent_sends_never_overspend_the_budget(push_env: PushEnv) -> None:
    """Twelve sends at once against a budget of five: exactly five accepted, seven QUOTA_EXCEEDED."""
    await push_env.guard.set_policy(push_env.tenant_id, SmsPolicy(daily_budget=5))
    template = push_env.templates.add(push_env.tenant_id)
    outcomes = await asyncio.gather(
        *(push_env.send(new_phone(), template) for _ in range(12)), return_exceptions=True
    )
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 5
    assert all(isinstance(o, QuotaExceeded) for o in outcomes if isinstance(o, BaseException))
    assert await push_env.count(PushMessage) == 5
    assert (await push_env.guard.usage(push_env.tenant_id)).segments == 5


async def test_a_policy_is_per_tenant_and_an_unknown_tenant_is_not_found(push_env: PushEnv) -> None:
    """One tenant's raised limits leave the other on the defaults; a policy for no tenant is 404."""
    await push_env.guard.set_policy(push_env.tenant_id, SmsPolicy(number_per_10min=50))
    assert (await push_env.guard.policy(push_env.tenant_id)).number_per_10min == 50
    assert await push_env.guard.policy(push_env.other_tenant_id) == SmsPolicy()
    with pytest.raises(NotFound):
        await push_env.guard.set_policy("no-such-tenant", SmsPolicy())


def test_the_budget_day_ends_at_midnight_in_shanghai() -> None:
    """23:59:30 in Shanghai (15:59:30 UTC) is 30 s from the next budget day."""
    assert seconds_to_next_day(datetime(2026, 1, 15, 15, 59, 30, tzinfo=UTC)) == 30


async def test_concurrent_first_sends_of_the_day_all_fit_the_budget(push_env: PushEnv) -> None:
    """Twelve sends at once on a day without usage yet (each may find no row and insert it): all
    twelve accepted and counted."""
    template = push_env.templates.add(push_env.tenant_id)
    outcomes = await asyncio.gather(
        *(push_env.send(new_phone(), template) for _ in range(12)), return_exceptions=True
    )
    assert [o for o in outcomes if isinstance(o, BaseException)] == []
    assert (await push_env.guard.usage(push_env.tenant_id)).messages == 12


async def test_a_charge_racing_the_days_first_charge_in_another_unit_adds_to_it(push_env: PushEnv) -> None:
    """One unit has created the day's usage row and not committed (another process's first send);
    a second unit's charge waits for it (PostgreSQL) or for the file lock (SQLite), then adds to
    the committed row instead of refusing: 2 messages, 3 segments."""
    day = budget_day(push_env.clock.now())
    first, second = (Charge(push_env.tenant_id, day, n, 100, 60) for n in (1, 2))
    async with push_env.engine.connect() as holder:
        transaction = await holder.begin()
        await holder.run_sync(first.apply)
        racing = asyncio.create_task(run_unit(push_env.engine, second.apply))
        await asyncio.sleep(0.3)
        assert not racing.done()
        await transaction.commit()
    await racing
    usage = await push_env.guard.usage(push_env.tenant_id)
    assert (usage.messages, usage.segments) == (2, 3)
