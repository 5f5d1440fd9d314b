"""kill -9 of `gateway serve` while it accepts a chunk of campaign recipients, on PostgreSQL, real processes.

`gateway sandbox` and an API-only `gateway serve` share a fresh database. A bank creates a campaign
and posts a chunk of 5,000 recipients. The test holds ``LOCK TABLE campaign_recipients IN SHARE
MODE``, so the gateway's insert of the chunk blocks inside its transaction (the campaign row already
locked); once the database shows that insert waiting, the gateway gets SIGKILL and the lock is
released. Nothing of the chunk may be stored: no recipient row, the campaign still a draft with no
recipients, through a new gateway's API as in the database; and the same chunk posted again is
accepted whole (no line counted as a duplicate of a half-stored earlier attempt).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.e2e.processes import Cluster, PushSender, line_numbers, ready, wait_until

pytestmark = pytest.mark.e2e

LINES = 5000
API_ONLY = {
    "push_dispatch_worker": "false",
    "webhook_delivery_worker": "false",
    "sim_swap_poll_worker": "false",
}


@pytest.fixture
async def cluster(own_postgres_url: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    """The sandbox on a fresh PostgreSQL database; the test starts the gateways."""
    running = Cluster(own_postgres_url, tmp_path)
    try:
        running.sandbox()
        yield running
    finally:
        running.stop_all()
        print(running.tails())


async def _insert_waiting(db: asyncpg.Connection) -> bool:
    """Whether a session waits on a lock while inserting into campaign_recipients."""
    count: int = await db.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND query ILIKE 'INSERT INTO campaign_recipients%'"
    )
    return count > 0


async def test_kill_9_during_acceptance_stores_nothing_of_the_chunk(cluster: Cluster) -> None:
    """A gateway killed with SIGKILL inside the chunk's transaction leaves no recipient and a draft
    campaign without recipients; the same chunk is accepted whole afterwards."""
    async with httpx.AsyncClient(timeout=60) as client:
        serve = cluster.start("serve", ["serve"], cluster.gateway_url, **API_ONLY)
        await wait_until(lambda: ready(client, serve.url), 60, "gateway readiness")
        bank = await PushSender.provision(client, cluster)
        created = await client.post(
            f"{cluster.gateway_url}/push/v1/campaigns",
            headers=bank.headers,
            json={"templateId": bank.template_id},
        )
        assert created.status_code == 201, created.text
        campaign = created.json()["id"]
        numbers = [number for number, _ in line_numbers(LINES)]
        chunk = ("phoneNumber,claimNo\n" + "".join(f"{n},C-{i}\n" for i, n in enumerate(numbers))).encode()
        url = f"{cluster.gateway_url}/push/v1/campaigns/{campaign}/recipients"
        headers = {**bank.headers, "Content-Type": "text/csv"}

        db = await asyncpg.connect(cluster.database_url)
        lock = await asyncpg.connect(cluster.database_url)
        try:
            held = lock.transaction()
            await held.start()
            await lock.execute("LOCK TABLE campaign_recipients IN SHARE MODE")
            upload = asyncio.create_task(client.post(url, content=chunk, headers=headers))
            try:
                await wait_until(lambda: _insert_waiting(db), 60, "the chunk's insert waiting on the lock")
                serve.kill9()
            finally:
                await held.rollback()
            with contextlib.suppress(httpx.HTTPError):
                await upload
            assert upload.done() and (upload.exception() is not None or upload.result().status_code >= 500)

            assert await db.fetchval("SELECT count(*) FROM campaign_recipients") == 0
            row = await db.fetchrow("SELECT status, recipients FROM campaigns WHERE id = $1", campaign)
            assert row is not None and (row["status"], row["recipients"]) == ("draft", 0)

            again = cluster.start("serve-2", ["serve"], cluster.gateway_url, **API_ONLY)
            await wait_until(lambda: ready(client, again.url), 60, "the second gateway's readiness")
            view = await client.get(
                f"{cluster.gateway_url}/push/v1/campaigns/{campaign}", headers=bank.headers
            )
            assert view.status_code == 200, view.text
            assert view.json()["recipients"] == 0 and view.json()["counts"]["recipients"]["pending"] == 0

            retried = await client.post(url, content=chunk, headers=headers)

            assert retried.status_code == 202, retried.text
            report = retried.json()
            assert report["accepted"] == LINES and report["duplicates"]["count"] == 0, report
            assert await db.fetchval("SELECT count(*) FROM campaign_recipients") == LINES
        finally:
            await lock.close()
            await db.close()
