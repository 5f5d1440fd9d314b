"""Running aiohttp applications until a stop signal, with the drain order production needs.

On SIGINT or SIGTERM every gateway runtime is marked shutting down first (``/readyz`` turns 503
so a load balancer stops sending), then the sites stop accepting and in-flight requests get up
to ``shutdown_timeout`` seconds to finish before the runtimes close.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

from gateway.appkeys import RUNTIME
from gateway.settings import Settings

__all__ = ["run_sites"]


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
            await web.TCPSite(runner, host, port, reuse_port=reuse_port or None).start()
            runners.append(runner)
        if after_start is not None:
            await after_start()
        await stop.wait()
    finally:
        for app, _, _ in apps:
            if RUNTIME in app:
                app[RUNTIME].shutting_down.set()
        for runner in reversed(runners):
            await runner.cleanup()
