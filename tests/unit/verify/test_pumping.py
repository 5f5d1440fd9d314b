"""The pumping guard (gateway.verify.pumping) on a real database, SQLite and PostgreSQL: it counts the
codes a tenant sent to a number prefix in the window from verify_requests and blocks the prefix when
few were verified; the webhook is staged in the block's transaction, the metric counts blocks."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.crypto import BlindIndex, Keyring, generate_keyring_spec
from gateway.db import as_utc, create_engine, migrate, run_unit
from gateway.push.guard import number_prefix
from gateway.verify.models import PrefixBlock, VerifyRequest
from gateway.verify.pumping import Prefix, PumpingGuard, PumpingPolicy
from tests.clocks import ManualClock
from tests.leaks import SENSITIVE
from tests.unit.push.fakes import RecordingPublisher
from tests.unit.verify.conftest import add_tenants

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
POLICY = PumpingPolicy(
    window=timedelta(hours=1),
    grace=timedelta(seconds=60),
    min_codes=5,
    min_verified_ratio=0.2,
    block=timedelta(hours=1),
)
_REQUESTS = VerifyRequest.__table__  # type: ignore[attr-defined]
_BLOCKS = PrefixBlock.__table__  # type: ignore[attr-defined]
_METRIC = "gateway_verify_prefix_blocks_total"


@dataclass
class Env:
    """A guard over a migrated database with two tenants of its own."""

    engine: AsyncEngine
    guard: PumpingGuard
    clock: ManualClock
    publisher: RecordingPublisher
    tenant_id: str
    other_tenant_id: str

    def prefix(self, phone: str, tenant_id: str | None = None) -> Prefix:
        return self.guard.prefix(tenant_id or self.tenant_id, phone)

    async def add(
        self,
        prefix: Prefix,
        count: int,
        *,
        age: float = 120.0,
        status: str = "failed",
        verified: int = 0,
        sends: int = 1,
    ) -> None:
        """``count`` requests to ``prefix`` created ``age`` seconds ago, the first ``verified`` by code."""
        created = self.clock.now() - timedelta(seconds=age)
        rows = [
            _request(
                prefix,
                created,
                status="completed" if n < verified else status,
                verified=n < verified,
                sends=sends,
            )
            for n in range(count)
        ]

        def insert(conn: Any) -> None:
            conn.execute(sa.insert(_REQUESTS), rows)

        await run_unit(self.engine, insert)

    async def block_row(self, prefix: Prefix) -> dict[str, Any] | None:
        def read(conn: Any) -> dict[str, Any] | None:
            found = conn.execute(
                sa.select(_BLOCKS).where(
                    (_BLOCKS.c.tenant_id == prefix.tenant_id) & (_BLOCKS.c.prefix_index == prefix.index)
                )
            )
            row = found.mappings().first()
            return dict(row) if row is not None else None

        return await run_unit(self.engine, read, writes=False)

    def events(self) -> list[tuple[str, str, dict[str, Any], bool]]:
        return list(self.publisher.published)


def _request(prefix: Prefix, created: datetime, *, status: str, verified: bool, sends: int) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "tenant_id": prefix.tenant_id,
        "phone_index": secrets.token_hex(20),
        "prefix_index": prefix.index,
        "phone_cipher": "v1.x",
        "status": status,
        "workflow": json.dumps([{"channel": "sms"}]),
        "outcomes": "[]",
        "current": 0,
        "deadline": None,
        "code_length": 6,
        "locale": "zh-CN",
        "channel_timeout": 300,
        "client_reference": None,
        "code_index": None,
        "sends": sends,
        "wrong_codes": 0,
        "verified_by_code": verified,
        "created_at": created,
        "updated_at": created,
    }


def _phone(block: str = "1390070") -> str:
    phone = f"+86{block}{secrets.randbelow(10_000):04d}"
    SENSITIVE.update({phone, phone[3:]})
    return phone


def _blocks() -> float:
    return REGISTRY.get_sample_value(_METRIC) or 0.0


@pytest.fixture
async def env(database_url: str) -> AsyncIterator[Env]:
    engine = create_engine(database_url)
    await migrate(engine)
    tenants = await add_tenants(engine, 2)
    clock = ManualClock(NOW)
    publisher = RecordingPublisher()
    guard = PumpingGuard(
        engine,
        index=BlindIndex(Keyring.parse(generate_keyring_spec())),
        clock=clock,
        events=publisher,
        policy=POLICY,
    )
    try:
        yield Env(engine, guard, clock, publisher, tenants[0], tenants[1])
    finally:
        await engine.dispose()


def test_a_prefix_is_the_tenants_blind_index_of_the_numbers_first_seven_digits(env: Env) -> None:
    """Numbers of one 7-digit block share a prefix per tenant; the label is the block, the index is
    keyed per tenant and never the number."""
    first, second, elsewhere = _phone(), _phone(), _phone("1390080")

    prefix = env.prefix(first)

    assert prefix.label == number_prefix(first) == "+861390070"
    assert env.prefix(second) == prefix
    assert env.prefix(elsewhere).index != prefix.index
    assert env.prefix(first, env.other_tenant_id).index != prefix.index
    assert "1390070" not in prefix.index


async def test_below_min_codes_the_prefix_stays_open(env: Env) -> None:
    """Four unverified codes (min_codes 5): no block, no event, no wake-up."""
    prefix = env.prefix(_phone())
    await env.add(prefix, POLICY.min_codes - 1)

    await env.guard.after_send(prefix)

    assert await env.guard.blocked_for(prefix) is None
    assert await env.block_row(prefix) is None
    assert env.events() == [] and env.publisher.wakes == 0


async def test_mature_unverified_codes_block_the_prefix_and_report_it(env: Env) -> None:
    """Five mature codes, none verified: the prefix is blocked for the policy's hour, the
    verify.prefix_blocked event is staged in the block's transaction with the prefix and figures,
    the delivery worker is woken once and the metric counts one block."""
    prefix = env.prefix(_phone())
    await env.add(prefix, POLICY.min_codes)
    before = _blocks()

    await env.guard.after_send(prefix)

    assert await env.guard.blocked_for(prefix) == 3600
    assert env.events() == [
        (
            env.tenant_id,
            "verify.prefix_blocked",
            {
                "prefix": "+861390070",
                "until": (NOW + POLICY.block).isoformat(),
                "codesSent": 5,
                "verified": 0,
            },
            True,
        )
    ]
    assert env.publisher.wakes == 1
    assert _blocks() == before + 1
    row = await env.block_row(prefix)
    assert row is not None
    assert (as_utc(row["until"]), as_utc(row["opened_at"]), row["codes_sent"], row["verified"]) == (
        NOW + POLICY.block,
        NOW,
        5,
        0,
    )


async def test_a_blocked_prefix_is_not_blocked_again(env: Env) -> None:
    """While the block lasts, more codes to the prefix open no second block and publish nothing."""
    prefix = env.prefix(_phone())
    await env.add(prefix, POLICY.min_codes)
    await env.guard.after_send(prefix)
    env.clock.advance(60)
    await env.add(prefix, 3)
    before = _blocks()

    await env.guard.after_send(prefix)

    assert len(env.events()) == 1 and env.publisher.wakes == 1
    assert _blocks() == before
    row = await env.block_row(prefix)
    assert row is not None and row["codes_sent"] == 5


@pytest.mark.parametrize(
    ("verified", "blocked"),
    [(0, True), (1, True), (2, False), (5, False)],
    ids=["0/10", "1/10", "2/10", "5/10"],
)
async def test_a_verified_share_at_or_above_the_ratio_keeps_the_prefix_open(
    env: Env, verified: int, blocked: bool
) -> None:
    """Ten codes with min_verified_ratio 0.2: fewer than two verified blocks, two or more do not."""
    prefix = env.prefix(_phone())
    await env.add(prefix, 10, verified=verified)

    await env.guard.after_send(prefix)

    assert (await env.guard.blocked_for(prefix) is not None) is blocked
    if blocked:
        assert env.events()[0][2]["codesSent"] == 10
        assert env.events()[0][2]["verified"] == verified


async def test_young_pending_requests_are_left_out_until_the_grace_has_passed(env: Env) -> None:
    """Five pending requests 30 s old (grace 60 s) are not judged: their customers may be typing.
    Once they are older than the grace they count and block."""
    prefix = env.prefix(_phone())
    await env.add(prefix, POLICY.min_codes, age=30, status="pending")

    await env.guard.after_send(prefix)
    assert await env.guard.blocked_for(prefix) is None

    env.clock.advance(31)
    await env.guard.after_send(prefix)
    assert await env.guard.blocked_for(prefix) == 3600


async def test_young_requests_that_have_ended_count_at_once(env: Env) -> None:
    """The grace only spares pending requests: five failed ones 10 s old block the prefix."""
    prefix = env.prefix(_phone())
    await env.add(prefix, POLICY.min_codes, age=10, status="failed")

    await env.guard.after_send(prefix)

    assert await env.guard.blocked_for(prefix) == 3600


@pytest.mark.parametrize(
    "what", ["older than the window", "no code sent", "another prefix", "another tenant"]
)
async def test_only_codes_of_the_tenant_to_the_prefix_in_the_window_count(env: Env, what: str) -> None:
    """Requests outside the window, without a send (network only), to another prefix or of another
    tenant do not count: four counting codes plus five of those leave the prefix open."""
    prefix = env.prefix(_phone())
    await env.add(prefix, POLICY.min_codes - 1)
    if what == "older than the window":
        await env.add(prefix, 5, age=3601)
    elif what == "no code sent":
        await env.add(prefix, 5, sends=0)
    elif what == "another prefix":
        await env.add(env.prefix(_phone("1390071")), 5)
    else:
        await env.add(env.prefix(_phone(), env.other_tenant_id), 5)

    await env.guard.after_send(prefix)

    assert await env.guard.blocked_for(prefix) is None
    assert env.events() == []


async def test_blocked_for_counts_down_the_seconds_left(env: Env) -> None:
    """blocked_for answers the whole seconds left, at least 1 while blocked, None once `until` is reached."""
    prefix = env.prefix(_phone())
    await env.add(prefix, POLICY.min_codes)
    await env.guard.after_send(prefix)

    env.clock.advance(600)
    assert await env.guard.blocked_for(prefix) == 3000
    env.clock.advance(2999.5)
    assert await env.guard.blocked_for(prefix) == 1
    env.clock.advance(0.5)
    assert await env.guard.blocked_for(prefix) is None
    assert await env.guard.blocked_for(env.prefix(_phone("1390071"))) is None


async def test_an_expired_block_reopens_the_prefix_and_a_new_run_blocks_it_again(env: Env) -> None:
    """After the hour the prefix is open; a new run of unverified codes blocks it again, updating
    its row and publishing a second event."""
    prefix = env.prefix(_phone())
    await env.add(prefix, POLICY.min_codes)
    await env.guard.after_send(prefix)
    env.clock.advance(3600 + 120)

    assert await env.guard.blocked_for(prefix) is None
    await env.guard.after_send(prefix)
    assert await env.guard.blocked_for(prefix) is None

    await env.add(prefix, 6)
    await env.guard.after_send(prefix)

    assert await env.guard.blocked_for(prefix) == 3600
    assert [e[1] for e in env.events()] == ["verify.prefix_blocked"] * 2
    assert env.events()[1][2]["codesSent"] == 6
    row = await env.block_row(prefix)
    assert row is not None
    assert (as_utc(row["opened_at"]), row["codes_sent"]) == (env.clock.now(), 6)
