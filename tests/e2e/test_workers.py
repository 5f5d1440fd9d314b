"""`gateway serve --workers N` as an operator of the gateway runs it: PostgreSQL, Redis, several processes."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from prometheus_client.parser import text_string_to_metric_families

from gateway.crypto import generate_keyring_spec
from tests.e2e.test_cli import GATEWAY, _clean_env
from tests.ports import free_port

pytestmark = pytest.mark.e2e
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _workers(supervisor: int) -> set[int]:
    """Pids of the supervisor's worker processes (multiprocessing spawn children)."""
    out = subprocess.run(
        ["ps", "ww", "-o", "pid=,args=", "--ppid", str(supervisor)], capture_output=True, text=True
    )
    return {int(line.split()[0]) for line in out.stdout.splitlines() if "spawn_main" in line}


def _wait(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def served(
    own_postgres_url: str, redis_url: str, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], str, str]]:
    """`gateway serve --workers 2` on the session PostgreSQL database and Redis; stopped with SIGTERM."""
    port = free_port()
    admin = secrets.token_urlsafe(16)
    env = {
        **_clean_env(),
        "GATEWAY_DATABASE_URL": own_postgres_url,
        "GATEWAY_REDIS_URL": redis_url,
        "GATEWAY_PORT": str(port),
        "GATEWAY_ADMIN_TOKEN": admin,
        "GATEWAY_DATA_KEYS": generate_keyring_spec(),
        "GATEWAY_INDEX_KEYS": generate_keyring_spec(),
        "GATEWAY_SHUTDOWN_TIMEOUT": "3",
    }
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([GATEWAY, "serve", "--workers", "2"], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _ready(url), 60, "readiness")
        yield proc, url, admin
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


def test_workers_share_single_use_markers_restart_and_drain(
    served: tuple[subprocess.Popen[bytes], str, str],
) -> None:
    """Two workers answer on one port; a client assertion replayed on fresh connections (so on either
    worker) is accepted exactly once (six tries: a few more failures of one client at one address
    meet the authentication throttle's 429); /metrics adds up both workers; a worker killed
    with SIGKILL is replaced; SIGTERM stops all."""
    proc, url, admin = served
    _wait(lambda: len(_workers(proc.pid)) == 2, 30, "two workers")
    key = ec.generate_private_key(ec.SECP256R1())
    public = {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key())), "kid": "k1", "use": "sig"}
    created = httpx.post(
        f"{url}/admin/tenants",
        headers={"Authorization": f"Bearer {admin}"},
        json={
            "name": "Workers Bank",
            "scopes": ["one-tap:login"],
            "redirect_uris": [],
            "jwks": {"keys": [public]},
        },
    )
    assert created.status_code == 201, created.text
    client_id = created.json()["client_id"]
    now = int(time.time())
    assertion = jwt.encode(
        {
            "iss": client_id,
            "sub": client_id,
            "aud": f"{url}/oauth2/token",
            "iat": now,
            "exp": now + 120,
            "jti": secrets.token_hex(12),
        },
        key,
        algorithm="ES256",
        headers={"kid": "k1"},
    )
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    statuses = []
    for _ in range(6):
        with httpx.Client() as fresh:
            statuses.append(fresh.post(f"{url}/oauth2/token", data=form).status_code)
    assert sorted(statuses) == [200] + [401] * 5
    scraped = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {admin}"}).text
    token_calls = sum(
        sample.value
        for family in text_string_to_metric_families(scraped)
        for sample in family.samples
        if sample.name == "gateway_request_seconds_count" and sample.labels.get("route") == "/oauth2/token"
    )
    assert token_calls == 6, "a scrape of either worker reports every worker's requests"

    before = _workers(proc.pid)
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    _wait(lambda: len(_workers(proc.pid) - {victim}) == 2, 30, "a replacement worker")
    _wait(lambda: _ready(url), 30, "readiness after the restart")

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert not _workers(proc.pid)


def test_workers_drain_and_exit_when_the_supervisor_is_killed(
    served: tuple[subprocess.Popen[bytes], str, str],
) -> None:
    """SIGKILL of the supervisor (no chance to forward SIGTERM): both workers notice they are
    orphaned, drain and exit, and the port stops answering, instead of serving unsupervised."""
    proc, url, _ = served
    _wait(lambda: len(_workers(proc.pid)) == 2, 30, "two workers")
    workers = _workers(proc.pid)
    proc.kill()
    proc.wait()

    def running(pid: int) -> bool:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        return stat.rsplit(")", 1)[1].split()[0] != "Z"

    def gone() -> bool:
        return not any(running(pid) for pid in workers)

    _wait(gone, 30, "the orphaned workers to exit")
    assert not _ready(url)


def test_several_workers_without_redis_refuse_to_start(tmp_path: Path) -> None:
    """Without a shared replay store, `--workers 2` exits at once and says why."""
    env = {
        **_clean_env(),
        "GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path}/gw.db",
        "GATEWAY_DATA_KEYS": generate_keyring_spec(),
        "GATEWAY_INDEX_KEYS": generate_keyring_spec(),
        "GATEWAY_PORT": str(free_port()),
    }
    out = subprocess.run(
        [GATEWAY, "serve", "--workers", "2"], env=env, capture_output=True, text=True, timeout=30
    )
    assert out.returncode != 0
    assert "GATEWAY_REDIS_URL" in out.stderr
