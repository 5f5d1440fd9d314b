"""The composition root: every long-lived object of one gateway process, built and torn down once.

:func:`open_runtime` is an async context manager so start-up order (database and migrations,
keys, operator client, adapters) and reverse teardown are explicit; the aiohttp app enters it
from a ``cleanup_ctx`` and the CLI uses it directly for ``tenants create``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from carrier_adapters import OneTapExchanger, build_exchangers
from gateway.clock import Clock, SystemClock
from gateway.crypto import BlindIndex, FieldCipher, Keyring
from gateway.db import create_engine, migrate, session_factory
from gateway.oauth.client_auth import ClientAuthenticator
from gateway.oauth.keys import KeyStore
from gateway.oauth.tokens import AccessTokens
from gateway.one_tap.ledger import UsageLedger
from gateway.one_tap.service import OneTapService
from gateway.outbound import build_operator_client
from gateway.replay import InMemoryReplayCache, RedisReplayCache, ReplayCache
from gateway.settings import Settings
from gateway.tenants.service import TenantService

__all__ = ["Runtime", "open_runtime"]


@dataclass
class Runtime:
    """Services and resources shared by every request of this process."""

    settings: Settings
    clock: Clock
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    cipher: FieldCipher
    index: BlindIndex
    keys: KeyStore
    tokens: AccessTokens
    tenants: TenantService
    client_auth: ClientAuthenticator
    exchangers: Mapping[str, OneTapExchanger]
    one_tap: OneTapService
    replay: ReplayCache
    redis: aioredis.Redis | None = None
    shutting_down: asyncio.Event = field(default_factory=asyncio.Event)


def _keyring(secret: object, name: str) -> Keyring:
    value = getattr(secret, "get_secret_value", lambda: None)()
    if not value:
        raise SystemExit(f"GATEWAY_{name.upper()} is required (format 'v1:<base64url of 32 bytes>')")
    try:
        return Keyring.parse(value)
    except ValueError as exc:
        raise SystemExit(f"GATEWAY_{name.upper()} is malformed: {exc}") from exc


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    exchangers: Mapping[str, OneTapExchanger] | None = None,
    replay: ReplayCache | None = None,
) -> AsyncIterator[Runtime]:
    """Build the runtime, apply migrations, load keys; close everything in reverse order on exit."""
    clock = clock or SystemClock()
    cipher = FieldCipher(_keyring(settings.data_keys, "data_keys"))
    index = BlindIndex(_keyring(settings.index_keys, "index_keys"))
    async with AsyncExitStack() as stack:
        engine = create_engine(settings.database_url)
        stack.push_async_callback(engine.dispose)
        await migrate(engine)
        sessions = session_factory(engine)
        keys = KeyStore(sessions, cipher, clock, max_token_ttl=settings.access_token_ttl)
        await keys.load()
        if exchangers is None:
            client = build_operator_client()
            stack.push_async_callback(client.aclose)
            exchangers = build_exchangers(settings.operator_configs(), client, clock=clock.now)
        redis = None
        if settings.redis_url:
            redis = aioredis.from_url(settings.redis_url, socket_timeout=2.0, socket_connect_timeout=1.0)
            stack.push_async_callback(redis.aclose)
        if replay is None:
            replay = RedisReplayCache(redis) if redis is not None else InMemoryReplayCache(clock)
        tenants = TenantService(sessions, clock)
        ledger = await stack.enter_async_context(UsageLedger(engine))
        issuer = settings.issuer
        yield Runtime(
            settings=settings,
            clock=clock,
            engine=engine,
            sessions=sessions,
            cipher=cipher,
            index=index,
            keys=keys,
            tokens=AccessTokens(keys, clock, cipher, issuer=issuer, ttl=settings.access_token_ttl),
            tenants=tenants,
            client_auth=ClientAuthenticator(
                tenants, replay, clock, audiences={issuer, f"{issuer}/oauth2/token"}
            ),
            exchangers=exchangers,
            one_tap=OneTapService(
                exchangers=exchangers, replay=replay, ledger=ledger, cipher=cipher, index=index, clock=clock
            ),
            replay=replay,
            redis=redis,
        )
