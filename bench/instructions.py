"""Instructions per one-tap login: the gateway against the pass-through, counted by callgrind.

req/s on this shared two-core machine drifts by up to 2x within minutes, so one round of
:mod:`bench.one_tap` can put the same code at 0.44 or 0.85 of the baseline. This benchmark counts
what a login costs instead: the gateway and the pass-through each run under ``valgrind
--tool=callgrind`` with instrumentation off; after ``--warmup`` logins, instrumentation is switched
on (``callgrind_control -i on``) for ``--requests`` logins at ``--concurrency``, then off, and the
instructions executed by the whole process (every thread) are divided by the logins. The sandbox
and the load generator run natively. Under valgrind a server is ~50x slower, so its requests queue
and are served in larger batches than in a live run: the figures compare code, not machines, and
repeat within a few percent across runs (the live benchmarks stay the measure of throughput).

Printed: instructions per login of each target, and the baseline's count over the gateway's (the
throughput ratio the gateway would reach if both were CPU-bound on equal cores). Written to
``bench/results/instructions.json``. Needs ``valgrind`` (with ``callgrind_control``) on the PATH;
exit status 2 when it is missing or the set-up fails, else 0.

Run: ``python -m bench.instructions [--requests 1500]`` (about two minutes; not part of ``make
bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench._harness import RESULTS_DIR, HarnessError, Server, machine_facts, write_results
from bench.load import check_answer
from bench.one_tap import LOGIN_PATH, OPERATOR, SCOPE, Minter, TokenPool, provision_tenant, seed_subscribers
from bench.servers import Credentials, start_baseline, start_gateway, start_sandbox

__all__ = ["count_instructions", "main"]

LOG_DIR = RESULTS_DIR / "logs" / "instructions"
_STARTUP_S = 600.0


@dataclass(frozen=True)
class _Options:
    """The servers' options (see :class:`bench.servers.ServerOptions`), fixed for this benchmark."""

    workers: int = 1
    redis_url: str = "redis://127.0.0.1:6379/0"
    gateway_env: list[str] = field(default_factory=list)
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


async def _logins(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], pool: TokenPool, concurrency: int
) -> None:
    async def worker() -> None:
        while (request := pool.next_request()) is not None:
            async with session.post(url, json=request.json, headers=headers) as answer:
                outcome = check_answer(answer.status, await answer.read(), request)
                if not outcome.ok:
                    raise HarnessError(f"a login failed ({outcome.kind}): {outcome.detail}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def _measure(
    session: aiohttp.ClientSession,
    server: Server,
    headers: dict[str, str],
    minter: Minter,
    out: Path,
    args: argparse.Namespace,
) -> float:
    url = server.base_url + LOGIN_PATH
    await _logins(session, url, headers, await minter.pool(args.warmup), args.concurrency)
    pool = await minter.pool(args.requests)
    _control(server, "-i", "on")
    await _logins(session, url, headers, pool, args.concurrency)
    _control(server, "-i", "off")
    _control(server, "-d")
    return count_instructions(out) / int(args.requests)


async def _run(args: argparse.Namespace, work: Path) -> dict[str, float]:
    creds = Credentials.generate()
    options = _Options()
    gateway_out, baseline_out = work / "gateway.out", work / "baseline.out"
    async with contextlib.AsyncExitStack() as stack:
        sandbox = await stack.enter_async_context(start_sandbox(creds, options, LOG_DIR))
        gateway = await stack.enter_async_context(
            start_gateway(
                creds,
                sandbox,
                f"sqlite:///{work}/gateway.db",
                options,
                LOG_DIR,
                launcher=_launcher(gateway_out),
            )
        )
        baseline = await stack.enter_async_context(
            start_baseline(creds, sandbox, OPERATOR, options, LOG_DIR, launcher=_launcher(baseline_out))
        )
        session = await stack.enter_async_context(
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=_STARTUP_S))
        )
        token = await provision_tenant(session, gateway, creds.admin_token)
        minter = Minter(session, sandbox, await seed_subscribers(session, sandbox, args.subscribers))
        bearer = {"Authorization": f"Bearer {token}"}
        return {
            "baseline": await _measure(session, baseline, {}, minter, baseline_out, args),
            "gateway": await _measure(session, gateway, bearer, minter, gateway_out, args),
        }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("--requests", type=int, default=1500, help="counted logins per target")
    parser.add_argument("--warmup", type=int, default=300, help="uncounted logins per target first")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--subscribers", type=int, default=100)
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("valgrind (callgrind) is not installed", file=sys.stderr)
        return 2
    print(f"POST {LOGIN_PATH} ({OPERATOR}, scope {SCOPE}), {args.requests} logins per target under callgrind")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-instructions-") as work:
            counts = asyncio.run(_run(args, Path(work)))
    except HarnessError as exc:
        print(f"set-up failed: {exc}", file=sys.stderr)
        return 2
    ratio = counts["baseline"] / counts["gateway"]
    print(f"{'target':10} {'instructions per login':>24}")
    for name, value in counts.items():
        print(f"{name:10} {value:24,.0f}")
    print(f"baseline/gateway: {ratio:.2f} (the throughput ratio if both were CPU-bound on equal cores)")
    write_results(
        "instructions",
        {
            "benchmark": "instructions",
            "machine": machine_facts(),
            "requests": args.requests,
            "instructions_per_login": counts,
            "ratio": ratio,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
