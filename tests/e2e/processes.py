"""Real `gateway` processes for the reliability tests: start, probe, kill, and provision through the APIs."""

from __future__ import annotations

import asyncio
import re
import secrets
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from gateway.crypto import generate_keyring_spec
from gateway.sandbox_link import SANDBOX_PROTOCOLS, sms_url
from gateway.settings import OPERATORS, Settings
from sandbox import SmscAccount
from tests.e2e.test_cli import GATEWAY, _clean_env
from tests.leaks import SENSITIVE, find_leaks
from tests.ports import free_port

__all__ = [
    "PREFIXES",
    "Cluster",
    "Proc",
    "PushSender",
    "gather_limited",
    "line_numbers",
    "ready",
    "wait_until",
]

PREFIXES = {"cmcc": "138", "cucc": "186", "ctcc": "189"}
PUSH_SCOPES = ("push:send", "push:read", "templates:write", "one-tap:login")
TEMPLATE = {
    "category": "transaction",
    "signature": "平安银行",
    "text": "您的案件{{claimNo}}请点击 {{link}} 共享位置。",
    "flow": "claim_location",
    "quickApp": {"package": "com.example.claims", "page": "Location"},
    "params": {"claimNo": {"type": "string", "required": True}},
}


async def wait_until(condition: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    """Poll ``condition`` every 0.1 s until it holds; fail the test after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {seconds:g} s waiting for {what}")


async def ready(client: httpx.AsyncClient, url: str) -> bool:
    """Whether ``url``/readyz answers 200 (False while it refuses connections or answers 503)."""
    try:
        return (await client.get(f"{url}/readyz", timeout=2)).status_code == 200
    except httpx.TransportError:
        return False


def line_numbers(count: int) -> list[tuple[str, str]]:
    """``count`` distinct ``(number, operator)`` lines, round-robin over the three operators' blocks."""
    lines = []
    for i in range(count):
        operator = OPERATORS[i % len(OPERATORS)]
        number = f"+86{PREFIXES[operator]}{i:08d}"
        SENSITIVE.update({number, number[3:]})
        lines.append((number, operator))
    return lines


@dataclass
class Proc:
    """One `gateway` process; its stdout and stderr go to ``log``."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    url: str

    def kill9(self) -> None:
        """SIGKILL, and reap."""
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        """SIGKILL if still running (test teardown)."""
        if self.popen.poll() is None:
            self.kill9()

    def output(self) -> str:
        """Everything the process logged so far."""
        return self.log.read_text(errors="replace")


@dataclass
class Cluster:
    """Settings shared by every process of one test (one database, one set of keys and credentials)."""

    database_url: str
    logs: Path
    admin: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    sandbox_port: int = field(default_factory=free_port)
    gateway_port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    procs: list[Proc] = field(default_factory=list)

    def __post_init__(self) -> None:
        sandbox = f"http://127.0.0.1:{self.sandbox_port}"
        self.env = {
            **_clean_env(),
            "GATEWAY_DATABASE_URL": self.database_url,
            "GATEWAY_ADMIN_TOKEN": self.admin,
            "GATEWAY_DATA_KEYS": generate_keyring_spec(),
            "GATEWAY_INDEX_KEYS": generate_keyring_spec(),
            "GATEWAY_PORT": str(self.gateway_port),
            "GATEWAY_SANDBOX_PORT": str(self.sandbox_port),
            "GATEWAY_LOG_FORMAT": "json",
            "GATEWAY_SHUTDOWN_GRACE_SECONDS": "0",
        }
        for op in OPERATORS:
            self.env[f"GATEWAY_{op.upper()}_URL"] = f"{sandbox}/{op}"
            self.env[f"GATEWAY_{op.upper()}_APP_ID"] = f"{op}-{secrets.token_hex(4)}"
            self.env[f"GATEWAY_{op.upper()}_APP_KEY"] = secrets.token_urlsafe(24)[:32]
        for op, protocol in SANDBOX_PROTOCOLS.items():
            port, account = free_port(), SmscAccount.generate(op)
            listen = {"listen": f"127.0.0.1:{free_port()}"} if protocol == "sgip" else {}
            self.env[f"GATEWAY_SANDBOX_{protocol.upper()}_PORT"] = str(port)
            self.env[f"GATEWAY_{op.upper()}_SMS_URL"] = sms_url(op, account, "127.0.0.1", port, **listen)
            SENSITIVE.add(account.secret)
        SENSITIVE.add(self.admin)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}"

    def start(self, name: str, args: Iterable[str], url: str, **env: str) -> Proc:
        """Start ``gateway <args>`` with the shared settings plus ``env`` (names without GATEWAY_)."""
        log = self.logs / f"{name}.log"
        handle = log.open("ab")
        extra = {f"GATEWAY_{key.upper()}": value for key, value in env.items()}
        popen = subprocess.Popen(
            [GATEWAY, *args], env={**self.env, **extra}, stdout=handle, stderr=handle, cwd=self.logs
        )
        handle.close()
        proc = Proc(name, popen, log, url)
        self.procs.append(proc)
        return proc

    def settings(self, **overrides: Any) -> Settings:
        """The processes' settings, for a runtime opened in the test process."""
        values = {
            k.removeprefix("GATEWAY_").lower(): v for k, v in self.env.items() if k.startswith("GATEWAY_")
        }
        return Settings(**(values | overrides))

    def sandbox(self) -> Proc:
        """`gateway sandbox`, its delivery reports going to the gateway's port."""
        return self.start("sandbox", ["sandbox"], self.sandbox_url, sandbox_callback_url=self.gateway_url)

    def worker(self, name: str, **env: str) -> Proc:
        """`gateway worker` on a port of its own."""
        port = free_port()
        return self.start(name, ["worker"], f"http://127.0.0.1:{port}", worker_port=str(port), **env)

    def stop_all(self) -> None:
        """Kill whatever still runs."""
        for proc in self.procs:
            proc.stop()

    def leaks(self) -> list[str]:
        """Unmasked numbers or the admin token in any process's log, each with its line's event name."""
        found = []
        for proc in self.procs:
            for line in proc.output().splitlines():
                for leak in find_leaks(line, {self.admin}):
                    event = re.search(r'"event": "([^"]{0,80})"', line)
                    found.append(
                        f"{proc.name}: {leak} in {event.group(1) if event else 'an unstructured line'}"
                    )
        return found

    def tails(self) -> str:
        """The last lines of every log, for failure messages."""
        return "\n".join(f"--- {p.name} (rc={p.popen.poll()})\n{p.output()[-1500:]}" for p in self.procs)


@dataclass
class PushSender:
    """A sandbox tenant with push and one-tap scopes and an approved transaction template, whose SMS
    limits the admin raised for a load of ten messages per line over a hundred lines of one block."""

    tenant_id: str
    bearer: str
    template_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.bearer}"}

    @classmethod
    async def provision(cls, client: httpx.AsyncClient, cluster: Cluster) -> PushSender:
        """Create the tenant, its token and its template through the public APIs."""
        admin = {"Authorization": f"Bearer {cluster.admin}"}
        tenant = await client.post(
            f"{cluster.gateway_url}/admin/tenants",
            headers=admin,
            json={"name": "Reliability Bank", "scopes": list(PUSH_SCOPES), "sandbox": True},
        )
        assert tenant.status_code == 201, tenant.text
        creds = tenant.json()
        policy = await client.put(
            f"{cluster.gateway_url}/admin/tenants/{creds['tenant_id']}/sms-policy",
            headers=admin,
            json={
                "numberPer10Min": 100,
                "numberPerDay": 1000,
                "prefixPer10Min": 10_000,
                "prefixPerDay": 100_000,
                "dailyBudget": 1_000_000,
            },
        )
        assert policy.status_code == 200, policy.text
        token = await client.post(
            f"{cluster.gateway_url}/oauth2/token",
            auth=(creds["client_id"], creds["client_secret"]),
            data={"grant_type": "client_credentials", "scope": " ".join(PUSH_SCOPES)},
        )
        assert token.status_code == 200, token.text
        bearer = token.json()["access_token"]
        SENSITIVE.update({creds["client_secret"], bearer})
        template = await client.post(
            f"{cluster.gateway_url}/push/v1/templates",
            headers={"Authorization": f"Bearer {bearer}"},
            json={"name": "claim", **TEMPLATE},
        )
        assert template.status_code == 201 and template.json()["status"] == "approved", template.text
        return cls(creds["tenant_id"], bearer, template.json()["id"])


async def gather_limited(calls: Iterable[Awaitable[Any]], limit: int = 32) -> list[Any]:
    """Await ``calls`` with at most ``limit`` in flight; results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(call: Awaitable[Any]) -> Any:
        async with gate:
            return await call

    return await asyncio.gather(*(one(c) for c in calls))
