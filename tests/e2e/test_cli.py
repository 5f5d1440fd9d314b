"""The `gateway` command as a user runs it: `tenants create`, and `gateway up` serving the walk-through."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.leaks import find_leaks

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
GATEWAY = str(Path(sys.executable).with_name("gateway"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}


def test_tenants_create_prints_credentials_as_json(tmp_path: Path) -> None:
    """`gateway tenants create --json` creates a tenant in the configured database and prints it."""
    out = subprocess.run(
        [
            GATEWAY,
            "tenants",
            "create",
            "--name",
            "Ping An Claims",
            "--scope",
            "one-tap:login",
            "push:send",
            "--redirect-uri",
            "https://bank.example/cb",
            "--json",
            "--database-url",
            f"sqlite:///{tmp_path}/gw.db",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=_clean_env(),
        check=True,
    )
    created = json.loads(out.stdout)
    assert set(created) == {"tenant_id", "client_id", "client_secret"}
    bad = subprocess.run(
        [
            GATEWAY,
            "tenants",
            "create",
            "--name",
            "x",
            "--scope",
            "root",
            "--json",
            "--database-url",
            f"sqlite:///{tmp_path}/gw.db",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=_clean_env(),
    )
    assert bad.returncode != 0 and "invalid tenant" in bad.stderr


@pytest.fixture
def gateway_up(tmp_path: Path) -> Iterator[dict[str, str]]:
    """`gateway up` in a scratch directory, until its banner is printed; stopped with SIGTERM."""
    port, sandbox_port = _free_port(), _free_port()
    proc = subprocess.Popen(
        [GATEWAY, "up", "--port", str(port), "--sandbox-port", str(sandbox_port), "--log-format", "json"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_clean_env(),
    )
    banner = ""
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    while "walk-through" not in banner and time.monotonic() < deadline and proc.poll() is None:
        banner += proc.stdout.readline()
    found = dict(re.findall(r"^\s+(demo client_id|demo secret|admin token)\s+(\S+)$", banner, re.M))
    info = {
        "GW": f"http://127.0.0.1:{port}",
        "SB": f"http://127.0.0.1:{sandbox_port}",
        "CLIENT_ID": found.get("demo client_id", ""),
        "CLIENT_SECRET": found.get("demo secret", ""),
        "ADMIN_TOKEN": found.get("admin token", ""),
    }
    try:
        assert info["CLIENT_SECRET"], (
            f"no banner; stderr: {proc.stderr.read() if proc.poll() is not None else ''}"
        )
        yield info
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
        info["exit"] = str(proc.returncode)
        info["stderr"] = stderr
        assert proc.returncode == 0, stderr[-2000:]
        assert not find_leaks(stderr, {info["CLIENT_SECRET"]}), "gateway up logged a number or secret"
        assert (tmp_path / "var" / "gateway.db").exists()


def _walkthrough() -> str:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"```sh walkthrough\n(.*?)```", readme, re.S)
    assert match, "README.md has no walk-through block"
    return match.group(1)


def test_readme_walkthrough_runs_as_pasted(gateway_up: dict[str, str]) -> None:
    """The README's walk-through, run verbatim by bash against `gateway up`: one-tap login and number
    check, Number Verification through the phone's browser, a SIM swap check and a login decision."""
    assert httpx.get(f"{gateway_up['GW']}/readyz", timeout=10).status_code == 200
    script = "set -euo pipefail\n" + _walkthrough()
    done = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={**_clean_env(), **gateway_up},
    )
    assert done.returncode == 0, done.stderr + done.stdout
    assert '"phoneNumber": "+8613800138000"' in done.stdout or '"phoneNumber":"+8613800138000"' in done.stdout
    out = done.stdout.replace(" ", "")
    assert '"result":"PASS"' in out
    assert '"devicePhoneNumberVerified":true' in out
    assert '"swapped":false' in out
    assert '"decision":"challenge"' in out and "NEW_DEVICE" in out
