"""Running aiohttp applications until a stop signal, with the drain order production needs.

Each application listens through :func:`listen`, whose connections speak
:class:`ContractErrorsProtocol`: aiohttp's HTTP/1.1 protocol, except that requests it refuses
before any application code runs are answered in the contract's error shape.

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
start-up heap in the older generations.
"""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog
from aiohttp import hdrs, http_exceptions, web

from gateway.appkeys import RUNTIME
from gateway.errors import ApiError, InvalidArgument, from_http_status
from gateway.middleware import CORRELATOR, SERVER, new_correlator, render
from gateway.settings import Settings

__all__ = ["GC_THRESHOLDS", "ContractErrorsProtocol", "listen", "refusal", "run_sites"]

GC_THRESHOLDS = (20_000, 50, 100)

_PROTOCOL_OPTIONS: dict[str, Any] = {"access_log": None}
"""aiohttp's access log is off: :mod:`gateway.middleware` writes the access line."""

_REFUSALS: tuple[tuple[type[Exception], str], ...] = (
    (http_exceptions.BadHttpMethod, "The request method is not a valid HTTP method token."),
    (http_exceptions.LineTooLong, "The request line or a request header is too long."),
    (http_exceptions.InvalidURLError, "The request target is not a valid URL."),
    (http_exceptions.BadStatusLine, "The request line is malformed: expected METHOD TARGET HTTP/1.1."),
    (http_exceptions.InvalidHeader, "A request header is malformed."),
    (http_exceptions.PayloadEncodingError, "The request body's framing or encoding is malformed."),
)

log = structlog.get_logger(__name__)


def refusal(status: int, exc: BaseException | None) -> ApiError:
    """The contract error for a request aiohttp refused (``status`` 400) or failed outside the
    middleware (500, 504). The message names the kind of fault, never the offending bytes."""
    if status != 400:
        return ApiError() if status == 500 else from_http_status(status, "Gateway Timeout")
    for kind, message in _REFUSALS:
        if isinstance(exc, kind):
            return InvalidArgument(message)
    return InvalidArgument(
        "The request is not well-formed HTTP/1.1: a header or the body framing is malformed."
    )


class ContractErrorsProtocol(web.RequestHandler):
    """aiohttp's HTTP/1.1 server protocol whose own error answers use the contract's error shape.

    aiohttp answers requests it cannot parse (a method that is not a token, a header name or
    value with forbidden characters, a line longer than 8190 bytes or more than 128 headers, an
    HTTP version other than 1.x, Content-Length and Transfer-Encoding together, broken chunked
    framing) through :meth:`handle_error` before the application runs; by default in plain text
    that repeats the offending bytes and with ``Server: Python/x aiohttp/y``. Here the answer is
    ``400 INVALID_ARGUMENT`` in the contract's JSON body, with a fresh ``x-correlator`` and the
    plain ``Server`` token, and nothing of the request is echoed. The connection is closed.

    Not covered, for want of a public hook in aiohttp: chunked framing that breaks in bytes
    arriving after the handler has started to read the body. aiohttp's C parser then drops the
    body without raising, so the read waits until the client closes and no answer can be sent.
    """

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """The contract's error for a refused request (``message``, aiohttp's text, is not used)."""
        if request.writer.output_size > 0:
            raise ConnectionError("The response has started; the connection is dropped instead.")
        error = refusal(status, exc)
        correlator = new_correlator()
        if status >= 500:
            log.error("request_failed", correlator=correlator, status=status, exc_info=exc)
        else:
            log.info("request_refused", correlator=correlator, error=type(exc).__name__)
        response = render(error)
        response.headers[CORRELATOR] = correlator
        response.headers[hdrs.SERVER] = SERVER
        response.force_close()
        return response


async def listen(runner: web.AppRunner, host: str, port: int, *, reuse_port: bool = False) -> asyncio.Server:
    """Accept connections for ``runner`` (set up) on ``host:port`` with :class:`ContractErrorsProtocol`.

    ``reuse_port`` binds with ``SO_REUSEPORT`` so several processes share one port and the kernel
    spreads connections between them. Close the returned server before ``runner.cleanup()``.
    """
    server = runner.server
    if server is None:
        raise RuntimeError("runner.setup() must run before listen()")
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: ContractErrorsProtocol(server, loop=loop, **_PROTOCOL_OPTIONS),
        host,
        port,
        reuse_port=reuse_port or None,
    )


async def run_sites(
    apps: Sequence[tuple[web.Application, str, int]],
    settings: Settings,
    after_start: Callable[[], Awaitable[None]] | None = None,
    *,
    reuse_port: bool = False,
) -> None:
    """Serve ``(app, host, port)`` triples until SIGINT/SIGTERM, then drain (module docstring)."""
    runners: list[web.AppRunner] = []
    listeners: list[asyncio.Server] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        for app, host, port in apps:
            runner = web.AppRunner(app, shutdown_timeout=settings.shutdown_timeout)
            await runner.setup()
            runners.append(runner)
            listeners.append(await listen(runner, host, port, reuse_port=reuse_port))
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
        for listener in listeners:
            listener.close()
        for runner in reversed(runners):
            await runner.cleanup()
        for listener in listeners:
            await listener.wait_closed()
        if runtimes:
            log.info("shutdown_finished")


def _settle_heap() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
