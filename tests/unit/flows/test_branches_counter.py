"""Recall, no-show, the day's calls and branch summaries (gateway.flows.branches) on a real database
(SQLite and PostgreSQL) with in-memory templates, SMS sender and webhook publisher."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.crypto import BlindIndex, FieldCipher, Keyring, generate_keyring_spec
from gateway.db import create_engine, migrate, run_unit, session_factory
from gateway.errors import NotFound, NoTicketCalled
from gateway.flows.branches import Branches
from gateway.push.models import PushMessage
from gateway.push.service import Accepted, SendRequest
from gateway.templates import Status as TemplateStatus
from gateway.templates import Template, TemplateSpec
from gateway.templates.builtin import builtin_spec
from tests.clocks import ManualClock
from tests.leaks import SENSITIVE
from tests.unit.console.fakes import add_tenant
from tests.unit.push.fakes import RecordingPublisher

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
MESSAGES: sa.Table = PushMessage.__table__  # type: ignore[attr-defined]
_MOMENTS = ("created_at", "scheduled_at", "next_attempt_at", "expires_at", "updated_at")


@dataclass
class Templates:
    """Templates kept in a dict, approved on creation."""

    stored: dict[str, Template] = field(default_factory=dict)

    def add(self, tenant_id: str, spec: TemplateSpec) -> Template:
        template = Template(str(uuid.uuid4()), tenant_id, spec, TemplateStatus.APPROVED, NOW)
        self.stored[template.id] = template
        return template

    async def get(self, tenant_id: str, template_id: str) -> Template:
        template = self.stored.get(template_id)
        if template is None or template.tenant_id != tenant_id:
            raise NotFound()
        return template

    async def get_approved(self, tenant_id: str, template_id: str) -> Template:
        return await self.get(tenant_id, template_id)

    async def create(self, tenant_id: str, spec: TemplateSpec, *, builtin: str | None = None) -> Template:
        return self.add(tenant_id, spec)


@dataclass
class Sender:
    """Accepts every SMS: stores a bare submitted message row (the queue completes the ticket's)."""

    engine: AsyncEngine

    async def send(self, *, tenant_id: str, request: SendRequest, idempotency_key: str | None) -> Accepted:
        message_id = str(uuid.uuid4())
        row = {
            "id": message_id,
            "tenant_id": tenant_id,
            "template_id": request.template_id,
            "category": "notification",
            "signature": "平安银行",
            "recipient_index": "-",
            "recipient_cipher": "-",
            "text_cipher": "-",
            "segments": 1,
            "encoding": "ucs2",
            "status": "submitted",
            "attempts": 1,
            **dict.fromkeys(
                ("created_at", "scheduled_at", "next_attempt_at", "expires_at", "updated_at"), NOW
            ),
        }
        await run_unit(self.engine, lambda conn: conn.execute(sa.insert(MESSAGES).values(row)))
        return Accepted(202, {"id": message_id}, replayed=False)


@dataclass
class Env:
    branches: Branches
    publisher: RecordingPublisher
    clock: ManualClock
    tenant_id: str
    branch_id: str
    template_id: str

    async def issue(self, count: int) -> None:
        for _ in range(count):
            phone = f"+86139{secrets.randbelow(10**8):08d}"
            SENSITIVE.update({phone, phone[3:]})
            await self.branches.issue_ticket(self.tenant_id, self.branch_id, phone=phone, service=None)

    def events(self, event_type: str) -> list[dict[str, object]]:
        return [data for _, kind, data, _ in self.publisher.published if kind == event_type]


@pytest.fixture
async def env(database_url: str) -> AsyncIterator[Env]:
    """A branch of a fresh tenant, on a clock standing at 10:00 in Shanghai."""
    engine = create_engine(database_url)
    await migrate(engine)
    tenant_id = await add_tenant(engine)
    templates = Templates()
    template = templates.add(tenant_id, builtin_spec("branch-queue", signature="平安银行"))
    clock, publisher = ManualClock(NOW), RecordingPublisher()
    branches = Branches(
        sessions=session_factory(engine),
        templates=templates,
        sender=Sender(engine),
        events=publisher,
        cipher=FieldCipher(Keyring.parse(generate_keyring_spec())),
        index=BlindIndex(Keyring.parse(generate_keyring_spec())),
        clock=clock,
        ticket_ttl_seconds=3600,
        default_minutes_per_customer=5.0,
    )
    branch = await branches.create(
        tenant_id, name="陆家嘴支行", template_id=template.id, call_template_id=None
    )
    try:
        yield Env(branches, publisher, clock, tenant_id, branch.id, template.id)
    finally:
        await engine.dispose()


async def test_recall_announces_the_ticket_at_the_counter_again(env: Env) -> None:
    """After A001 is called to counter 5, recall answers A001 and publishes queue.ticket_recalled in
    the transaction, with ids and the label only; the ticket stays called."""
    await env.issue(2)
    await env.branches.call_next(env.tenant_id, env.branch_id, counter="5")
    env.clock.advance(30)
    recalled = await env.branches.recall(env.tenant_id, env.branch_id, counter="5")
    assert (recalled.ticket, recalled.counter) == ("A001", "5")
    [event] = env.events("queue.ticket_recalled")
    assert event["ticket"] == "A001" and event["counter"] == "5" and event["branchId"] == env.branch_id
    assert event["recalledAt"] == "2026-12-01T02:00:30Z"
    recalls = [
        (tenant, in_tx) for tenant, kind, _, in_tx in env.publisher.published if kind.endswith("recalled")
    ]
    assert recalls == [(env.tenant_id, True)]
    [call] = await env.branches.calls(env.tenant_id, env.branch_id)
    assert (call.ticket, call.status) == ("A001", "called")


async def test_no_show_frees_the_counter(env: Env) -> None:
    """No-show marks the counter's ticket no_show (queue.ticket_no_show); then recall and no-show
    at that counter are NO_TICKET_CALLED until the next call, which recall then names."""
    await env.issue(2)
    await env.branches.call_next(env.tenant_id, env.branch_id, counter="5")
    missed = await env.branches.no_show(env.tenant_id, env.branch_id, counter="5")
    assert missed.ticket == "A001"
    [event] = env.events("queue.ticket_no_show")
    assert event["ticket"] == "A001" and "markedAt" in event
    for action in (env.branches.recall, env.branches.no_show):
        with pytest.raises(NoTicketCalled):
            await action(env.tenant_id, env.branch_id, counter="5")
    env.clock.advance(60)
    await env.branches.call_next(env.tenant_id, env.branch_id, counter="5")
    assert (await env.branches.recall(env.tenant_id, env.branch_id, counter="5")).ticket == "A002"
    calls = await env.branches.calls(env.tenant_id, env.branch_id)
    assert [(c.ticket, c.status, c.counter) for c in calls] == [
        ("A002", "called", "5"),
        ("A001", "no_show", "5"),
    ]


async def test_each_counter_has_its_own_current_ticket(env: Env) -> None:
    """Counters 3 and 5 each recall their own ticket; a counter nobody was called to has none; the
    queue's recent calls still list called tickets only."""
    await env.issue(3)
    await env.branches.call_next(env.tenant_id, env.branch_id, counter="3")
    env.clock.advance(1)
    await env.branches.call_next(env.tenant_id, env.branch_id, counter="5")
    assert (await env.branches.recall(env.tenant_id, env.branch_id, counter="3")).ticket == "A001"
    assert (await env.branches.recall(env.tenant_id, env.branch_id, counter="5")).ticket == "A002"
    with pytest.raises(NoTicketCalled):
        await env.branches.recall(env.tenant_id, env.branch_id, counter="7")
    await env.branches.no_show(env.tenant_id, env.branch_id, counter="3")
    queue = await env.branches.queue(env.tenant_id, env.branch_id)
    assert [c.ticket for c in queue.called] == ["A002"] and [w.ticket for w in queue.waiting] == ["A003"]


async def test_yesterdays_call_is_not_current(env: Env) -> None:
    """A ticket called on the previous service day is neither recalled nor listed today."""
    await env.issue(1)
    await env.branches.call_next(env.tenant_id, env.branch_id, counter="5")
    env.clock.advance(24 * 3600)
    with pytest.raises(NoTicketCalled):
        await env.branches.recall(env.tenant_id, env.branch_id, counter="5")
    assert await env.branches.calls(env.tenant_id, env.branch_id) == []


async def test_other_tenants_and_unknown_branches_are_not_found(env: Env) -> None:
    """Recall, no-show and calls of an unknown or malformed branch id, or with another tenant, are 404."""
    for tenant_id, branch_id in (
        (env.tenant_id, str(uuid.uuid4())),
        (env.tenant_id, "not-a-uuid"),
        (str(uuid.uuid4()), env.branch_id),
    ):
        with pytest.raises(NotFound):
            await env.branches.recall(tenant_id, branch_id, counter="5")
        with pytest.raises(NotFound):
            await env.branches.no_show(tenant_id, branch_id, counter="5")
        with pytest.raises(NotFound):
            await env.branches.calls(tenant_id, branch_id)


async def test_summaries_list_the_tenants_branches_by_name(env: Env) -> None:
    """All of the tenant's branches by name, or only the given ids (unknown and malformed ids left out)."""
    other = await env.branches.create(
        env.tenant_id, name="外滩支行", template_id=env.template_id, call_template_id=None
    )
    names = [b.name for b in await env.branches.summaries(env.tenant_id)]
    assert names == sorted(["陆家嘴支行", "外滩支行"])
    chosen = await env.branches.summaries(env.tenant_id, [other.id, str(uuid.uuid4()), "junk"])
    assert [(b.id, b.name) for b in chosen] == [(other.id, "外滩支行")]
    assert await env.branches.summaries(env.tenant_id, []) == []
    assert await env.branches.summaries(str(uuid.uuid4())) == []
