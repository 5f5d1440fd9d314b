"""DeviceRegistry: idempotent binding, tenant isolation, encryption at rest, the per-number cap."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from gateway.crypto import BlindIndex, FieldCipher, Keyring, generate_keyring_spec
from gateway.db import create_engine, migrate, session_factory
from gateway.errors import DeviceLimitReached, NotFound
from gateway.login_check.devices import DeviceRegistry, device_scope
from gateway.login_check.models import DeviceBinding
from gateway.one_tap.service import phone_scope
from gateway.tenants.service import TenantService
from tests.clocks import ManualClock

PHONE = "+8613800138000"


@dataclass
class Setup:
    """A registry, its keys and two tenants."""

    registry: DeviceRegistry
    cipher: FieldCipher
    index: BlindIndex
    engine: AsyncEngine
    bank: str
    other: str

    async def rows(self) -> list[DeviceBinding]:
        """Every stored binding."""
        async with session_factory(self.engine)() as session:
            return list(await session.exec(select(DeviceBinding)))


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    engine = create_engine(f"sqlite:///{tmp_path}/unit.db")
    await migrate(engine)
    sessions = session_factory(engine)
    clock = ManualClock()
    tenants = TenantService(sessions, clock)
    bank = await tenants.create(name="bank", scopes=["login-check"], redirect_uris=[])
    other = await tenants.create(name="other", scopes=["login-check"], redirect_uris=[])
    cipher = FieldCipher(Keyring.parse(generate_keyring_spec()))
    index = BlindIndex(Keyring.parse(generate_keyring_spec()))
    registry = DeviceRegistry(engine, cipher=cipher, index=index, clock=clock, max_per_number=3)
    yield Setup(registry, cipher, index, engine, bank.tenant_id, other.tenant_id)
    await engine.dispose()


async def test_binding_twice_answers_the_first_binding_unchanged(setup: Setup) -> None:
    """The same tenant, number and device again: the existing binding (label included), not a new one."""
    first, created = await setup.registry.bind(
        tenant_id=setup.bank, phone_number=PHONE, device_id="d", label="A"
    )
    again, created_again = await setup.registry.bind(
        tenant_id=setup.bank, phone_number=PHONE, device_id="d", label="B"
    )
    assert created and not created_again
    assert again == first and again.label == "A"
    assert len(await setup.rows()) == 1


async def test_concurrent_binds_make_one_binding(setup: Setup) -> None:
    """Racing identical binds end with one row; every caller gets that row."""
    results = await asyncio.gather(
        *(
            setup.registry.bind(tenant_id=setup.bank, phone_number=PHONE, device_id="d", label=None)
            for _ in range(5)
        )
    )
    assert len({device.id for device, _ in results}) == 1
    assert len(await setup.rows()) == 1


async def test_personal_data_is_encrypted_and_indexed(setup: Setup) -> None:
    """Number, device id and label are ciphertexts bound to their row; lookups go through keyed indexes."""
    device, _ = await setup.registry.bind(
        tenant_id=setup.bank, phone_number=PHONE, device_id="imei-35-209900-176148-1", label="Zhang's phone"
    )
    [row] = await setup.rows()
    stored = " ".join(str(v) for v in row.model_dump().values())
    for plain in (PHONE, PHONE[3:], "imei-35-209900-176148-1", "Zhang"):
        assert plain not in stored
    aad = f"login_check_devices|device_id|{setup.bank}|{device.id}"
    assert setup.cipher.decrypt(row.device_cipher, aad=aad) == "imei-35-209900-176148-1"
    assert row.phone_index in setup.index.candidates(PHONE, scope=phone_scope(setup.bank))
    assert row.device_index in setup.index.candidates(
        "imei-35-209900-176148-1", scope=device_scope(setup.bank)
    )
    assert row.device_index not in setup.index.candidates(
        "imei-35-209900-176148-1", scope=device_scope(setup.other)
    )


async def test_tenants_do_not_see_each_others_bindings(setup: Setup) -> None:
    """Another tenant lists nothing, cannot delete, and the device is not known to it."""
    device, _ = await setup.registry.bind(tenant_id=setup.bank, phone_number=PHONE, device_id="d", label=None)
    assert await setup.registry.bindings(tenant_id=setup.other, phone_number=PHONE) == []
    assert not await setup.registry.is_known(tenant_id=setup.other, phone_number=PHONE, device_id="d")
    with pytest.raises(NotFound):
        await setup.registry.unbind(tenant_id=setup.other, binding_id=device.id)
    assert await setup.registry.is_known(tenant_id=setup.bank, phone_number=PHONE, device_id="d")


async def test_unbind_removes_and_a_second_unbind_is_not_found(setup: Setup) -> None:
    """A removed binding is gone: the device is new again, and deleting it twice is NotFound."""
    device, _ = await setup.registry.bind(tenant_id=setup.bank, phone_number=PHONE, device_id="d", label=None)
    await setup.registry.unbind(tenant_id=setup.bank, binding_id=device.id)
    assert not await setup.registry.is_known(tenant_id=setup.bank, phone_number=PHONE, device_id="d")
    with pytest.raises(NotFound):
        await setup.registry.unbind(tenant_id=setup.bank, binding_id=device.id)


async def test_list_is_per_number_and_oldest_first(setup: Setup) -> None:
    """Bindings of one number, in creation order; another number's are not included."""
    clock = setup.registry._clock
    assert isinstance(clock, ManualClock)
    for name in ("first", "second"):
        await setup.registry.bind(tenant_id=setup.bank, phone_number=PHONE, device_id=name, label=None)
        clock.advance(1)
    await setup.registry.bind(tenant_id=setup.bank, phone_number="+8613900139000", device_id="x", label=None)
    listed = await setup.registry.bindings(tenant_id=setup.bank, phone_number=PHONE)
    assert [d.device_id for d in listed] == ["first", "second"]
    assert all(d.phone_number == PHONE for d in listed)


async def test_a_number_holds_at_most_max_bindings(setup: Setup) -> None:
    """The fourth device of a number is refused; re-binding an existing one still answers it."""
    for n in range(3):
        await setup.registry.bind(tenant_id=setup.bank, phone_number=PHONE, device_id=f"d{n}", label=None)
    with pytest.raises(DeviceLimitReached):
        await setup.registry.bind(tenant_id=setup.bank, phone_number=PHONE, device_id="d3", label=None)
    _, created = await setup.registry.bind(
        tenant_id=setup.bank, phone_number=PHONE, device_id="d0", label=None
    )
    assert not created


async def test_bindings_survive_an_index_key_rotation(setup: Setup, tmp_path: Path) -> None:
    """After prepending a new index key, old bindings are still found and not duplicated."""
    device, _ = await setup.registry.bind(tenant_id=setup.bank, phone_number=PHONE, device_id="d", label=None)
    old = setup.index._keyring.keys
    rotated = BlindIndex(Keyring((("v9", b"\x01" * 32), *old)))
    registry = DeviceRegistry(
        setup.engine,
        cipher=setup.cipher,
        index=rotated,
        clock=ManualClock(),
        max_per_number=3,
    )
    assert await registry.is_known(tenant_id=setup.bank, phone_number=PHONE, device_id="d")
    again, created = await registry.bind(tenant_id=setup.bank, phone_number=PHONE, device_id="d", label=None)
    assert again.id == device.id and not created
