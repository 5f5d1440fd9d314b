"""Accepting messages: what one transaction stores, idempotency, opt-out and quiet hours (both databases)."""

from __future__ import annotations

import asyncio
import json

import pytest

from gateway.errors import (
    IdempotencyKeyReused,
    MissingParam,
    NotFound,
    RecipientOptedOut,
    ServiceNotApplicable,
    TemplateNotApproved,
)
from gateway.one_tap.service import phone_scope
from gateway.push.models import (
    IdempotencyRecord,
    MessageEvent,
    OptOut,
    PushLink,
    PushMessage,
    recipient_aad,
    text_aad,
)
from gateway.templates import Category, Status
from tests.unit.push.conftest import PUBLIC_URL, PushEnv, new_phone


async def test_accepting_writes_message_link_event_and_key_together(push_env: PushEnv) -> None:
    """One accepted send stores the encrypted, indexed message, its link, 'queued' and the key record."""
    template = push_env.templates.add(push_env.tenant_id)
    phone = new_phone()

    accepted = await push_env.send(phone, template, key="k-1")

    body = accepted.body
    assert accepted.status == 202 and not accepted.replayed
    assert set(body) == {"id", "status", "link", "segments"}
    assert body["status"] == "queued" and body["segments"] == 1
    assert body["link"].startswith(f"{PUBLIC_URL}/l/")
    row = await push_env.message(body["id"])
    assert phone not in row.recipient_cipher and "张三" not in row.text_cipher
    assert (
        push_env.cipher.decrypt(row.recipient_cipher, aad=recipient_aad(push_env.tenant_id, row.id)) == phone
    )
    text = push_env.cipher.decrypt(row.text_cipher, aad=text_aad(push_env.tenant_id, row.id))
    assert text.startswith("【平安银行】尊敬的张三") and body["link"] in text
    assert row.recipient_index in push_env.index.candidates(phone, scope=phone_scope(push_env.tenant_id))
    assert row.status == "queued" and row.operator == "cmcc" and row.signature == "平安银行"
    assert await push_env.events(row.id) == ["queued"]
    assert await push_env.count(PushLink) == 1
    async with push_env.sessions() as session:
        link = await session.get(PushLink, body["link"].rsplit("/", 1)[1])
        record = await session.get(IdempotencyRecord, (push_env.tenant_id, "k-1"))
    assert link is not None and link.message_id == row.id
    assert record is not None and json.loads(record.response) == body and len(record.request_hash) == 64


async def test_same_key_and_body_replays_the_first_answer(push_env: PushEnv) -> None:
    """The same key and request answer the stored response; nothing new is stored."""
    template = push_env.templates.add(push_env.tenant_id)
    phone = new_phone()
    first = await push_env.send(phone, template, key="same")
    again = await push_env.send(phone, template, key="same")
    assert again.replayed and again.body == first.body
    assert await push_env.count(PushMessage) == 1 and await push_env.count(MessageEvent) == 1


async def test_same_key_other_body_is_409(push_env: PushEnv) -> None:
    """The same key with another request is IDEMPOTENCY_KEY_REUSED; keys are per tenant."""
    template = push_env.templates.add(push_env.tenant_id)
    phone = new_phone()
    await push_env.send(phone, template, key="k")
    with pytest.raises(IdempotencyKeyReused):
        await push_env.send(phone, template, key="k", params={"name": "李四"})
    other_template = push_env.templates.add(push_env.other_tenant_id)
    other = await push_env.send(phone, other_template, key="k", tenant_id=push_env.other_tenant_id)
    assert not other.replayed


async def test_concurrent_duplicates_yield_one_message(push_env: PushEnv) -> None:
    """Five concurrent sends with one key: one message, every caller gets its id."""
    template = push_env.templates.add(push_env.tenant_id)
    phone = new_phone()
    answers = await asyncio.gather(*(push_env.send(phone, template, key="race") for _ in range(5)))
    assert len({a.body["id"] for a in answers}) == 1
    assert sum(not a.replayed for a in answers) == 1
    assert await push_env.count(PushMessage) == 1 and await push_env.count(PushLink) == 1


async def test_expired_key_may_be_reused(push_env: PushEnv) -> None:
    """After 24 h a key is forgotten: the same key then queues a new message."""
    template = push_env.templates.add(push_env.tenant_id)
    phone = new_phone()
    first = await push_env.send(phone, template, key="old")
    push_env.clock.advance(24 * 3600 + 1)
    second = await push_env.send(phone, template, key="old", params={"name": "李四"})
    assert not second.replayed and second.body["id"] != first.body["id"]


async def test_refusals_store_nothing(push_env: PushEnv) -> None:
    """Unknown, foreign or unapproved templates, missing params and unroutable numbers store nothing."""
    mine = push_env.templates.add(push_env.tenant_id)
    pending = push_env.templates.add(push_env.tenant_id, status=Status.PENDING)
    foreign = push_env.templates.add(push_env.other_tenant_id)
    with pytest.raises(NotFound):
        await push_env.send(new_phone(), foreign, key="a")
    with pytest.raises(TemplateNotApproved):
        await push_env.send(new_phone(), pending, key="a")
    with pytest.raises(MissingParam):
        await push_env.send(new_phone(), mine, key="a", params={})
    with pytest.raises(ServiceNotApplicable):
        await push_env.send("+12025550123", mine, key="a")
    assert await push_env.count(PushMessage) == 0 and await push_env.count(IdempotencyRecord) == 0


async def test_foreign_number_goes_to_the_fallback_operator(push_env: PushEnv) -> None:
    """With a fallback operator configured, a non-mainland number is accepted and routed there."""
    push_env.service = push_env.make_service(fallback_operator="cucc")
    template = push_env.templates.add(push_env.tenant_id)
    accepted = await push_env.send("+12025550123", template)
    assert (await push_env.message(accepted.body["id"])).operator == "cucc"


async def _opt_out(push_env: PushEnv, phone: str, signature: str = "平安银行") -> None:
    async with push_env.sessions() as session, session.begin():
        session.add(
            OptOut(
                tenant_id=push_env.tenant_id,
                signature=signature,
                phone_index=push_env.index.compute(phone, scope=phone_scope(push_env.tenant_id)),
                operator="cmcc",
                created_at=push_env.clock.now(),
            )
        )


async def test_opt_out_blocks_marketing_of_that_signature_only(push_env: PushEnv) -> None:
    """An opted-out number gets no marketing of that signature; notifications and other signatures pass."""
    phone = new_phone()
    await _opt_out(push_env, phone)
    marketing = push_env.templates.add(push_env.tenant_id, category=Category.MARKETING)
    with pytest.raises(RecipientOptedOut):
        await push_env.send(phone, marketing)
    await push_env.send(phone, push_env.templates.add(push_env.tenant_id))
    other = push_env.templates.add(push_env.tenant_id, category=Category.MARKETING, signature="平安保险")
    await push_env.send(phone, other)
    await push_env.send(new_phone(), marketing)


async def test_marketing_in_quiet_hours_is_scheduled_for_eight(push_env: PushEnv) -> None:
    """Marketing at 22:00 Shanghai waits for 08:00 and keeps its whole TTL; a notification is not held."""
    push_env.clock.advance(10 * 3600)  # 22:00 in Shanghai
    marketing = push_env.templates.add(push_env.tenant_id, category=Category.MARKETING)
    held = await push_env.send(new_phone(), marketing, ttl=3600)
    assert held.body["scheduledAt"] == "2026-01-16T00:00:00Z"
    row = await push_env.message(held.body["id"])
    assert row.scheduled_at.replace(tzinfo=None).isoformat() == "2026-01-16T00:00:00"
    assert row.expires_at.replace(tzinfo=None).isoformat() == "2026-01-16T01:00:00"
    text = push_env.cipher.decrypt(row.text_cipher, aad=text_aad(push_env.tenant_id, row.id))
    assert text.endswith("拒收请回复R")
    now = await push_env.send(new_phone(), push_env.templates.add(push_env.tenant_id))
    assert "scheduledAt" not in now.body


async def test_get_masks_the_number_and_hides_other_tenants(push_env: PushEnv) -> None:
    """The tenant sees its message with a masked number; another tenant or a bad id is NotFound."""
    phone = new_phone()
    accepted = await push_env.send(phone, push_env.templates.add(push_env.tenant_id))
    view = await push_env.service.get(tenant_id=push_env.tenant_id, message_id=accepted.body["id"])
    assert view.to_masked == phone[:6] + "****" + phone[-4:]
    assert view.link == accepted.body["link"] and [e.type for e in view.events] == ["queued"]
    for tenant_id, message_id in [
        (push_env.other_tenant_id, accepted.body["id"]),
        (push_env.tenant_id, "nope"),
    ]:
        with pytest.raises(NotFound):
            await push_env.service.get(tenant_id=tenant_id, message_id=message_id)
