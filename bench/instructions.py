"""Instructions per request: the gateway against the pass-through, counted by callgrind.

req/s on this shared two-core machine drifts by up to 2x within minutes, so one round of
:mod:`bench.one_tap` can put the same code at 0.44 or 0.85 of the baseline. This benchmark counts
what a request costs instead: the gateway and the pass-through each run under ``valgrind
--tool=callgrind`` with instrumentation off; after ``--warmup`` requests, instrumentation is
switched on (``callgrind_control -i on``) for ``--requests`` requests at ``--concurrency``, then
off, and the instructions executed by the whole process (every thread) are divided by the
requests. The sandbox and the load generator run natively. Under valgrind a server is ~50x slower,
so its requests queue and are served in larger batches than in a live run: the figures compare
code, not machines, and repeat within a few percent across runs (the live benchmarks stay the
measure of throughput).

``--target`` picks the route, set up as its timed benchmark sets it up: ``one-tap``
(:mod:`bench.one_tap`: ``POST /one-tap/v1/login``, a fresh cmcc SDK token per request), or from
:mod:`bench.identity`: ``login-check`` (``POST /login-check/v1/evaluate`` without a one-tap
token, the policy at its widest limits, every second line's device bound; the pass-through makes
the same two history calls), ``sim-swap`` (``POST /sim-swap/v2/check``) and
``number-verification`` (``POST /number-verification/v2/verify`` with a freshly minted 3-legged
token per request, against the pass-through's SIM-history check). Every answer is checked as
those benchmarks check it.

Printed: instructions per request of each server, and the baseline's count over the gateway's
(the throughput ratio the gateway would reach if both were CPU-bound on equal cores). Written to
``bench/results/instructions.json`` (``instructions-<target>.json`` for the other targets);
``--keep DIR`` also keeps the callgrind dumps there, for ``callgrind_annotate``. Needs
``valgrind`` (with ``callgrind_control``) on the PATH; exit status 2 when it is missing or the
set-up fails, else 0.

The gateway's database is a fresh SQLite file, or with ``--database-url postgresql://...`` a
scratch database on that server (the server's own work is not counted: on the live benchmark it
shares the machine's cores with both sides).

Run: ``python -m bench.instructions [--target login-check] [--requests 1500] [--database-url URL]``
(about two minutes; not part of ``make bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import aiohttp

from bench import identity, one_tap
from bench._harness import (
    RESULTS_DIR,
    HarnessError,
    Server,
    machine_facts,
    results_name,
    scratch_database,
    write_results,
)
from bench.identity import RequestPool
from bench.load import Request, check_answer
from bench.servers import Credentials, Stack, start_baseline, start_gateway, start_sandbox

__all__ = ["count_instructions", "main"]

LOG_DIR = RESULTS_DIR / "logs" / "instructions"
_STARTUP_S = 600.0
_POOL_SIZE = 32
"""The gateway's pool under callgrind: one connection per concurrent request, since a server ~50x
slower holds each connection ~50x longer and would otherwise exceed the pool's 5 s wait."""


@dataclass(frozen=True)
class _Options:
    """The servers' options (see :class:`bench.servers.ServerOptions`), fixed for this benchmark."""

    workers: int = 1
    redis_url: str = "redis://127.0.0.1:6379/0"
    gateway_env: list[str] = field(default_factory=lambda: [f"GATEWAY_DB_POOL_SIZE={_POOL_SIZE}"])
    startup_timeout: float = _STARTUP_S
    loop: str = "uvloop"


def _launcher(out: Path) -> list[str]:
    return ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]


def _control(server: Server, *flags: str) -> None:
    subprocess.run(  # noqa: S603
        ["callgrind_control", *flags, str(server.process.pid)],  # noqa: S607
        check=True,
        capture_output=True,
    )


def count_instructions(out: Path) -> int:
    """The instructions callgrind recorded in the dumps written beside ``out`` (``out.1``, ...)."""
    total = 0
    for dump in sorted(out.parent.glob(out.name + ".*")):
        for line in dump.read_text().splitlines():
            if line.startswith(("totals:", "summary:")):
                total = max(total, int(line.split()[1]))
    return total


class _Pool(Protocol):
    def next_request(self) -> Request | None: ...


@dataclass(frozen=True)
class _Side:
    """One measured server: where its requests go, with which headers, and where they come from."""

    server: Server
    out: Path
    path: str
    headers: Mapping[str, str]
    pool: Callable[[int], Awaitable[_Pool]]


async def _requests(session: aiohttp.ClientSession, side: _Side, pool: _Pool, concurrency: int) -> None:
    url = side.server.base_url + side.path

    async def worker() -> None:
        while (request := pool.next_request()) is not None:
            headers = {**side.headers, **request.headers} if request.headers else side.headers
            async with session.post(url, json=request.json, headers=headers) as answer:
                outcome = check_answer(answer.status, await answer.read(), request)
                if not outcome.ok:
                    raise HarnessError(f"a request failed ({outcome.kind}): {outcome.detail}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def _measure(session: aiohttp.ClientSession, side: _Side, args: argparse.Namespace) -> float:
    await _requests(session, side, await side.pool(args.warmup), args.concurrency)
    pool = await side.pool(args.requests)
    _control(side.server, "-i", "on")
    await _requests(session, side, pool, args.concurrency)
    _control(side.server, "-i", "off")
    _control(side.server, "-d")
    return count_instructions(side.out) / int(args.requests)


def _cycled(requests: Sequence[Request]) -> Callable[[int], Awaitable[_Pool]]:
    async def pool(count: int) -> _Pool:
        return RequestPool(itertools.islice(itertools.cycle(requests), count))

    return pool


@dataclass(frozen=True)
class _Run:
    """What a target's set-up needs: the client session, the servers and where their dumps go."""

    session: aiohttp.ClientSession
    stack: Stack
    creds: Credentials
    outs: tuple[Path, Path]
    subscribers: int

    def sides(
        self,
        baseline: tuple[str, Mapping[str, str], Callable[[int], Awaitable[_Pool]]],
        gateway: tuple[str, Mapping[str, str], Callable[[int], Awaitable[_Pool]]],
    ) -> tuple[_Side, _Side]:
        """The two sides from each one's (path, headers, pool)."""
        return _Side(self.stack.baseline, self.outs[0], *baseline), _Side(
            self.stack.gateway, self.outs[1], *gateway
        )

    async def seeded(self) -> tuple[identity.Tenant, list[identity.Line], dict[str, str]]:
        """:mod:`bench.identity`'s tenant and seeded lines, and a 2-legged bearer header."""
        tenant = await identity.provision_tenant(self.session, self.stack.gateway, self.creds.admin_token)
        lines = identity.plan_lines(self.subscribers)
        await identity.seed_lines(self.session, self.stack, tenant, lines)
        token = await identity.two_legged_token(self.session, tenant)
        return tenant, lines, {"Authorization": f"Bearer {token}"}


async def _one_tap(run: _Run) -> tuple[_Side, _Side]:
    token = await one_tap.provision_tenant(run.session, run.stack.gateway, run.creds.admin_token)
    numbers = await one_tap.seed_subscribers(run.session, run.stack.sandbox, run.subscribers)
    minter = one_tap.Minter(run.session, run.stack.sandbox, numbers)
    path = one_tap.LOGIN_PATH
    return run.sides((path, {}, minter.pool), (path, {"Authorization": f"Bearer {token}"}, minter.pool))


async def _login_check(run: _Run) -> tuple[_Side, _Side]:
    _, lines, bearer = await run.seeded()
    path = identity.EVALUATE_PATH
    return run.sides(
        (path, {}, _cycled([line.baseline_evaluate() for line in lines])),
        (path, bearer, _cycled([line.evaluate() for line in lines])),
    )


async def _sim_swap(run: _Run) -> tuple[_Side, _Side]:
    _, lines, bearer = await run.seeded()
    checks = _cycled([line.sim_check() for line in lines])
    return run.sides((identity.SIM_SWAP_PATH, {}, checks), (identity.SIM_SWAP_PATH, bearer, checks))


async def _number_verification(run: _Run) -> tuple[_Side, _Side]:
    tenant, lines, _ = await run.seeded()
    minter = identity.NvMinter(run.session, run.stack.sandbox, tenant, lines)
    checks = _cycled([line.sim_check() for line in lines])
    return run.sides((identity.SIM_SWAP_PATH, {}, checks), (identity.NV_PATH, {}, minter.pool))


TARGETS = {
    "one-tap": _one_tap,
    "login-check": _login_check,
    "sim-swap": _sim_swap,
    "number-verification": _number_verification,
}
"""How each ``--target`` sets up its two sides: the gateway's route, and the pass-through's route
doing the same operator calls (Number Verification calls none: its baseline is the SIM-history
check, as in :mod:`bench.identity`)."""


async def _run(args: argparse.Namespace, work: Path, database_url: str) -> dict[str, float]:
    creds = Credentials.generate()
    options = _Options()
    outs = (work / "baseline.out", work / "gateway.out")
    async with contextlib.AsyncExitStack() as stack:
        sandbox = await stack.enter_async_context(start_sandbox(creds, options, LOG_DIR))
        gateway = await stack.enter_async_context(
            start_gateway(creds, sandbox, database_url, options, LOG_DIR, launcher=_launcher(outs[1]))
        )
        baseline = await stack.enter_async_context(
            start_baseline(creds, sandbox, one_tap.OPERATOR, options, LOG_DIR, launcher=_launcher(outs[0]))
        )
        session = await stack.enter_async_context(
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=_STARTUP_S))
        )
        servers = Stack(sandbox=sandbox, gateway=gateway, baseline=baseline)
        baseline_side, gateway_side = await TARGETS[args.target](
            _Run(session, servers, creds, outs, args.subscribers)
        )
        return {
            "baseline": await _measure(session, baseline_side, args),
            "gateway": await _measure(session, gateway_side, args),
        }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("--target", choices=sorted(TARGETS), default="one-tap", help="the route counted")
    parser.add_argument("--requests", type=int, default=1500, help="counted requests per server")
    parser.add_argument("--warmup", type=int, default=300, help="uncounted requests per server first")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--keep", type=Path, help="keep the callgrind dumps in this directory")
    parser.add_argument(
        "--database-url",
        help="gateway database server (default: a fresh SQLite file), e.g. postgresql://127.0.0.1:5432/db",
    )
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("valgrind (callgrind) is not installed", file=sys.stderr)
        return 2
    database = "postgresql" if args.database_url else "sqlite"
    print(
        f"{args.target} ({one_tap.OPERATOR}, {database}), {args.requests} requests per server under callgrind"
    )
    try:
        with (
            tempfile.TemporaryDirectory(prefix="bench-instructions-") as work,
            scratch_database(args.database_url) as database_url,
        ):
            counts = asyncio.run(_run(args, Path(work), database_url))
            if args.keep is not None:
                args.keep.mkdir(parents=True, exist_ok=True)
                for dump in Path(work).glob("*.out.*"):
                    shutil.copy(dump, args.keep / dump.name)
    except HarnessError as exc:
        print(f"set-up failed: {exc}", file=sys.stderr)
        return 2
    ratio = counts["baseline"] / counts["gateway"]
    print(f"{'server':10} {'instructions per request':>26}")
    for name, value in counts.items():
        print(f"{name:10} {value:26,.0f}")
    print(f"baseline/gateway: {ratio:.2f} (the throughput ratio if both were CPU-bound on equal cores)")
    name = "instructions" if args.target == "one-tap" else f"instructions-{args.target}"
    write_results(
        results_name(name, database),
        {
            "benchmark": "instructions",
            "target": args.target,
            "database": database,
            "machine": machine_facts(),
            "requests": args.requests,
            "instructions_per_request": counts,
            "ratio": ratio,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
