"""What the sending side calls, on SQLite and PostgreSQL: ``get_approved``, then ``render``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from gateway.clock import SystemClock
from gateway.db import create_engine, migrate, session_factory
from gateway.errors import MissingParam, NotFound, TemplateNotApproved
from gateway.templates import Status, TemplateService, render
from gateway.templates.builtin import builtin_spec
from gateway.tenants.service import TenantService

pytestmark = pytest.mark.integration
LINK = "https://gw.example/l/0123456789abcdefABCDEF"


@dataclass
class Services:
    """Template and tenant services on one database."""

    templates: TemplateService
    tenants: TenantService

    async def tenant(self, *, sandbox: bool = False) -> str:
        creds = await self.tenants.create(
            name="t", scopes=["templates:write"], redirect_uris=[], sandbox=sandbox
        )
        return creds.tenant_id


@pytest.fixture
async def services(database_url: str) -> AsyncIterator[Services]:
    """Template and tenant services over a migrated database."""
    engine = create_engine(database_url)
    await migrate(engine)
    sessions = session_factory(engine)
    try:
        yield Services(TemplateService(sessions, SystemClock()), TenantService(sessions, SystemClock()))
    finally:
        await engine.dispose()


async def test_get_approved_refuses_pending_and_rejected(services: Services) -> None:
    """Pending and rejected templates are 422 TEMPLATE_NOT_APPROVED; approved ones are returned whole."""
    tenant = await services.tenant()
    created = await services.templates.install_builtin(tenant, "claim-location", signature="平安保险")
    assert created.status is Status.PENDING

    with pytest.raises(TemplateNotApproved) as caught:
        await services.templates.get_approved(tenant, created.id)
    assert (caught.value.status, caught.value.code) == (422, "TEMPLATE_NOT_APPROVED")
    await services.templates.approve(created.id)
    template = await services.templates.get_approved(tenant, created.id)
    assert template.spec == builtin_spec("claim-location", signature="平安保险")
    assert template.builtin == "claim-location" and template.decided_at is not None
    await services.templates.reject(created.id, "withdrawn")
    with pytest.raises(TemplateNotApproved, match="rejected"):
        await services.templates.get_approved(tenant, created.id)


async def test_get_approved_hides_other_tenants_and_unknown_ids(services: Services) -> None:
    """Another tenant's template and an unknown id are both 404 NOT_FOUND, even when approved."""
    owner = await services.tenant(sandbox=True)
    other = await services.tenant(sandbox=True)
    created = await services.templates.install_builtin(owner, "branch-queue", signature="招商银行")
    assert created.status is Status.APPROVED

    with pytest.raises(NotFound):
        await services.templates.get_approved(other, created.id)
    with pytest.raises(NotFound):
        await services.templates.get_approved(owner, "5b7b9c1e-0000-4000-8000-000000000000")
    with pytest.raises(NotFound):
        await services.templates.approve("nope")


async def test_stored_template_renders_for_sending(services: Services) -> None:
    """A stored, approved template renders to the SMS the messages feature sends."""
    tenant = await services.tenant(sandbox=True)
    created = await services.templates.install_builtin(tenant, "branch-queue", signature="招商银行")
    template = await services.templates.get_approved(tenant, created.id)

    sms = render(template, {"ticket": "A017", "branchName": "深南支行"}, LINK)

    assert sms.text.startswith("【招商银行】您已在深南支行取号A017")
    assert LINK in sms.text and sms.segments == 2
    with pytest.raises(MissingParam, match="branchName"):
        render(template, {"ticket": "A017"}, LINK)
