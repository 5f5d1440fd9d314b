"""`gateway staff` as an operator runs it: the password comes from standard input (never argv), and
the accounts it creates, lists, disables and enables are the admin API's."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
GATEWAY = str(Path(sys.executable).with_name("gateway"))
PASSWORD = "correct horse battery staple"


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}


def _gateway(database: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GATEWAY, *args, "--database-url", f"sqlite:///{database}"],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=_clean_env(),
    )


def test_staff_create_list_disable_enable(tmp_path: Path) -> None:
    """`staff create` reads the password from standard input and prints the member without it;
    `staff list` shows it; `disable`/`enable` by username or id flip it; the stored password is an
    argon2id hash and the audit log names the CLI; nothing printed holds the password."""
    database = tmp_path / "gw.db"
    tenant = _gateway(database, "tenants", "create", "--name", "Bank", "--scope", "push:send", "--json")
    assert tenant.returncode == 0, tenant.stderr
    tenant_id = json.loads(tenant.stdout)["tenant_id"]

    created = _gateway(
        database,
        *("staff", "create", "--tenant", tenant_id, "--username", "Li.Na@PingAn", "--role", "supervisor"),
        "--json",
        stdin=PASSWORD + "\n",
    )
    assert created.returncode == 0, created.stderr
    member = json.loads(created.stdout)
    assert (member["username"], member["role"], member["disabled"]) == ("li.na@pingan", "supervisor", False)

    listed = _gateway(database, "staff", "list", "--tenant", tenant_id, "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == {"staff": [member]}
    plain = _gateway(database, "staff", "list", "--tenant", tenant_id)
    assert plain.returncode == 0 and f"{member['id']}  li.na@pingan  supervisor" in plain.stdout

    disabled = _gateway(
        database, "staff", "disable", "--tenant", tenant_id, "--username", "LI.NA@pingan", "--json"
    )
    assert disabled.returncode == 0 and json.loads(disabled.stdout)["disabled"] is True
    enabled = _gateway(
        database, "staff", "enable", "--tenant", tenant_id, "--staff-id", member["id"], "--json"
    )
    assert enabled.returncode == 0 and json.loads(enabled.stdout)["disabled"] is False

    with sqlite3.connect(database) as db:
        (stored,) = db.execute("SELECT password_hash FROM staff_members").fetchone()
        details = [json.loads(d) for (d,) in db.execute("SELECT detail FROM staff_audit ORDER BY id")]
    assert stored.startswith("$argon2id$")
    assert [d["via"] for d in details] == ["cli", "cli", "cli"]
    for run in (created, listed, plain, disabled, enabled):
        assert PASSWORD not in run.stdout + run.stderr


def test_staff_create_refusals(tmp_path: Path) -> None:
    """A password cannot be given as an argument; a weak or empty password, a taken username, an
    unknown tenant or branch each exit non-zero with the reason and create nothing more."""
    database = tmp_path / "gw.db"
    tenant = _gateway(database, "tenants", "create", "--name", "Bank", "--scope", "push:send", "--json")
    tenant_id = json.loads(tenant.stdout)["tenant_id"]
    create = ("staff", "create", "--tenant", tenant_id, "--username", "wang.fang", "--role", "teller")
    assert _gateway(database, *create, stdin=PASSWORD).returncode == 0

    as_argument = _gateway(database, *create, "--password", PASSWORD)
    assert as_argument.returncode == 2 and "unrecognized arguments" in as_argument.stderr
    for stdin, args, reason in (
        ("Password2025!\n", ("--username", "other.one"), "common password"),
        ("\n", ("--username", "other.one"), "no password"),
        (PASSWORD + "\n", (), "already taken"),
        (
            PASSWORD + "\n",
            ("--username", "other.one", "--branch", "no-such-branch"),
            "not branches of this tenant",
        ),
    ):
        refused = _gateway(database, *create, *args, stdin=stdin)
        assert refused.returncode == 1, refused.stdout
        assert "staff create refused" in refused.stderr and reason in refused.stderr, refused.stderr
        assert stdin.strip() == "" or stdin.strip() not in refused.stderr
    unknown = _gateway(
        database,
        "staff",
        "create",
        "--tenant",
        "nope",
        "--username",
        "x.y.z",
        "--role",
        "admin",
        stdin=PASSWORD,
    )
    assert unknown.returncode == 1 and "not found" in unknown.stderr
    missing = _gateway(database, "staff", "disable", "--tenant", tenant_id, "--username", "nobody")
    assert missing.returncode == 1 and "no such staff account" in missing.stderr
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT username FROM staff_members").fetchall() == [("wang.fang",)]
