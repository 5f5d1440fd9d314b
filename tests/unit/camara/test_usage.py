"""CAMARA usage rows in the usage ledger: billed, encrypted, blind-indexed like one-tap rows."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.camara.usage import LedgerRecorder
from gateway.crypto import BlindIndex, FieldCipher, Keyring, generate_keyring_spec
from gateway.db import create_engine, migrate, session_factory
from gateway.one_tap.ledger import UsageLedger
from gateway.one_tap.models import UsageRecord
from gateway.one_tap.service import phone_scope
from gateway.tenants.service import TenantService
from tests.clocks import ManualClock
from tests.unit.camara.fakes import NOW

PHONE = "+8613800138000"


async def test_recorded_row_is_durable_billed_and_protected(database_url: str) -> None:
    """A recorded call is one committed row: billed, the number sealed to the row and indexed per tenant."""
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        sessions = session_factory(engine)
        clock = ManualClock(NOW)
        tenant = await TenantService(sessions, clock).create(
            name="bank", scopes=["sim-swap"], redirect_uris=[]
        )
        cipher = FieldCipher(Keyring.parse(generate_keyring_spec()))
        index = BlindIndex(Keyring.parse(generate_keyring_spec()))
        async with UsageLedger(engine) as ledger:
            await LedgerRecorder(ledger, cipher=cipher, index=index, clock=clock).record(
                tenant_id=tenant.tenant_id,
                capability="camara_sim_swap_check",
                operator="cmcc",
                result="false",
                phone_number=PHONE,
            )
        session: AsyncSession
        async with sessions() as session:
            rows = list(
                await session.exec(select(UsageRecord).where(UsageRecord.tenant_id == tenant.tenant_id))
            )
        [row] = rows
        assert (row.capability, row.operator, row.result, row.billed) == (
            "camara_sim_swap_check",
            "cmcc",
            "false",
            True,
        )
        assert row.created_at.timestamp() == NOW.timestamp()
        assert PHONE not in row.phone_cipher and PHONE not in row.phone_index
        assert (
            cipher.decrypt(row.phone_cipher, aad=f"usage_records|phone|{tenant.tenant_id}|{row.id}") == PHONE
        )
        assert row.phone_index == index.compute(PHONE, scope=phone_scope(tenant.tenant_id))
    finally:
        await engine.dispose()
