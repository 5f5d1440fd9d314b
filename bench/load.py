"""Closed-loop HTTP load generator, run inside the benchmark process.

``concurrency`` workers each send one request, wait for the whole answer, and send the next, for
``warmup`` seconds (not counted) and then ``duration`` seconds (measured). A request counts when it
*started* inside the measured window; the window ends when the last counted request completes.

Measured: throughput as successful requests per second, and p50/p99 latency (send to last body byte)
over every counted request, successful or not. A request fails on a transport error, an unexpected
status, or (when the request says so) an answer body missing expected JSON members.

:func:`run_load` drives one URL with an :class:`aiohttp.ClientSession` (connector limit =
concurrency); :func:`run_closed_loop` drives any coroutine, e.g. another HTTP client under test.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench._harness import CpuProbe, LoadResult, own_cpu_seconds, summarise

__all__ = ["OK", "Call", "Outcome", "Request", "check_answer", "run_closed_loop", "run_load"]

_MAX_SAMPLES = 3
_SAMPLE_CHARS = 300


@dataclass(frozen=True, slots=True)
class Request:
    """One request of a load run: a JSON body, and what its answer must look like."""

    json: Any
    expect_status: int = 200
    expect_json: Mapping[str, Any] | None = None  # members the JSON answer must contain
    headers: Mapping[str, str] | None = None  # this request's own, over the run's (e.g. a single-use token)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one request went; ``kind`` groups failures in the report (e.g. ``HTTP 429``)."""

    ok: bool
    kind: str = ""
    detail: str = ""


OK = Outcome(ok=True)

Call = Callable[[], Awaitable[Outcome | None]]
"""Sends one request and reports how it went; None means there is no more work (the worker stops)."""


def check_answer(status: int, body: bytes, request: Request) -> Outcome:
    """Judge one answer against what ``request`` expects."""
    if status != request.expect_status:
        return Outcome(False, f"HTTP {status}", body[:_SAMPLE_CHARS].decode(errors="replace"))
    if request.expect_json is None:
        return OK
    try:
        answer = json.loads(body)
    except ValueError:
        return Outcome(False, "answer not JSON", body[:_SAMPLE_CHARS].decode(errors="replace"))
    if not isinstance(answer, dict) or any(answer.get(k) != v for k, v in request.expect_json.items()):
        detail = f"expected {dict(request.expect_json)}, got {body[:_SAMPLE_CHARS].decode(errors='replace')}"
        return Outcome(False, "unexpected answer", detail)
    return OK


@dataclass
class _Tally:
    """Everything recorded inside the measured window."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    last_end: float = 0.0
    exhausted: bool = False

    def record(self, latency: float, end: float, outcome: Outcome) -> None:
        self.latencies.append(latency)
        self.last_end = max(self.last_end, end)
        if outcome.ok:
            return
        self.errors += 1
        self.kinds[outcome.kind] += 1
        if len(self.samples) < _MAX_SAMPLES:
            self.samples.append(f"{outcome.kind}: {outcome.detail}")


async def _attempt(call: Call) -> Outcome | None:
    try:
        return await call()
    except Exception as exc:  # any client failure is a failed request, not a crashed benchmark
        return Outcome(False, type(exc).__name__, repr(exc)[:_SAMPLE_CHARS])


async def run_closed_loop(
    call: Call,
    *,
    target: str,
    concurrency: int = 32,
    duration: float = 10.0,
    warmup: float = 2.0,
    cpu: Mapping[str, CpuProbe] | None = None,
) -> LoadResult:
    """Run ``call`` back to back in ``concurrency`` workers; measure after ``warmup`` s for ``duration`` s.

    ``cpu`` names processes whose CPU time is read at both ends of the measured window (the load
    generator itself is always read): the result's ``cpu_ms`` is each one's CPU ms per counted request.
    """
    clock = time.perf_counter
    measure_from = clock() + warmup
    stop_at = measure_from + duration
    tally = _Tally()
    probes = {**(cpu or {}), "load generator": own_cpu_seconds}
    cpu_at_start: dict[str, float] = {}

    def read_cpu_at_start() -> None:
        cpu_at_start.update({label: probe() for label, probe in probes.items()})

    loop = asyncio.get_running_loop()
    start_timer = loop.call_at(loop.time() + warmup, read_cpu_at_start)

    async def worker() -> None:
        while (started := clock()) < stop_at:
            outcome = await _attempt(call)
            if outcome is None:
                tally.exhausted = True
                return
            ended = clock()
            if started >= measure_from:
                tally.record(ended - started, ended, outcome)

    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(worker())
    start_timer.cancel()
    elapsed = tally.last_end - measure_from if tally.latencies else 0.0
    result = summarise(
        target,
        tally.latencies,
        errors=tally.errors,
        elapsed=elapsed,
        exhausted=tally.exhausted,
        error_kinds=tally.kinds,
        error_samples=tally.samples,
    )
    if cpu_at_start and tally.latencies:
        result.cpu_ms = {
            label: (probe() - cpu_at_start[label]) * 1000.0 / len(tally.latencies)
            for label, probe in probes.items()
        }
    return result


async def run_load(
    url: str,
    make_request: Callable[[], Request | None],
    concurrency: int = 32,
    duration: float = 10.0,
    warmup: float = 2.0,
    *,
    target: str | None = None,
    headers: Mapping[str, str] | None = None,
    request_timeout: float = 30.0,
    cpu: Mapping[str, CpuProbe] | None = None,
) -> LoadResult:
    """POST ``make_request()`` bodies to ``url`` in a closed loop over one shared ``ClientSession``.

    ``make_request`` returns None when it has no more work (e.g. a pool of single-use tokens is
    empty); the worker that got None stops, and the result says the work ran out.
    """
    connector = aiohttp.TCPConnector(limit=concurrency, keepalive_timeout=120.0)
    client_timeout = aiohttp.ClientTimeout(total=request_timeout)
    async with aiohttp.ClientSession(
        connector=connector, headers=dict(headers or {}), timeout=client_timeout
    ) as session:

        async def call() -> Outcome | None:
            request = make_request()
            if request is None:
                return None
            async with session.post(url, json=request.json, headers=request.headers) as response:
                body = await response.read()
            return check_answer(response.status, body, request)

        return await run_closed_loop(
            call, target=target or url, concurrency=concurrency, duration=duration, warmup=warmup, cpu=cpu
        )
