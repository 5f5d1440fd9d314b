"""OneTapService with in-memory operators: operator choice, claim-before-call, errors and usage rows."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from carrier_adapters import CarrierTimeout, CarrierUnavailable, VerifyResult
from carrier_adapters.testing import FakeExchanger
from gateway.clock import SystemClock
from gateway.crypto import BlindIndex, FieldCipher, Keyring, generate_keyring_spec
from gateway.db import create_engine, migrate, session_factory
from gateway.errors import GatewayTimeout, OneTapOperatorMismatch, OneTapTokenInvalid, Unavailable
from gateway.one_tap.ledger import UsageLedger
from gateway.one_tap.models import UsageRecord
from gateway.one_tap.service import OneTapService
from gateway.replay import InMemoryReplayCache
from gateway.tenants.service import TenantService

PHONE = "+8613800138000"


@dataclass
class Harness:
    """A service over fakes and a throwaway SQLite file."""

    service: OneTapService
    fakes: dict[str, FakeExchanger]
    tenant_id: str
    sessions: async_sessionmaker[AsyncSession]

    async def usage(self) -> list[UsageRecord]:
        """Every usage row written so far."""
        async with self.sessions() as session:
            return list(await session.exec(select(UsageRecord)))


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    engine = create_engine(f"sqlite:///{tmp_path}/unit.db")
    await migrate(engine)
    sessions = session_factory(engine)
    clock = SystemClock()
    tenant = await TenantService(sessions, clock).create(
        name="bank", scopes=["one-tap:login"], redirect_uris=[]
    )
    fakes = {op: FakeExchanger(op) for op in ("cmcc", "cucc", "ctcc")}
    ledger = UsageLedger(engine)
    service = OneTapService(
        exchangers=fakes,
        replay=InMemoryReplayCache(clock),
        ledger=ledger,
        cipher=FieldCipher(Keyring.parse(generate_keyring_spec())),
        index=BlindIndex(Keyring.parse(generate_keyring_spec())),
        clock=clock,
    )
    async with ledger:
        yield Harness(service, fakes, tenant.tenant_id, sessions)
    await engine.dispose()


async def test_operator_is_taken_from_the_token_shape(harness: Harness) -> None:
    """Without a declared operator, the exchanger recognising the token's shape is called."""
    token = harness.fakes["ctcc"].issue("+8618900189000")
    outcome = await harness.service.login(tenant_id=harness.tenant_id, token=token, operator=None)
    assert outcome.operator == "ctcc"
    assert [m for m, _ in harness.fakes["cmcc"].calls] == []


async def test_declared_operator_contradicting_the_token_is_refused_before_any_call(harness: Harness) -> None:
    """A cucc-shaped token declared as cmcc raises OPERATOR_MISMATCH and calls no operator."""
    token = harness.fakes["cucc"].issue("+8618600186000")
    with pytest.raises(OneTapOperatorMismatch):
        await harness.service.login(tenant_id=harness.tenant_id, token=token, operator="cmcc")
    assert harness.fakes["cucc"].calls == [] and harness.fakes["cmcc"].calls == []


async def test_unrecognised_token_without_operator_is_invalid(harness: Harness) -> None:
    """A token no operator recognises, with no operator declared, is TOKEN_INVALID."""
    with pytest.raises(OneTapTokenInvalid):
        await harness.service.login(tenant_id=harness.tenant_id, token="garbage", operator=None)


async def test_second_presentation_never_reaches_the_operator(harness: Harness) -> None:
    """The gateway claims a token before the call; a replay is refused locally."""
    token = harness.fakes["cmcc"].issue(PHONE)
    await harness.service.login(tenant_id=harness.tenant_id, token=token, operator="cmcc")
    with pytest.raises(OneTapTokenInvalid):
        await harness.service.login(tenant_id=harness.tenant_id, token=token, operator="cmcc")
    assert len(harness.fakes["cmcc"].calls) == 1


async def test_a_token_lost_to_a_timeout_stays_spent(harness: Harness) -> None:
    """After a timeout the operator may have consumed the token: a retry by the client is refused."""
    token = harness.fakes["cmcc"].issue(PHONE)
    harness.fakes["cmcc"].fail_next(CarrierTimeout("cmcc", "deadline"))
    with pytest.raises(GatewayTimeout):
        await harness.service.login(tenant_id=harness.tenant_id, token=token, operator="cmcc")
    with pytest.raises(OneTapTokenInvalid):
        await harness.service.login(tenant_id=harness.tenant_id, token=token, operator="cmcc")


async def test_operator_failure_is_unavailable_and_records_nothing(harness: Harness) -> None:
    """An unavailable operator gives 503 and leaves no usage row."""
    token = harness.fakes["cucc"].issue("+8618600186000")
    harness.fakes["cucc"].fail_next(CarrierUnavailable("cucc", "down"))
    with pytest.raises(Unavailable):
        await harness.service.login(tenant_id=harness.tenant_id, token=token, operator=None)
    assert await harness.usage() == []


async def test_a_token_that_never_left_stays_usable(harness: Harness) -> None:
    """A refused connection or open circuit sent nothing: the claim is released and the token works later."""
    token = harness.fakes["cmcc"].issue(PHONE)
    harness.fakes["cmcc"].fail_next(CarrierUnavailable("cmcc", "circuit open", retry_after=3.0, unsent=True))
    with pytest.raises(Unavailable):
        await harness.service.login(tenant_id=harness.tenant_id, token=token, operator="cmcc")
    outcome = await harness.service.login(tenant_id=harness.tenant_id, token=token, operator="cmcc")
    assert outcome.phone_number == PHONE


async def test_a_token_lost_to_a_failure_after_sending_stays_spent(harness: Harness) -> None:
    """A 5xx or dropped connection may have reached the operator: the token stays claimed."""
    token = harness.fakes["cmcc"].issue(PHONE)
    harness.fakes["cmcc"].fail_next(CarrierUnavailable("cmcc", "HTTP 503"))
    with pytest.raises(Unavailable):
        await harness.service.login(tenant_id=harness.tenant_id, token=token, operator="cmcc")
    with pytest.raises(OneTapTokenInvalid):
        await harness.service.login(tenant_id=harness.tenant_id, token=token, operator="cmcc")


@pytest.mark.parametrize(
    ("result", "billed"),
    [(VerifyResult.PASS, True), (VerifyResult.REJECT, True), (VerifyResult.UNKNOWN, False)],
)
async def test_verify_records_result_and_billing(
    harness: Harness, result: VerifyResult, billed: bool
) -> None:
    """Number checks are billed on PASS and REJECT, not on UNKNOWN, and the row says which."""
    token = harness.fakes["cmcc"].issue(PHONE, purpose="verify", verify_result=result)
    outcome = await harness.service.verify(
        tenant_id=harness.tenant_id, token=token, phone_number=PHONE, operator=None
    )
    [row] = await harness.usage()
    assert outcome.result is result and row.result == result.value and row.billed is billed


async def test_a_foreign_number_is_a_mismatch_before_spending(harness: Harness) -> None:
    """A non-Chinese number cannot be held by a Chinese operator's SIM: refused, token not spent."""
    token = harness.fakes["cmcc"].issue(PHONE, purpose="verify")
    with pytest.raises(OneTapOperatorMismatch):
        await harness.service.verify(
            tenant_id=harness.tenant_id, token=token, phone_number="+447700900123", operator=None
        )
    assert harness.fakes["cmcc"].calls == []


async def test_unconfigured_operator_is_unavailable(harness: Harness) -> None:
    """A declared operator this deployment has no adapter for is 503."""
    del harness.fakes["ctcc"]
    with pytest.raises(Unavailable):
        await harness.service.login(tenant_id=harness.tenant_id, token="x" * 10, operator="ctcc")


async def test_usage_rows_get_time_ordered_ids(harness: Harness) -> None:
    """Usage row ids are UUIDv7, in creation order, so the ledger appends at the primary key's end."""
    for _ in range(5):
        token = harness.fakes["cmcc"].issue(PHONE)
        await harness.service.login(tenant_id=harness.tenant_id, token=token, operator=None)
        await asyncio.sleep(0.002)
    rows = sorted(await harness.usage(), key=lambda row: row.created_at)
    ids = [uuid.UUID(row.id) for row in rows]
    assert len(ids) == 5 and {i.version for i in ids} == {7}
    assert ids == sorted(ids)
