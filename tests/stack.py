"""A real gateway and a real sandbox on 127.0.0.1 sockets, driven as a bank would drive them."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from aiohttp.test_utils import TestServer

from carrier_adapters import SmsChannel
from gateway.app import create_app
from gateway.crypto import generate_keyring_spec
from gateway.sandbox_link import SANDBOX_PROTOCOLS, sms_url
from gateway.settings import OPERATORS, Settings
from sandbox import SandboxConfig, create_sandbox_app, smsc_listeners
from tests.leaks import SENSITIVE
from tests.ports import bound_socket, free_port, hand_over

__all__ = ["PREFIXES", "SettableClock", "Stack", "TenantCreds", "open_stack", "pkce_pair"]

PREFIXES = {"cmcc": "138", "cucc": "186", "ctcc": "189"}
SESSION_DATA_KEYS = generate_keyring_spec()
SESSION_INDEX_KEYS = generate_keyring_spec()


def pkce_pair() -> tuple[str, str]:
    """A fresh PKCE ``(code_verifier, S256 code_challenge)``."""
    verifier = secrets.token_urlsafe(40)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class SettableClock:
    """A clock tests move forward; sandbox and gateway share it, as synchronised hosts do.

    By default it runs with wall time (plus what tests add); ``frozen=True`` stops it at its
    creation instant, for tests that compare computed instants exactly however slow the machine.
    """

    def __init__(self, *, frozen: bool = False) -> None:
        self._offset = timedelta()
        self._frozen_at = datetime.now(UTC) if frozen else None

    def now(self) -> datetime:
        """Wall time (or the frozen instant) plus the accumulated offset."""
        return (self._frozen_at or datetime.now(UTC)) + self._offset

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self._offset += timedelta(seconds=seconds)


@dataclass(frozen=True)
class TenantCreds:
    """A tenant's ids and secret as ``POST /admin/tenants`` returned them."""

    tenant_id: str
    client_id: str
    client_secret: str


@dataclass
class Stack:
    """Handles on a running gateway + sandbox pair."""

    settings: Settings
    gateway_url: str
    sandbox_url: str
    clock: SettableClock
    http: httpx.AsyncClient
    sandbox_apps: SandboxConfig
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def admin_token(self) -> str:
        """The bootstrap admin bearer."""
        assert self.settings.admin_token is not None
        return self.settings.admin_token.get_secret_value()

    async def tenant(self, scopes: list[str], **extra: Any) -> TenantCreds:
        """Create a tenant through the admin API."""
        resp = await self.http.post(
            f"{self.gateway_url}/admin/tenants",
            json={"name": f"t-{secrets.token_hex(3)}", "scopes": scopes, **extra},
            headers={"Authorization": f"Bearer {self.admin_token}"},
        )
        assert resp.status_code == 201, resp.text
        creds = TenantCreds(**resp.json())
        SENSITIVE.add(creds.client_secret)
        return creds

    async def sms_policy(self, tenant_id: str, **policy: int) -> None:
        """Set a tenant's SMS limits through the admin API (the omitted figures take their defaults)."""
        resp = await self.http.put(
            f"{self.gateway_url}/admin/tenants/{tenant_id}/sms-policy",
            json=policy,
            headers={"Authorization": f"Bearer {self.admin_token}"},
        )
        assert resp.status_code == 200, resp.text

    async def access_token(self, creds: TenantCreds, scope: str | None = None) -> str:
        """A client-credentials access token (client_secret_basic)."""
        form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
        resp = await self.http.post(
            f"{self.gateway_url}/oauth2/token", data=form, auth=(creds.client_id, creds.client_secret)
        )
        assert resp.status_code == 200, resp.text
        token: str = resp.json()["access_token"]
        SENSITIVE.add(token)
        return token

    async def subscriber(self, operator: str, **extra: Any) -> str:
        """Register a fresh random subscriber of ``operator``; returns its E.164 number."""
        phone = f"+86{PREFIXES[operator]}{secrets.randbelow(10**8):08d}"
        SENSITIVE.update({phone, phone[3:]})
        resp = await self.http.post(
            f"{self.sandbox_url}/sandbox/subscribers",
            json={"phoneNumber": phone, "operator": operator, **extra},
        )
        assert resp.status_code == 201, resp.text
        return phone

    async def sdk_token(self, phone: str, purpose: str = "login", **extra: Any) -> str:
        """What the operator SDK on ``phone`` returns over cellular data."""
        resp = await self.http.post(
            f"{self.sandbox_url}/sandbox/devices/{phone}/one-tap-token", json={"purpose": purpose, **extra}
        )
        assert resp.status_code == 200, resp.text
        token: str = resp.json()["token"]
        SENSITIVE.add(token)
        return token

    async def faults(self, operator: str, **faults: Any) -> None:
        """Inject operator faults through the sandbox control API."""
        resp = await self.http.put(f"{self.sandbox_url}/sandbox/operators/{operator}/faults", json=faults)
        assert resp.status_code == 200, resp.text

    async def call(self, path: str, bearer: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        """POST ``body`` as JSON to a gateway API path with a bearer token."""
        return await self.http.post(
            f"{self.gateway_url}{path}", json=body, headers={"Authorization": f"Bearer {bearer}"}, **kwargs
        )

    async def code_flow(
        self,
        creds: TenantCreds,
        phone: str,
        scope: str,
        redirect_uri: str,
        *,
        method: str = "network",
        login_hint: str | None = None,
    ) -> dict[str, Any]:
        """The token response of a code flow that ``phone``'s browser runs (PKCE S256), exchanged
        with client_secret_basic.

        ``method`` is how the operator authenticates the phone: ``network`` (cellular data) or
        ``sms_otp`` (Wi-Fi; the operator needs ``login_hint``). The operator sends the browser back
        to the gateway's public URL, so the stack must be opened with ``public=True``.
        """
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(8)
        params = {
            "response_type": "code",
            "client_id": creds.client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": state,
            "nonce": secrets.token_urlsafe(8),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **({"login_hint": login_hint} if login_hint else {}),
        }
        url = httpx.URL(f"{self.gateway_url}/oauth2/authorize", params=params)
        walked = await self.http.post(
            f"{self.sandbox_url}/sandbox/devices/{phone}/authorize", json={"url": str(url), "method": method}
        )
        assert walked.status_code == 200, walked.text
        location = walked.json()["location"]
        assert location.startswith(redirect_uri + "?"), location
        answer = {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
        assert answer.get("state") == state and "code" in answer, answer
        resp = await self.http.post(
            f"{self.gateway_url}/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": answer["code"],
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            },
            auth=(creds.client_id, creds.client_secret),
        )
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        SENSITIVE.update({body["access_token"], body["id_token"]})
        return body


def stack_settings(database_url: str, sandbox_url: str, apps: SandboxConfig, **overrides: Any) -> Settings:
    """Gateway settings wired to a sandbox, with fresh keys and short operator timeouts."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "admin_token": secrets.token_urlsafe(24),
        "data_keys": SESSION_DATA_KEYS,
        "index_keys": SESSION_INDEX_KEYS,
        "operator_timeout": 2.0,
        "operator_connect_timeout": 2.0,
        "log_level": "debug",
        "cards_url": f"{sandbox_url}/cards",
    }
    for op in OPERATORS:
        values[f"{op}_url"] = f"{sandbox_url}/{op}"
        values[f"{op}_app_id"] = apps.apps[op].app_id
        values[f"{op}_app_key"] = apps.apps[op].app_key
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def open_stack(
    database_url: str,
    *,
    sms_channels: Mapping[str, SmsChannel] | None = None,
    sms_protocols: bool = True,
    sms_options: Mapping[str, str] | None = None,
    public: bool = False,
    **overrides: Any,
) -> AsyncIterator[Stack]:
    """Start the sandbox and the gateway on ephemeral ports; stop both on exit.

    ``sms_channels`` replaces the operators' SMS channels (e.g. in-memory fakes); without it China
    Mobile and China Telecom send over CMPP and SMGP to the sandbox's gateways (the others over
    their HTTP dialects), or all over the HTTP dialects with ``sms_protocols=False``; ``sms_options``
    are added to the protocols' URLs (e.g. ``connections``). ``overrides`` are settings.
    ``public=True`` makes the gateway's real address its public URL (the OAuth issuer), which browsers
    sent back by an operator during a code flow must reach.
    """
    with bound_socket() as gateway_socket:
        gateway_port = gateway_socket.getsockname()[1]
        sgip_listener = f"127.0.0.1:{free_port()}"
        apps = SandboxConfig(
            apps=SandboxConfig.generate().apps,
            callback_base_url=f"http://127.0.0.1:{gateway_port}",
            report_delay=0.05,
            sgip_sp_listener=sgip_listener,
            callback_retry_delays=(0.1, 0.3, 1.0),
        )
        for app in apps.apps.values():
            SENSITIVE.add(app.app_key)
        clock = SettableClock()
        sandbox_app = create_sandbox_app(apps, clock=clock)
        sandbox = TestServer(sandbox_app, host="127.0.0.1")
        await sandbox.start_server()
        sandbox_url = str(sandbox.make_url("")).rstrip("/")
        if public:
            overrides = {"public_url": f"http://127.0.0.1:{gateway_port}", **overrides}
        if sms_channels is None and sms_protocols:
            listeners = smsc_listeners(sandbox_app)
            for op, protocol in SANDBOX_PROTOCOLS.items():
                port = int(str(listeners[op]["port"]))
                options = {**(sms_options or {}), **({"listen": sgip_listener} if protocol == "sgip" else {})}
                url = sms_url(op, apps.smsc_accounts[op], "127.0.0.1", port, **options)
                overrides = {f"{op}_sms_url": url, **overrides}
                SENSITIVE.add(apps.smsc_accounts[op].secret)
        settings = stack_settings(database_url, sandbox_url, apps, **overrides)
        gateway = TestServer(
            create_app(settings, clock=clock, sms_channels=sms_channels),
            host="127.0.0.1",
            socket_factory=hand_over(gateway_socket),
        )
        try:
            await gateway.start_server()
            gateway_url = str(gateway.make_url("")).rstrip("/")
            async with httpx.AsyncClient(timeout=10.0) as http:
                yield Stack(settings, gateway_url, sandbox_url, clock, http, apps)
        finally:
            await gateway.close()
            await sandbox.close()
