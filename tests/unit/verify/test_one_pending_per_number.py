"""One pending verification request per number and tenant (gateway.verify.service), also when the
bank's backend sends the same request several times at once."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gateway.errors import VerificationInProgress
from gateway.verify import service
from gateway.verify.service import NewRequest
from gateway.verify.workflow import Channel, Status, Step
from tests.unit.verify.conftest import ServiceEnv

WORKFLOW = (Step(Channel.NETWORK), Step(Channel.SMS))


async def test_a_second_request_for_a_pending_number_is_refused_until_the_first_ends(
    service_env: ServiceEnv,
) -> None:
    """While a request is pending another for the number is 409 VERIFICATION_IN_PROGRESS; once it
    is cancelled a new one starts."""
    new = NewRequest(service_env.new_phone(), WORKFLOW, 6, "zh-CN", 300, None)
    first = await service_env.service.create(service_env.tenant_id, new)

    with pytest.raises(VerificationInProgress):
        await service_env.service.create(service_env.tenant_id, new)
    await service_env.service.cancel(service_env.tenant_id, first.id)
    second = await service_env.service.create(service_env.tenant_id, new)

    assert second.id != first.id and second.status is Status.PENDING


async def test_concurrent_requests_for_one_number_start_one_workflow(
    service_env: ServiceEnv,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ten creates for one number at once, the first one's transaction held open 0.2 s after its
    insert (on PostgreSQL, so the others surely overlap it): one starts, nine answer 409
    VERIFICATION_IN_PROGRESS."""
    if database_url.startswith("postgresql"):
        insert = service._insert
        held = asyncio.Event()

        def slow_insert(row: Mapping[str, Any], candidates: list[str], conn: Connection) -> None:
            insert(row, candidates, conn)
            if not held.is_set():
                held.set()
                conn.execute(sa.text("SELECT pg_sleep(0.2)"))

        monkeypatch.setattr(service, "_insert", slow_insert)
    new = NewRequest(service_env.new_phone(), WORKFLOW, 6, "zh-CN", 300, None)

    results = await asyncio.gather(
        *[service_env.service.create(service_env.tenant_id, new) for _ in range(10)], return_exceptions=True
    )

    assert sorted(type(r).__name__ for r in results) == ["RequestView"] + ["VerificationInProgress"] * 9
