"""The push feature on a real database (SQLite, or a fresh PostgreSQL database per test), fakes around it."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.crypto import BlindIndex, FieldCipher, Keyring, generate_keyring_spec
from gateway.db import create_engine, migrate, session_factory
from gateway.push.callbacks import CallbackProcessor
from gateway.push.dispatch import DispatchConfig, Dispatcher
from gateway.push.guard import SmsGuard
from gateway.push.models import MessageEvent, PushMessage
from gateway.push.service import Accepted, PushService, SendRequest
from gateway.ratelimit import InMemoryRateLimiter
from gateway.templates import Template
from gateway.tenants.models import Tenant
from tests.clocks import ManualClock
from tests.leaks import SENSITIVE
from tests.unit.push.fakes import FakeSmsChannel, RecordingPublisher, StaticTemplates

NOON_IN_SHANGHAI = datetime(2026, 1, 15, 4, 0, tzinfo=UTC)
PUBLIC_URL = "https://gw.example"


def new_phone(prefix: str = "138") -> str:
    """A random mainland number (registered as sensitive for the log check)."""
    phone = f"+86{prefix}{secrets.randbelow(10**8):08d}"
    SENSITIVE.update({phone, phone[3:]})
    return phone


@dataclass
class PushEnv:
    """The feature's parts wired to one database, plus handles on the fakes."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    cipher: FieldCipher
    index: BlindIndex
    clock: ManualClock
    templates: StaticTemplates
    publisher: RecordingPublisher
    channels: dict[str, FakeSmsChannel]
    tenant_id: str
    other_tenant_id: str
    service: PushService = field(init=False)
    callbacks: CallbackProcessor = field(init=False)
    guard: SmsGuard = field(init=False)

    def __post_init__(self) -> None:
        self.guard = SmsGuard(
            engine=self.engine, limiter=InMemoryRateLimiter(self.clock), index=self.index, clock=self.clock
        )
        self.service = self.make_service()
        self.callbacks = CallbackProcessor(
            sessions=self.sessions,
            channels=self.channels,
            index=self.index,
            clock=self.clock,
            events=self.publisher,
        )

    def make_service(self, **overrides: Any) -> PushService:
        """A PushService over this environment."""
        values: dict[str, Any] = {
            "sessions": self.sessions,
            "templates": self.templates,
            "operators": frozenset(self.channels),
            "cipher": self.cipher,
            "index": self.index,
            "guard": self.guard,
            "clock": self.clock,
            "public_url": PUBLIC_URL,
            "default_ttl": 86_400,
        }
        return PushService(**(values | overrides))

    def dispatcher(self, worker_id: str = "w1", **config: Any) -> Dispatcher:
        """A dispatch worker over this environment."""
        return Dispatcher(
            sessions=self.sessions,
            channels=self.channels,
            cipher=self.cipher,
            clock=self.clock,
            events=self.publisher,
            config=DispatchConfig(**({"send_rate": 1000.0} | config)),
            worker_id=worker_id,
        )

    async def send(
        self,
        to: str,
        template: Template,
        *,
        key: str | None = None,
        ttl: int | None = None,
        params: dict[str, Any] | None = None,
        tenant_id: str | None = None,
    ) -> Accepted:
        """Accept one message as the API would."""
        params = {"name": "张三"} if params is None else params
        canonical: dict[str, Any] = {"templateId": template.id, "to": to, "params": params}
        if ttl is not None:
            canonical["ttlSeconds"] = ttl
        request = SendRequest(
            template_id=template.id, to=to, params=params, ttl_seconds=ttl, canonical=canonical
        )
        return await self.service.send(
            tenant_id=tenant_id or self.tenant_id, request=request, idempotency_key=key
        )

    async def message(self, message_id: str) -> PushMessage:
        """The stored row."""
        async with self.sessions() as session:
            row = await session.get(PushMessage, message_id)
        assert row is not None
        return row

    async def events(self, message_id: str) -> list[str]:
        """The message's event types, oldest first."""
        async with self.sessions() as session:
            rows = await session.exec(
                select(MessageEvent.type)
                .where(MessageEvent.message_id == message_id)
                .order_by(col(MessageEvent.id))
            )
            return list(rows)

    async def count(self, model: type[Any]) -> int:
        """Rows in a table."""
        async with self.sessions() as session:
            return len((await session.exec(select(model))).all())


@pytest.fixture
async def push_env(own_database_url: str) -> AsyncIterator[PushEnv]:
    """The push feature on a migrated database with two tenants and fake cmcc/cucc/ctcc channels."""
    engine = create_engine(own_database_url)
    await migrate(engine)
    sessions = session_factory(engine)
    tenants = [str(uuid.uuid4()), str(uuid.uuid4())]
    async with sessions() as session, session.begin():
        for tenant_id in tenants:
            session.add(
                Tenant(
                    id=tenant_id,
                    name="bank",
                    client_id=secrets.token_hex(8),
                    client_secret_hash="x",
                    scopes="push:send",
                    created_at=NOON_IN_SHANGHAI,
                )
            )
    env = PushEnv(
        engine=engine,
        sessions=sessions,
        cipher=FieldCipher(Keyring.parse(generate_keyring_spec())),
        index=BlindIndex(Keyring.parse(generate_keyring_spec())),
        clock=ManualClock(NOON_IN_SHANGHAI),
        templates=StaticTemplates(),
        publisher=RecordingPublisher(),
        channels={op: FakeSmsChannel(op) for op in ("cmcc", "cucc", "ctcc")},
        tenant_id=tenants[0],
        other_tenant_id=tenants[1],
    )
    try:
        yield env
    finally:
        await engine.dispose()
