"""The ``gateway`` command (contract §0): ``up``, ``serve``, ``worker``, ``sandbox``, ``tenants create``,
``staff`` (:mod:`gateway.staff.cli`).

``serve`` is the production shape: real operator URLs from settings, no seeding, keys required.
``worker`` runs the background workers without the public API (:mod:`gateway.worker`); ``serve``
with ``PUSH_DISPATCH_WORKER``, ``WEBHOOK_DELIVERY_WORKER`` and ``SIM_SWAP_POLL_WORKER`` false plus
N ``worker`` processes is the production topology. ``sandbox`` sends its SMS callbacks to
``SANDBOX_CALLBACK_URL`` when set.
``up`` is the embedded development default: the gateway and the sandbox operators in one process
and one event loop, generated operator credentials shared by both sides, a demo tenant and demo
subscribers; what it keeps between starts lives under ``./var/`` (:mod:`gateway.demo_state`).
This is the only module that imports :mod:`sandbox`.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from gateway.app import create_app
from gateway.appkeys import RUNTIME
from gateway.clock import SystemClock
from gateway.db import create_engine, migrate, session_factory
from gateway.demo_state import (
    DemoStaff,
    DemoTenant,
    embedded_keys,
    ensure_demo_staff,
    ensure_demo_tenant,
    reset_embedded_state,
)
from gateway.logs import configure_logging
from gateway.loop import run as run_loop
from gateway.sandbox_link import SANDBOX_PROTOCOLS, sandbox_accounts, sgip_listener, sms_url
from gateway.scopes import KNOWN_SCOPES
from gateway.serving import run_sites
from gateway.settings import OPERATORS, Settings, add_setting_flags, load_settings
from gateway.staff.cli import StaffCommandFailed, add_staff_commands, run_staff_command
from gateway.staff.service import StaffDirectory
from gateway.supervisor import supervise
from gateway.tenants.schemas import TenantCreate
from gateway.tenants.service import TenantService
from gateway.worker import create_worker_app
from sandbox import AppCredentials, SandboxConfig, SmscAccount, create_sandbox_app, smsc_listeners

__all__ = ["main"]

_SGIP_LISTENER_PORT = 8802
"""Where `up`'s gateway listens for the sandbox SGIP SMG's reports and replies."""

VAR_DIR = Path("var")
DEMO_TENANT = "demo"
DEMO_STAFF = "admin@demo"
"""The demo tenant's console admin; its password is generated and kept in ``var/demo-staff.json``."""
DEMO_ACTIVATED_AT = "2025-06-01T08:00:00+08:00"
"""Demo lines are long-standing, so SIM and device swap checks answer "not swapped" until a swap is
registered through the sandbox control API."""
DEMO_SUBSCRIBERS = (
    ("+8613800138000", "cmcc", "860000000000001"),
    ("+8618600186000", "cucc", "860000000000002"),
    ("+8618900189000", "ctcc", "860000000000003"),
)


_UP_DESCRIPTION = """\
The gateway and the sandbox operators in one process: the development default (`make run`).

Every start prints the URLs, a new admin token, the demo tenant's client_id and secret, the
staff console's demo admin (admin@demo; its password is in var/demo-staff.json, never printed),
and `export` lines to paste into bash or zsh. What is kept between starts lives under ./var/:
  var/gateway.db         the SQLite database (unless GATEWAY_DATABASE_URL names another)
  var/keys.json          the data and index keys (mode 0600)
  var/demo-tenant.json   the demo tenant's client_id and secret (mode 0600)
  var/demo-staff.json    the demo console admin's username and password (mode 0600)
The demo tenant keeps its secret, and the console admin its password, across restarts. The
sandbox operators keep their state in memory: each start registers the demo subscribers again,
with no faults. Clear faults without restarting:
  curl --fail-with-body -X DELETE "$SB/sandbox/faults"
`gateway up --reset` (`make reset`) deletes those four files, then starts fresh: a new demo tenant
with a new secret and a new console password. It refuses to touch a database outside var/.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser(
        "up",
        help="gateway + sandbox operators in one process (development default)",
        description=_UP_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    up.add_argument(
        "--reset",
        action="store_true",
        help="start over: delete the demo database, keys and demo credentials under var/ first",
    )
    add_setting_flags(up)
    for name, text in (
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
    create.add_argument(
        "--jwks-file",
        type=Path,
        help="the client's public JWKS (JSON file): private_key_jwt and signed request objects",
    )
    create.add_argument(
        "--id-token-alg", choices=("ES256", "RS256"), help="the algorithm of its ID tokens (default RS256)"
    )
    create.add_argument(
        "--signed-requests-only",
        action="store_true",
        help="accept this client's authorization and CIBA requests only as signed request objects "
        "(needs --jwks-file)",
    )
    create.add_argument("--json", action="store_true", help="print JSON only")
    add_setting_flags(create)
    add_staff_commands(commands)
    return parser


def _embedded_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Defaults of ``up`` that fill whatever the environment and flags left unset; with ``--reset``
    the kept state is deleted first."""
    probe = load_settings(args)
    if args.reset:
        for path in reset_embedded_state(VAR_DIR, probe.database_url):
            print(f"deleted {path}", file=sys.stderr)
    sandbox_root = f"http://{probe.host}:{probe.sandbox_port}"
    overrides: dict[str, Any] = {
        "admin_token": secrets.token_urlsafe(24),
        "allow_private_webhooks": True,
        "log_format": "console",
        "shutdown_grace_seconds": 0.0,
        **embedded_keys(VAR_DIR),
    }
    overrides["cards_url"] = f"{sandbox_root}/cards"
    for op in OPERATORS:
        overrides[f"{op}_url"] = f"{sandbox_root}/{op}"
        overrides[f"{op}_app_id"] = f"{op}-{secrets.token_hex(4)}"
        overrides[f"{op}_app_key"] = secrets.token_urlsafe(24)[:32]
    for op, protocol in SANDBOX_PROTOCOLS.items():
        port = getattr(probe, f"sandbox_{protocol}_port")
        listen = {"listen": f"127.0.0.1:{_SGIP_LISTENER_PORT}"} if protocol == "sgip" else {}
        overrides[f"{op}_sms_url"] = sms_url(op, SmscAccount.generate(op), "127.0.0.1", port, **listen)
    return overrides


def _sandbox_config(settings: Settings, *, callback_base_url: str | None = None) -> SandboxConfig:
    """The sandbox: the gateway's operator credentials and SMS accounts (else fresh), callbacks to
    ``callback_base_url``, its SMS gateways on the configured ports."""
    apps = {}
    for op in OPERATORS:
        app_id, key = getattr(settings, f"{op}_app_id"), getattr(settings, f"{op}_app_key")
        if app_id and key:
            apps[op] = AppCredentials(app_id=app_id, app_key=key.get_secret_value())
    generated = SandboxConfig.generate()
    if len(apps) != len(OPERATORS):
        apps = {op: apps.get(op, generated.apps[op]) for op in OPERATORS}
    return SandboxConfig(
        apps=apps,
        callback_base_url=callback_base_url,
        smsc_accounts={**generated.smsc_accounts, **sandbox_accounts(settings)},
        cmpp_port=settings.sandbox_cmpp_port,
        sgip_port=settings.sandbox_sgip_port,
        smgp_port=settings.sandbox_smgp_port,
        smpp_port=settings.sandbox_smpp_port,
        sgip_sp_listener=sgip_listener(settings),
    )


async def _seed_demo(gateway: web.Application, settings: Settings) -> tuple[DemoTenant, DemoStaff]:
    """Ensure the demo tenant (:func:`ensure_demo_tenant`) and its console admin
    (:func:`ensure_demo_staff`), and register the demo subscribers in the sandbox."""
    runtime = gateway[RUNTIME]
    demo = await ensure_demo_tenant(
        runtime.tenants,
        VAR_DIR,
        name=DEMO_TENANT,
        scopes=sorted(KNOWN_SCOPES | {"dpv:FraudPreventionAndDetection"}),
        redirect_uri=f"{settings.issuer}/demo/callback",
    )
    directory = StaffDirectory(runtime.sessions, audit=runtime.audit, clock=runtime.clock, via="cli")
    staff = await ensure_demo_staff(
        directory, runtime.staff, VAR_DIR, tenant_id=demo.credentials.tenant_id, username=DEMO_STAFF
    )
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
        await _demo_sso(gateway, settings, http, directory, demo.credentials.tenant_id)
    return demo, staff


async def _demo_sso(
    gateway: web.Application,
    settings: Settings,
    http: aiohttp.ClientSession,
    directory: StaffDirectory,
    tenant_id: str,
) -> None:
    """Give the demo tenant the sandbox's bank identity provider (docs/console.md, "Single sign-on")
    and link the demo admin to its employee ``employee-0001``; the sandbox forgets its clients on a
    restart, so this registers a new one each time (the issuer, and so the link, stays)."""
    sandbox = f"http://{_authority(settings)}:{settings.sandbox_port}/bank-idp"
    body = {"redirect_uris": [f"{settings.issuer.rstrip('/')}/console/sso/callback"]}
    async with http.post(f"{sandbox}/sandbox/clients", json=body) as resp:
        if resp.status != 201:
            raise SystemExit(f"seeding the sandbox's bank identity provider failed: HTTP {resp.status}")
        client = await resp.json()
    await gateway[RUNTIME].console.sso.configs.put(
        tenant_id, issuer=sandbox, client_id=client["client_id"], client_secret=client["client_secret"]
    )
    for member in await directory.list(tenant_id):
        if member.username == DEMO_STAFF and member.sso_subject is None:
            await directory.link_sso(tenant_id, member.id, "employee-0001")


def _authority(settings: Settings) -> str:
    """Where this machine reaches its own listeners: the bound host, or loopback for a wildcard bind."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host  # noqa: S104 - a comparison, not a bind  # nosec B104
    return f"[{host}]" if ":" in host else host


def _console_line(settings: Settings, staff: DemoStaff) -> str:
    """Where the console is and who signs in (the password stays in its file)."""
    if staff.password_file is None:
        return f"  demo console     {settings.issuer}/console/ ({staff.username}: {staff.origin})"
    return (
        f"  demo console     {settings.issuer}/console/ as {staff.username}, password: "
        f"jq -r .password {staff.password_file} ({staff.origin})"
    )


def _banner(settings: Settings, demo: DemoTenant, staff: DemoStaff, sandbox: str) -> str:
    admin = settings.admin_token.get_secret_value() if settings.admin_token else ""
    credentials = demo.credentials
    exports = {
        "GW": settings.issuer,
        "SB": sandbox,
        "CLIENT_ID": credentials.client_id,
        "CLIENT_SECRET": credentials.client_secret,
    }
    lines = [
        "",
        "carrier gateway is up",
        f"  gateway          {settings.issuer}",
        f"  sandbox          {sandbox}",
        f"  database         {settings.database_url}",
        f"  admin token      {admin}",
        f"  demo client_id   {credentials.client_id}",
        f"  demo secret      {credentials.client_secret}",
        f"  demo tenant      {demo.origin}; `gateway up --reset` (make reset) starts over",
        _console_line(settings, staff),
        f"  bank SSO         {settings.issuer}/console/?tenant={credentials.tenant_id} "
        "(the sandbox's bank identity provider; admin@demo is employee-0001)",
        "  demo phones      " + ", ".join(f"{p} ({o})" for p, o, _ in DEMO_SUBSCRIBERS),
        "  walk-through     see README.md, 'Try it'",
        "",
        "Paste into your shell (bash or zsh) for the walk-through:",
        *(f"export {name}={shlex.quote(value)}" for name, value in exports.items()),
        "",
    ]
    return "\n".join(lines)


async def _up(settings: Settings) -> None:
    gateway = create_app(settings)
    authority = _authority(settings)
    callbacks = f"http://{authority}:{settings.port}"
    sandbox = create_sandbox_app(_sandbox_config(settings, callback_base_url=callbacks))

    async def seed() -> None:
        demo, staff = await _seed_demo(gateway, settings)
        print(_banner(settings, demo, staff, f"http://{authority}:{settings.sandbox_port}"), flush=True)
        for op, smsc in smsc_listeners(sandbox).items():
            print(f"  {op} SMS gateway  {smsc['protocol']} on {smsc['host']}:{smsc['port']}", flush=True)

    await run_sites(
        [(sandbox, settings.host, settings.sandbox_port), (gateway, settings.host, settings.port)],
        settings,
        seed,
    )


async def _tenants_create(args: argparse.Namespace, settings: Settings) -> None:
    """Create the tenant ``args`` describe, checked exactly as ``POST /admin/tenants`` checks it.

    :raises ValueError: the tenant is invalid, or the JWKS file cannot be read as JSON.
    """
    jwks = None
    if args.jwks_file is not None:
        try:
            jwks = json.loads(args.jwks_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read {args.jwks_file}: {exc}") from exc
    body = TenantCreate(
        name=args.name,
        scopes=args.scopes,
        redirect_uris=args.redirect_uris,
        sandbox=args.sandbox,
        jwks=jwks,
        id_token_signed_response_alg=args.id_token_alg,
        require_signed_request_object=args.signed_requests_only,
    )
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        credentials = await TenantService(session_factory(engine), SystemClock()).create(
            name=body.name,
            scopes=body.scopes,
            redirect_uris=body.redirect_uris,
            jwks=body.jwks,
            sandbox=body.sandbox,
            id_token_signed_response_alg=body.id_token_signed_response_alg,
            require_signed_request_object=body.require_signed_request_object,
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

        async def print_smsc() -> None:
            for op, smsc in smsc_listeners(app).items():
                secret = config.smsc_accounts[op].secret
                sgip = (
                    f" corp id {smsc['corpId']}, dials the SP listener {smsc['spListener'] or 'none yet'}"
                    if "spListener" in smsc
                    else ""
                )
                print(
                    f"{op} SMS gateway: {smsc['protocol']}://{smsc['login']}:{secret}@{smsc['host']}:{smsc['port']}"
                    f" access number {smsc['accessNumber']}{sgip}",
                    flush=True,
                )

        run_loop(
            run_sites([(app, settings.host, settings.sandbox_port)], settings, print_smsc),
            settings.event_loop,
        )
    elif args.command == "staff":
        try:
            print(run_loop(run_staff_command(args, settings, sys.stdin), settings.event_loop))
        except StaffCommandFailed as exc:
            raise SystemExit(f"staff {args.staff_command} refused: {exc}") from exc
    else:
        try:
            run_loop(_tenants_create(args, settings), settings.event_loop)
        except ValueError as exc:
            raise SystemExit(f"invalid tenant: {exc}") from exc
