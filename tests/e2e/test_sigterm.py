"""SIGTERM of `gateway serve` (one process, and two under the supervisor) under load, on PostgreSQL.

The sandbox answers cmcc after 2.5 s (one-tap logins in flight past the grace) and ctcc after
20 s (SMS submissions of the in-process dispatch worker outlast ``SHUTDOWN_TIMEOUT``, so they are
cancelled). With ``SHUTDOWN_GRACE_SECONDS=2`` and ``SHUTDOWN_TIMEOUT=2``: after SIGTERM ``/readyz``
answers ``503 Shutting down.`` while the listener still accepts (a login sent then is served too),
every login sent completes 200, the process exits 0 in time, and it released every lease it held.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.e2e.processes import Cluster, Proc, PushSender, gather_limited, line_numbers, ready, wait_until

pytestmark = pytest.mark.e2e

LOGINS = 24
SMS = 12
LINES = 3 * (LOGINS + 1)
LOGIN_LATENCY_MS = 2500
SMS_LATENCY_MS = 20000
GRACE = 2.0
TIMEOUT = 2.0


@dataclass
class Served:
    """A running `gateway serve`, its sandbox, a tenant and a database connection."""

    cluster: Cluster
    serve: Proc
    client: httpx.AsyncClient
    sender: PushSender
    db: asyncpg.Connection

    async def login(self, token: str) -> int:
        """POST /one-tap/v1/login on a connection of its own; the status."""
        async with httpx.AsyncClient(timeout=30) as fresh:
            answer = await fresh.post(
                f"{self.cluster.gateway_url}/one-tap/v1/login",
                json={"token": token, "operator": "cmcc"},
                headers=self.sender.headers,
            )
        return answer.status_code

    async def sdk_token(self, phone: str) -> str:
        """A login token from the sandbox SDK on ``phone``."""
        answer = await self.client.post(
            f"{self.cluster.sandbox_url}/sandbox/devices/{phone}/one-tap-token", json={"purpose": "login"}
        )
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["token"]
        return token

    async def leased(self) -> int:
        """Queued messages some dispatch worker holds."""
        count: int = await self.db.fetchval(
            "SELECT count(*) FROM push_messages WHERE status = 'queued' AND lease_owner IS NOT NULL"
        )
        return count

    async def readiness(self) -> str:
        """``ready``, ``shutting-down``, ``not-ready`` (another 503), ``slow`` or ``refused``."""
        try:
            answer = await self.client.get(f"{self.cluster.gateway_url}/readyz", timeout=0.5)
        except httpx.TimeoutException:
            return "slow"
        except httpx.TransportError:
            return "refused"
        if answer.status_code == 200:
            return "ready"
        return "shutting-down" if answer.json().get("message") == "Shutting down." else "not-ready"


@pytest.fixture(params=[1, 2], ids=["one-process", "two-workers"])
async def served(
    request: pytest.FixtureRequest, own_postgres_url: str, redis_url: str, tmp_path: Path
) -> AsyncIterator[Served]:
    """`gateway serve --workers N` with its dispatch worker, the sandbox, lines and a tenant."""
    cluster = Cluster(own_postgres_url, tmp_path)
    settings = {
        "shutdown_grace_seconds": str(GRACE),
        "shutdown_timeout": str(TIMEOUT),
        "operator_timeout": "30",
        "push_dispatch_poll_seconds": "0.2",
        "redis_url": redis_url,
    }
    async with httpx.AsyncClient(timeout=30) as client:
        try:
            cluster.sandbox()
            args = ["serve", "--workers", str(request.param)]
            serve = cluster.start("serve", args, cluster.gateway_url, **settings)
            await wait_until(lambda: ready(client, serve.url), 60, "gateway readiness")
            sender = await PushSender.provision(client, cluster)

            async def seed(phone: str, operator: str) -> None:
                body = {"phoneNumber": phone, "operator": operator, "activatedAt": "2025-06-01T08:00:00Z"}
                answer = await client.post(f"{cluster.sandbox_url}/sandbox/subscribers", json=body)
                assert answer.status_code == 201, answer.text

            await gather_limited(seed(phone, operator) for phone, operator in line_numbers(LINES))
            db = await asyncpg.connect(own_postgres_url)
            try:
                yield Served(cluster, serve, client, sender, db)
            finally:
                await db.close()
        finally:
            cluster.stop_all()
            print(cluster.tails())


async def _fault(served: Served, operator: str, **faults: int) -> None:
    answer = await served.client.put(
        f"{served.cluster.sandbox_url}/sandbox/operators/{operator}/faults", json=faults
    )
    assert answer.status_code == 200, answer.text


async def test_sigterm_drains_readiness_first_finishes_requests_and_releases_leases(served: Served) -> None:
    """Under load, SIGTERM turns /readyz to 'Shutting down.' while the listener still serves; every
    login sent before or during the grace completes 200; the process exits 0 within grace + 2 x timeout
    + 5 s; the dispatch leases it held (sends hung at the operator) are all released."""
    lines = line_numbers(LINES)
    cmcc = [phone for phone, operator in lines if operator == "cmcc"]
    ctcc = [phone for phone, operator in lines if operator == "ctcc"]
    tokens = [await served.sdk_token(phone) for phone in cmcc[: LOGINS + 1]]
    await _fault(served, "cmcc", latencyMs=LOGIN_LATENCY_MS)
    await _fault(served, "ctcc", answerDelayMs=SMS_LATENCY_MS)

    async def send(phone: str) -> None:
        body = {"templateId": served.sender.template_id, "to": phone, "params": {"claimNo": "C-1"}}
        answer = await served.client.post(
            f"{served.cluster.gateway_url}/push/v1/messages", json=body, headers=served.sender.headers
        )
        assert answer.status_code == 202, answer.text

    await gather_limited(send(phone) for phone in ctcc[:SMS])

    async def sends_in_flight() -> bool:
        return await served.leased() >= 1

    await wait_until(sends_in_flight, 20, "dispatch leases")

    logins = [asyncio.create_task(served.login(token)) for token in tokens[:LOGINS]]
    await asyncio.sleep(0.5)
    served.serve.popen.send_signal(signal.SIGTERM)
    stopped_at = time.monotonic()

    seen: list[str] = []
    late_login: asyncio.Task[int] | None = None
    while time.monotonic() - stopped_at < 30:
        state = await served.readiness()
        seen.append(state)
        if state == "shutting-down" and late_login is None:
            late_login = asyncio.create_task(served.login(tokens[LOGINS]))
        if state == "refused":
            break
        await asyncio.sleep(0.05)
    assert "shutting-down" in seen, seen
    assert "refused" not in seen[: seen.index("shutting-down")], "readiness failed before the listener closed"
    assert "ready" not in seen[seen.index("shutting-down") :], seen
    assert late_login is not None

    assert await asyncio.gather(*logins, late_login) == [200] * (LOGINS + 1)
    deadline = stopped_at + GRACE + 2 * TIMEOUT + 5
    exit_code = await asyncio.to_thread(served.serve.popen.wait, max(0.1, deadline - time.monotonic()))
    assert exit_code == 0
    assert await served.leased() == 0, "the stopped process left messages leased"
    assert "push_leases_released" in served.serve.output(), "no send had to be cancelled and released"
    assert await served.db.fetchval("SELECT count(*) FROM push_messages") == SMS
    leaks = served.cluster.leaks()
    assert not leaks, f"a process logged a full phone number or the admin token: {leaks[:5]}"
