"""Running aiohttp applications until a stop signal, with the drain order production needs.

On the first SIGINT or SIGTERM:

1. every gateway runtime is marked shutting down, so ``/readyz`` answers 503;
2. for ``SHUTDOWN_GRACE_SECONDS`` the listeners keep serving, so a load balancer that probes
   readiness takes this process out of rotation before connections are refused (only when an
   app has a runtime; the sandbox alone stops at once);
3. the listeners close and in-flight requests get up to ``SHUTDOWN_TIMEOUT`` seconds to finish;
4. the runtimes close in reverse start order: background workers stop claiming, sends in flight
   finish (again within ``SHUTDOWN_TIMEOUT``) and leases still held are released; then pools close.

Once the listeners are up, everything allocated at start-up (modules, routes, compiled statements,
models) is moved out of the garbage collector's reach (:func:`gc.freeze`) and the youngest
generation is collected every 20,000 allocations instead of every 700 (:data:`GC_THRESHOLDS`): a
request allocates a few hundred objects, so the default collected on most requests and walked the
start-up heap in the older generations. Measured with ``bench/one_tap.py``: p99 92 ms against
189 ms.
"""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import Awaitable, Callable, Sequence

import structlog
from aiohttp import web

from gateway.appkeys import RUNTIME
from gateway.settings import Settings

__all__ = ["GC_THRESHOLDS", "run_sites"]

GC_THRESHOLDS = (20_000, 50, 100)

log = structlog.get_logger(__name__)


async def run_sites(
    apps: Sequence[tuple[web.Application, str, int]],
    settings: Settings,
    after_start: Callable[[], Awaitable[None]] | None = None,
    *,
    reuse_port: bool = False,
) -> None:
    """Serve ``(app, host, port)`` triples until SIGINT/SIGTERM, then drain (module docstring).

    ``reuse_port`` binds with ``SO_REUSEPORT`` so several processes share one port and the kernel
    spreads connections between them.
    """
    runners = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        for app, host, port in apps:
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=settings.shutdown_timeout)
            await runner.setup()
            runners.append(runner)
            await web.TCPSite(runner, host, port, reuse_port=reuse_port or None).start()
        if after_start is not None:
            await after_start()
        _settle_heap()
        await stop.wait()
    finally:
        runtimes = [app[RUNTIME] for app, _, _ in apps if RUNTIME in app]
        for runtime in runtimes:
            runtime.shutting_down.set()
        if runtimes and stop.is_set():
            log.info("shutdown_started", grace_seconds=settings.shutdown_grace_seconds)
            await asyncio.sleep(settings.shutdown_grace_seconds)
        for runner in reversed(runners):
            await runner.cleanup()
        if runtimes:
            log.info("shutdown_finished")


def _settle_heap() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
