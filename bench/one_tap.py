"""One-tap login throughput: the gateway against a bare pass-through to the same sandbox operator.

Measured: ``POST /one-tap/v1/login`` at ``--concurrency`` (32) closed-loop clients for ``--duration``
(10) seconds after a warm-up, on two targets that exchange single-use China Mobile SDK tokens minted
by the same sandbox operator:

- ``baseline``: :mod:`bench.passthrough`, a bare aiohttp app that only signs and forwards the
  operator's ``loginTokenValidate`` call (no auth, no database);
- ``gateway``: ``gateway serve`` (bearer token, scope, tenant, database, CMCC adapter, ...).

Each target is measured ``--rounds`` (3) times, alternating which goes first; the round with the
median req/s is reported. Printed: req/s (successful requests only), p50 and p99 latency side by
side, the ratio gateway/baseline of req/s and of p99, and issue 5's targets (ratio >= 0.60 and p99
below twice the baseline's): MET or NOT MET. Every answer must be 200 with the token's own number;
anything else is an error, and a run with errors is flagged. Also written to
``bench/results/one_tap.json`` (``one_tap-postgresql.json`` on PostgreSQL; medians and every round);
server logs go to ``bench/results/logs/one_tap/``. Exit status: 0 clean and target met, 1 otherwise,
2 set-up failed.

Everything runs on 127.0.0.1: the sandbox, the gateway and the pass-through each in its own
subprocess, the load generator in this process, all on the event loop ``--loop`` names (uvloop by
default; the baseline always on the same kind as the gateway). Tokens live 120 s, so each target's
pool is minted right before its timed phase: a warm-up on a small pool estimates the target's rate,
then ``(settle + duration) x rate x 1.5`` tokens are minted (capped by ``--max-tokens``). If a pool
still runs dry, its workers stop early and the table says so (the rate stays valid over a shorter
window).

Run: ``python -m bench.one_tap`` (``make bench``); ``--database-url postgresql://127.0.0.1:5432/<db>``
measures the gateway on PostgreSQL instead of a fresh SQLite file (a scratch database is created
on that server for the run and dropped after); ``--workers N`` runs ``gateway serve --workers N``
with the replay store in Redis (``--redis-url``); ``--workers-list 1,2,4`` runs the whole benchmark
once per process count (fresh servers and database each time) and ends with a table of the counts
side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import math
import sys
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench._harness import (
    RESULTS_DIR,
    CpuProbe,
    HarnessError,
    LoadResult,
    Server,
    call_json,
    format_facts,
    format_table,
    machine_facts,
    results_name,
    scratch_database,
    write_results,
)
from bench.load import Request, run_load
from bench.servers import Credentials, RunOptions, add_run_arguments, add_scaling_argument, open_stack
from gateway.loop import LoopKind
from gateway.loop import run as run_on_loop

__all__ = [
    "TARGET_P99_FACTOR",
    "TARGET_RATIO",
    "Minter",
    "TokenPool",
    "Verdict",
    "main",
    "measure",
    "median_result",
    "pool_size",
    "ratio",
    "verdict",
]

OPERATOR = "cmcc"  # the operator both targets exchange tokens with
LOGIN_PATH = "/one-tap/v1/login"
SCOPE = "one-tap:login"
TARGET_RATIO = 0.60
TARGET_P99_FACTOR = 2.0
SETTLE_S = 0.5  # unmeasured re-warm after the minting pause, counted into the pool size
POOL_MARGIN = 1.5
MIN_TOKENS = 1000
MINT_CONCURRENCY = 64
LOG_DIR = RESULTS_DIR / "logs" / "one_tap"


# --- configuration ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options(RunOptions):
    """The command line (see ``--help``)."""

    concurrency: int
    duration: float
    warmup: float
    rounds: int
    warmup_tokens: int
    max_tokens: int
    subscribers: int
    database_url: str | None
    workers: int
    redis_url: str
    gateway_env: list[str]
    startup_timeout: float
    loop: LoopKind
    workers_list: list[int] | None = None


# --- set-up through the public APIs ----------------------------------------------------------------


async def provision_tenant(session: aiohttp.ClientSession, gateway: Server, admin_token: str) -> str:
    """Create a tenant with scope ``one-tap:login``; return a client-credentials access token."""
    tenant = await call_json(
        session,
        "POST",
        f"{gateway.base_url}/admin/tenants",
        json={"name": "bench", "scopes": [SCOPE]},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    token = await call_json(
        session,
        "POST",
        f"{gateway.base_url}/oauth2/token",
        data={"grant_type": "client_credentials", "scope": SCOPE},
        headers={"Authorization": aiohttp.encode_basic_auth(tenant["client_id"], tenant["client_secret"])},
    )
    access_token: str = token["access_token"]
    return access_token


async def seed_subscribers(session: aiohttp.ClientSession, sandbox: Server, count: int) -> list[str]:
    """Register ``count`` CMCC subscribers (+86138xxxxxxxx) with the sandbox; return their numbers."""
    numbers = [f"+86138{i:08d}" for i in range(count)]
    url = f"{sandbox.base_url}/sandbox/subscribers"
    await asyncio.gather(
        *(call_json(session, "POST", url, json={"phoneNumber": n, "operator": OPERATOR}) for n in numbers)
    )
    return numbers


# --- token pools -----------------------------------------------------------------------------------


class TokenPool:
    """Single-use login tokens, oldest first; each becomes one login request expecting its own number."""

    def __init__(self, tokens: Iterable[tuple[str, str]]) -> None:
        self._tokens: deque[tuple[str, str]] = deque(tokens)  # (token, phone number)

    def __len__(self) -> int:
        return len(self._tokens)

    def next_request(self) -> Request | None:
        if not self._tokens:
            return None
        token, number = self._tokens.popleft()
        return Request(json={"token": token, "operator": OPERATOR}, expect_json={"phoneNumber": number})


@dataclass
class Minter:
    """Mints login tokens on the sandbox phones, concurrently, round-robin over the subscribers."""

    session: aiohttp.ClientSession
    sandbox: Server
    numbers: Sequence[str]
    seconds: list[float] = field(default_factory=list)

    async def pool(self, count: int) -> TokenPool:
        started = time.perf_counter()
        indices = iter(range(count))
        minted: list[tuple[str, str]] = []

        async def worker() -> None:
            for i in indices:  # shared iterator: each index goes to exactly one worker
                number = self.numbers[i % len(self.numbers)]
                minted.append((await self._mint(number), number))

        await asyncio.gather(*(worker() for _ in range(min(MINT_CONCURRENCY, count))))
        self.seconds.append(time.perf_counter() - started)
        return TokenPool(minted)

    async def _mint(self, number: str) -> str:
        url = f"{self.sandbox.base_url}/sandbox/devices/{number}/one-tap-token"
        answer = await call_json(self.session, "POST", url, json={"purpose": "login"})
        token: str = answer["token"]
        return token


# --- measurement -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One thing to measure: where its login endpoint is and what headers it needs."""

    name: str
    url: str
    headers: Mapping[str, str]
    cpu: Mapping[str, CpuProbe] = field(default_factory=dict)
    """Processes whose CPU per request the timed phase reports (the target's server, the sandbox)."""


def pool_size(warm: LoadResult, args: Options) -> int:
    """Tokens for the timed phase, from the rate (all answers) seen during the warm-up."""
    rate = warm.count / warm.elapsed if warm.elapsed > 0 else 0.0
    wanted = math.ceil((SETTLE_S + args.duration) * rate * POOL_MARGIN) + args.concurrency
    return max(MIN_TOKENS, min(args.max_tokens, wanted))


async def measure(target: Target, minter: Minter, args: Options, label: str) -> LoadResult:
    """Warm up ``target`` (which also estimates its rate), mint its pool, then measure it."""
    warm_pool = await minter.pool(args.warmup_tokens)
    warm = await run_load(
        target.url,
        warm_pool.next_request,
        args.concurrency,
        duration=args.warmup,
        warmup=0.0,
        target=target.name,
        headers=target.headers,
    )
    _report_errors(f"{label} warm-up", warm)
    size = pool_size(warm, args)
    pool = await minter.pool(size)
    print(
        f"{label}: warm-up {warm.count} requests in {warm.elapsed:.1f} s"
        f"{' (pool ran out)' if warm.exhausted else ''}; "
        f"minted {size} tokens in {minter.seconds[-1]:.1f} s; measuring {args.duration:g} s ..."
    )
    return await run_load(
        target.url,
        pool.next_request,
        args.concurrency,
        duration=args.duration,
        warmup=SETTLE_S,
        target=target.name,
        headers=target.headers,
        cpu=target.cpu,
    )


def _report_errors(label: str, result: LoadResult) -> None:
    if not result.errors:
        return
    kinds = ", ".join(f"{kind}: {n}" for kind, n in sorted(result.error_kinds.items()))
    print(f"{label}: {result.errors} of {result.count} requests failed ({kinds})")
    for sample in result.error_samples:
        print(f"    e.g. {sample}")


Rounds = dict[str, list[LoadResult]]
"""Target name -> its result in each round."""


async def measure_rounds(targets: Sequence[Target], minter: Minter, args: Options) -> Rounds:
    """Measure every target once per round, alternating which goes first to even out drift."""
    rounds: Rounds = {target.name: [] for target in targets}
    for i in range(args.rounds):
        for target in targets if i % 2 == 0 else list(reversed(targets)):
            label = target.name if args.rounds == 1 else f"{target.name} (round {i + 1}/{args.rounds})"
            rounds[target.name].append(await measure(target, minter, args, label))
    return rounds


async def _run(args: Options, database_url: str, log_dir: Path) -> Rounds:
    creds = Credentials.generate()
    async with (
        open_stack(creds, database_url, args, operator=OPERATOR, log_dir=log_dir) as stack,
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=MINT_CONCURRENCY),
            timeout=aiohttp.ClientTimeout(total=30.0),
        ) as control,
    ):
        access_token = await provision_tenant(control, stack.gateway, creds.admin_token)
        numbers = await seed_subscribers(control, stack.sandbox, args.subscribers)
        minter = Minter(control, stack.sandbox, numbers)
        bearer = {"Authorization": f"Bearer {access_token}"}
        targets = [
            Target("baseline", stack.baseline.base_url + LOGIN_PATH, {}, stack.cpu_probes("baseline")),
            Target("gateway", stack.gateway.base_url + LOGIN_PATH, bearer, stack.cpu_probes("gateway")),
        ]
        return await measure_rounds(targets, minter, args)


# --- report ----------------------------------------------------------------------------------------


def median_result(results: Sequence[LoadResult]) -> LoadResult:
    """The round with the median throughput (the lower middle one for an even count)."""
    ordered = sorted(results, key=lambda r: r.rps)
    return ordered[(len(ordered) - 1) // 2]


def ratio(baseline: LoadResult, gateway: LoadResult) -> float | None:
    """Gateway throughput as a fraction of the baseline's."""
    return gateway.rps / baseline.rps if baseline.rps > 0 else None


@dataclass(frozen=True)
class Verdict:
    """A gateway target against issue 5's targets, relative to a baseline of the same run."""

    ratio: float | None
    """req/s of the target over the baseline's."""
    p99_factor: float | None
    """p99 of the target over the baseline's."""
    met: bool
    baseline: str = ""
    """The baseline target compared with."""


def verdict(baseline: LoadResult, target: LoadResult) -> Verdict:
    """MET when the ratio is at least 0.60 and the p99 stays below twice the baseline's."""
    rps_ratio = ratio(baseline, target)
    factor = (
        target.p99_ms / baseline.p99_ms
        if target.p99_ms is not None and baseline.p99_ms is not None and baseline.p99_ms > 0
        else None
    )
    met = (
        rps_ratio is not None
        and rps_ratio >= TARGET_RATIO
        and factor is not None
        and factor < TARGET_P99_FACTOR
    )
    return Verdict(rps_ratio, factor, met, baseline.target)


def shown(value: float | None, suffix: str = "") -> str:
    """A ratio for the report: two decimals, or ``n/a``."""
    return "n/a" if value is None else f"{value:.2f}{suffix}"


def _report(rounds: Rounds, chosen: Mapping[str, LoadResult], judged: Verdict) -> bool:
    """Print the table and the verdict; True when every round is clean and the target is met."""
    n = len(rounds["baseline"])
    print()
    print(f"median of {n} rounds:" if n > 1 else "results:")
    print(format_table(list(chosen.values())))
    if n > 1:
        per_round = (ratio(b, g) for b, g in zip(rounds["baseline"], rounds["gateway"], strict=True))
        print("per-round ratios: " + " ".join(shown(r) for r in per_round))
    print(
        f"gateway/baseline: ratio {shown(judged.ratio)}, p99 factor {shown(judged.p99_factor, 'x')}  "
        f"(target: ratio >= {TARGET_RATIO:.2f}, p99 < {TARGET_P99_FACTOR:g}x baseline) "
        f"{'MET' if judged.met else 'NOT MET'}"
    )
    flagged = [r for results in rounds.values() for r in results if r.flagged]
    for result in flagged:
        _report_errors(f"FLAGGED {result.target}", result)
    return judged.met and not flagged


@dataclass(frozen=True)
class Run:
    """The benchmark at one gateway process count."""

    workers: int
    rounds: Rounds
    chosen: dict[str, LoadResult]
    verdict: Verdict
    ok: bool

    def record(self) -> dict[str, Any]:
        return {
            "workers": self.workers,
            "results": self.chosen,
            "ratio": self.verdict.ratio,
            "verdict": asdict(self.verdict),
            "rounds": self.rounds,
            "ok": self.ok,
        }


def format_scaling(runs: Sequence[Run]) -> str:
    """The process counts side by side: the gateway's figures, its ratios and CPU per login."""
    lines = [
        f"{'processes':>9}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>7}{'p99 x':>7}"
        f"{'CPU ms/req':>12}{'baseline req/s':>16}"
    ]
    for run in runs:
        gateway, baseline = run.chosen["gateway"], run.chosen["baseline"]
        cpu = gateway.cpu_ms.get("gateway")
        lines.append(
            f"{run.workers:>9}{gateway.rps:>10.1f}{_ms(gateway.p50_ms):>9}{_ms(gateway.p99_ms):>9}"
            f"{shown(run.verdict.ratio):>7}{shown(run.verdict.p99_factor):>7}{_ms(cpu, 2):>12}"
            f"{baseline.rps:>16.1f}"
        )
    return "\n".join(lines)


def _ms(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _parse(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.one_tap", description="One-tap login: gateway vs bare pass-through"
    )
    add_run_arguments(parser)
    add_scaling_argument(parser)
    parser.add_argument("--warmup-tokens", type=int, default=8000, help="token pool of the warm-up")
    parser.add_argument("--max-tokens", type=int, default=60000, help="cap on a timed phase's token pool")
    parser.add_argument("--subscribers", type=int, default=200, help="distinct sandbox phones")
    return Options(**vars(parser.parse_args(argv)))


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    facts = machine_facts()
    print(format_facts(facts))
    counts = args.workers_list or [args.workers]
    database = "sqlite" if args.database_url is None else args.database_url.split(":", 1)[0]
    print(
        f"POST {LOGIN_PATH} ({OPERATOR}), {args.concurrency} concurrent clients, "
        f"{args.warmup:g} s warm-up + {args.duration:g} s per target, gateway database: {database}, "
        f"gateway processes: {', '.join(map(str, counts))}, event loop: {args.loop} (every process)\n"
    )
    runs: list[Run] = []
    for workers in counts:
        run_args = dataclasses.replace(args, workers=workers)
        log_dir = LOG_DIR if len(counts) == 1 else LOG_DIR / f"workers-{workers}"
        if len(counts) > 1:
            print(f"=== {workers} gateway process{'es' if workers > 1 else ''} ===")
        with scratch_database(args.database_url) as database_url:
            try:
                rounds = run_on_loop(_run(run_args, database_url, log_dir), args.loop)
            except (HarnessError, aiohttp.ClientError) as exc:
                print(f"benchmark set-up failed: {exc}", file=sys.stderr)
                return 2
        chosen = {name: median_result(results) for name, results in rounds.items()}
        judged = verdict(chosen["baseline"], chosen["gateway"])
        runs.append(Run(workers, rounds, chosen, judged, _report(rounds, chosen, judged)))
        print()
    if len(runs) > 1:
        print(f"gateway processes side by side ({database}, event loop {args.loop}):")
        print(format_scaling(runs))
    payload: dict[str, Any] = {
        "benchmark": "one_tap",
        "machine": facts,
        "event_loop": args.loop,
        "config": {**args.public(), "database": database, "operator": OPERATOR},
        "targets": {"ratio_at_least": TARGET_RATIO, "p99_below_baseline_times": TARGET_P99_FACTOR},
        **(runs[0].record() if len(runs) == 1 else {"scaling": [run.record() for run in runs]}),
        "ok": all(run.ok for run in runs),
    }
    print(f"\nwritten to {write_results(results_name('one_tap', database), payload)}")
    return 0 if payload["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
