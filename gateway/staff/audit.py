"""The audit log of staff actions (:class:`~gateway.staff.AuditLog`), append-only, per tenant.

:meth:`StaffAudit.record` writes an entry in its own transaction; :func:`audit_record` builds the
row that :mod:`gateway.staff.service` adds inside the transaction of the change it records, so a
change and its entry are stored together or not at all. Entries are read newest first, a page at a
time (``before`` is the id of the oldest entry of the previous page).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.clock import Clock
from gateway.db import as_utc
from gateway.staff import AuditEntry, StaffMember
from gateway.staff.models import AuditRecord

__all__ = ["MAX_PAGE", "StaffAudit", "audit_record"]

MAX_PAGE = 500


def audit_record(
    *,
    tenant_id: str,
    actor: StaffMember | None,
    action: str,
    target: str | None,
    detail: dict[str, Any] | None,
    clock: Clock,
) -> AuditRecord:
    """The row of one entry (``actor`` None: the admin API or the CLI, which ``detail`` may say)."""
    return AuditRecord(
        tenant_id=tenant_id,
        staff_id=actor.id if actor is not None else None,
        username=actor.username if actor is not None else None,
        action=action,
        target=target,
        detail=json.dumps(detail or {}, ensure_ascii=False, sort_keys=True),
        at=clock.now(),
    )


class StaffAudit:
    """See the module docstring."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    async def record(
        self,
        *,
        tenant_id: str,
        actor: StaffMember | None,
        action: str,
        target: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append one entry (``detail`` holds ids and counts, never a full phone number)."""
        row = audit_record(
            tenant_id=tenant_id, actor=actor, action=action, target=target, detail=detail, clock=self._clock
        )
        async with self._sessions() as session, session.begin():
            session.add(row)

    async def entries(
        self, tenant_id: str, *, limit: int = 100, before: int | None = None
    ) -> list[AuditEntry]:
        """The tenant's newest entries first (at most ``limit``, capped at :data:`MAX_PAGE`), older
        than the entry ``before`` when given."""
        query = select(AuditRecord).where(AuditRecord.tenant_id == tenant_id)
        if before is not None:
            query = query.where(col(AuditRecord.id) < before)
        query = query.order_by(col(AuditRecord.id).desc()).limit(max(1, min(limit, MAX_PAGE)))
        async with self._sessions() as session:
            found = (await session.exec(query)).all()
        return [
            AuditEntry(
                id=row.id or 0,
                tenant_id=row.tenant_id,
                staff_id=row.staff_id,
                username=row.username,
                action=row.action,
                target=row.target,
                detail=json.loads(row.detail),
                at=as_utc(row.at),
            )
            for row in found
        ]
