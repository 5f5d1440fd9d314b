"""One-tap login throughput: the gateway against a bare pass-through to the same sandbox operator.

Measured: ``POST /one-tap/v1/login`` at ``--concurrency`` (32) closed-loop clients for ``--duration``
(10) seconds after a warm-up, on two targets that exchange single-use China Mobile SDK tokens minted
by the same sandbox operator:

- ``baseline``: :mod:`bench.passthrough`, a bare aiohttp app that only signs and forwards the
  operator's ``loginTokenValidate`` call (no auth, no database);
- ``gateway``: ``gateway serve`` (bearer token, scope, tenant, database, CMCC adapter, ...).

Each target is measured ``--rounds`` (3) times, alternating which goes first; the round with the
median req/s is reported. Printed: req/s (successful requests only), p50 and p99 latency side by
side, and the ratio gateway/baseline of req/s (target >= 0.50). Every answer must be 200 with the
token's own number; anything else is an error, and a run with errors is flagged. Also written to
``bench/results/one_tap.json`` (medians and every round); server logs go to
``bench/results/logs/one_tap/``. Exit status: 0 clean and target met, 1 otherwise, 2 set-up failed.

Everything runs on 127.0.0.1: the sandbox, the gateway and the pass-through each in its own
subprocess, the load generator in this process. Tokens live 120 s, so each target's pool is minted
right before its timed phase: a warm-up on a small pool estimates the target's rate, then
``(settle + duration) x rate x 1.5`` tokens are minted (capped by ``--max-tokens``). If a pool still
runs dry, its workers stop early and the table says so (the rate stays valid over a shorter window).

Run: ``python -m bench.one_tap`` (``make bench``); ``--database-url postgresql://127.0.0.1:5432/<db>``
measures the gateway on PostgreSQL instead of a fresh SQLite file (a scratch database is created
on that server for the run and dropped after); ``--workers N`` runs ``gateway serve --workers N``
with the replay store in Redis (``--redis-url``).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp

from bench._harness import (
    RESULTS_DIR,
    HarnessError,
    LoadResult,
    Server,
    call_json,
    format_facts,
    format_table,
    machine_facts,
    scratch_database,
    write_results,
)
from bench.load import Request, run_load
from bench.servers import Credentials, add_run_arguments, open_stack

__all__ = ["Minter", "TokenPool", "main", "measure", "median_result", "pool_size", "ratio"]

OPERATOR = "cmcc"  # the operator both targets exchange tokens with
LOGIN_PATH = "/one-tap/v1/login"
SCOPE = "one-tap:login"
TARGET_RATIO = 0.50
SETTLE_S = 0.5  # unmeasured re-warm after the minting pause, counted into the pool size
POOL_MARGIN = 1.5
MIN_TOKENS = 1000
MINT_CONCURRENCY = 64
LOG_DIR = RESULTS_DIR / "logs" / "one_tap"


# --- configuration ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
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

    def public(self) -> dict[str, Any]:
        """The options worth recording, without the database URL (it may hold a password)."""
        return {key: value for key, value in asdict(self).items() if key != "database_url"}


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


async def _run(args: Options, database_url: str) -> Rounds:
    creds = Credentials.generate()
    async with (
        open_stack(creds, database_url, args, operator=OPERATOR, log_dir=LOG_DIR) as stack,
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
            Target("baseline", stack.baseline.base_url + LOGIN_PATH, {}),
            Target("gateway", stack.gateway.base_url + LOGIN_PATH, bearer),
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


def _report(rounds: Rounds, chosen: Mapping[str, LoadResult], overall: float | None) -> bool:
    """Print the table and the verdict; True when every round is clean and the target is met."""
    n = len(rounds["baseline"])
    print()
    print(f"median of {n} rounds:" if n > 1 else "results:")
    print(format_table(list(chosen.values())))
    if n > 1:
        per_round = (ratio(b, g) for b, g in zip(rounds["baseline"], rounds["gateway"], strict=True))
        print("per-round ratios: " + " ".join("n/a" if r is None else f"{r:.2f}" for r in per_round))
    met = overall is not None and overall >= TARGET_RATIO
    shown = "n/a" if overall is None else f"{overall:.2f}"
    print(f"ratio gateway/baseline: {shown} (target >= {TARGET_RATIO:.2f}){'' if met else '  BELOW TARGET'}")
    flagged = [r for results in rounds.values() for r in results if r.flagged]
    for result in flagged:
        _report_errors(f"FLAGGED {result.target}", result)
    return met and not flagged


def _parse(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.one_tap", description="One-tap login: gateway vs bare pass-through"
    )
    add_run_arguments(parser)
    parser.add_argument("--warmup-tokens", type=int, default=8000, help="token pool of the warm-up")
    parser.add_argument("--max-tokens", type=int, default=60000, help="cap on a timed phase's token pool")
    parser.add_argument("--subscribers", type=int, default=200, help="distinct sandbox phones")
    return Options(**vars(parser.parse_args(argv)))


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    facts = machine_facts()
    print(format_facts(facts))
    with scratch_database(args.database_url) as database_url:
        database = database_url.split(":", 1)[0]
        print(
            f"POST {LOGIN_PATH} ({OPERATOR}), {args.concurrency} concurrent clients, "
            f"{args.warmup:g} s warm-up + {args.duration:g} s per target, gateway database: {database}, "
            f"gateway processes: {args.workers}\n"
        )
        try:
            rounds = asyncio.run(_run(args, database_url))
        except (HarnessError, aiohttp.ClientError) as exc:
            print(f"benchmark set-up failed: {exc}", file=sys.stderr)
            return 2
    chosen = {name: median_result(results) for name, results in rounds.items()}
    overall = ratio(chosen["baseline"], chosen["gateway"])
    ok = _report(rounds, chosen, overall)
    payload: dict[str, Any] = {
        "benchmark": "one_tap",
        "machine": facts,
        "config": {**args.public(), "database": database, "operator": OPERATOR},
        "results": chosen,
        "ratio": overall,
        "rounds": rounds,
        "target_ratio": TARGET_RATIO,
        "ok": ok,
    }
    print(f"\nwritten to {write_results('one_tap', payload)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
