"""The servers of a benchmark run: fresh credentials, then sandbox, gateway and pass-through baseline.

Each server runs in its own subprocess on 127.0.0.1 (see :func:`bench._harness.running`): the
sandbox operators (``gateway sandbox``), the gateway (``gateway serve``, optionally with several
worker processes sharing Redis) and the bare aiohttp pass-through (:mod:`bench.passthrough`) to
the same sandbox operator, which is the baseline every benchmark compares with. All of them run on
the event loop ``--loop`` names, and each is checked to actually do so once it answers (a server on
another loop fails the run's set-up).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import secrets
import string
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import Field, asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from bench._harness import (
    CpuProbe,
    HarnessError,
    Server,
    child_env,
    env_pairs,
    free_port,
    gateway_executable,
    maps_library,
    running,
    server_probe,
)

__all__ = [
    "LOOPS",
    "OPERATORS",
    "Credentials",
    "RunOptions",
    "ServerOptions",
    "Stack",
    "add_scaling_argument",
    "check_loop",
    "open_stack",
    "parse_counts",
    "start_baseline",
    "start_gateway",
    "start_sandbox",
]

OPERATORS = ("cmcc", "cucc", "ctcc")
LOOPS = ("uvloop", "asyncio")


class ServerOptions(Protocol):
    """The command-line options that shape the servers."""

    @property
    def workers(self) -> int: ...
    @property
    def redis_url(self) -> str: ...
    @property
    def gateway_env(self) -> list[str]: ...
    @property
    def startup_timeout(self) -> float: ...
    @property
    def loop(self) -> str: ...


class RunOptions:
    """Base of a benchmark's options dataclass (the fields of :func:`add_run_arguments` and its own)."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    def public(self) -> dict[str, Any]:
        """The options worth recording, without the database URL (it may hold a password)."""
        return {key: value for key, value in asdict(self).items() if key != "database_url"}


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every benchmark shares: closed-loop load and the servers (see :class:`ServerOptions`)."""
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per target")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per target (not measured)")
    parser.add_argument("--rounds", type=int, default=3, help="measure each target N times; report medians")
    parser.add_argument(
        "--database-url",
        help="gateway database server (default: fresh SQLite files), e.g. postgresql://127.0.0.1:5432/db",
    )
    parser.add_argument("--workers", type=int, default=1, help="gateway processes (`serve --workers`)")
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/14",
        help="shared single-use markers and rate limits, used when --workers > 1",
    )
    parser.add_argument(
        "--gateway-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra gateway setting (repeatable)",
    )
    parser.add_argument("--startup-timeout", type=float, default=60.0, help="seconds to wait for each server")
    parser.add_argument(
        "--loop",
        choices=LOOPS,
        default="uvloop",
        help="event loop of every process of the run: gateway, sandbox, baseline and load generator",
    )


def add_scaling_argument(parser: argparse.ArgumentParser) -> None:
    """``--workers-list 1,2,4``: the whole benchmark once per gateway process count, side by side."""
    parser.add_argument(
        "--workers-list",
        type=parse_counts,
        metavar="N,N,...",
        help="run once per gateway process count (overrides --workers), each on fresh databases",
    )


def parse_counts(text: str) -> list[int]:
    """``"1,2,4"`` as ``[1, 2, 4]``: distinct positive process counts, in the order given.

    :raises argparse.ArgumentTypeError: for anything else (an ``argparse`` ``type=``).
    """
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated process counts, got {text!r}") from None
    if not counts or min(counts) < 1 or len(set(counts)) != len(counts):
        raise argparse.ArgumentTypeError(f"expected distinct process counts >= 1, got {text!r}")
    return counts


@dataclass(frozen=True)
class Credentials:
    """Fresh secrets for one run: operator app registrations, admin token, field-encryption keys."""

    apps: Mapping[str, tuple[str, str]]  # operator -> (app id, app key)
    admin_token: str
    data_keys: str
    index_keys: str

    @classmethod
    def generate(cls) -> Credentials:
        alnum = string.ascii_letters + string.digits

        def app() -> tuple[str, str]:
            app_id = str(secrets.choice(range(1, 10))) + "".join(
                secrets.choice(string.digits) for _ in range(11)
            )
            return app_id, "".join(secrets.choice(alnum) for _ in range(32))

        return cls(
            apps={op: app() for op in OPERATORS},
            admin_token=secrets.token_urlsafe(32),
            data_keys=_keyring(),
            index_keys=_keyring(),
        )

    def operator_env(self, sandbox_url: str | None = None) -> dict[str, str]:
        """``GATEWAY_<OP>_APP_ID/_APP_KEY`` (and ``_URL`` pointing at the sandbox, when given)."""
        env: dict[str, str] = {}
        for op, (app_id, app_key) in self.apps.items():
            env[f"GATEWAY_{op.upper()}_APP_ID"] = app_id
            env[f"GATEWAY_{op.upper()}_APP_KEY"] = app_key
            if sandbox_url is not None:
                env[f"GATEWAY_{op.upper()}_URL"] = f"{sandbox_url}/{op}"
        return env


def _keyring() -> str:
    """``v1:<urlsafe base64 of 32 random bytes>`` (unpadded, as ``gateway.crypto`` writes them)."""
    return "v1:" + base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


@dataclass
class Stack:
    """The three servers of a run."""

    sandbox: Server
    gateway: Server
    baseline: Server

    def cpu_probes(self, target: str) -> dict[str, CpuProbe]:
        """CPU probes of ``target`` (``gateway`` or ``baseline``) and of the sandbox behind it."""
        server = self.gateway if target == "gateway" else self.baseline
        return {target: server_probe(server), "sandbox": server_probe(self.sandbox)}


def check_loop(server: Server, loop: str) -> None:
    """Fail unless ``server`` runs on ``loop``: uvloop is mapped in its processes iff ``loop`` is uvloop.

    :raises HarnessError: e.g. when a gateway ignores ``GATEWAY_EVENT_LOOP``; the figures would compare
        unlike event loops.
    """
    on_uvloop = maps_library(server.process.pid, "uvloop")
    if on_uvloop != (loop == "uvloop"):
        found = "uvloop" if on_uvloop else "asyncio's loop (uvloop not loaded)"
        raise HarnessError(
            f"{server.name} runs on {found}, not on --loop {loop}: the run's servers would not share "
            "one event loop kind (does `gateway` honour GATEWAY_EVENT_LOOP?)"
        )


@contextlib.asynccontextmanager
async def _on_loop(
    starting: contextlib.AbstractAsyncContextManager[Server], loop: str
) -> AsyncIterator[Server]:
    async with starting as server:
        check_loop(server, loop)
        yield server


def _sandbox(
    creds: Credentials,
    args: ServerOptions,
    log_dir: Path,
    *,
    callback_base_url: str | None = None,
    env: Mapping[str, str] | None = None,
) -> contextlib.AbstractAsyncContextManager[Server]:
    port = free_port()
    settings = child_env(
        {
            "GATEWAY_SANDBOX_PORT": str(port),
            "GATEWAY_LOG_LEVEL": "warning",
            "GATEWAY_EVENT_LOOP": args.loop,
            **({"GATEWAY_SANDBOX_CALLBACK_URL": callback_base_url} if callback_base_url else {}),
            **creds.operator_env(),
            **(env or {}),
        }
    )
    starting = running(
        "sandbox",
        [gateway_executable(), "sandbox"],
        port=port,
        health_path="/sandbox/healthz",
        env=settings,
        log_dir=log_dir,
        startup_timeout=args.startup_timeout,
    )
    return _on_loop(starting, args.loop)


def _gateway(
    creds: Credentials,
    sandbox: Server,
    database_url: str,
    args: ServerOptions,
    log_dir: Path,
    *,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
    name: str = "gateway",
    launcher: Sequence[str] = (),
) -> contextlib.AbstractAsyncContextManager[Server]:
    port = free_port() if port is None else port
    settings = {
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(port),
        "GATEWAY_DATABASE_URL": database_url,
        "GATEWAY_ADMIN_TOKEN": creds.admin_token,
        "GATEWAY_DATA_KEYS": creds.data_keys,
        "GATEWAY_INDEX_KEYS": creds.index_keys,
        "GATEWAY_LOG_LEVEL": "warning",
        "GATEWAY_WORKERS": str(args.workers),
        "GATEWAY_EVENT_LOOP": args.loop,
        **({"GATEWAY_REDIS_URL": args.redis_url} if args.workers > 1 else {}),
        **creds.operator_env(sandbox.base_url),
        **(env or {}),
        **env_pairs(args.gateway_env),
    }
    starting = running(
        name,
        [*launcher, gateway_executable(), "serve"],
        port=port,
        health_path="/readyz",
        env=child_env(settings),
        log_dir=log_dir,
        startup_timeout=args.startup_timeout,
    )
    return _on_loop(starting, args.loop)


def _baseline(
    creds: Credentials,
    sandbox: Server,
    operator: str,
    args: ServerOptions,
    log_dir: Path,
    *,
    launcher: Sequence[str] = (),
) -> contextlib.AbstractAsyncContextManager[Server]:
    port = free_port()
    app_id, app_key = creds.apps[operator]
    argv = [*launcher, sys.executable, "-m", "bench.passthrough", "--port", str(port)]
    argv += ["--upstream", f"{sandbox.base_url}/{operator}", "--app-id", app_id, "--app-key", app_key]
    argv += ["--loop", args.loop]
    starting = running(
        "baseline",
        argv,
        port=port,
        health_path="/healthz",
        env=child_env({}),
        log_dir=log_dir,
        startup_timeout=args.startup_timeout,
    )
    return _on_loop(starting, args.loop)


@contextlib.asynccontextmanager
async def open_stack(
    creds: Credentials, database_url: str, args: ServerOptions, *, operator: str, log_dir: Path
) -> AsyncIterator[Stack]:
    """Start sandbox, gateway and baseline (forwarding to ``operator``); stop them on exit."""
    async with contextlib.AsyncExitStack() as stack:
        sandbox = await stack.enter_async_context(_sandbox(creds, args, log_dir))
        gateway = await stack.enter_async_context(_gateway(creds, sandbox, database_url, args, log_dir))
        baseline = await stack.enter_async_context(_baseline(creds, sandbox, operator, args, log_dir))
        yield Stack(sandbox=sandbox, gateway=gateway, baseline=baseline)


start_sandbox = _sandbox
"""The sandbox alone; with ``callback_base_url`` it POSTs delivery reports there; ``env`` adds settings
(e.g. the SMS gateways' accounts as ``GATEWAY_<OP>_SMS_URL`` and their ports)."""
start_gateway = _gateway
"""One gateway; ``port`` fixes its port (e.g. the sandbox's callback target), ``env`` adds settings
that ``--gateway-env`` still overrides, ``name`` names its log file, ``launcher`` runs it under
another program (e.g. ``valgrind``)."""
start_baseline = _baseline
"""The pass-through baseline forwarding to one sandbox operator (``launcher`` as for the gateway)."""
