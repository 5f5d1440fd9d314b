"""The dashboard's rollups and figures over rows written at chosen instants, on SQLite and PostgreSQL:
Shanghai day boundaries, failure reasons, nearest-rank latency percentiles, when days are computed
again and when they are final, concurrent refreshes, tenant isolation, and the usage, verification,
webhook and queue figures. (The same figures over real traffic: ``test_dashboard.py``.)"""

from __future__ import annotations

import asyncio
import os
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.circuit import CircuitState
from gateway.circuit_journal import CircuitJournal
from gateway.crypto import BlindIndex, FieldCipher, Keyring
from gateway.dashboard import DashboardService, Period
from gateway.dashboard.rollups import TODAY_AGE, Computed, Rollups
from gateway.db import create_engine, migrate, session_factory
from gateway.flows.models import Branch, BranchTicket, FlowState
from gateway.one_tap.models import UsageRecord
from gateway.push.models import MessageEvent, PushMessage
from gateway.tenants.service import TenantService
from gateway.verify.models import VerifyRequest
from gateway.webhooks import WebhookService
from gateway.webhooks.models import WebhookDelivery
from tests.leaks import SENSITIVE
from tests.stack import SESSION_DATA_KEYS, SESSION_INDEX_KEYS

pytestmark = pytest.mark.integration

MESSAGES: sa.Table = PushMessage.__table__  # type: ignore[attr-defined]
EVENTS: sa.Table = MessageEvent.__table__  # type: ignore[attr-defined]
STATES: sa.Table = FlowState.__table__  # type: ignore[attr-defined]
TICKETS: sa.Table = BranchTicket.__table__  # type: ignore[attr-defined]
BRANCHES: sa.Table = Branch.__table__  # type: ignore[attr-defined]
USAGE: sa.Table = UsageRecord.__table__  # type: ignore[attr-defined]
VERIFY: sa.Table = VerifyRequest.__table__  # type: ignore[attr-defined]
DELIVERIES: sa.Table = WebhookDelivery.__table__  # type: ignore[attr-defined]
MIDNIGHT = datetime(2026, 3, 9, 16, tzinfo=UTC)
"""00:00 on 10 March in Shanghai."""
BEFORE = MIDNIGHT - timedelta(microseconds=1000)
D9, D10 = date(2026, 3, 9), date(2026, 3, 10)


@dataclass
class At:
    """A clock standing at ``moment`` until moved."""

    moment: datetime

    def now(self) -> datetime:
        """The set instant."""
        return self.moment


@dataclass
class Db:
    """A migrated database with a tenant, the dashboard and its rollups on a settable clock."""

    engine: AsyncEngine
    clock: At
    service: DashboardService
    rollups: Rollups
    tenant: str
    webhooks: WebhookService
    template: str = field(default_factory=lambda: str(uuid.uuid4()))

    async def insert(self, table: sa.Table, *rows: dict[str, Any]) -> None:
        """Insert rows as they are."""
        async with self.engine.begin() as conn:
            await conn.execute(sa.insert(table), list(rows))

    async def message(
        self,
        created: datetime,
        status: str,
        *,
        operator: str | None = "cmcc",
        tenant: str | None = None,
        submitted_ms: int | None = None,
        delivered_ms: int | None = None,
        reason: str | None = None,
        events: tuple[tuple[str, str | None], ...] = (),
    ) -> str:
        """A message accepted at ``created``; ``submitted_ms``/``delivered_ms`` add those history
        entries that many milliseconds after it; ``events`` more entries (type, detail) a second after."""
        message_id = str(uuid.uuid4())
        await self.insert(
            MESSAGES,
            {
                "id": message_id,
                "tenant_id": tenant or self.tenant,
                "template_id": self.template,
                "category": "notification",
                "signature": "平安银行",
                "recipient_index": "v1:x",
                "recipient_cipher": "v1.x",
                "text_cipher": "v1.x",
                "segments": 1,
                "encoding": "ucs2",
                "operator": operator,
                "status": status,
                "attempts": 1,
                "provider_message_id": "p-" + message_id if submitted_ms is not None else None,
                "failure_reason": reason,
                "created_at": created,
                "scheduled_at": created,
                "next_attempt_at": created,
                "expires_at": created + timedelta(days=1),
                "updated_at": created,
            },
        )
        history: list[tuple[str, str | None, datetime]] = [("queued", None, created)]
        if submitted_ms is not None:
            history.append(("submitted", operator, created + timedelta(milliseconds=submitted_ms)))
        if delivered_ms is not None:
            history.append(("delivered", "DELIVRD", created + timedelta(milliseconds=delivered_ms)))
        history.extend((kind, detail, created + timedelta(seconds=1)) for kind, detail in events)
        await self.insert(
            EVENTS, *({"message_id": message_id, "type": t, "detail": d, "at": a} for t, d, a in history)
        )
        return message_id


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Db]:
    """The parametrised database with a fresh tenant; the clock at noon on 10 March in Shanghai."""
    engine = create_engine(database_url)
    await migrate(engine)
    clock = At(MIDNIGHT + timedelta(hours=12))
    cipher = FieldCipher(Keyring.parse(SESSION_DATA_KEYS))
    webhooks = WebhookService(session_factory(engine), cipher=cipher, clock=clock, allow_private=True)
    index = BlindIndex(Keyring.parse(SESSION_INDEX_KEYS))
    service = DashboardService(engine, cipher=cipher, index=index, webhooks=webhooks, clock=clock)
    try:
        yield Db(engine, clock, service, service.rollups, await _tenant(engine, clock), webhooks)
    finally:
        await engine.dispose()


async def _tenant(engine: AsyncEngine, clock: At) -> str:
    creds = await TenantService(session_factory(engine), clock).create(
        name="dash", scopes=["push:send"], redirect_uris=[]
    )
    SENSITIVE.add(creds.client_secret)
    return creds.tenant_id


async def _settle(db: Db) -> None:
    """Refresh until nothing is due (the PostgreSQL database is shared: other tests' tenants have
    days too)."""
    while (await db.rollups.refresh(budget=500)).left:
        pass


def _mine(db: Db, computed: Computed) -> list[date]:
    """The days of this test's tenant a refresh computed (the PostgreSQL database is shared)."""
    return [day for tenant, day in computed.days if tenant == db.tenant]


def _accepted(days: list[Any]) -> dict[date, int]:
    return {d.day: d.accepted for d in days if d.accepted}


async def test_messages_count_on_their_shanghai_day(db: Db) -> None:
    """A message accepted a millisecond before midnight in Shanghai counts on the day before, one at
    midnight on the new day; a range of one day sees only its own."""
    await db.message(BEFORE, "queued")
    await db.message(MIDNIGHT, "queued")
    await db.message(MIDNIGHT, "queued")
    await _settle(db)

    both = await db.service.funnel(db.tenant, Period(D9, D10))
    assert _accepted(both.days) == {D9: 1, D10: 2}
    assert _accepted((await db.service.funnel(db.tenant, Period(D10, D10))).days) == {D10: 2}
    assert [(r.day, r.template_id, r.accepted) for r in both.rows] == [
        (D9, db.template, 1),
        (D10, db.template, 2),
    ]


async def test_funnel_steps_failure_reasons_and_operators(db: Db) -> None:
    """Each final status counts in its steps; failures group by reason (EXPIRED for a message never
    sent, NO_REPORT for one without a report, the report's status word otherwise); operators count
    submitted, delivered, failed by report and no report; a message never routed has operator ""."""
    day = MIDNIGHT + timedelta(hours=1)
    await db.message(day, "delivered", submitted_ms=100, delivered_ms=1100)
    await db.message(day, "opened", submitted_ms=100, delivered_ms=2100)
    await db.message(day, "failed", submitted_ms=100, reason="UNDELIV", events=(("failed", "UNDELIV"),))
    await db.message(
        day,
        "unknown",
        operator="cucc",
        submitted_ms=100,
        reason="NO_REPORT",
        events=(("unknown", "NO_REPORT"),),
    )
    await db.message(day, "expired", operator="ctcc", events=(("expired", None),))
    await db.message(
        day,
        "failed",
        operator="ctcc",
        reason="OPERATOR_TIMEOUT",
        events=(
            ("submit_failed", "OPERATOR_TIMEOUT"),
            ("submit_failed", "OPERATOR_TIMEOUT"),
            ("failed", "OPERATOR_TIMEOUT"),
        ),
    )
    await db.message(day, "queued", operator=None)
    await _settle(db)

    funnel = await db.service.funnel(db.tenant, Period(D10, D10))
    [total] = funnel.days
    assert (total.accepted, total.submitted, total.delivered, total.opened, total.failed) == (7, 4, 2, 0, 4)
    assert [(f.reason, f.messages) for f in funnel.failures] == [
        ("EXPIRED", 1),
        ("NO_REPORT", 1),
        ("OPERATOR_TIMEOUT", 1),
        ("UNDELIV", 1),
    ]
    operators = await db.service.operators(db.tenant, Period(D10, D10))
    figures = {
        f.operator: (f.accepted, f.submitted, f.delivered, f.undelivered, f.no_report)
        for f in operators.figures
    }
    assert figures == {
        "": (1, 0, 0, 0, 0),
        "cmcc": (3, 3, 2, 1, 0),
        "cucc": (1, 1, 0, 0, 1),
        "ctcc": (2, 0, 0, 0, 0),
    }
    assert [(e.operator, e.kind, e.reason, e.events) for e in operators.errors] == [
        ("cmcc", "failed", "UNDELIV", 1),
        ("ctcc", "failed", "OPERATOR_TIMEOUT", 1),
        ("ctcc", "submit_failed", "OPERATOR_TIMEOUT", 2),
        ("cucc", "unknown", "NO_REPORT", 1),
    ]


async def test_report_latency_percentiles_are_nearest_rank(db: Db) -> None:
    """Nineteen reports 1 to 19 s after their submissions: p50 is the 10th (10 s), p95 the 19th
    (19 s); a delay is kept to two significant digits (12,345 ms counts as 12,000); messages without
    both entries are not timed; a second day's reports add to the same histogram (twenty values:
    p95 is then the 19th, 18 s)."""
    start = MIDNIGHT + timedelta(hours=2)
    for n in range(1, 20):
        await db.message(start, "delivered", submitted_ms=0, delivered_ms=n * 1000)
    await db.message(start - timedelta(hours=12), "delivered", submitted_ms=500, delivered_ms=500 + 12_345)
    await db.message(start, "submitted", submitted_ms=0)
    await _settle(db)

    [cmcc] = (await db.service.operators(db.tenant, Period(D9, D10))).figures
    assert (cmcc.timed, cmcc.p50_ms, cmcc.p95_ms) == (20, 10_000, 18_000)
    [today] = (await db.service.operators(db.tenant, Period(D10, D10))).figures
    assert (today.timed, today.p50_ms, today.p95_ms) == (19, 10_000, 19_000)
    [yesterday] = (await db.service.operators(db.tenant, Period(D9, D9))).figures
    assert (yesterday.timed, yesterday.p50_ms, yesterday.p95_ms) == (1, 12_000, 12_000)


async def test_opened_and_completed_come_from_flows_and_tickets(db: Db) -> None:
    """A flow state makes a message opened; a shared location or a called ticket completes it (a
    ticket is called whether or not its link was opened)."""
    day = MIDNIGHT + timedelta(hours=3)
    shared = await db.message(day, "completed", submitted_ms=10, delivered_ms=20)
    opened = await db.message(day, "opened", submitted_ms=10, delivered_ms=20)
    called = await db.message(day, "completed", submitted_ms=10, delivered_ms=20)
    for message_id, completed in ((shared, day + timedelta(minutes=5)), (opened, None)):
        await db.insert(
            STATES,
            {
                "id": str(uuid.uuid4()),
                "tenant_id": db.tenant,
                "message_id": message_id,
                "link_code": secrets.token_hex(8),
                "flow": "claim_location",
                "status": "shared" if completed else "consent_pending",
                "holder_index": "v1:x",
                "channel": "h5",
                "opened_at": day,
                "updated_at": day,
                "completed_at": completed,
            },
        )
    branch = await _branch(db, "A")
    await _ticket(db, branch, "2026-03-10", 1, "called", day, called_after=60, message_id=called)
    await _settle(db)

    [total] = (await db.service.funnel(db.tenant, Period(D10, D10))).days
    assert (total.delivered, total.opened, total.location_shared, total.ticket_called, total.completed) == (
        3,
        2,
        1,
        1,
        2,
    )


async def test_due_days_newest_first_then_settled_oldest_first(db: Db) -> None:
    """From the day of the tenant's first message to today, with a budget, the days that can still
    change (the last 13 here) are computed newest first, then settled ones oldest first (each final
    at once; days without messages too); a computed day is not due again until its age passes (today:
    a minute), and then shows what changed meanwhile."""
    now = db.clock.now()
    for days_ago in (0, 1, 3, 20, 21):
        await db.message(now - timedelta(days=days_ago), "queued")
    order: list[date] = []
    while computed := (await db.rollups.refresh(budget=2)).days:
        order.extend(day for tenant, day in computed if tenant == db.tenant)
    recent = [D10 - timedelta(days=n) for n in range(13)]
    settled = [date(2026, 2, 17) + timedelta(days=n) for n in range(9)]
    assert order == recent + settled
    assert _mine(db, await db.rollups.refresh(budget=500)) == []

    await db.message(now, "queued")
    db.clock.moment = now + TODAY_AGE
    assert _mine(db, await db.rollups.refresh(budget=500)) == [D10]
    assert _accepted((await db.service.funnel(db.tenant, Period(D10, D10))).days) == {D10: 2}


async def test_a_final_day_stays_until_repaired(db: Db) -> None:
    """A day computed past its horizon is final: rows added to it later are not counted by further
    refreshes, only by an explicit recompute."""
    old = MIDNIGHT - timedelta(days=30)
    await db.message(old, "queued")
    await _settle(db)
    await db.message(old, "queued")
    db.clock.moment += timedelta(days=1)
    await _settle(db)
    day = date(2026, 2, 8)
    assert _accepted((await db.service.funnel(db.tenant, Period(day, day))).days) == {day: 1}

    await db.rollups.compute(db.tenant, day)
    assert _accepted((await db.service.funnel(db.tenant, Period(day, day))).days) == {day: 2}
    assert _mine(db, await db.rollups.refresh(budget=500)) == []


async def test_concurrent_refreshes_compute_each_day_once(database_url: str, db: Db) -> None:
    """Two processes refreshing at once (two engines) split the due days between them: every day is
    computed exactly once and the figures are whole."""
    for n in range(6):
        await db.message(MIDNIGHT - timedelta(days=n), "queued")
    other = create_engine(database_url)
    try:
        first, second = await asyncio.gather(db.rollups.refresh(), Rollups(other, db.clock).refresh())
    finally:
        await other.dispose()
    mine = [day for tenant, day in [*first.days, *second.days] if tenant == db.tenant]
    assert sorted(mine) == sorted(set(mine)) and len(mine) == 6
    funnel = await db.service.funnel(db.tenant, Period(D10 - timedelta(days=6), D10))
    assert sum(d.accepted for d in funnel.days) == 6


async def test_each_tenant_sees_only_its_own(db: Db) -> None:
    """Another tenant's messages of the same day are in its rollups, never in this tenant's."""
    other = await _tenant(db.engine, db.clock)
    await db.message(MIDNIGHT, "queued")
    await db.message(MIDNIGHT, "queued", tenant=other)
    await db.message(MIDNIGHT, "queued", tenant=other)
    await _settle(db)
    assert _accepted((await db.service.funnel(db.tenant, Period(D10, D10))).days) == {D10: 1}
    assert _accepted((await db.service.funnel(other, Period(D10, D10))).days) == {D10: 2}


async def test_identity_calls_per_day_operator_and_capability(db: Db) -> None:
    """Usage rows count on their Shanghai day, per operator and capability, billed apart; another
    tenant's are not counted."""
    other = await _tenant(db.engine, db.clock)
    rows = [
        (BEFORE, "cmcc", "one_tap_login", True),
        (MIDNIGHT, "cmcc", "one_tap_login", True),
        (MIDNIGHT, "cmcc", "one_tap_login", False),
        (MIDNIGHT, "ctcc", "verify_sms", True),
    ]
    for tenant in (db.tenant, other):
        await db.insert(
            USAGE,
            *(
                {
                    "id": str(uuid.uuid4()),
                    "tenant_id": tenant,
                    "capability": capability,
                    "operator": operator,
                    "billed": billed,
                    "result": "OK",
                    "provider_ref": "",
                    "phone_index": "v1:x",
                    "phone_cipher": "v1.x",
                    "created_at": at,
                }
                for at, operator, capability, billed in rows
            ),
        )
    await _settle(db)
    got = await db.service.identity_calls(db.tenant, Period(D9, D10))
    assert [(r.day, r.operator, r.capability, r.family, r.calls, r.billed) for r in got] == [
        (D9, "cmcc", "one_tap_login", "one_tap", 1, 1),
        (D10, "cmcc", "one_tap_login", "one_tap", 2, 1),
        (D10, "ctcc", "verify_sms", "verify", 1, 1),
    ]


async def test_verifications_by_status(db: Db) -> None:
    """Verification requests count on the day they were created, by status; completed by code apart."""
    statuses = [
        ("completed", False),
        ("completed", True),
        ("failed", False),
        ("expired", False),
        ("cancelled", False),
    ]
    await db.insert(
        VERIFY,
        *(
            {
                "id": str(uuid.uuid4()),
                "tenant_id": db.tenant,
                "phone_index": f"v1:{n}",
                "prefix_index": "v1:p",
                "phone_cipher": "v1.x",
                "status": status,
                "workflow": "[]",
                "outcomes": "[]",
                "code_length": 6,
                "locale": "zh-CN",
                "channel_timeout": 300,
                "verified_by_code": by_code,
                "created_at": MIDNIGHT if n else BEFORE,
                "updated_at": MIDNIGHT,
            }
            for n, (status, by_code) in enumerate(statuses)
        ),
    )
    await _settle(db)
    got = await db.service.verifications(db.tenant, Period(D9, D10))
    assert [
        (v.day, v.requests, v.completed, v.by_code, v.failed, v.expired, v.cancelled, v.pending) for v in got
    ] == [
        (D9, 1, 1, 0, 0, 0, 0, 0),
        (D10, 4, 1, 1, 1, 1, 1, 0),
    ]


async def test_webhook_figures(db: Db) -> None:
    """Per target: the range's deliveries by status (from the rollups); all dead letters whatever
    their day; the latest error of a failed or retrying delivery (a delivered one has none);
    another tenant's are apart."""
    other = await _tenant(db.engine, db.clock)
    t = MIDNIGHT + timedelta(hours=1)
    rows = [
        ("delivered", None, None, t, None),
        ("delivered", None, None, t, None),
        ("pending", None, "status 500", t, t + timedelta(minutes=5)),
        (
            "failed",
            None,
            "gave up 1 day, 0:00:00 after the first attempt; last: status 503",
            t,
            t + timedelta(minutes=9),
        ),
        ("failed", None, "old failure", t - timedelta(days=40), t - timedelta(days=39)),
        ("failed", "camara:sub-1", "sink refused", t, t + timedelta(minutes=1)),
    ]
    ids = {}
    for tenant in (db.tenant, other):
        for n, (status, target, error, created, finished) in enumerate(rows):
            ids[tenant, n] = "msg_" + secrets.token_hex(13)
            await db.insert(
                DELIVERIES,
                {
                    "id": ids[tenant, n],
                    "tenant_id": tenant,
                    "event_type": "message.delivered",
                    "payload": "{}",
                    "status": status,
                    "attempts": 1,
                    "next_attempt_at": created,
                    "last_attempt_at": finished,
                    "last_error": error,
                    "created_at": created,
                    "finished_at": finished if status == "failed" else None,
                    "sink": target,
                },
            )
    await _settle(db)
    endpoint, sink = await db.service.webhooks(db.tenant, Period(D10, D10))
    assert (endpoint.target, endpoint.statuses, endpoint.dead) == (
        "",
        {"delivered": 2, "pending": 1, "failed": 1},
        2,
    )
    assert endpoint.last_error is not None and endpoint.last_error.startswith("gave up")
    assert (endpoint.last_error_delivery, endpoint.last_error_at) == (
        ids[db.tenant, 3],
        t + timedelta(minutes=9),
    )
    assert (sink.target, sink.statuses, sink.dead, sink.last_error) == (
        "camara:sub-1",
        {"failed": 1},
        1,
        "sink refused",
    )
    old, old_sink = await db.service.webhooks(
        db.tenant, Period(D10 - timedelta(days=45), D10 - timedelta(days=40))
    )
    assert (old.target, old.statuses, old.dead) == ("", {"failed": 1}, 2)
    assert (old_sink.target, old_sink.statuses, old_sink.dead) == ("camara:sub-1", {}, 1)


async def test_queue_figures_all_branches_or_a_supervisors(db: Db) -> None:
    """Tickets per service day and branch: issued, called (no-shows too), no-shows, cancelled, waiting
    and the average wait of the called; a supervisor's branches narrow them; another tenant's
    branch id is ignored."""
    a, b = await _branch(db, "A"), await _branch(db, "B")
    t = MIDNIGHT + timedelta(hours=2)
    await _ticket(db, a, "2026-03-10", 1, "called", t, called_after=60)
    await _ticket(db, a, "2026-03-10", 2, "no_show", t, called_after=180)
    await _ticket(db, a, "2026-03-10", 3, "cancelled", t)
    await _ticket(db, a, "2026-03-10", 4, "waiting", t)
    await _ticket(db, b, "2026-03-09", 1, "called", t - timedelta(days=1), called_after=30)
    other = await _tenant(db.engine, db.clock)
    foreign = await _branch(db, "X", tenant=other)
    await _ticket(db, foreign, "2026-03-10", 1, "called", t, called_after=1, tenant=other)

    await _settle(db)
    rows = await db.service.queues(db.tenant, Period(D9, D10))
    assert [
        (q.day, q.branch_name, q.issued, q.called, q.no_show, q.cancelled, q.waiting, q.average_wait_ms)
        for q in rows
    ] == [
        (D9, "B", 1, 1, 0, 0, 0, 30_000),
        (D10, "A", 4, 2, 1, 1, 1, 120_000),
    ]
    supervised = await db.service.queues(db.tenant, Period(D9, D10), branches=[b, foreign])
    assert [(q.branch_name, q.issued) for q in supervised] == [("B", 1)]
    assert await db.service.queues(db.tenant, Period(D9, D10), branches=[]) == []


async def _branch(db: Db, name: str, *, tenant: str | None = None) -> str:
    branch_id = str(uuid.uuid4())
    await db.insert(
        BRANCHES,
        {
            "id": branch_id,
            "tenant_id": tenant or db.tenant,
            "name": name,
            "template_id": "t",
            "call_template_id": "c",
            "created_at": MIDNIGHT,
        },
    )
    return branch_id


async def _ticket(
    db: Db,
    branch: str,
    day: str,
    seq: int,
    status: str,
    issued: datetime,
    *,
    called_after: int | None = None,
    message_id: str | None = None,
    tenant: str | None = None,
) -> None:
    await db.insert(
        TICKETS,
        {
            "id": str(uuid.uuid4()),
            "tenant_id": tenant or db.tenant,
            "branch_id": branch,
            "service_day": day,
            "seq": seq,
            "label": f"A{seq:03d}",
            "phone_index": "v1:x",
            "phone_cipher": "v1.x",
            "status": status,
            "message_id": message_id,
            "issued_at": issued,
            "called_at": issued + timedelta(seconds=called_after) if called_after is not None else None,
            "cancelled_at": issued if status == "cancelled" else None,
        },
    )


async def test_a_dead_letter_retry_reopens_its_final_day(db: Db) -> None:
    """Retrying a 40-day-old dead letter requeues it and reopens its (final) day: the next refresh
    shows it pending, a later one delivered, and the day is final again once the reopening has
    passed; changes after that are no longer counted."""
    await db.webhooks.put(db.tenant, url="http://127.0.0.1:9/hook", events=["message.delivered"])
    old = MIDNIGHT - timedelta(days=40)
    day = date(2026, 1, 29)
    delivery = "msg_" + secrets.token_hex(13)
    await db.insert(
        DELIVERIES,
        {
            "id": delivery,
            "tenant_id": db.tenant,
            "event_type": "message.delivered",
            "payload": "{}",
            "status": "failed",
            "attempts": 3,
            "next_attempt_at": old,
            "last_error": "gave up",
            "created_at": old,
            "finished_at": old + timedelta(days=1),
        },
    )

    async def statuses() -> dict[str, int]:
        await _settle(db)
        [endpoint] = await db.service.webhooks(db.tenant, Period(day, day))
        return endpoint.statuses

    assert await statuses() == {"failed": 1}
    assert await db.service.retry_dead_letters(db.tenant) == 1
    assert await statuses() == {"pending": 1}
    async with db.engine.begin() as conn:
        await conn.execute(
            sa.update(DELIVERIES).where(DELIVERIES.c.id == delivery).values(status="delivered")
        )
    db.clock.moment += timedelta(hours=2)
    assert await statuses() == {"delivered": 1}
    db.clock.moment += timedelta(hours=24)
    assert await statuses() == {"delivered": 1}
    async with db.engine.begin() as conn:
        await conn.execute(sa.update(DELIVERIES).where(DELIVERIES.c.id == delivery).values(status="failed"))
    db.clock.moment += timedelta(hours=2)
    assert await statuses() == {"delivered": 1}


async def test_circuit_outages_that_overlap_the_range(db: Db) -> None:
    """The circuit journal keeps one outage per operator from its circuit's opening to its closing (a
    failed probe's re-opening continues it; a breaker's first ``closed`` is no outage); a process
    that stops closes the outages it still sees. The dashboard lists the outages that overlap the
    range, oldest first and with their length, and leaves out the ones before it."""
    clock = At(MIDNIGHT - timedelta(hours=2))
    earlier = CircuitJournal(db.engine, clock)
    earlier("cmcc", CircuitState.OPEN)
    clock.moment += timedelta(minutes=30)
    earlier("cmcc", CircuitState.CLOSED)
    clock.moment = MIDNIGHT - timedelta(seconds=20)
    earlier("ctcc", CircuitState.OPEN)
    clock.moment = MIDNIGHT + timedelta(seconds=40)
    earlier("ctcc", CircuitState.CLOSED)
    await earlier.aclose()

    journal = CircuitJournal(db.engine, db.clock)
    opened = db.clock.moment
    journal("cmcc", CircuitState.CLOSED)
    journal("cmcc", CircuitState.OPEN)
    db.clock.moment += timedelta(seconds=30)
    journal("cmcc", CircuitState.HALF_OPEN)
    journal("cmcc", CircuitState.OPEN)
    db.clock.moment += timedelta(seconds=30)
    journal("cmcc", CircuitState.HALF_OPEN)
    journal("cmcc", CircuitState.CLOSED)
    journal("cucc", CircuitState.OPEN)
    db.clock.moment += timedelta(seconds=15)
    await journal.aclose()

    day = date(2026, 3, 10)
    outages = (await db.service.operators(db.tenant, Period(day, day))).outages
    now = db.clock.now()
    assert [(o.operator, o.opened_at, o.closed_at, o.seconds(now)) for o in outages] == [
        ("ctcc", MIDNIGHT - timedelta(seconds=20), MIDNIGHT + timedelta(seconds=40), 60.0),
        ("cmcc", opened, opened + timedelta(seconds=60), 60.0),
        ("cucc", opened + timedelta(seconds=60), now, 15.0),
    ]
    assert all(o.process.endswith(f":{os.getpid()}") for o in outages)
