"""kill -9 of `gateway worker` processes while 1,000 SMS are in flight, on PostgreSQL, real processes.

`gateway sandbox` (delivery reports to the gateway), `gateway serve` with every background worker
switched off (API and operator callbacks only) and a succession of `gateway worker` processes
share one database. 1,000 messages to 100 lines (10 each, every one with its own link) are
accepted first, through the push service in the test process (the acceptance code of
``POST /push/v1/messages`` without HTTP, to keep set-up short). Then three workers are killed
with SIGKILL at three points, each followed by a fresh worker:

(a) before the operator call: the worker paces at 1 SMS/s per operator (its SMS gateway URLs'
    ``tps``), so at the kill it holds a whole batch of claims it has not sent;
(b) after the operator accepted, before the commit: the test holds ``LOCK TABLE push_messages IN
    SHARE MODE`` so the worker's post-send UPDATE blocks, waits until a message the worker still
    leases is in its phone's inbox, kills the worker, then releases the lock (the dead session's
    UPDATE never commits);
(c) mid-stream, once a random number of further messages is done.

Leases are 5 s (the minimum), so a later worker takes over quickly. Afterwards every message must
be ``delivered`` exactly once in the database (one ``submitted`` and one ``delivered`` event),
also through ``GET /push/v1/messages/{id}`` for every message leased at a kill and a sample of the
rest; every SMS in the inboxes must carry the link of a message to that phone, every message at
least one SMS, and the copies beyond the first must number at most the messages the killed
workers leased at their kills.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest

from gateway.push.schemas import MessageCreate
from gateway.runtime import open_runtime
from gateway.sandbox_link import SANDBOX_PROTOCOLS
from tests.e2e.processes import Cluster, Proc, PushSender, gather_limited, line_numbers, ready, wait_until

pytestmark = pytest.mark.e2e

TOTAL = 1000
LINES = 100
FAST = {
    "push_lease_seconds": "5",
    "push_dispatch_poll_seconds": "0.2",
    "push_send_rate": "10000",
    "push_dispatch_batch": "100",
    "push_dispatch_concurrency": "32",
    "shutdown_timeout": "3",
}
API_ONLY = {
    "push_dispatch_worker": "false",
    "webhook_delivery_worker": "false",
    "sim_swap_poll_worker": "false",
}
FINAL = ["delivered", "failed", "expired"]
LINK = re.compile(r"https?://\S+?/l/[0-9A-Za-z]{22}")


@dataclass(frozen=True)
class Queued:
    """One accepted message: its line and its link."""

    id: str
    phone: str
    link: str


@dataclass
class Run:
    """The cluster, a client, a database connection, and what the kills left behind."""

    cluster: Cluster
    client: httpx.AsyncClient
    db: asyncpg.Connection
    messages: dict[str, Queued] = field(default_factory=dict)
    dead_owners: set[str] = field(default_factory=set)
    leased_at_kills: dict[str, set[str]] = field(default_factory=dict)

    async def copies(self, message_ids: set[str]) -> Counter[str]:
        """SMS per message in the inboxes of these messages' phones; every SMS must carry the link of
        a message to its phone."""
        by_link = {m.link: m for m in self.messages.values()}
        phones = sorted({self.messages[m].phone for m in message_ids})
        inboxes = await gather_limited(self._inbox(phone) for phone in phones)
        counted: Counter[str] = Counter()
        for phone, texts in zip(phones, inboxes, strict=True):
            for text in texts:
                [link] = LINK.findall(text)
                message = by_link.get(link)
                assert message is not None and message.phone == phone, "an SMS with a link of no message"
                counted[message.id] += 1
        return counted

    async def _inbox(self, phone: str) -> list[str]:
        answer = await self.client.get(f"{self.cluster.sandbox_url}/sandbox/devices/{phone}/messages")
        assert answer.status_code == 200, answer.text
        return [m["text"] for m in answer.json()]

    async def done(self) -> int:
        """Messages no longer queued."""
        count: int = await self.db.fetchval("SELECT count(*) FROM push_messages WHERE status <> 'queued'")
        return count

    async def held(self) -> tuple[str | None, set[str]]:
        """The leases of the one worker not killed yet: (its lease owner, message ids)."""
        rows = await self.db.fetch(
            "SELECT lease_owner, id FROM push_messages WHERE status = 'queued' AND lease_owner IS NOT NULL"
        )
        owners = {r["lease_owner"] for r in rows} - self.dead_owners
        assert len(owners) <= 1, f"several live lease owners: {owners}"
        owner = next(iter(owners), None)
        return owner, {r["id"] for r in rows if r["lease_owner"] == owner}

    async def start_worker(self, name: str, **env: str) -> Proc:
        """A `gateway worker` with short leases, once it is ready."""
        proc = self.cluster.worker(name, **(FAST | env))
        await wait_until(lambda: ready(self.client, proc.url), 60, f"{name} readiness")
        return proc

    async def kill(self, proc: Proc, phase: str) -> set[str]:
        """SIGKILL ``proc``; the messages it leased at that moment (read once its last commit landed)."""
        proc.kill9()
        await asyncio.sleep(0.3)
        owner, leased = await self.held()
        if owner is not None:
            self.dead_owners.add(owner)
        self.leased_at_kills[phase] = leased
        return leased


@pytest.fixture
async def run(own_postgres_url: str, tmp_path: Path) -> AsyncIterator[Run]:
    """Sandbox and an API-only gateway on a fresh PostgreSQL database, 1,000 messages queued."""
    cluster = Cluster(own_postgres_url, tmp_path)
    async with httpx.AsyncClient(timeout=30) as client:
        try:
            cluster.sandbox()
            serve = cluster.start("serve", ["serve"], cluster.gateway_url, **API_ONLY)
            await wait_until(lambda: ready(client, serve.url), 60, "gateway readiness")
            db = await asyncpg.connect(own_postgres_url)
            try:
                yield await _queue_messages(Run(cluster, client, db))
            finally:
                await db.close()
        finally:
            cluster.stop_all()
            print(cluster.tails())


async def _queue_messages(run: Run) -> Run:
    cluster, client = run.cluster, run.client
    lines = line_numbers(LINES)

    async def seed(phone: str, operator: str) -> None:
        body = {"phoneNumber": phone, "operator": operator, "activatedAt": "2025-06-01T08:00:00Z"}
        answer = await client.post(f"{cluster.sandbox_url}/sandbox/subscribers", json=body)
        assert answer.status_code == 201, answer.text

    await gather_limited(seed(phone, operator) for phone, operator in lines)
    sender = await PushSender.provision(client, cluster)
    client.headers.update(sender.headers)
    async with open_runtime(cluster.settings(**API_ONLY)) as runtime:

        async def send(serial: int) -> Queued:
            phone = lines[serial % LINES][0]
            body = MessageCreate(templateId=sender.template_id, to=phone, params={"claimNo": f"C-{serial}"})
            accepted = await runtime.push.service.send(
                tenant_id=sender.tenant_id, request=body.to_domain(), idempotency_key=None
            )
            assert accepted.status == 202 and accepted.body["status"] == "queued"
            return Queued(accepted.body["id"], phone, accepted.body["link"])

        queued = await gather_limited((send(i) for i in range(TOTAL)), limit=8)
    run.messages = {q.id: q for q in queued}
    assert await run.db.fetchval("SELECT count(*) FROM push_messages WHERE status = 'queued'") == TOTAL
    return run


async def _phase_before_the_operator_call(run: Run) -> None:
    slow = {
        f"{op}_sms_url": run.cluster.env[f"GATEWAY_{op.upper()}_SMS_URL"] + "&tps=1"
        for op in SANDBOX_PROTOCOLS
    }
    worker = await run.start_worker("worker-a", push_send_rate="1", **slow)

    async def holds_a_batch() -> bool:
        return len((await run.held())[1]) >= 20

    await wait_until(holds_a_batch, 30, "worker-a's claims")
    leased = await run.kill(worker, "a")
    sent = await run.copies(leased)
    assert any(m not in sent for m in leased), "worker-a was killed holding claims it had not sent yet"


async def _phase_after_the_operator_call(run: Run) -> None:
    worker = await run.start_worker("worker-b")
    start = await run.done()

    async def progressed() -> bool:
        return await run.done() >= start + 50

    async def sent_not_committed() -> bool:
        leased = (await run.held())[1]
        sent = await run.copies(leased)
        return any(m in sent for m in leased)

    await wait_until(progressed, 60, "worker-b's progress")
    for _ in range(5):
        lock = await asyncpg.connect(run.cluster.database_url)
        held = lock.transaction()
        await held.start()
        await lock.execute("LOCK TABLE push_messages IN SHARE MODE")
        try:
            await wait_until(sent_not_committed, 3, "an accepted SMS whose commit is blocked")
        except AssertionError:
            await held.rollback()
            await lock.close()
            await asyncio.sleep(0.3)
            continue
        try:
            leased = await run.kill(worker, "b")
            sent = await run.copies(leased)
        finally:
            await held.rollback()
            await lock.close()
        assert any(m in sent for m in leased), (
            "worker-b was killed after the operator accepted, before its commit"
        )
        return
    raise AssertionError("worker-b never had an accepted SMS in flight while the table was locked")


async def _phase_mid_stream(run: Run, rng: random.Random) -> None:
    worker = await run.start_worker("worker-c")
    start = await run.done()
    target = start + rng.randint(50, max(50, (TOTAL - start) // 2))

    async def reached() -> bool:
        return await run.done() >= target

    await wait_until(reached, 60, f"{target} messages done")
    await run.kill(worker, "c")
    assert await run.done() < TOTAL, "worker-c was killed mid-stream, with messages still queued"


async def test_kill_9_of_dispatch_workers_loses_no_message_and_sends_no_unleased_duplicate(run: Run) -> None:
    """Workers killed before the operator call, between the operator's acceptance and the commit, and
    mid-stream, then a last worker: every message ends delivered exactly once (database and API), every
    message reached its phone with its own link, and extra copies number at most the messages leased
    at the kills."""
    seed = random.randrange(2**32)
    print(f"mid-stream kill seed: {seed}")
    await _phase_before_the_operator_call(run)
    await _phase_after_the_operator_call(run)
    await _phase_mid_stream(run, random.Random(seed))
    await run.start_worker("worker-d")

    async def all_final() -> bool:
        left: int = await run.db.fetchval(
            "SELECT count(*) FROM push_messages WHERE status <> ALL($1::text[])", FINAL
        )
        return left == 0

    await wait_until(all_final, 90, "every message in a final state")

    states = Counter(r["status"] for r in await run.db.fetch("SELECT status FROM push_messages"))
    assert states == {"delivered": TOTAL}, states
    events = await run.db.fetch(
        "SELECT message_id, type, count(*) AS n FROM push_message_events"
        " WHERE type = ANY($1::text[]) GROUP BY message_id, type",
        ["submitted", *FINAL],
    )
    assert {(r["message_id"], r["type"], r["n"]) for r in events} == {
        (m, kind, 1) for m in run.messages for kind in ("submitted", "delivered")
    }

    at_risk = set().union(*run.leased_at_kills.values())
    checked = sorted(at_risk | set(list(run.messages)[::20]))

    async def read(message_id: str) -> tuple[str, str]:
        answer = await run.client.get(f"{run.cluster.gateway_url}/push/v1/messages/{message_id}")
        assert answer.status_code == 200, answer.text
        return answer.json()["status"], answer.json()["link"]

    answers = await gather_limited(read(m) for m in checked)
    assert answers == [("delivered", run.messages[m].link) for m in checked]

    copies = await run.copies(set(run.messages))
    assert set(copies) == set(run.messages), "a message never reached its phone"
    duplicates = sum(copies.values()) - TOTAL
    leased = {phase: len(ids) for phase, ids in run.leased_at_kills.items()}
    print(f"leased at the kills: {leased}; SMS copies beyond the first: {duplicates}")
    assert duplicates <= sum(leased.values())
    leaks = run.cluster.leaks()
    assert not leaks, f"a process logged a full phone number or the admin token: {leaks[:5]}"
