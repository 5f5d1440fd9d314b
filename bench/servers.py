"""The servers of a benchmark run: fresh credentials, then sandbox, gateway and pass-through baseline.

Each server runs in its own subprocess on 127.0.0.1 (see :func:`bench._harness.running`): the
sandbox operators (``gateway sandbox``), the gateway (``gateway serve``, optionally with several
worker processes sharing Redis) and the bare aiohttp pass-through (:mod:`bench.passthrough`) to
the same sandbox operator, which is the baseline every benchmark compares with.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import secrets
import string
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bench._harness import Server, child_env, env_pairs, free_port, gateway_executable, running

__all__ = [
    "OPERATORS",
    "Credentials",
    "ServerOptions",
    "Stack",
    "open_stack",
    "start_baseline",
    "start_gateway",
    "start_sandbox",
]

OPERATORS = ("cmcc", "cucc", "ctcc")


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


def _sandbox(
    creds: Credentials, args: ServerOptions, log_dir: Path, *, callback_base_url: str | None = None
) -> contextlib.AbstractAsyncContextManager[Server]:
    port = free_port()
    env = child_env(
        {"GATEWAY_SANDBOX_PORT": str(port), "GATEWAY_LOG_LEVEL": "warning", **creds.operator_env()}
    )
    argv = [gateway_executable(), "sandbox"]
    if callback_base_url is not None:  # `gateway sandbox` has no callback setting
        argv = [sys.executable, "-m", "bench.callback_sandbox", "--port", str(port)]
        argv += ["--callback-base-url", callback_base_url]
    return running(
        "sandbox",
        argv,
        port=port,
        health_path="/sandbox/healthz",
        env=env,
        log_dir=log_dir,
        startup_timeout=args.startup_timeout,
    )


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
        **({"GATEWAY_REDIS_URL": args.redis_url} if args.workers > 1 else {}),
        **creds.operator_env(sandbox.base_url),
        **(env or {}),
        **env_pairs(args.gateway_env),
    }
    return running(
        name,
        [gateway_executable(), "serve"],
        port=port,
        health_path="/readyz",
        env=child_env(settings),
        log_dir=log_dir,
        startup_timeout=args.startup_timeout,
    )


def _baseline(
    creds: Credentials, sandbox: Server, operator: str, args: ServerOptions, log_dir: Path
) -> contextlib.AbstractAsyncContextManager[Server]:
    port = free_port()
    app_id, app_key = creds.apps[operator]
    argv = [sys.executable, "-m", "bench.passthrough", "--port", str(port)]
    argv += ["--upstream", f"{sandbox.base_url}/{operator}", "--app-id", app_id, "--app-key", app_key]
    return running(
        "baseline",
        argv,
        port=port,
        health_path="/healthz",
        env=child_env({}),
        log_dir=log_dir,
        startup_timeout=args.startup_timeout,
    )


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
"""The sandbox alone; with ``callback_base_url`` it POSTs delivery reports there."""
start_gateway = _gateway
"""One gateway; ``port`` fixes its port (e.g. the sandbox's callback target), ``env`` adds settings
that ``--gateway-env`` still overrides, ``name`` names its log file."""
start_baseline = _baseline
"""The pass-through baseline forwarding to one sandbox operator."""
