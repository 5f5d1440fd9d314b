"""``gateway staff``: create, list, disable and enable a tenant's staff accounts, and link them to
their subject at the tenant's identity provider (``link-sso``), from a shell.

The commands work on the configured database (``--database-url`` / ``GATEWAY_DATABASE_URL``) with
the same rules as the admin API, and need no data keys. A password is never an argument (the
process list and the shell history would show it): ``create`` asks for it twice on a terminal, or
reads one line from standard input otherwise (``printf '%s\\n' "$PASSWORD" | gateway staff create
…``). Audit entries of these commands say ``"via": "cli"``.
"""

from __future__ import annotations

import argparse
import getpass
import json
from typing import Any, TextIO

from gateway.clock import SystemClock
from gateway.db import create_engine, migrate, session_factory
from gateway.errors import ApiError
from gateway.settings import Settings, add_setting_flags
from gateway.staff import Role, StaffMember
from gateway.staff.audit import StaffAudit
from gateway.staff.schemas import member_json
from gateway.staff.service import StaffDirectory, normal_username

__all__ = ["StaffCommandFailed", "add_staff_commands", "read_password", "run_staff_command"]


class StaffCommandFailed(Exception):
    """The command was refused; the message says why (never with the password)."""


def add_staff_commands(commands: Any) -> None:
    """Add ``staff create|list|disable|enable|link-sso`` to the ``gateway`` subcommands."""
    staff = commands.add_parser("staff", help="manage a tenant's staff accounts (console sign-in)")
    actions = staff.add_subparsers(dest="staff_command", required=True)
    create = actions.add_parser(
        "create",
        help="create a staff account (the password is asked for, or read from standard input)",
    )
    create.add_argument("--tenant", required=True, help="the tenant's id")
    create.add_argument("--username", required=True, help="3-64 of a-z 0-9 . _ @ - (stored in lower case)")
    create.add_argument("--role", required=True, choices=[role.value for role in Role])
    create.add_argument(
        "--branch", action="append", default=[], dest="branches", help="a branch id the member serves"
    )
    listing = actions.add_parser("list", help="list a tenant's staff accounts")
    listing.add_argument("--tenant", required=True, help="the tenant's id")
    parsers = [create, listing]
    for name, text in (
        ("disable", "refuse an account's sign-in"),
        ("enable", "let an account sign in again"),
        ("link-sso", "link an account to its subject (sub) at the tenant's identity provider"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("--tenant", required=True, help="the tenant's id")
        which = action.add_mutually_exclusive_group(required=True)
        which.add_argument("--username", help="the account's username")
        which.add_argument("--staff-id", help="the account's id")
        parsers.append(action)
    link = parsers[-1].add_mutually_exclusive_group(required=True)
    link.add_argument("--subject", help="the member's sub claim at the provider")
    link.add_argument("--unlink", action="store_true", help="remove the link")
    for parser in parsers:
        parser.add_argument("--json", action="store_true", help="print JSON only")
        add_setting_flags(parser)


def read_password(stdin: TextIO) -> str:
    """The new password: asked twice on a terminal, else the first line of ``stdin``.

    :raises StaffCommandFailed: empty, or the two entries differ.
    """
    if stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            raise StaffCommandFailed("the two passwords differ")
    else:
        password = stdin.readline().removesuffix("\n").removesuffix("\r")
    if not password:
        raise StaffCommandFailed("no password given (type it when asked, or send it on standard input)")
    return password


async def run_staff_command(args: argparse.Namespace, settings: Settings, stdin: TextIO) -> str:
    """Run ``gateway staff <command>``; returns what to print.

    :raises StaffCommandFailed: the command was refused (unknown tenant or account, a taken
        username, a password or branch the rules refuse).
    """
    password = read_password(stdin) if args.staff_command == "create" else None
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        sessions = session_factory(engine)
        clock = SystemClock()
        directory = StaffDirectory(sessions, audit=StaffAudit(sessions, clock=clock), clock=clock, via="cli")
        try:
            if args.staff_command == "create" and password is not None:
                member = await directory.create(
                    args.tenant,
                    username=args.username,
                    password=password,
                    role=Role(args.role),
                    branches=args.branches,
                )
                return _show([member], args.json, single=True)
            if args.staff_command == "list":
                return _show(await directory.list(args.tenant), args.json, single=False)
            staff_id = args.staff_id or await _by_username(directory, args.tenant, args.username)
            if args.staff_command == "link-sso":
                subject = None if args.unlink else args.subject
                linked = await directory.link_sso(args.tenant, staff_id, subject)
                return _show([linked], args.json, single=True)
            change = directory.disable if args.staff_command == "disable" else directory.enable
            return _show([await change(args.tenant, staff_id)], args.json, single=True)
        except ApiError as exc:
            raise StaffCommandFailed(exc.message) from exc
    finally:
        await engine.dispose()


async def _by_username(directory: StaffDirectory, tenant_id: str, username: str) -> str:
    wanted = normal_username(username)
    for member in await directory.list(tenant_id):
        if member.username == wanted:
            return member.id
    raise StaffCommandFailed("no such staff account in this tenant")


def _show(members: list[StaffMember], as_json: bool, *, single: bool) -> str:
    if as_json:
        bodies = [member_json(m) for m in members]
        return json.dumps(bodies[0] if single else {"staff": bodies}, ensure_ascii=False)
    lines = [
        f"{m.id}  {m.username}  {m.role.value}"
        f"{'  disabled' if m.disabled else ''}{'  totp' if m.totp_enabled else ''}"
        f"  branches: {', '.join(m.branches) or '-'}"
        f"{f'  sso: {m.sso_subject}' if m.sso_subject else ''}"
        for m in members
    ]
    return "\n".join(lines) if lines else "no staff accounts"
