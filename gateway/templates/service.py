"""SMS template lifecycle: creation (checked, then pending review or, for sandbox tenants, approved),
reads scoped to the owning tenant, and the administrator's decision.

Another tenant's template answers exactly like a missing one (``404 NOT_FOUND``). The admin may
approve or reject at any time: rejecting an approved template withdraws it, and sends then fail
with ``422 TEMPLATE_NOT_APPROVED``.
"""

from __future__ import annotations

import json
import uuid
from functools import partial

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.clock import Clock
from gateway.db import as_utc, bound_engine, run_unit
from gateway.errors import NotFound, TemplateNotApproved
from gateway.templates.builtin import builtin_spec
from gateway.templates.models import TemplateRecord
from gateway.templates.rendering import check_spec
from gateway.templates.schemas import QuickAppBody
from gateway.templates.spec import (
    Category,
    Flow,
    ParamSpec,
    ParamType,
    QuickApp,
    Status,
    Template,
    TemplateSpec,
)
from gateway.tenants.models import Tenant

__all__ = ["TemplateService"]

log = structlog.get_logger(__name__)
_TEMPLATES = TemplateRecord.__table__  # type: ignore[attr-defined]


def _load(template_id: str, conn: Connection) -> TemplateRecord | None:
    found = conn.execute(sa.select(_TEMPLATES).where(_TEMPLATES.c.id == template_id)).mappings().first()
    return None if found is None else TemplateRecord(**found)


def _well_formed(template_id: str) -> bool:
    try:
        return str(uuid.UUID(template_id)) == template_id
    except ValueError:
        return False


def _to_domain(row: TemplateRecord) -> Template:
    params = {
        name: ParamSpec(ParamType(p["type"]), bool(p["required"]))
        for name, p in json.loads(row.params).items()
    }
    return Template(
        id=row.id,
        tenant_id=row.tenant_id,
        spec=TemplateSpec(
            name=row.name,
            category=Category(row.category),
            signature=row.signature,
            text=row.text,
            flow=Flow(row.flow) if row.flow is not None else None,
            quick_app=(
                QuickApp(row.quick_app_package, row.quick_app_page)
                if row.quick_app_package is not None and row.quick_app_page is not None
                else None
            ),
            params=params,
        ),
        status=Status(row.status),
        created_at=as_utc(row.created_at) or row.created_at,
        reason=row.reason,
        builtin=row.builtin,
        decided_at=as_utc(row.decided_at),
    )


class TemplateService:
    """See the module docstring."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    async def create(self, tenant_id: str, spec: TemplateSpec, *, builtin: str | None = None) -> Template:
        """Check and store ``spec``; approved at once for a sandbox tenant, else pending.

        :raises InvalidArgument: the spec breaks a rule of :func:`~gateway.templates.rendering.check_spec`.
        :raises NotFound: the tenant does not exist.
        """
        check_spec(spec)
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            tenant = await session.get(Tenant, tenant_id)
            if tenant is None:
                raise NotFound()
            status = Status.APPROVED if tenant.sandbox else Status.PENDING
            row = TemplateRecord(
                id=str(uuid.uuid4()),
                tenant_id=tenant_id,
                name=spec.name,
                category=spec.category.value,
                signature=spec.signature,
                text=spec.text,
                flow=spec.flow.value if spec.flow is not None else None,
                quick_app_package=spec.quick_app.package if spec.quick_app is not None else None,
                quick_app_page=spec.quick_app.page if spec.quick_app is not None else None,
                params=json.dumps(
                    {n: {"type": p.type.value, "required": p.required} for n, p in spec.params.items()}
                ),
                status=status.value,
                builtin=builtin,
                created_at=now,
                decided_at=now if status is Status.APPROVED else None,
            )
            session.add(row)
        log.info("template_created", template_id=row.id, status=status.value, builtin=builtin)
        return _to_domain(row)

    async def install_builtin(
        self, tenant_id: str, name: str, *, signature: str, quick_app: QuickAppBody | None = None
    ) -> Template:
        """Create a template from the built-in ``name`` with the tenant's signature.

        :raises NotFound: no such built-in.
        :raises InvalidArgument: the signature (or quick app) breaks a rule.
        """
        spec = builtin_spec(name, signature=signature, quick_app=quick_app)
        return await self.create(tenant_id, spec, builtin=name)

    async def get(self, tenant_id: str, template_id: str) -> Template:
        """The tenant's template.

        :raises NotFound: unknown, or another tenant's.
        """
        if not _well_formed(template_id):
            raise NotFound()
        row = await run_unit(bound_engine(self._sessions), partial(_load, template_id), writes=False)
        if row is None or row.tenant_id != tenant_id:
            raise NotFound()
        return _to_domain(row)

    async def get_approved(self, tenant_id: str, template_id: str) -> Template:
        """The tenant's template, if it may be sent.

        :raises NotFound: unknown, or another tenant's.
        :raises TemplateNotApproved: pending review or rejected.
        """
        template = await self.get(tenant_id, template_id)
        if template.status is not Status.APPROVED:
            raise TemplateNotApproved(f"The template is {template.status.value}, not approved.")
        return template

    async def approved_builtin(self, tenant_id: str, name: str) -> Template | None:
        """The tenant's newest approved template installed from the built-in ``name``, if any."""
        async with self._sessions() as session:
            found = await session.exec(
                select(TemplateRecord)
                .where(
                    TemplateRecord.tenant_id == tenant_id,
                    TemplateRecord.builtin == name,
                    TemplateRecord.status == Status.APPROVED.value,
                )
                .order_by(col(TemplateRecord.created_at).desc())
                .limit(1)
            )
            row = found.first()
        return _to_domain(row) if row is not None else None

    async def approve(self, template_id: str) -> Template:
        """Admin: approve (also a previously rejected template).

        :raises NotFound: unknown template.
        """
        return await self._decide(template_id, Status.APPROVED, None)

    async def reject(self, template_id: str, reason: str) -> Template:
        """Admin: reject with a reason shown to the tenant (also withdraws an approved template).

        :raises NotFound: unknown template.
        """
        return await self._decide(template_id, Status.REJECTED, reason)

    async def _decide(self, template_id: str, status: Status, reason: str | None) -> Template:
        if not _well_formed(template_id):
            raise NotFound()
        async with self._sessions() as session, session.begin():
            row = await session.get(TemplateRecord, template_id)
            if row is None:
                raise NotFound()
            row.status, row.reason, row.decided_at = status.value, reason, self._clock.now()
            session.add(row)
        log.info("template_decided", template_id=template_id, status=status.value)
        return _to_domain(row)
