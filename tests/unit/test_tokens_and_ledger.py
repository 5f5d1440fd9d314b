"""The access-token verification cache and the group-commit usage ledger."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import jwt
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.crypto import FieldCipher, Keyring, generate_keyring_spec
from gateway.db import create_engine, migrate, session_factory
from gateway.oauth.keys import KeyStore
from gateway.oauth.tokens import AccessTokens, InvalidToken, Principal
from gateway.one_tap.ledger import UsageLedger
from gateway.one_tap.models import UsageRecord, UsageRow
from gateway.tenants.service import TenantService
from tests.stack import SettableClock


async def test_cached_verification_never_outlives_the_token(tmp_path: Path) -> None:
    """A remembered token stops verifying at exp (plus 30 s leeway); a tampered copy never verifies."""
    engine = create_engine(f"sqlite:///{tmp_path}/t.db")
    await migrate(engine)
    clock = SettableClock()
    cipher = FieldCipher(Keyring.parse(generate_keyring_spec()))
    keys = KeyStore(session_factory(engine), cipher, clock, max_token_ttl=60)
    await keys.load()
    tokens = AccessTokens(keys, clock, cipher, issuer="http://gw", ttl=60)
    who = Principal("t1", "c1", frozenset({"one-tap:login"}))
    token = tokens.issue(who)
    assert await tokens.verify(token) == who
    assert await tokens.verify(token) == who
    with pytest.raises(InvalidToken):
        await tokens.verify(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    clock.advance(91)
    with pytest.raises(InvalidToken):
        await tokens.verify(token)
    await engine.dispose()


async def test_three_legged_token_carries_its_subscriber_sealed(tmp_path: Path) -> None:
    """A 3-legged token names its subscriber, but its payload never shows the number in clear."""
    engine = create_engine(f"sqlite:///{tmp_path}/t.db")
    await migrate(engine)
    clock = SettableClock()
    cipher = FieldCipher(Keyring.parse(generate_keyring_spec()))
    keys = KeyStore(session_factory(engine), cipher, clock, max_token_ttl=300)
    await keys.load()
    tokens = AccessTokens(keys, clock, cipher, issuer="http://gw", ttl=300)
    token = tokens.issue(
        Principal("t1", "c1", frozenset({"number-verification:verify"})),
        {"sub": "pairwise-1"},
        phone_number="+8613800138000",
        operator="cmcc",
        amr=["network"],
        ttl=120,
    )
    payload = jwt.decode(token, options={"verify_signature": False})
    assert "13800138000" not in token and "13800138000" not in str(payload)
    assert payload["sub"] == "pairwise-1" and payload["exp"] - payload["iat"] == 120
    who = await tokens.verify(token)
    assert who.subscriber is not None
    assert who.subscriber.phone_number == "+8613800138000"
    assert who.subscriber.amr == frozenset({"network"}) and who.subscriber.operator == "cmcc"
    assert who.subscriber.token_id == payload["jti"]
    two_legged = await tokens.verify(tokens.issue(Principal("t1", "c1", frozenset({"sim-swap"}))))
    assert two_legged.subscriber is None
    await engine.dispose()


async def _rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(UsageRecord))).scalar_one())


def _record(tenant_id: str, n: int) -> UsageRow:
    return UsageRow(
        id=f"r{n}",
        tenant_id=tenant_id,
        capability="one_tap_login",
        operator="cmcc",
        billed=True,
        result="OK",
        provider_ref="ref",
        phone_index="v1:x",
        phone_cipher="v1.x",
        created_at=datetime.now(UTC),
    )


async def test_ledger_commits_concurrent_rows_and_survives_cancelled_callers(tmp_path: Path) -> None:
    """Concurrent appends all commit; a caller cancelled while waiting still gets its row written."""
    engine = create_engine(f"sqlite:///{tmp_path}/l.db")
    await migrate(engine)
    tenant = await TenantService(session_factory(engine), SettableClock()).create(
        name="b", scopes=["one-tap:login"], redirect_uris=[]
    )
    async with UsageLedger(engine) as ledger:
        await asyncio.gather(*(ledger.append(_record(tenant.tenant_id, n)) for n in range(50)))
        waiting = asyncio.create_task(ledger.append(_record(tenant.tenant_id, 99)))
        await asyncio.sleep(0)
        waiting.cancel()
    assert await _rows(engine) == 51
    await engine.dispose()


async def test_a_failed_batch_fails_every_caller(tmp_path: Path) -> None:
    """When the transaction fails (here: unknown tenant, a foreign-key violation), each caller sees it."""
    engine = create_engine(f"sqlite:///{tmp_path}/f.db")
    await migrate(engine)
    async with UsageLedger(engine) as ledger:
        results = await asyncio.gather(
            *(ledger.append(_record("no-such-tenant", n)) for n in range(3)), return_exceptions=True
        )
    assert all(isinstance(r, Exception) for r in results)
    assert await _rows(engine) == 0
    await engine.dispose()
