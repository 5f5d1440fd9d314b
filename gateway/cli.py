"""The ``gateway`` command (contract §0): ``up``, ``serve``, ``worker``, ``sandbox``, ``tenants create``.

``serve`` is the production shape: real operator URLs from settings, no seeding, keys required.
``worker`` runs the background workers without the public API (:mod:`gateway.worker`); ``serve``
with ``PUSH_DISPATCH_WORKER``, ``WEBHOOK_DELIVERY_WORKER`` and ``SIM_SWAP_POLL_WORKER`` false plus
N ``worker`` processes is the production topology. ``sandbox`` sends its SMS callbacks to
``SANDBOX_CALLBACK_URL`` when set.
``up`` is the embedded development default: the gateway and the sandbox operators in one process
and one event loop, SQLite under ``./var/``, generated operator credentials shared by both sides,
data keys generated once and kept in ``./var/keys.json``, a demo tenant and demo subscribers.
This is the only module that imports :mod:`sandbox`.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from gateway.app import create_app
from gateway.appkeys import RUNTIME
from gateway.clock import SystemClock
from gateway.crypto import generate_keyring_spec
from gateway.db import create_engine, migrate, session_factory
from gateway.logs import configure_logging
from gateway.loop import run as run_loop
from gateway.scopes import KNOWN_SCOPES
from gateway.serving import run_sites
from gateway.settings import OPERATORS, Settings, add_setting_flags, load_settings
from gateway.supervisor import supervise
from gateway.tenants.schemas import TenantCreate
from gateway.tenants.service import TenantService
from gateway.worker import create_worker_app
from sandbox import AppCredentials, SandboxConfig, create_sandbox_app

__all__ = ["main"]

DEMO_TENANT = "demo"
DEMO_ACTIVATED_AT = "2025-06-01T08:00:00+08:00"
"""Demo lines are long-standing, so SIM and device swap checks answer "not swapped" until a swap is
registered through the sandbox control API."""
DEMO_SUBSCRIBERS = (
    ("+8613800138000", "cmcc", "860000000000001"),
    ("+8618600186000", "cucc", "860000000000002"),
    ("+8618900189000", "ctcc", "860000000000003"),
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("up", "gateway + sandbox operators in one process (development default)"),
        ("serve", "the gateway alone (production shape)"),
        ("worker", "background workers (SMS dispatch, webhooks, SIM swap poller) without the public API"),
        ("sandbox", "the sandbox operators alone"),
    ):
        add_setting_flags(commands.add_parser(name, help=text))
    tenants = commands.add_parser("tenants", help="manage tenants").add_subparsers(
        dest="tenants_command", required=True
    )
    create = tenants.add_parser("create", help="create a tenant and print its credentials")
    create.add_argument("--name", required=True)
    create.add_argument("--scope", nargs="+", action="extend", required=True, dest="scopes")
    create.add_argument("--redirect-uri", nargs="+", action="extend", default=[], dest="redirect_uris")
    create.add_argument("--sandbox", action="store_true", help="mark the tenant as a sandbox tenant")
    create.add_argument("--json", action="store_true", help="print JSON only")
    add_setting_flags(create)
    return parser


def _embedded_keys(var_dir: Path) -> dict[str, str]:
    """Data and index keys for ``up``: generated once, kept in ``var/keys.json`` (mode 0600)."""
    path = var_dir / "keys.json"
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    var_dir.mkdir(parents=True, exist_ok=True)
    keys = {"data_keys": generate_keyring_spec(), "index_keys": generate_keyring_spec()}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(keys, handle)
    return keys


def _embedded_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Defaults of ``up`` that fill whatever the environment and flags left unset."""
    probe = load_settings(args)
    sandbox_root = f"http://{probe.host}:{probe.sandbox_port}"
    overrides: dict[str, Any] = {
        "admin_token": secrets.token_urlsafe(24),
        "allow_private_webhooks": True,
        "log_format": "console",
        "shutdown_grace_seconds": 0.0,
        **_embedded_keys(Path("var")),
    }
    for op in OPERATORS:
        overrides[f"{op}_url"] = f"{sandbox_root}/{op}"
        overrides[f"{op}_app_id"] = f"{op}-{secrets.token_hex(4)}"
        overrides[f"{op}_app_key"] = secrets.token_urlsafe(24)[:32]
    return overrides


def _sandbox_config(settings: Settings, *, callback_base_url: str | None = None) -> SandboxConfig:
    """The sandbox: the gateway's operator credentials (else fresh), callbacks to ``callback_base_url``."""
    apps = {}
    for op in OPERATORS:
        app_id, key = getattr(settings, f"{op}_app_id"), getattr(settings, f"{op}_app_key")
        if app_id and key:
            apps[op] = AppCredentials(app_id=app_id, app_key=key.get_secret_value())
    if len(apps) != len(OPERATORS):
        generated = SandboxConfig.generate()
        apps = {op: apps.get(op, generated.apps[op]) for op in OPERATORS}
    return SandboxConfig(apps=apps, callback_base_url=callback_base_url)


async def _seed_demo(gateway: web.Application, settings: Settings) -> dict[str, str]:
    """Create (or re-key) the demo tenant and register the demo subscribers in the sandbox."""
    tenants = gateway[RUNTIME].tenants
    existing = await tenants.by_name(DEMO_TENANT)
    if existing is None:
        scopes = sorted(KNOWN_SCOPES | {"dpv:FraudPreventionAndDetection"})
        callback = f"{settings.issuer}/demo/callback"
        credentials = await tenants.create(
            name=DEMO_TENANT, scopes=scopes, redirect_uris=[callback], sandbox=True
        )
    else:
        rotated = await tenants.rotate_secret(existing.id)
        if rotated is None:
            raise SystemExit("the demo tenant disappeared while seeding")
        credentials = rotated
    async with aiohttp.ClientSession() as http:
        for phone, operator, imei in DEMO_SUBSCRIBERS:
            url = f"http://{settings.host}:{settings.sandbox_port}/sandbox/subscribers"
            line = {
                "phoneNumber": phone,
                "operator": operator,
                "imei": imei,
                "activatedAt": DEMO_ACTIVATED_AT,
            }
            async with http.post(url, json=line) as resp:
                if resp.status not in (201, 409):
                    raise SystemExit(f"seeding the sandbox failed: HTTP {resp.status}")
    return credentials.as_dict()


def _banner(settings: Settings, demo: dict[str, str]) -> str:
    admin = settings.admin_token.get_secret_value() if settings.admin_token else ""
    sandbox = f"http://{settings.host}:{settings.sandbox_port}"
    lines = [
        "",
        "carrier gateway is up",
        f"  gateway          {settings.issuer}",
        f"  sandbox          {sandbox}",
        f"  database         {settings.database_url}",
        f"  admin token      {admin}",
        f"  demo client_id   {demo['client_id']}",
        f"  demo secret      {demo['client_secret']}",
        "  demo phones      " + ", ".join(f"{p} ({o})" for p, o, _ in DEMO_SUBSCRIBERS),
        "  walk-through     see README.md, 'Try it'",
        "",
    ]
    return "\n".join(lines)


async def _up(settings: Settings) -> None:
    gateway = create_app(settings)
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host  # noqa: S104 - a comparison, not a bind  # nosec B104
    callbacks = f"http://{f'[{host}]' if ':' in host else host}:{settings.port}"
    sandbox = create_sandbox_app(_sandbox_config(settings, callback_base_url=callbacks))

    async def seed() -> None:
        demo = await _seed_demo(gateway, settings)
        print(_banner(settings, demo), flush=True)

    await run_sites(
        [(sandbox, settings.host, settings.sandbox_port), (gateway, settings.host, settings.port)],
        settings,
        seed,
    )


async def _tenants_create(args: argparse.Namespace, settings: Settings) -> None:
    body = TenantCreate(
        name=args.name, scopes=args.scopes, redirect_uris=args.redirect_uris, sandbox=args.sandbox
    )
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        credentials = await TenantService(session_factory(engine), SystemClock()).create(
            name=body.name, scopes=body.scopes, redirect_uris=body.redirect_uris, sandbox=body.sandbox
        )
    finally:
        await engine.dispose()
    if args.json:
        print(json.dumps(credentials.as_dict()))
    else:
        print("\n".join(f"{k}: {v}" for k, v in credentials.as_dict().items()))


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``gateway`` console script."""
    args = _parser().parse_args(argv)
    if args.command == "up":
        settings = load_settings(args, **_embedded_overrides(args))
    else:
        settings = load_settings(args)
    configure_logging(settings.log_level, settings.log_format, sys.stderr)
    if args.command == "up":
        run_loop(_up(settings), settings.event_loop)
    elif args.command == "serve" and settings.workers > 1:
        sys.exit(supervise(settings))
    elif args.command == "serve":
        run_loop(
            run_sites([(create_app(settings), settings.host, settings.port)], settings), settings.event_loop
        )
    elif args.command == "worker" and settings.workers > 1:
        sys.exit(supervise(settings, "worker"))
    elif args.command == "worker":
        app = create_worker_app(settings)
        run_loop(run_sites([(app, settings.host, settings.worker_port)], settings), settings.event_loop)
    elif args.command == "sandbox":
        try:
            config = _sandbox_config(settings, callback_base_url=settings.sandbox_callback_url)
        except ValueError as exc:
            raise SystemExit(f"invalid sandbox settings: {exc}") from exc
        for op, creds in config.apps.items():
            print(f"GATEWAY_{op.upper()}_APP_ID={creds.app_id} GATEWAY_{op.upper()}_APP_KEY={creds.app_key}")
        app = create_sandbox_app(config)
        run_loop(run_sites([(app, settings.host, settings.sandbox_port)], settings), settings.event_loop)
    else:
        try:
            run_loop(_tenants_create(args, settings), settings.event_loop)
        except ValueError as exc:
            raise SystemExit(f"invalid tenant: {exc}") from exc
