"""The composition root: every long-lived object of one gateway process, built and torn down once.

:func:`open_runtime` is an async context manager so start-up order (database and migrations,
keys, operator transport, adapters) and reverse teardown are explicit; the aiohttp app enters it
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

from carrier_adapters import Operator, SmsChannel, build_exchangers
from gateway.auth_throttle import AuthThrottle
from gateway.backlog import BacklogGauges
from gateway.camara import CamaraServices, build_camara_services
from gateway.camara.subscriptions import SimSwapSubscriptions, open_sim_swap_subscriptions
from gateway.camara.usage import LedgerRecorder
from gateway.campaigns import Campaigns, open_campaigns
from gateway.circuit import circuit_policy
from gateway.circuit_journal import CircuitJournal
from gateway.clock import Clock, SystemClock
from gateway.console import Console, build_console
from gateway.console.feature import password_changes_of
from gateway.crypto import BlindIndex, FieldCipher, Keyring
from gateway.dashboard import DashboardService
from gateway.dashboard.feature import open_dashboard
from gateway.db import create_engine, migrate, session_factory
from gateway.failure_backoff import InMemoryFailureBackoff, RedisFailureBackoff
from gateway.flows import Flows, build_flows
from gateway.login_check.devices import DeviceRegistry
from gateway.login_check.policy import Thresholds
from gateway.login_check.service import LoginCheckService, swap_sources
from gateway.login_check.thresholds import ThresholdStore
from gateway.oauth.client_auth import ClientAuthenticator
from gateway.oauth.keys import KeyStore
from gateway.oauth.revocation import Revocations
from gateway.oauth.server import OAuthServer, build_oauth_server, client_audiences, network_authentication
from gateway.oauth.tokens import AccessTokens
from gateway.one_tap.ledger import UsageLedger
from gateway.one_tap.service import OneTapService
from gateway.outbound import GuardedTransport, build_operator_transport
from gateway.push import Push, open_push, sms_channels_of
from gateway.ratelimit import InMemoryRateLimiter, RateLimiter, RedisRateLimiter
from gateway.replay import InMemoryReplayCache, RedisReplayCache, ReplayCache
from gateway.rich import RichChannels, build_rich_channels
from gateway.settings import Settings
from gateway.staff.audit import StaffAudit
from gateway.staff.service import StaffService
from gateway.templates.service import TemplateService
from gateway.tenants.service import TenantService
from gateway.verify import Verify, open_verify
from gateway.webhooks import WebhookService
from gateway.webhooks.wiring import open_webhooks

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
    auth_throttle: AuthThrottle
    exchangers: Mapping[str, Operator]
    one_tap: OneTapService
    camara: CamaraServices
    replay: ReplayCache
    limiter: RateLimiter
    login_check: LoginCheckService
    oauth: OAuthServer
    templates: TemplateService
    webhooks: WebhookService
    push: Push
    flows: Flows
    sim_swap_subscriptions: SimSwapSubscriptions
    verify: Verify
    backlog: BacklogGauges
    staff: StaffService
    audit: StaffAudit
    console: Console
    dashboard: DashboardService
    campaigns: Campaigns
    rich: RichChannels
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
    exchangers: Mapping[str, Operator] | None = None,
    replay: ReplayCache | None = None,
    sms_channels: Mapping[str, SmsChannel] | None = None,
) -> AsyncIterator[Runtime]:
    """Build the runtime, apply migrations, load keys; close everything in reverse order on exit.

    ``sms_channels`` replaces the operators' SMS channels (default: the adapters implementing
    :class:`~carrier_adapters.SmsChannel`); the push dispatch worker runs until exit.
    """
    clock = clock or SystemClock()
    cipher = FieldCipher(_keyring(settings.data_keys, "data_keys"))
    index = BlindIndex(_keyring(settings.index_keys, "index_keys"))
    async with AsyncExitStack() as stack:
        engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
        stack.push_async_callback(engine.dispose)
        await migrate(engine)
        sessions = session_factory(engine)
        keys = KeyStore(sessions, cipher, clock, max_token_ttl=settings.access_token_ttl)
        await keys.load()
        webhooks = await stack.enter_async_context(
            open_webhooks(settings, sessions, cipher=cipher, clock=clock)
        )
        circuits = None
        transport: GuardedTransport | None = None
        if exchangers is None:
            journal = CircuitJournal(engine, clock)
            stack.push_async_callback(journal.aclose)
            transport = build_operator_transport(circuit=circuit_policy(settings), listener=journal)
            circuits = transport.circuits
            stack.push_async_callback(transport.aclose)
            exchangers = build_exchangers(settings.operator_configs(), transport, clock=clock.now)
        redis = None
        if settings.redis_url:
            redis = aioredis.from_url(settings.redis_url, socket_timeout=2.0, socket_connect_timeout=1.0)
            stack.push_async_callback(redis.aclose)
        if replay is None:
            replay = RedisReplayCache(redis) if redis is not None else InMemoryReplayCache(clock)
        tenants = TenantService(sessions, clock)
        ledger = await stack.enter_async_context(UsageLedger(engine))
        issuer = settings.issuer
        one_tap = OneTapService(
            exchangers=exchangers, replay=replay, ledger=ledger, cipher=cipher, index=index, clock=clock
        )
        limiter: RateLimiter = RedisRateLimiter(redis) if redis is not None else InMemoryRateLimiter(clock)
        revocations = Revocations(engine, clock)
        tokens = AccessTokens(
            keys, clock, cipher, issuer=issuer, ttl=settings.access_token_ttl, revocations=revocations
        )
        failures = RedisFailureBackoff(redis) if redis is not None else InMemoryFailureBackoff(clock)
        auth_throttle = AuthThrottle(failures)
        client_auth = ClientAuthenticator(
            tenants, replay, clock, audiences=client_audiences(issuer), throttle=auth_throttle
        )
        network = network_authentication(settings, exchangers)
        templates = TemplateService(sessions, clock)
        push = await stack.enter_async_context(
            open_push(
                settings,
                sessions=sessions,
                templates=templates,
                channels=sms_channels if sms_channels is not None else sms_channels_of(exchangers),
                cipher=cipher,
                index=index,
                clock=clock,
                events=webhooks,
                limiter=limiter,
            )
        )
        sim_swap_subscriptions = await stack.enter_async_context(
            open_sim_swap_subscriptions(
                settings,
                sessions,
                webhooks=webhooks,
                operators=exchangers,
                cipher=cipher,
                index=index,
                clock=clock,
            )
        )
        campaigns = await stack.enter_async_context(
            open_campaigns(
                settings,
                engine=engine,
                sender=push.service,
                templates=templates,
                events=webhooks,
                cipher=cipher,
                index=index,
                clock=clock,
            )
        )
        recorder = LedgerRecorder(ledger, cipher=cipher, index=index, clock=clock)
        verify = await stack.enter_async_context(
            open_verify(
                settings,
                engine=engine,
                sender=push.service,
                templates=templates,
                authenticators=network.authenticators,
                finder=network.finder,
                operator_down=circuits.is_open if circuits is not None else None,
                usage=recorder,
                events=webhooks,
                cipher=cipher,
                index=index,
                clock=clock,
            )
        )
        oauth = build_oauth_server(
            settings,
            engine=engine,
            clock=clock,
            cipher=cipher,
            index=index,
            keys=keys,
            tokens=tokens,
            revocations=revocations,
            tenants=tenants,
            client_auth=client_auth,
            replay=replay,
            exchangers=exchangers,
            network=network,
            code_fallback=verify.service,
        )
        stack.push_async_callback(oauth.aclose)
        audit = StaffAudit(sessions, clock=clock)
        staff = StaffService(sessions, audit=audit, cipher=cipher, clock=clock)
        flows = build_flows(
            settings,
            sessions=sessions,
            templates=templates,
            sender=push.service,
            verifier=one_tap,
            events=webhooks,
            failures=failures,
            cipher=cipher,
            index=index,
            clock=clock,
        )
        console = build_console(
            settings,
            sessions=sessions,
            staff=staff,
            totp=staff,
            audit=audit,
            branches=flows.branches,
            failures=failures,
            cipher=cipher,
            clock=clock,
            password_changes=password_changes_of(sessions),
            sso_accounts=staff,
        )
        stack.push_async_callback(console.aclose)
        dashboard = await stack.enter_async_context(
            open_dashboard(
                settings, engine=engine, cipher=cipher, index=index, webhooks=webhooks, clock=clock
            )
        )
        if transport is None:
            transport = build_operator_transport(circuit=circuit_policy(settings))
            stack.push_async_callback(transport.aclose)
        rich = build_rich_channels(
            settings, sessions=sessions, transport=transport, cipher=cipher, clock=clock
        )
        yield Runtime(
            settings=settings,
            clock=clock,
            engine=engine,
            sessions=sessions,
            cipher=cipher,
            index=index,
            keys=keys,
            tokens=tokens,
            tenants=tenants,
            client_auth=client_auth,
            auth_throttle=auth_throttle,
            exchangers=exchangers,
            one_tap=one_tap,
            camara=build_camara_services(
                operators=exchangers,
                replay=replay,
                recorder=recorder,
                clock=clock,
            ),
            replay=replay,
            limiter=limiter,
            login_check=_login_check(
                settings, engine, sessions, one_tap, exchangers, limiter, cipher, index, clock
            ),
            oauth=oauth,
            templates=templates,
            webhooks=webhooks,
            push=push,
            flows=flows,
            sim_swap_subscriptions=sim_swap_subscriptions,
            verify=verify,
            backlog=BacklogGauges(sessions, clock),
            staff=staff,
            audit=audit,
            console=console,
            dashboard=dashboard,
            campaigns=campaigns,
            rich=rich,
            redis=redis,
        )


def _login_check(
    settings: Settings,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    one_tap: OneTapService,
    operators: Mapping[str, object],
    limiter: RateLimiter,
    cipher: FieldCipher,
    index: BlindIndex,
    clock: Clock,
) -> LoginCheckService:
    defaults = Thresholds(
        sim_swap_max_age_hours=settings.login_check_sim_swap_max_age_hours,
        device_swap_max_age_hours=settings.login_check_device_swap_max_age_hours,
        attempts_per_number=settings.login_check_attempts_per_number,
        attempts_per_device=settings.login_check_attempts_per_device,
        attempts_per_ip=settings.login_check_attempts_per_ip,
        window_seconds=settings.login_check_window_seconds,
    )
    return LoginCheckService(
        verifier=one_tap,
        lines=swap_sources(operators),
        devices=DeviceRegistry(
            engine, cipher=cipher, index=index, clock=clock, max_per_number=settings.login_check_max_devices
        ),
        thresholds=ThresholdStore(sessions, defaults=defaults, clock=clock),
        limiter=limiter,
        index=index,
        clock=clock,
    )
