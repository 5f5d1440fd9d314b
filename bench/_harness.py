"""Plumbing shared by the benchmarks; nothing here measures anything by itself.

- free ports (:func:`tests.ports.free_port`: outside the kernel's ephemeral range), a clean child
  environment (no inherited ``GATEWAY_*`` variables), ``KEY=VALUE`` settings and the installed
  ``gateway`` command;
- server subprocesses: start (own process group, output to a log file), poll a health URL until it
  answers 200, and always stop them (SIGTERM to the group, SIGKILL after a grace period);
- set-up HTTP calls that fail loudly with the answer's body;
- :class:`LoadResult`, percentiles, the side-by-side table, machine facts and the JSON results file.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from tests.ports import free_port

__all__ = [
    "LOCALHOST",
    "PROJECT_ROOT",
    "RESULTS_DIR",
    "CpuProbe",
    "HarnessError",
    "LoadResult",
    "Server",
    "allow_bulk_sms",
    "bulk_sms_bearer",
    "call_json",
    "child_env",
    "env_pairs",
    "format_cpu",
    "format_facts",
    "format_table",
    "free_port",
    "gateway_executable",
    "log_tail",
    "machine_facts",
    "maps_library",
    "own_cpu_seconds",
    "percentile",
    "process_cpu_seconds",
    "results_name",
    "running",
    "scratch_database",
    "server_probe",
    "stop",
    "summarise",
    "write_results",
]

LOCALHOST = "127.0.0.1"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = PROJECT_ROOT / "bench" / "results"
_STOP_GRACE_S = 15.0
_POLL_INTERVAL_S = 0.1


class HarnessError(RuntimeError):
    """A server did not come up, or a set-up call got an unexpected answer."""


# --- ports and environment -------------------------------------------------------------------------


def child_env(settings: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without any ``GATEWAY_*`` variable, plus ``settings``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GATEWAY_")}
    env.update(settings)
    return env


def env_pairs(pairs: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` command-line arguments as a mapping.

    :raises HarnessError: for an argument without ``=`` or without a key.
    """
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise HarnessError(f"expected KEY=VALUE, got {pair!r}")
        env[key] = value
    return env


def gateway_executable() -> str:
    """The installed ``gateway`` command, preferably the one beside this interpreter.

    :raises HarnessError: if it is not installed.
    """
    beside = Path(sys.executable).with_name("gateway")
    found = str(beside) if beside.exists() else shutil.which("gateway")
    if found is None:
        raise HarnessError("the `gateway` command is not installed (run `make install`)")
    return found


# --- server subprocesses ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    """A running server subprocess and where it listens."""

    name: str
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path


def _spawn(argv: Sequence[str], env: Mapping[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        # argv is built by the benchmark itself from fixed commands and generated values.
        return subprocess.Popen(  # noqa: S603
            list(argv),
            env=dict(env),
            cwd=PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: stop() also reaches any worker children
        )


def _signal_group(process: subprocess.Popen[bytes], signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def stop(process: subprocess.Popen[bytes], grace: float = _STOP_GRACE_S) -> None:
    """Stop a server started by :func:`running`: SIGTERM to its group, SIGKILL after ``grace`` s."""
    if process.poll() is not None:
        return
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGKILL)
        process.wait()


def log_tail(path: Path, lines: int = 25) -> str:
    """The last ``lines`` lines of a server log, for error messages."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


async def _wait_healthy(server: Server, health_path: str, startup_timeout: float) -> None:
    url = server.base_url + health_path
    loop = asyncio.get_running_loop()
    deadline = loop.time() + startup_timeout
    last = "no answer"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2.0)) as session:
        while True:
            code = server.process.poll()
            if code is not None:
                raise HarnessError(
                    f"{server.name} exited with status {code} before {url} answered 200; "
                    f"log {server.log_path}:\n{log_tail(server.log_path)}"
                )
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
                    last = f"HTTP {response.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                last = type(exc).__name__
            if loop.time() > deadline:
                raise HarnessError(
                    f"{server.name}: {url} not 200 after {startup_timeout:.0f} s (last: {last}); "
                    f"log {server.log_path}:\n{log_tail(server.log_path)}"
                )
            await asyncio.sleep(_POLL_INTERVAL_S)


@contextlib.asynccontextmanager
async def running(
    name: str,
    argv: Sequence[str],
    *,
    port: int,
    health_path: str,
    env: Mapping[str, str],
    log_dir: Path,
    startup_timeout: float = 60.0,
) -> AsyncIterator[Server]:
    """Start ``argv`` as a subprocess listening on ``port``; yield once ``health_path`` answers 200.

    The process is stopped on exit, whatever happens (including a failed health check).
    """
    log_path = log_dir / f"{name}.log"
    process = _spawn(argv, env, log_path)
    server = Server(name=name, base_url=f"http://{LOCALHOST}:{port}", process=process, log_path=log_path)
    try:
        await _wait_healthy(server, health_path, startup_timeout)
        yield server
    finally:
        stop(process)


# --- set-up calls ----------------------------------------------------------------------------------


async def call_json(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    expect: Collection[int] = (200, 201),
    **kwargs: Any,
) -> Any:
    """One set-up request; returns the decoded JSON answer or raises :class:`HarnessError`."""
    async with session.request(method, url, **kwargs) as response:
        body = await response.read()
        if response.status not in expect:
            text = body[:500].decode(errors="replace")
            raise HarnessError(f"{method} {url}: HTTP {response.status} (expected {sorted(expect)}): {text}")
    try:
        return json.loads(body)
    except ValueError as exc:
        raise HarnessError(f"{method} {url}: answer is not JSON: {body[:200]!r}") from exc


#: The SMS policy of a load test's tenant: thousands of sends to a few thousand lines of a few
#: number blocks, which the default fraud limits (docs/push.md) rightly refuse.
BULK_SMS_POLICY = {
    "numberPer10Min": 10_000,
    "numberPerDay": 100_000,
    "prefixPer10Min": 1_000_000,
    "prefixPerDay": 10_000_000,
    "dailyBudget": 1_000_000_000,
}


async def allow_bulk_sms(
    session: aiohttp.ClientSession, gateway_url: str, admin_token: str, tenant_id: str
) -> None:
    """Give ``tenant_id`` the :data:`BULK_SMS_POLICY` through the admin API."""
    await call_json(
        session,
        "PUT",
        f"{gateway_url}/admin/tenants/{tenant_id}/sms-policy",
        json=BULK_SMS_POLICY,
        headers={"Authorization": f"Bearer {admin_token}"},
    )


async def bulk_sms_bearer(
    session: aiohttp.ClientSession, gateway_url: str, admin_token: str, name: str, scopes: Sequence[str]
) -> str:
    """Create the sandbox tenant ``name`` with ``scopes`` and the :data:`BULK_SMS_POLICY`; return a
    client-credentials access token for all of ``scopes``."""
    tenant = await call_json(
        session,
        "POST",
        f"{gateway_url}/admin/tenants",
        json={"name": name, "scopes": list(scopes), "sandbox": True},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    await allow_bulk_sms(session, gateway_url, admin_token, tenant["tenant_id"])
    token = await call_json(
        session,
        "POST",
        f"{gateway_url}/oauth2/token",
        data={"grant_type": "client_credentials", "scope": " ".join(scopes)},
        headers={"Authorization": aiohttp.encode_basic_auth(tenant["client_id"], tenant["client_secret"])},
    )
    return str(token["access_token"])


# --- statistics and output -------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0..100) of already sorted values, linear interpolation; None if empty."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    fraction = position - low
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * fraction


@dataclass
class LoadResult:
    """What one closed-loop run measured.

    ``count`` is every request started inside the measured window, ``errors`` those that failed;
    ``rps`` counts successful requests only; percentiles are over every counted request (ms).
    ``exhausted`` means the work source ran dry before the window ended (``elapsed`` is then shorter).
    """

    target: str
    count: int
    errors: int
    elapsed: float
    rps: float
    p50_ms: float | None
    p99_ms: float | None
    exhausted: bool = False
    error_kinds: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    cpu_ms: dict[str, float] = field(default_factory=dict)
    """Process label -> CPU milliseconds (user + system, the process and its children) per counted
    request over the measured window; explains a throughput figure on a shared machine."""

    @property
    def flagged(self) -> bool:
        """A run with errors does not measure what it claims to."""
        return self.errors > 0


def summarise(
    target: str,
    latencies_s: list[float],
    *,
    errors: int,
    elapsed: float,
    exhausted: bool = False,
    error_kinds: Mapping[str, int] | None = None,
    error_samples: Sequence[str] = (),
) -> LoadResult:
    """Reduce raw per-request latencies (seconds) to a :class:`LoadResult`."""
    ordered = sorted(latencies_s)
    successes = len(ordered) - errors
    p50, p99 = percentile(ordered, 50), percentile(ordered, 99)
    return LoadResult(
        target=target,
        count=len(ordered),
        errors=errors,
        elapsed=elapsed,
        rps=successes / elapsed if elapsed > 0 else 0.0,
        p50_ms=None if p50 is None else p50 * 1000.0,
        p99_ms=None if p99 is None else p99 * 1000.0,
        exhausted=exhausted,
        error_kinds=dict(error_kinds or {}),
        error_samples=list(error_samples),
    )


CpuProbe = Callable[[], float]
"""Returns a process's cumulative CPU seconds."""


def _process_tree(pid: int) -> dict[int, int]:
    """``pid`` and every live descendant, each with its user + system CPU ticks (Linux ``/proc``)."""
    children: dict[int, list[int]] = {}
    times: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        child = int(entry.name)
        children.setdefault(int(fields[1]), []).append(child)
        times[child] = int(fields[11]) + int(fields[12])
    tree, todo = {}, [pid]
    while todo:
        current = todo.pop()
        if current in times:
            tree[current] = times[current]
        todo.extend(children.get(current, ()))
    return tree


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and every live descendant (Linux ``/proc``).

    A descendant that exited between two readings drops out of the second one, so the difference
    undercounts supervisor restarts; the benchmarks' servers do not restart during a run.
    """
    return sum(_process_tree(pid).values()) / os.sysconf("SC_CLK_TCK")


def maps_library(pid: int, name: str) -> bool:
    """Whether any process of ``pid``'s tree has a file whose path contains ``name`` mapped (e.g. the
    ``uvloop`` extension module: that process imported uvloop)."""
    for member in _process_tree(pid):
        with contextlib.suppress(OSError):
            if name in Path(f"/proc/{member}/maps").read_text():
                return True
    return False


def own_cpu_seconds() -> float:
    """This process's user + system CPU seconds (the load generator's cost)."""
    usage = os.times()
    return usage.user + usage.system


def server_probe(server: Server) -> CpuProbe:
    """A CPU probe of ``server``'s process tree."""
    pid = server.process.pid
    return lambda: process_cpu_seconds(pid)


def format_cpu(result: LoadResult) -> str:
    """``cpu ms per request: gateway 0.93, sandbox 0.21, ...`` or "" when nothing was probed."""
    if not result.cpu_ms:
        return ""
    parts = ", ".join(f"{label} {ms:.2f}" for label, ms in result.cpu_ms.items())
    return f"{result.target}: CPU ms per request: {parts}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def format_table(results: Sequence[LoadResult]) -> str:
    """The results side by side, one row per target."""
    width = max([len("target"), *(len(r.target) for r in results)]) + 2
    lines = [f"{'target':<{width}}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>9}{'requests':>10}"]
    for r in results:
        note = "  (work ran out early)" if r.exhausted else ""
        lines.append(
            f"{r.target:<{width}}{r.rps:>10.1f}{_ms(r.p50_ms):>9}{_ms(r.p99_ms):>9}{r.errors:>9}"
            f"{r.count:>10}{note}"
        )
    lines.extend(line for r in results if (line := format_cpu(r)))
    return "\n".join(lines)


def machine_facts() -> dict[str, Any]:
    """Where the figures were measured."""
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "aiohttp": aiohttp.__version__,
        "executable": sys.executable,
    }


def format_facts(facts: Mapping[str, Any]) -> str:
    """A one-line header with the machine facts."""
    return (
        f"machine: {facts['cpu_count']} CPUs, {facts['implementation']} {facts['python']}, "
        f"aiohttp {facts['aiohttp']}, {facts['platform']}"
    )


def results_name(benchmark: str, database: str) -> str:
    """``benchmark`` on SQLite, ``benchmark-<database>`` otherwise: a run on each keeps its own file."""
    return benchmark if database == "sqlite" else f"{benchmark}-{database}"


def write_results(name: str, payload: Mapping[str, Any]) -> Path:
    """Write ``payload`` (plus a timestamp) to ``bench/results/<name>.json``; returns the path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    document = {"measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **payload}
    path.write_text(json.dumps(document, indent=2, default=_jsonable) + "\n")
    return path


def _jsonable(value: Any) -> Any:
    if isinstance(value, LoadResult):
        return asdict(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


async def _postgres(admin_url: str, sql: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def scratch_database(server_url: str | None) -> Iterator[str]:
    """A database that exists only for one benchmark run, so no earlier run's keys or rows interfere.

    ``None`` gives a fresh SQLite file; a ``postgresql://`` URL names a server and a database to
    connect to as administrator: a ``bench_<random>`` database is created beside it and dropped after.
    """
    if server_url is None:
        with tempfile.TemporaryDirectory(prefix="bench-db-") as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    if not server_url.startswith("postgresql"):
        yield server_url
        return
    name = f"bench_{secrets.token_hex(4)}"
    asyncio.run(_postgres(server_url, f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server_url.rsplit('/', 1)[0]}/{name}"
    finally:
        asyncio.run(_postgres(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
