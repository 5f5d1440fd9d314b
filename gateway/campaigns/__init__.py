"""Campaigns (issue 22): one upload of up to 100,000 recipients, sent as push messages at a rate,
with progress as a resource and as webhooks.

:mod:`~gateway.campaigns.service` creates campaigns, accepts recipient chunks all or nothing and
moves campaigns through :mod:`~gateway.campaigns.states`; :mod:`~gateway.campaigns.runner` turns
recipients into messages through the push service's own send (so every control of a single message
applies). :func:`open_campaigns` runs the runner wherever the push dispatch worker runs
(``PUSH_DISPATCH_WORKER``); a stopping runner gives its campaigns back at once. Large chunks are
checked and encrypted in a few worker processes (spawned at the first such chunk, so they inherit
no socket of the serving process, and killed with it on Linux; they only run
:func:`~gateway.campaigns.service.check_lines` on the parts sent to them), the transaction stays in
the serving process.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.campaigns.runner import CampaignRunner, MessageSender, RunnerConfig
from gateway.campaigns.service import CampaignService
from gateway.clock import Clock
from gateway.crypto import BlindIndex, FieldCipher
from gateway.push.service import TemplateSource
from gateway.settings import Settings
from gateway.webhooks import Publisher

__all__ = ["Campaigns", "open_campaigns"]

_WORKERS = max(2, min(4, os.cpu_count() or 2))
"""Worker processes that check and encrypt large chunks (started at the first such chunk)."""
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Campaigns:
    """The feature's services in one process."""

    service: CampaignService
    runner: CampaignRunner


def _die_with_parent(parent: int) -> None:
    """In a worker process: end with the serving process, even when it is killed (SIGKILL on its
    death, Linux's ``PR_SET_PDEATHSIG``), so no orphan outlives it."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(0)


@asynccontextmanager
async def open_campaigns(
    settings: Settings,
    *,
    engine: AsyncEngine,
    sender: MessageSender,
    templates: TemplateSource,
    events: Publisher,
    cipher: FieldCipher,
    index: BlindIndex,
    clock: Clock,
    config: RunnerConfig | None = None,
) -> AsyncIterator[Campaigns]:
    """Build the feature; run the runner for the duration where the dispatch worker runs."""
    runner = CampaignRunner(
        engine=engine,
        sender=sender,
        cipher=cipher,
        events=events,
        clock=clock,
        config=config or RunnerConfig(lease_seconds=settings.push_lease_seconds),
    )
    pool = ProcessPoolExecutor(
        max_workers=_WORKERS,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_die_with_parent,
        initargs=(os.getpid(),),
    )
    service = CampaignService(
        engine=engine,
        templates=templates,
        cipher=cipher,
        index=index,
        events=events,
        clock=clock,
        public_url=settings.issuer,
        on_runnable=runner.wake if settings.push_dispatch_worker else None,
        pool=pool,
        parts=_WORKERS,
    )
    task = (
        asyncio.create_task(runner.run(), name="campaign-runner") if settings.push_dispatch_worker else None
    )
    try:
        yield Campaigns(service, runner)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        if task is not None:
            runner.stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(task, timeout=settings.shutdown_timeout)
