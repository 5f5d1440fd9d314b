"""The `gateway` command as a user runs it: `tenants create`, and `gateway up` serving the walk-through."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.leaks import find_leaks
from tests.ports import free_port

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
GATEWAY = str(Path(sys.executable).with_name("gateway"))


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


def test_tenants_create_registers_a_signing_client_and_refuses_a_weak_key(tmp_path: Path) -> None:
    """`--jwks-file`, `--id-token-alg ES256` and `--signed-requests-only` are stored as the
    admin API stores them, and a tenant created without `--id-token-alg` gets RS256 (the OIDC
    default); a JWKS with a 1024-bit RSA key, or signed requests without a JWKS, are refused with
    the admin API's reason and nothing is created."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from jwt.algorithms import ECAlgorithm, RSAAlgorithm

    database = tmp_path / "gw.db"
    public = json.loads(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key()))
    good, weak = tmp_path / "good.json", tmp_path / "weak.json"
    good.write_text(json.dumps({"keys": [{**public, "kid": "k1", "use": "sig"}]}))
    weak_key = json.loads(RSAAlgorithm.to_jwk(rsa.generate_private_key(65537, 1024).public_key()))  # noqa: S505
    weak.write_text(json.dumps({"keys": [{**weak_key, "kid": "w1"}]}))

    target = ("--database-url", f"sqlite:///{database}")

    def create(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [GATEWAY, "tenants", "create", "--name", "Bank", "--scope", "openid", *extra, "--json", *target],
            capture_output=True,
            text=True,
            timeout=60,
            env=_clean_env(),
        )

    made = create("--jwks-file", str(good), "--id-token-alg", "ES256", "--signed-requests-only")
    assert made.returncode == 0, made.stderr
    plain = create()
    assert plain.returncode == 0, plain.stderr
    query = (
        "SELECT jwks, id_token_signed_response_alg, require_signed_request_object FROM tenants WHERE id = ?"
    )
    with sqlite3.connect(database) as db:
        row = db.execute(query, (json.loads(made.stdout)["tenant_id"],)).fetchone()
        default = db.execute(query, (json.loads(plain.stdout)["tenant_id"],)).fetchone()
    assert json.loads(row[0])["keys"][0]["kid"] == "k1" and row[1:] == ("ES256", 1)
    assert default == (None, "RS256", 0)
    for refused, reason in (
        (create("--jwks-file", str(weak)), "2048"),
        (create("--signed-requests-only"), "jwks"),
        (create("--jwks-file", str(tmp_path / "missing.json")), "cannot read"),
    ):
        assert refused.returncode != 0 and "invalid tenant" in refused.stderr and reason in refused.stderr
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT count(*) FROM tenants").fetchone() == (2,)


@contextlib.contextmanager
def _gateway_up(cwd: Path, *args: str) -> Iterator[dict[str, str]]:
    """`gateway up` in ``cwd`` on free ports, until its banner is printed; stopped with SIGTERM.

    Yields the banner's values (``GW``, ``SB``, ``CLIENT_ID``, ``CLIENT_SECRET``, ``ADMIN_TOKEN``), its
    ``export`` lines as ``EXPORTS`` and the whole banner as ``BANNER``; once stopped, also ``exit``
    and ``stderr``."""
    port, sandbox_port = free_port(), free_port()
    proc = subprocess.Popen(
        [
            GATEWAY,
            "up",
            *args,
            "--port",
            str(port),
            "--sandbox-port",
            str(sandbox_port),
            "--log-format",
            "json",
        ],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_clean_env(),
    )
    banner = ""
    deadline = time.monotonic() + 60
    assert proc.stdout is not None and proc.stderr is not None
    while "export CLIENT_SECRET=" not in banner and time.monotonic() < deadline and proc.poll() is None:
        banner += proc.stdout.readline()
    found = dict(re.findall(r"^\s+(demo client_id|demo secret|admin token)\s+(\S+)$", banner, re.M))
    info = {
        "GW": f"http://127.0.0.1:{port}",
        "SB": f"http://127.0.0.1:{sandbox_port}",
        "CLIENT_ID": found.get("demo client_id", ""),
        "CLIENT_SECRET": found.get("demo secret", ""),
        "ADMIN_TOKEN": found.get("admin token", ""),
        "EXPORTS": "".join(line for line in banner.splitlines(keepends=True) if line.startswith("export ")),
        "BANNER": banner,
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
        assert (cwd / "var" / "gateway.db").exists()


@pytest.fixture
def gateway_up(tmp_path: Path) -> Iterator[dict[str, str]]:
    """`gateway up` in a scratch directory (:func:`_gateway_up`)."""
    with _gateway_up(tmp_path) as info:
        yield info


def _client_token(info: dict[str, str], client_id: str, secret: str) -> httpx.Response:
    return httpx.post(
        f"{info['GW']}/oauth2/token",
        auth=(client_id, secret),
        data={"grant_type": "client_credentials", "scope": "one-tap:login"},
        timeout=10,
    )


def test_up_keeps_the_demo_secret_until_reset(tmp_path: Path) -> None:
    """A second `gateway up` on the same var/, on other ports, prints the same demo credentials and
    `export` lines that bash and zsh take as they are; the README's walk-through runs with them (the
    demo redirect URI follows the new port); `gateway up --reset` issues new credentials and the old
    stop working."""
    with _gateway_up(tmp_path) as first:
        assert _client_token(first, first["CLIENT_ID"], first["CLIENT_SECRET"]).status_code == 200
    stored = tmp_path / "var" / "demo-tenant.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    with _gateway_up(tmp_path) as second:
        assert (second["CLIENT_ID"], second["CLIENT_SECRET"]) == (first["CLIENT_ID"], first["CLIENT_SECRET"])
        assert _client_token(second, second["CLIENT_ID"], second["CLIENT_SECRET"]).status_code == 200
        for shell in ("bash", "zsh"):
            pasted = subprocess.run(
                [shell, "-c", second["EXPORTS"] + 'printf "%s\\n" "$GW" "$SB" "$CLIENT_ID" "$CLIENT_SECRET"'],
                capture_output=True,
                text=True,
                timeout=30,
                env={"PATH": os.environ["PATH"]},
                check=True,
            )
            values = [second[k] for k in ("GW", "SB", "CLIENT_ID", "CLIENT_SECRET")]
            assert pasted.stdout.split() == values, shell
        walked = subprocess.run(
            ["bash", "-c", second["EXPORTS"] + "set -euo pipefail\n" + _walkthrough()],
            capture_output=True,
            text=True,
            timeout=60,
            env=_clean_env(),
        )
        assert walked.returncode == 0, walked.stderr + walked.stdout
        assert '"devicePhoneNumberVerified":true' in walked.stdout.replace(" ", "")
    with _gateway_up(tmp_path, "--reset") as third:
        assert third["CLIENT_ID"] != first["CLIENT_ID"]
        assert third["CLIENT_SECRET"] != first["CLIENT_SECRET"]
        assert _client_token(third, third["CLIENT_ID"], third["CLIENT_SECRET"]).status_code == 200
        assert _client_token(third, first["CLIENT_ID"], first["CLIENT_SECRET"]).status_code == 401
    assert json.loads(stored.read_text())["client_secret"] == third["CLIENT_SECRET"]


def test_up_reissues_a_secret_the_database_no_longer_accepts(tmp_path: Path) -> None:
    """A stored secret that does not match the database (the file edited or copied from elsewhere) is
    replaced by a new, working one instead of being printed."""
    with _gateway_up(tmp_path) as first:
        pass
    stored = tmp_path / "var" / "demo-tenant.json"
    stored.write_text(json.dumps({**json.loads(stored.read_text()), "client_secret": "not-the-secret"}))
    with _gateway_up(tmp_path) as second:
        assert second["CLIENT_ID"] == first["CLIENT_ID"]
        assert second["CLIENT_SECRET"] not in (first["CLIENT_SECRET"], "not-the-secret")
        assert _client_token(second, second["CLIENT_ID"], second["CLIENT_SECRET"]).status_code == 200


def test_up_reset_refuses_a_database_outside_var(tmp_path: Path) -> None:
    """`gateway up --reset` deletes nothing when the database is not the embedded one under var/."""
    (tmp_path / "var").mkdir()
    keys = tmp_path / "var" / "keys.json"
    keys.write_text("{}")
    for url in (f"sqlite:///{tmp_path}/elsewhere.db", "postgresql://127.0.0.1:5432/test"):
        done = subprocess.run(
            [GATEWAY, "up", "--reset", "--database-url", url],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            env=_clean_env(),
        )
        assert done.returncode != 0
        assert "--reset deletes only a SQLite database under var/" in done.stderr
    assert keys.exists()


def _console_sign_in(info: dict[str, str], username: str, password: str) -> int:
    """Sign in to the console of ``gateway up`` and read the audit log (admins only); the status of
    the read, or of the refused sign-in."""
    with httpx.Client(base_url=info["GW"], timeout=10) as http:
        signed = http.post("/console/api/session", json={"username": username, "password": password})
        if signed.status_code != 200:
            return signed.status_code
        assert signed.json()["staff"]["role"] == "admin"
        return http.get("/console/api/audit").status_code


def test_up_makes_a_demo_console_admin_whose_password_stays_in_var(tmp_path: Path) -> None:
    """`gateway up` prints the console's address, the demo admin's username and how to read its
    password from var/demo-staff.json (mode 0600), never the password, which appears in no log;
    with it the admin signs in to the console and reads the audit log. A second start keeps the
    password; a stored password the database no longer accepts is replaced by a new, working one;
    `--reset` makes a new one."""
    stored = tmp_path / "var" / "demo-staff.json"
    line = re.compile(
        r"^  demo console\s+(http://\S+/console/) as (\S+), password: jq -r \.password (\S+) \((.+)\)$", re.M
    )

    def start(*args: str) -> tuple[str, str]:
        with _gateway_up(tmp_path, *args) as info:
            found = line.search(info["BANNER"])
            assert found is not None, info["BANNER"]
            url, username, path, origin = found.groups()
            assert url == info["GW"] + "/console/" and (tmp_path / path) == stored
            assert stat.S_IMODE(stored.stat().st_mode) == 0o600
            password = str(json.loads(stored.read_text())["password"])
            assert password not in info["BANNER"]
            assert _console_sign_in(info, username, password) == 200
        assert password not in info["stderr"] and not find_leaks(info["stderr"], {password})
        return origin, password

    origin, first = start()
    assert origin == "created"
    origin, second = start()
    assert (origin, second) == ("kept from the last start", first)
    stored.write_text(json.dumps({"username": "admin@demo", "password": "not-the-password-1"}))
    origin, third = start()
    assert origin.startswith("new password") and third not in (first, "not-the-password-1")
    origin, fourth = start("--reset")
    assert origin == "created" and fourth != third


def _walkthrough() -> str:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh walkthrough\n(.*?)```", readme, re.S)
    assert blocks, "README.md has no walk-through block"
    return "".join(blocks)


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
