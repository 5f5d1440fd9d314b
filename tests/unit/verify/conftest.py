"""The verification service on a real database (SQLite, and PostgreSQL shared by tests with tenants of
their own), with in-memory stand-ins for the push feature, templates and usage ledger."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.crypto import BlindIndex, FieldCipher, Keyring, generate_keyring_spec
from gateway.db import create_engine, migrate, run_unit
from gateway.oauth.telco_finder import TelcoFinder
from gateway.push.service import Accepted, SendRequest
from gateway.templates import Status as TemplateStatus
from gateway.templates import Template
from gateway.templates.builtin import builtin_spec
from gateway.tenants.models import Tenant
from gateway.verify.pumping import PumpingGuard
from gateway.verify.service import NewRequest, VerifyService
from gateway.verify.workflow import Channel, Step
from tests.clocks import ManualClock
from tests.leaks import SENSITIVE
from tests.unit.camara.fakes import ListRecorder
from tests.unit.push.fakes import RecordingPublisher

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
NAME = "verification_code_zh-CN"


@dataclass
class Sender:
    """The push feature as the service sees it: keeps every code it was asked to send."""

    codes: list[str] = field(default_factory=list)

    async def send(self, *, tenant_id: str, request: SendRequest, idempotency_key: str | None) -> Accepted:
        code = str(request.params["code"])
        SENSITIVE.add(code)
        self.codes.append(code)
        return Accepted(202, {"id": str(uuid.uuid4())}, replayed=False)


@dataclass
class Templates:
    """One approved install of the zh-CN code built-in."""

    template: Template

    async def get_approved(self, tenant_id: str, template_id: str) -> Template:
        return self.template

    async def approved_builtin(self, tenant_id: str, name: str) -> Template | None:
        return self.template if name == NAME else None


@dataclass
class ServiceEnv:
    """The service and handles on its fakes."""

    service: VerifyService
    sender: Sender
    clock: ManualClock
    publisher: RecordingPublisher
    tenant_id: str

    def new_phone(self) -> str:
        """A random mainland mobile number (registered as sensitive for the log check)."""
        phone = f"+86139{secrets.randbelow(10**8):08d}"
        SENSITIVE.update({phone, phone[3:]})
        return phone

    async def start(self, *channels: Channel) -> str:
        """Create a request with ``channels`` for a new number; its id."""
        new = NewRequest(self.new_phone(), tuple(Step(c) for c in channels), 6, "zh-CN", 300, None)
        return (await self.service.create(self.tenant_id, new)).id


async def add_tenants(engine: AsyncEngine, count: int) -> list[str]:
    """``count`` new tenants (scope ``verify``); their ids."""
    ids = [str(uuid.uuid4()) for _ in range(count)]

    def add(conn: Any) -> None:
        for tenant_id in ids:
            conn.execute(
                sa.insert(Tenant.__table__),  # type: ignore[attr-defined]
                {
                    "id": tenant_id,
                    "name": "bank",
                    "client_id": secrets.token_hex(8),
                    "client_secret_hash": "x",
                    "scopes": "verify",
                    "created_at": NOW,
                },
            )

    await run_unit(engine, add)
    return ids


@pytest.fixture
async def service_env(database_url: str) -> AsyncIterator[ServiceEnv]:
    """The service over a migrated database with a tenant of its own."""
    engine = create_engine(database_url)
    await migrate(engine)
    (tenant_id,) = await add_tenants(engine, 1)
    clock = ManualClock(NOW)
    publisher = RecordingPublisher()
    index = BlindIndex(Keyring.parse(generate_keyring_spec()))
    template = Template(
        secrets.token_hex(16),
        tenant_id,
        builtin_spec(NAME, signature="平安银行"),
        TemplateStatus.APPROVED,
        NOW,
    )
    sender = Sender()
    service = VerifyService(
        engine=engine,
        sender=sender,
        templates=Templates(template),
        authenticators={},
        finder=TelcoFinder({}, trusted_proxies=[]),
        pumping=PumpingGuard(engine, index=index, clock=clock, events=publisher),
        usage=ListRecorder(),
        events=publisher,
        cipher=FieldCipher(Keyring.parse(generate_keyring_spec())),
        index=index,
        clock=clock,
        public_url="https://gw.example",
    )
    try:
        yield ServiceEnv(service, sender, clock, publisher, tenant_id)
    finally:
        await engine.dispose()
