"""Test doubles for webhooks: a scripted receiver on 127.0.0.1, a connection counter, a fake DNS,
and a harness with the webhook domain objects on a real database."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.crypto import FieldCipher, Keyring
from gateway.db import create_engine, migrate, session_factory
from gateway.tenants.service import TenantService
from gateway.webhooks.egress import WebhookSender
from gateway.webhooks.models import WebhookAttempt, WebhookDelivery
from gateway.webhooks.service import WebhookService
from gateway.webhooks.worker import RETRY, DeliveryWorker
from tests.leaks import SENSITIVE
from tests.stack import SESSION_DATA_KEYS, SettableClock

__all__ = ["FakeResolver", "Harness", "Received", "Receiver", "TcpCounter", "open_harness"]


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it (raw body, lower-cased headers)."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def webhook_id(self) -> str:
        """The ``webhook-id`` header."""
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    """A tenant's webhook receiver: records every request; each path answers its scripted statuses
    in turn (the last one repeats; 200 when unscripted). ``delay`` slows every answer."""

    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    _script: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    _server: TestServer | None = None

    def answer(self, path: str, *statuses: int, headers: Mapping[str, str] | None = None) -> None:
        """Script the answers of ``path``."""
        self._script[path] = [(status, dict(headers or {})) for status in statuses]

    def url(self, path: str) -> str:
        """The http URL of ``path`` on this receiver."""
        assert self._server is not None
        return str(self._server.make_url(path))

    @property
    def port(self) -> int:
        """The listening port."""
        assert self._server is not None and self._server.port is not None
        return self._server.port

    def at(self, path: str) -> list[Received]:
        """Requests received on ``path``."""
        return [r for r in self.received if r.path == path]

    async def _handle(self, request: web.Request) -> web.Response:
        self.received.append(
            Received(request.path, {k.lower(): v for k, v in request.headers.items()}, await request.read())
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        script = self._script.get(request.path) or [(200, {})]
        status, headers = script.pop(0) if len(script) > 1 else script[0]
        return web.Response(status=status, headers=headers, text="ok")

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._server is not None:
            await self._server.close()


class TcpCounter:
    """A TCP listener on 127.0.0.1 that counts connections and closes them: proof nothing connected."""

    def __init__(self) -> None:
        self.connections = 0
        self._server: asyncio.Server | None = None
        self.port = 0

    async def _accept(self, _: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.close()

    async def __aenter__(self) -> TcpCounter:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


class FakeResolver(AbstractResolver):
    """DNS answers from a table (what a hostile or rebinding DNS server could answer)."""

    def __init__(self, answers: Mapping[str, list[str]]) -> None:
        self.answers = dict(answers)
        self.lookups: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The table's addresses for ``host``; an unknown name fails like NXDOMAIN."""
        self.lookups.append(host)
        if host not in self.answers:
            raise OSError(f"{host} does not resolve")
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in self.answers[host]
        ]

    async def close(self) -> None:
        """Nothing to release."""


@dataclass
class Harness:
    """The webhook domain objects on one database, with a settable clock."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: SettableClock
    cipher: FieldCipher
    tenant_ids: list[str] = field(default_factory=list)
    senders: list[WebhookSender] = field(default_factory=list)

    async def tenant(self) -> str:
        """A fresh tenant's id."""
        creds = await TenantService(self.sessions, self.clock).create(
            name="webhook-test", scopes=["webhooks:manage"], redirect_uris=[]
        )
        SENSITIVE.add(creds.client_secret)
        self.tenant_ids.append(creds.tenant_id)
        return creds.tenant_id

    def service(self, *, allow_private: bool = True, **kwargs: Any) -> WebhookService:
        """A webhook service on this database."""
        return WebhookService(
            self.sessions, cipher=self.cipher, clock=self.clock, allow_private=allow_private, **kwargs
        )

    def worker(
        self,
        service: WebhookService,
        *,
        allow_private: bool = True,
        resolver: AbstractResolver | None = None,
        sessions: async_sessionmaker[AsyncSession] | None = None,
        **kwargs: Any,
    ) -> DeliveryWorker:
        """A delivery worker with its own sender (closed with the harness)."""
        sender = WebhookSender(allow_private=allow_private, timeout=5.0, resolver=resolver)
        self.senders.append(sender)
        kwargs.setdefault("policy", replace(RETRY, rand=lambda: 1.0))
        return DeliveryWorker(
            sessions or self.sessions, webhooks=service, sender=sender, clock=self.clock, **kwargs
        )

    async def put(self, service: WebhookService, tenant_id: str, url: str, events: list[str]) -> str:
        """Register an endpoint; returns its secret (registered as sensitive for the log check)."""
        secret = (await service.put(tenant_id, url=url, events=events)).secret
        SENSITIVE.add(secret)
        return secret

    async def delivery(self, delivery_id: str) -> WebhookDelivery:
        """The outbox row."""
        async with self.sessions() as session:
            row = await session.get(WebhookDelivery, delivery_id)
            assert row is not None
            return row

    async def attempts(self, delivery_id: str) -> list[WebhookAttempt]:
        """The attempt history, oldest first."""
        async with self.sessions() as session:
            rows = await session.exec(
                select(WebhookAttempt)
                .where(WebhookAttempt.delivery_id == delivery_id)
                .order_by(col(WebhookAttempt.number))
            )
            return list(rows)

    async def count_deliveries(self, tenant_id: str) -> int:
        """How many outbox rows the tenant has."""
        async with self.sessions() as session:
            rows = await session.exec(
                select(WebhookDelivery.id).where(WebhookDelivery.tenant_id == tenant_id)
            )
            return len(rows.all())

    async def settle(self, *, everyone: bool = False) -> None:
        """Fail this harness's pending deliveries (or, with everyone, all of them) so later tests on
        the shared database never see them."""
        if not (everyone or self.tenant_ids):
            return
        pending = col(WebhookDelivery.status) == "pending"
        mine = sa.true() if everyone else col(WebhookDelivery.tenant_id).in_(self.tenant_ids)
        async with self.sessions() as session, session.begin():
            await session.exec(
                sa.update(WebhookDelivery)
                .where(pending, mine)
                .values(status="failed", last_error="test finished")
            )


@asynccontextmanager
async def open_harness(database_url: str) -> AsyncIterator[Harness]:
    """A migrated database whose delivery queue starts empty (earlier tests on the shared database,
    live gateways among them, may leave deliveries pending) and the session data keys; this
    harness's pending deliveries are settled on exit."""
    engine = create_engine(database_url)
    await migrate(engine)
    harness = Harness(
        engine,
        session_factory(engine),
        SettableClock(frozen=True),
        FieldCipher(Keyring.parse(SESSION_DATA_KEYS)),
    )
    await harness.settle(everyone=True)
    try:
        yield harness
    finally:
        await harness.settle()
        for sender in harness.senders:
            await sender.aclose()
        await engine.dispose()
