"""The code flow end to end through the sandbox operators and the real adapters: the sandbox phone's
browser (``POST /sandbox/devices/{phone}/authorize``) runs the gateway's authorize URL on cellular
data (network authentication) or on Wi-Fi with the operator's SMS-OTP fallback."""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from aiohttp.test_utils import TestServer

from gateway.app import create_app
from sandbox import SandboxConfig, create_sandbox_app
from tests.leaks import SENSITIVE
from tests.stack import SettableClock, Stack, stack_settings

pytestmark = pytest.mark.integration
REDIRECT = "https://bank.test/callback"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def _open(database_url: str) -> AsyncIterator[Stack]:
    """Sandbox and gateway on loopback; the gateway's public URL is its real address (the callback)."""
    apps = SandboxConfig.generate()
    for app in apps.apps.values():
        SENSITIVE.add(app.app_key)
    clock = SettableClock()
    sandbox = TestServer(create_sandbox_app(apps, clock=clock), host="127.0.0.1")
    await sandbox.start_server()
    sandbox_url = str(sandbox.make_url("")).rstrip("/")
    port = _free_port()
    settings = stack_settings(database_url, sandbox_url, apps, public_url=f"http://127.0.0.1:{port}")
    gateway = TestServer(create_app(settings, clock=clock), host="127.0.0.1", port=port)
    try:
        await gateway.start_server()
        async with httpx.AsyncClient(timeout=10.0) as http:
            yield Stack(settings, settings.issuer, sandbox_url, clock, http, apps)
    finally:
        await gateway.close()
        await sandbox.close()


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[Stack]:
    """On SQLite and PostgreSQL."""
    async with _open(database_url) as running:
        yield running


async def _code_flow(stack: Stack, phone: str, method: str) -> httpx.Response:
    creds = await stack.tenant(["number-verification:verify"], redirect_uris=[REDIRECT])
    verifier = secrets.token_urlsafe(40)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    url = httpx.URL(
        f"{stack.gateway_url}/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": creds.client_id,
            "redirect_uri": REDIRECT,
            "scope": "openid number-verification:verify",
            "state": "s-9",
            "nonce": "n-9",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "login_hint": f"tel:{phone}",
        },
    )
    walked = await stack.http.post(
        f"{stack.sandbox_url}/sandbox/devices/{phone}/authorize", json={"url": str(url), "method": method}
    )
    assert walked.status_code == 200, walked.text
    location = walked.json()["location"]
    assert location.startswith(REDIRECT + "?")
    answer = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert answer["state"] == "s-9" and "error" not in answer, answer
    token = await stack.http.post(
        f"{stack.gateway_url}/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": answer["code"],
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        auth=(creds.client_id, creds.client_secret),
    )
    assert token.status_code == 200, token.text
    access: str = token.json()["access_token"]
    SENSITIVE.update({access, token.json()["id_token"]})
    return await stack.call("/number-verification/v2/verify", access, {"phoneNumber": phone})


@pytest.mark.parametrize("operator", ["cmcc", "cucc", "ctcc"])
async def test_sandbox_phone_on_cellular_data_passes_number_verification(stack: Stack, operator: str) -> None:
    """On cellular data the operator authenticates the phone by its network: NV confirms the number."""
    phone = await stack.subscriber(operator)
    resp = await _code_flow(stack, phone, "network")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"devicePhoneNumberVerified": True}


async def test_sandbox_phone_on_sms_otp_is_refused_by_number_verification(stack: Stack) -> None:
    """Off the mobile network the operator falls back to SMS-OTP: the token works, but NV refuses it."""
    phone = await stack.subscriber("cmcc")
    resp = await _code_flow(stack, phone, "sms_otp")
    assert resp.status_code == 403, resp.text
    assert resp.json()["code"] == "NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK"
