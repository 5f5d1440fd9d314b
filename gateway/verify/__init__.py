"""The verification feature: workflows that prove a number by network authentication, else by an
SMS code (:mod:`gateway.verify.service`), the pumping guard (:mod:`gateway.verify.pumping`), and the
sweeper that moves on from steps whose time is up.

:func:`open_verify` runs the sweeper every ``VERIFY_SWEEP_SECONDS`` in every process that serves
the API (several processes sweeping at once is safe: each change locks its request's row and
re-checks the deadline).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from carrier_adapters import NetworkAuthenticator
from gateway.camara.usage import UsageRecorder
from gateway.clock import Clock
from gateway.crypto import BlindIndex, FieldCipher
from gateway.oauth.telco_finder import TelcoFinder
from gateway.settings import Settings
from gateway.verify.pumping import PumpingGuard, PumpingPolicy
from gateway.verify.service import CodeSender, VerificationTemplates, VerifyService
from gateway.webhooks import Publisher

__all__ = ["Verify", "open_verify"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Verify:
    """The feature's services in one process."""

    service: VerifyService
    pumping: PumpingGuard


@asynccontextmanager
async def open_verify(
    settings: Settings,
    *,
    engine: AsyncEngine,
    sender: CodeSender,
    templates: VerificationTemplates,
    authenticators: Mapping[str, NetworkAuthenticator],
    finder: TelcoFinder,
    operator_down: Callable[[str], bool] | None,
    usage: UsageRecorder,
    events: Publisher,
    cipher: FieldCipher,
    index: BlindIndex,
    clock: Clock,
) -> AsyncIterator[Verify]:
    """Build the feature and run its sweeper for the duration."""
    pumping = PumpingGuard(
        engine,
        index=index,
        clock=clock,
        events=events,
        policy=PumpingPolicy(
            min_codes=settings.verify_pumping_min_codes,
            min_verified_ratio=settings.verify_pumping_min_verified_ratio,
        ),
    )
    service = VerifyService(
        engine=engine,
        sender=sender,
        templates=templates,
        authenticators=authenticators,
        finder=finder,
        operator_down=operator_down,
        pumping=pumping,
        usage=usage,
        events=events,
        cipher=cipher,
        index=index,
        clock=clock,
        public_url=settings.issuer,
    )
    sweeper = asyncio.create_task(_sweep(service, settings.verify_sweep_seconds), name="verify-sweeper")
    try:
        yield Verify(service, pumping)
    finally:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper


async def _sweep(service: VerifyService, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await service.sweep()
        except Exception:
            log.exception("verify_sweep_failed")
