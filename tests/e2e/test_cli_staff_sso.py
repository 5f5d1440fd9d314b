"""`gateway staff link-sso` links an account to its subject at the tenant's identity provider, as
the admin API does: by username or id, shown by `staff list`, refused for a subject another member
of the tenant has or that is not printable ASCII, and `--unlink` removes it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.test_cli_staff import PASSWORD, _gateway

pytestmark = pytest.mark.e2e


def test_staff_link_sso_links_and_unlinks(tmp_path: Path) -> None:
    """link-sso by username prints the member with ``ssoSubject``; list shows ``sso: <subject>``; the
    same subject for a second member is refused (exit 1, the reason); --unlink clears it."""
    database = tmp_path / "gw.db"
    tenant = _gateway(database, "tenants", "create", "--name", "Bank", "--scope", "push:send", "--json")
    assert tenant.returncode == 0, tenant.stderr
    tenant_id = json.loads(tenant.stdout)["tenant_id"]
    members = []
    for username in ("li.na@bank", "wang.fang@bank"):
        created = _gateway(
            database,
            *("staff", "create", "--tenant", tenant_id, "--username", username, "--role", "teller", "--json"),
            stdin=PASSWORD + "\n",
        )
        assert created.returncode == 0, created.stderr
        members.append(json.loads(created.stdout))

    base = ("staff", "link-sso", "--tenant", tenant_id)
    linked = _gateway(database, *base, "--username", "li.na@bank", "--subject", "E-0042", "--json")
    assert linked.returncode == 0, linked.stderr
    assert json.loads(linked.stdout)["ssoSubject"] == "E-0042"
    listed = _gateway(database, "staff", "list", "--tenant", tenant_id)
    assert "li.na@bank  teller  branches: -  sso: E-0042" in listed.stdout, listed.stdout

    taken = _gateway(database, *base, "--staff-id", members[1]["id"], "--subject", "E-0042")
    assert taken.returncode == 1 and "another member of the tenant" in taken.stderr, taken.stderr
    malformed = _gateway(database, *base, "--staff-id", members[1]["id"], "--subject", "has space")
    assert malformed.returncode == 1 and "printable ASCII" in malformed.stderr, malformed.stderr

    unlinked = _gateway(database, *base, "--username", "li.na@bank", "--unlink", "--json")
    assert unlinked.returncode == 0 and json.loads(unlinked.stdout)["ssoSubject"] is None
