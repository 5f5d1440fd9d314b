"""Operator HTTP transports: which client should the gateway use for its southbound calls?

Measured: ``--concurrency`` (32) closed-loop workers POST a small JSON body (shaped like a CMCC
``loginTokenValidate`` request) to a trivial aiohttp echo server (:mod:`bench.echo`, its own
subprocess on 127.0.0.1, so the server's cost is the same for every client) through each candidate:

(a) a raw ``aiohttp.ClientSession``: the floor;
(b) ``httpx.AsyncClient()`` with its default transport (httpcore) and default limits, which keep at
    most 20 idle connections, so 32 workers keep reconnecting; (b') the same with 32 keep-alive slots;
(c) ``gateway.outbound.build_operator_transport()``, the production transport the adapters call.

Printed: req/s, p50, p99 per client side by side, and each client's throughput relative to (a).
Also written to ``bench/results/transports.json``.

Run: ``python -m bench.transports [--concurrency 32] [--duration 5] [--warmup 1]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import aiohttp
import httpx

from bench._harness import (
    RESULTS_DIR,
    LoadResult,
    child_env,
    format_facts,
    format_table,
    free_port,
    machine_facts,
    running,
    write_results,
)
from bench.echo import ECHO_PATH
from bench.load import Call, Outcome, Request, check_answer, run_closed_loop
from gateway.outbound import build_operator_transport

__all__ = ["CANDIDATES", "main"]

PAYLOAD = {
    "version": "2.0",
    "msgid": "5b1f0c9e8d7a4f3b9c2e1d0a6b5c4d3e",
    "systemtime": "20250101120000123",
    "strictcheck": "0",
    "appid": "300011862498",
    "token": "STsid0000000000000000000000000000000000",
    "sign": "0123456789ABCDEF0123456789ABCDEF",
}
EXPECTED = Request(json=PAYLOAD)


@dataclass(frozen=True)
class Options:
    """The command line (see ``--help``)."""

    concurrency: int
    duration: float
    warmup: float


Opener = Callable[[str, int], AbstractAsyncContextManager[Call]]
"""Given the echo URL and the concurrency, opens a client and yields its one-request coroutine."""


@dataclass(frozen=True)
class Candidate:
    """One client under test."""

    name: str
    description: str
    open: Opener


@asynccontextmanager
async def _raw_aiohttp(url: str, _concurrency: int) -> AsyncIterator[Call]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as session:

        async def call() -> Outcome:
            async with session.post(url, json=PAYLOAD) as response:
                body = await response.read()
            return check_answer(response.status, body, EXPECTED)

        yield call


@asynccontextmanager
async def _over_httpx(client: httpx.AsyncClient, url: str) -> AsyncIterator[Call]:
    async with client:

        async def call() -> Outcome:
            response = await client.post(url, json=PAYLOAD)
            return check_answer(response.status_code, response.content, EXPECTED)

        yield call


def _httpx(make: Callable[[int], httpx.AsyncClient]) -> Opener:
    """An :data:`Opener` for an httpx client built by ``make(concurrency)``."""
    return lambda url, concurrency: _over_httpx(make(concurrency), url)


def _httpx_default(_concurrency: int) -> httpx.AsyncClient:
    return httpx.AsyncClient()


def _httpx_keepalive(concurrency: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(limits=limits)


@asynccontextmanager
async def _gateway_outbound(url: str, _concurrency: int) -> AsyncIterator[Call]:
    transport = build_operator_transport(limit_per_host=100)
    body = json.dumps(PAYLOAD, separators=(",", ":")).encode()
    try:

        async def call() -> Outcome:
            status, content = await transport.post(
                url, body, "application/json", operator="cmcc", timeout=10.0, connect_timeout=5.0
            )
            return check_answer(status, content, EXPECTED)

        yield call
    finally:
        await transport.aclose()


CANDIDATES: tuple[Candidate, ...] = (
    Candidate("aiohttp", "(a) raw aiohttp.ClientSession", _raw_aiohttp),
    Candidate("httpx", "(b) httpx.AsyncClient() default transport and limits", _httpx(_httpx_default)),
    Candidate(
        "httpx-keepalive", "(b') httpx default transport, keep-alive = concurrency", _httpx(_httpx_keepalive)
    ),
    Candidate("gateway.outbound", "(c) gateway.outbound.build_operator_transport()", _gateway_outbound),
)


async def _measure(candidate: Candidate, url: str, args: Options) -> LoadResult:
    async with candidate.open(url, args.concurrency) as call:
        return await run_closed_loop(
            call,
            target=candidate.name,
            concurrency=args.concurrency,
            duration=args.duration,
            warmup=args.warmup,
        )


async def _run(args: Options) -> list[LoadResult]:
    port = free_port()
    argv = [sys.executable, "-m", "bench.echo", "--port", str(port)]
    log_dir = RESULTS_DIR / "logs" / "transports"
    async with running(
        "echo", argv, port=port, health_path="/healthz", env=child_env({}), log_dir=log_dir
    ) as echo:
        url = echo.base_url + ECHO_PATH
        return [await _measure(candidate, url, args) for candidate in CANDIDATES]


def _relative(results: Sequence[LoadResult]) -> str:
    floor = results[0].rps if results and results[0].rps > 0 else None
    if floor is None:
        return ""
    names = {c.name: c.description for c in CANDIDATES}
    return "\n".join(f"  {r.rps / floor:5.2f}x aiohttp  {names.get(r.target, r.target)}" for r in results)


def _parse(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.transports", description="HTTP client micro-benchmark"
    )
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds per client")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds per client")
    return Options(**vars(parser.parse_args(argv)))


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    facts = machine_facts()
    print(format_facts(facts))
    print(
        f"{args.concurrency} concurrent POSTs to a local aiohttp echo server, "
        f"{args.warmup:g} s warm-up + {args.duration:g} s per client\n"
    )
    results = asyncio.run(_run(args))
    print()
    print(format_table(results))
    print(_relative(results))
    path: Path = write_results(
        "transports",
        {"benchmark": "transports", "machine": facts, "config": asdict(args), "results": results},
    )
    print(f"\nwritten to {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return 1 if any(r.flagged for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
