"""Operator callbacks on both databases: delivery reports applied once and in order, opt-out replies."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from carrier_adapters import DeliveryState
from gateway.errors import InvalidArgument, NotFound, Unauthenticated
from gateway.one_tap.service import phone_scope
from gateway.push.models import OptOut
from gateway.templates import Category, Template
from tests.unit.push.conftest import PushEnv, new_phone
from tests.unit.push.fakes import SIGNATURE_HEADER, FakeSmsChannel

D, F = DeliveryState.DELIVERED, DeliveryState.FAILED


async def _submitted(env: PushEnv, phone: str | None = None, template: Template | None = None) -> str:
    accepted = await env.send(phone or new_phone(), template or env.templates.add(env.tenant_id))
    await env.dispatcher().dispatch_once()
    return str(accepted.body["id"])


async def _post(env: PushEnv, *items: dict[str, object], operator: str = "cmcc") -> tuple[str, ...]:
    body, headers = env.channels[operator].sign(list(items))
    return (await env.callbacks.receive(operator, body, headers)).outcomes


async def test_delivered_then_duplicate_then_late_failure(push_env: PushEnv) -> None:
    """DELIVRD applies once; its repeat is a no-op; a later UNDELIV is recorded but changes nothing.
    The webhook worker is woken after each commit that queued a webhook, and only then."""
    message_id = await _submitted(push_env)
    cmcc = push_env.channels["cmcc"]
    delivered = cmcc.report(message_id, D)
    assert await _post(push_env, delivered) == ("applied",)
    assert await _post(push_env, delivered, delivered) == ("duplicate", "duplicate")
    assert await _post(push_env, cmcc.report(message_id, F)) == ("late",)
    row = await push_env.message(message_id)
    assert row.status == "delivered" and row.failure_reason is None
    assert await push_env.events(message_id) == ["queued", "submitted", "delivered", "report"]
    assert push_env.publisher.types(message_id) == ["message.submitted", "message.delivered"]
    assert push_env.publisher.wakes == 2


async def test_failure_report_fails_the_message(push_env: PushEnv) -> None:
    """UNDELIV moves a submitted message to failed with the operator's status word and message.failed."""
    message_id = await _submitted(push_env)
    cmcc = push_env.channels["cmcc"]
    assert await _post(push_env, cmcc.report(message_id, F, status="UNDELIV")) == ("applied",)
    assert await _post(push_env, cmcc.report(message_id, D)) == ("late",)
    row = await push_env.message(message_id)
    assert row.status == "failed" and row.failure_reason == "UNDELIV"
    assert push_env.publisher.types(message_id)[-1] == "message.failed"


async def test_out_of_order_reports_before_submission_apply_in_arrival_order(push_env: PushEnv) -> None:
    """Two reports kept before submission: the first to arrive decides, the second stays a record."""
    accepted = await push_env.send(new_phone(), push_env.templates.add(push_env.tenant_id))
    message_id = accepted.body["id"]
    cmcc = push_env.channels["cmcc"]
    later = datetime.now(UTC)
    assert await _post(push_env, cmcc.report(message_id, F, at=later)) == ("deferred",)
    assert await _post(push_env, cmcc.report(message_id, D, at=later - timedelta(seconds=5))) == ("deferred",)
    await push_env.dispatcher().dispatch_once()
    assert (await push_env.message(message_id)).status == "failed"
    assert await push_env.events(message_id) == ["queued", "report", "report", "submitted", "failed"]


async def test_concurrent_duplicate_reports_apply_once(push_env: PushEnv) -> None:
    """The same report delivered five times at once changes the state and sends the webhook once."""
    message_id = await _submitted(push_env)
    item = push_env.channels["cmcc"].report(message_id, D)
    outcomes = await asyncio.gather(*(_post(push_env, item) for _ in range(5)))
    assert sorted(o for (o,) in outcomes) == ["applied"] + ["duplicate"] * 4
    assert (await push_env.events(message_id)).count("delivered") == 1
    assert push_env.publisher.types(message_id).count("message.delivered") == 1


async def test_reports_for_unknown_or_foreign_references_are_ignored(push_env: PushEnv) -> None:
    """Unknown or malformed references, and another operator's report, change nothing."""
    message_id = await _submitted(push_env)
    cucc = push_env.channels["cucc"]
    cmcc = push_env.channels["cmcc"]
    assert await _post(push_env, cmcc.report("00000000-0000-4000-8000-000000000000", D)) == ("unknown",)
    assert await _post(push_env, cmcc.report("not-a-uuid", D)) == ("unknown",)
    assert await _post(push_env, cucc.report(message_id, D), operator="cucc") == ("unknown",)
    assert (await push_env.message(message_id)).status == "submitted"


async def test_callback_authentication_and_format(push_env: PushEnv) -> None:
    """Bad signature: Unauthenticated; unconfigured operator: NotFound; signed garbage: InvalidArgument."""
    cmcc = push_env.channels["cmcc"]
    body, headers = cmcc.sign([])
    with pytest.raises(Unauthenticated):
        await push_env.callbacks.receive("cmcc", body + b" ", headers)
    with pytest.raises(Unauthenticated):
        await push_env.callbacks.receive("cucc", body, headers)
    with pytest.raises(NotFound):
        await push_env.callbacks.receive("vodafone", body, headers)
    garbage = b"{]"
    signed = {SIGNATURE_HEADER: hmac.new(cmcc.secret, garbage, hashlib.sha256).hexdigest()}
    with pytest.raises(InvalidArgument):
        await push_env.callbacks.receive("cmcc", garbage, signed)


async def _opted_out(env: PushEnv, tenant_id: str, phone: str, signature: str = "平安银行") -> bool:
    async with env.sessions() as session:
        rows = await session.exec(
            select(OptOut).where(
                OptOut.tenant_id == tenant_id,
                OptOut.signature == signature,
                col(OptOut.phone_index).in_(env.index.candidates(phone, scope=phone_scope(tenant_id))),
            )
        )
        return rows.first() is not None


async def test_reply_td_opts_out_the_referenced_messages_tenant_and_signature(push_env: PushEnv) -> None:
    """A full-width 'ＴＤ' naming a message opts its recipient out of that tenant's signature."""  # noqa: RUF002
    phone = new_phone()
    message_id = await _submitted(push_env, phone)
    reply = FakeSmsChannel.reply(phone, "\uff34\uff24 ", reference=message_id)
    assert await _post(push_env, reply) == ("opted_out",)
    assert await _post(push_env, reply) == ("already_opted_out",)
    assert await _opted_out(push_env, push_env.tenant_id, phone)
    assert not await _opted_out(push_env, push_env.other_tenant_id, phone)
    assert (await push_env.events(message_id))[-1] == "opted_out"


async def test_reply_without_reference_goes_to_the_latest_message_to_that_number(push_env: PushEnv) -> None:
    """Without a reference the latest message that operator carried to the number decides the tenant."""
    phone = new_phone()
    await _submitted(push_env, phone)
    push_env.clock.advance(60)
    other = push_env.templates.add(
        push_env.other_tenant_id, category=Category.MARKETING, signature="平安保险"
    )
    accepted = await push_env.send(phone, other, tenant_id=push_env.other_tenant_id)
    await push_env.dispatcher().dispatch_once()
    assert await _post(push_env, FakeSmsChannel.reply(phone, "r")) == ("opted_out",)
    assert await _opted_out(push_env, push_env.other_tenant_id, phone, "平安保险")
    assert not await _opted_out(push_env, push_env.tenant_id, phone)
    assert (await push_env.events(accepted.body["id"]))[-1] == "opted_out"


async def test_reply_naming_a_message_to_another_number_is_not_trusted(push_env: PushEnv) -> None:
    """A reference whose recipient is another number is ignored in favour of the number's own messages."""
    victim = await _submitted(push_env)
    phone = new_phone()
    assert await _post(push_env, FakeSmsChannel.reply(phone, "T", reference=victim)) == ("no_message",)


async def test_other_replies_store_nothing(push_env: PushEnv) -> None:
    """A reply that is not T, TD or R is ignored."""
    phone = new_phone()
    message_id = await _submitted(push_env, phone)
    assert await _post(push_env, FakeSmsChannel.reply(phone, "好的 谢谢", reference=message_id)) == (
        "ignored",
    )
    assert await push_env.count(OptOut) == 0
