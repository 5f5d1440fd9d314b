"""In-memory stand-ins for the staff feature's two protocols (plain password comparison, no argon2),
and a tenant row for tables that reference one."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.db import run_unit
from gateway.staff import AuditEntry, Role, SignInFailed, StaffMember, TotpRequired
from gateway.tenants.models import Tenant

__all__ = ["FakeAccounts", "FakeAudit", "add_tenant"]

CREATED = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass
class FakeAccounts:
    """:class:`~gateway.staff.StaffAccounts` over dicts: passwords compared as plain text, one fixed
    TOTP code per account that has one, and password changes recorded for the sessions' check."""

    members: dict[str, StaffMember] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)
    changed: dict[str, datetime] = field(default_factory=dict)
    gets: int = 0

    def add(
        self,
        tenant_id: str,
        username: str,
        password: str,
        *,
        role: Role = Role.TELLER,
        branches: tuple[str, ...] = (),
        totp: str | None = None,
    ) -> StaffMember:
        member = StaffMember(
            id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            username=username,
            role=role,
            branches=branches,
            totp_enabled=totp is not None,
            disabled=False,
            created_at=CREATED,
        )
        self.members[member.id] = member
        self.passwords[username] = password
        if totp is not None:
            self.codes[username] = totp
        return member

    def disable(self, staff_id: str) -> None:
        self.members[staff_id] = replace(self.members[staff_id], disabled=True)

    def change_password(self, staff_id: str, password: str, at: datetime) -> None:
        self.passwords[self.members[staff_id].username] = password
        self.changed[staff_id] = at

    async def password_changed_at(self, staff_id: str) -> datetime | None:
        return self.changed.get(staff_id)

    async def authenticate(self, username: str, password: str, totp_code: str | None) -> StaffMember:
        member = next((m for m in self.members.values() if m.username == username), None)
        if member is None or self.passwords.get(username) != password or member.disabled:
            raise SignInFailed()
        if member.totp_enabled:
            if totp_code is None:
                raise TotpRequired()
            if totp_code != self.codes[username]:
                raise SignInFailed()
        return member

    async def get(self, staff_id: str) -> StaffMember | None:
        self.gets += 1
        return self.members.get(staff_id)


@dataclass
class FakeAudit:
    """:class:`~gateway.staff.AuditLog` over a list."""

    recorded: list[AuditEntry] = field(default_factory=list)

    async def record(
        self,
        *,
        tenant_id: str,
        actor: StaffMember | None,
        action: str,
        target: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        self.recorded.append(
            AuditEntry(
                id=len(self.recorded) + 1,
                tenant_id=tenant_id,
                staff_id=actor.id if actor else None,
                username=actor.username if actor else None,
                action=action,
                target=target,
                detail=dict(detail or {}),
                at=CREATED,
            )
        )

    async def entries(
        self, tenant_id: str, *, limit: int = 100, before: int | None = None
    ) -> list[AuditEntry]:
        mine = [e for e in reversed(self.recorded) if e.tenant_id == tenant_id]
        return [e for e in mine if before is None or e.id < before][:limit]

    def actions(self) -> list[str]:
        return [e.action for e in self.recorded]


async def add_tenant(engine: AsyncEngine) -> str:
    """A tenant row; its id."""
    tenant_id = str(uuid.uuid4())

    def add(conn: Any) -> None:
        conn.execute(
            sa.insert(Tenant.__table__),  # type: ignore[attr-defined]
            {
                "id": tenant_id,
                "name": "bank",
                "client_id": secrets.token_hex(8),
                "client_secret_hash": "x",
                "scopes": "branches:manage",
                "created_at": CREATED,
            },
        )

    await run_unit(engine, add)
    return tenant_id
