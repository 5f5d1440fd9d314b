"""The device binding registry: which devices a tenant trusts for which phone numbers.

Every call takes the tenant from the caller's credential; an id of another tenant is
:class:`~gateway.errors.NotFound`, exactly like an id that does not exist. Numbers and device
ids are personal data: stored AES-GCM encrypted and found by per-tenant blind indexes
(:func:`~gateway.one_tap.service.phone_scope` and :func:`device_scope`), so bindings cannot be
correlated across tenants. Binding is idempotent: the same (tenant, number, device) answers the
existing binding unchanged (its label included). A number holds at most ``max_per_number``
bindings (a soft cap: concurrent binds may overshoot it by the number of racers).
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from gateway.clock import Clock
from gateway.crypto import BlindIndex, FieldCipher
from gateway.db import as_utc, run_unit, session_factory
from gateway.errors import DeviceLimitReached, NotFound
from gateway.login_check.models import DeviceBinding
from gateway.lookups import SharedLookup
from gateway.one_tap.service import phone_scope

__all__ = ["Device", "DeviceRegistry", "device_scope"]

_TABLE = "login_check_devices"
_COLUMNS = DeviceBinding.__table__.c  # type: ignore[attr-defined]


@functools.lru_cache(maxsize=16)
def _find_statement(phones: int, devices: int) -> sa.Select[Any]:
    """The oldest binding of a (tenant, number, device) for ``phones`` and ``devices`` index
    candidates (one per configured index key), built once per arity. Parameters: ``tenant_id``,
    ``phone0``..., ``device0``...
    """
    return (
        sa.select(DeviceBinding.__table__)  # type: ignore[attr-defined]
        .where(
            _COLUMNS.tenant_id == sa.bindparam("tenant_id"),
            _COLUMNS.phone_index.in_([sa.bindparam(f"phone{i}") for i in range(phones)]),
            _COLUMNS.device_index.in_([sa.bindparam(f"device{i}") for i in range(devices)]),
        )
        .order_by(_COLUMNS.created_at)
        .limit(1)
    )


def device_scope(tenant_id: str) -> str:
    """The blind-index scope of a tenant's device identifiers."""
    return f"device|{tenant_id}"


@dataclass(frozen=True, slots=True)
class Device:
    """A binding as the API shows it (decrypted)."""

    id: str
    phone_number: str
    device_id: str
    label: str | None
    created_at: datetime


class DeviceRegistry:
    """See the module docstring."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        cipher: FieldCipher,
        index: BlindIndex,
        clock: Clock,
        max_per_number: int,
    ) -> None:
        self._engine = engine
        self._sessions = session_factory(engine)
        self._cipher = cipher
        self._index = index
        self._clock = clock
        self._max_per_number = max_per_number
        self._bindings = SharedLookup(
            engine, [_COLUMNS.tenant_id, _COLUMNS.phone_index, _COLUMNS.device_index]
        )

    async def bind(
        self, *, tenant_id: str, phone_number: str, device_id: str, label: str | None
    ) -> tuple[Device, bool]:
        """Bind ``device_id`` to ``phone_number``; returns the binding and whether it was created now.

        :raises DeviceLimitReached: the number already has ``max_per_number`` bindings.
        """
        existing = await self._find(tenant_id, phone_number, device_id)
        if existing is not None:
            return self._open(existing), False
        async with self._sessions() as session:
            count = await session.exec(
                select(func.count()).where(
                    DeviceBinding.tenant_id == tenant_id,
                    col(DeviceBinding.phone_index).in_(self._phones(tenant_id, phone_number)),
                )
            )
            if count.one() >= self._max_per_number:
                raise DeviceLimitReached()
        row = self._seal(tenant_id, phone_number, device_id, label)
        try:
            async with self._sessions() as session, session.begin():
                session.add(row)
        except IntegrityError:
            raced = await self._find(tenant_id, phone_number, device_id)
            if raced is None:
                raise
            return self._open(raced), False
        return self._open(row), True

    async def bindings(self, *, tenant_id: str, phone_number: str) -> list[Device]:
        """The tenant's bindings of ``phone_number``, oldest first."""
        async with self._sessions() as session:
            rows = await session.exec(
                select(DeviceBinding)
                .where(
                    DeviceBinding.tenant_id == tenant_id,
                    col(DeviceBinding.phone_index).in_(self._phones(tenant_id, phone_number)),
                )
                .order_by(col(DeviceBinding.created_at), col(DeviceBinding.id))
            )
            return [self._open(row) for row in rows]

    async def unbind(self, *, tenant_id: str, binding_id: str) -> None:
        """Remove one of the tenant's bindings.

        :raises NotFound: no such binding for this tenant.
        """
        async with self._sessions() as session, session.begin():
            row = await session.get(DeviceBinding, binding_id)
            if row is None or row.tenant_id != tenant_id:
                raise NotFound()
            await session.delete(row)

    async def is_known(self, *, tenant_id: str, phone_number: str, device_id: str) -> bool:
        """Whether ``device_id`` is bound to ``phone_number`` for this tenant (concurrent
        evaluations share the lookup: :class:`gateway.lookups.SharedLookup`)."""
        phones, devices = self._candidates(tenant_id, phone_number, device_id)
        keys = [(tenant_id, phone, device) for phone in phones for device in devices]
        return bool(await self._bindings.found(keys))

    async def _find(self, tenant_id: str, phone_number: str, device_id: str) -> DeviceBinding | None:
        statement, params = self._lookup(tenant_id, phone_number, device_id)

        def find(conn: Connection) -> sa.Row[Any] | None:
            return conn.execute(statement, params).first()

        row = await run_unit(self._engine, find, writes=False)
        return None if row is None else DeviceBinding.model_validate(row._mapping)

    def _lookup(
        self, tenant_id: str, phone_number: str, device_id: str
    ) -> tuple[sa.Select[Any], dict[str, str]]:
        phones, devices = self._candidates(tenant_id, phone_number, device_id)
        params = {
            "tenant_id": tenant_id,
            **{f"phone{i}": value for i, value in enumerate(phones)},
            **{f"device{i}": value for i, value in enumerate(devices)},
        }
        return _find_statement(len(phones), len(devices)), params

    def _candidates(self, tenant_id: str, phone_number: str, device_id: str) -> tuple[list[str], list[str]]:
        """The blind-index candidates of the number and of the device (one per index key)."""
        devices = self._index.candidates(device_id, scope=device_scope(tenant_id))
        return self._phones(tenant_id, phone_number), devices

    def _phones(self, tenant_id: str, phone_number: str) -> list[str]:
        return self._index.candidates(phone_number, scope=phone_scope(tenant_id))

    def _seal(self, tenant_id: str, phone_number: str, device_id: str, label: str | None) -> DeviceBinding:
        binding_id = str(uuid.uuid4())

        def aad(column: str) -> str:
            return f"{_TABLE}|{column}|{tenant_id}|{binding_id}"

        return DeviceBinding(
            id=binding_id,
            tenant_id=tenant_id,
            phone_index=self._index.compute(phone_number, scope=phone_scope(tenant_id)),
            phone_cipher=self._cipher.encrypt(phone_number, aad=aad("phone")),
            device_index=self._index.compute(device_id, scope=device_scope(tenant_id)),
            device_cipher=self._cipher.encrypt(device_id, aad=aad("device_id")),
            label_cipher=None if label is None else self._cipher.encrypt(label, aad=aad("label")),
            created_at=self._clock.now(),
        )

    def _open(self, row: DeviceBinding) -> Device:
        def aad(column: str) -> str:
            return f"{_TABLE}|{column}|{row.tenant_id}|{row.id}"

        return Device(
            id=row.id,
            phone_number=self._cipher.decrypt(row.phone_cipher, aad=aad("phone")),
            device_id=self._cipher.decrypt(row.device_cipher, aad=aad("device_id")),
            label=None
            if row.label_cipher is None
            else self._cipher.decrypt(row.label_cipher, aad=aad("label")),
            created_at=as_utc(row.created_at) or row.created_at,
        )
