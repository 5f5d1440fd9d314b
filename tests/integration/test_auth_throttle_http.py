"""Repeated authentication failures through the HTTP routes: the token endpoint, the backchannel
endpoint and the admin API answer 429 with Retry-After in their own error shapes, per (client,
source address) and per address, and an attacker's failures never lock the client out from its
own address. Source addresses are set with X-Forwarded-For (the test runs behind 127.0.0.1, a
trusted proxy by default)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.auth_throttle import PER_ADDRESS, PER_PRINCIPAL
from tests.stack import Stack, TenantCreds, open_stack

pytestmark = pytest.mark.integration
ATTACKER, BANK = "203.0.113.66", "198.51.100.20"
PURPOSE = "dpv:FraudPreventionAndDetection"


def _address() -> str:
    return f"2001:db8:{secrets.randbelow(65536):x}:{secrets.randbelow(65536):x}::1"


async def _token(
    stack: Stack, creds: TenantCreds, secret: str, address: str, url: str = "/oauth2/token"
) -> httpx.Response:
    return await stack.http.post(
        f"{stack.gateway_url}{url}",
        data={"grant_type": "client_credentials"},
        auth=(creds.client_id, secret),
        headers={"X-Forwarded-For": address},
    )


def _throttled_oauth(resp: httpx.Response) -> int:
    assert resp.status_code == 429, resp.text
    body = resp.json()
    assert set(body) == {"error", "error_description"} and body["error"] == "temporarily_unavailable"
    retry_after = int(resp.headers["retry-after"])
    assert retry_after >= 1 and f"{retry_after} s" in body["error_description"]
    return retry_after


async def test_bad_secrets_block_the_attackers_address_not_the_bank(stack: Stack) -> None:
    """After the free failures, the client is throttled from the attacker's address (even with the
    right secret) while the bank, from its own address, still gets tokens; on both databases."""
    creds = await stack.tenant(["one-tap:login"])
    for _ in range(PER_PRINCIPAL.free + 1):
        assert (await _token(stack, creds, "wrong", ATTACKER)).status_code == 401
    _throttled_oauth(await _token(stack, creds, creds.client_secret, ATTACKER))
    assert (await _token(stack, creds, creds.client_secret, BANK)).status_code == 200


async def test_the_block_grows_and_a_success_resets_it(sqlite_stack: Stack) -> None:
    """Each failure past the free ones doubles the wait; once it has passed, a success starts the
    count over, so the next failure is an ordinary 401 again."""
    stack = sqlite_stack
    creds = await stack.tenant(["one-tap:login"])
    waits = []
    for _ in range(3):
        while (resp := await _token(stack, creds, "wrong", ATTACKER)).status_code == 401:
            pass
        waits.append(_throttled_oauth(resp))
        stack.clock.advance(waits[-1])
    assert waits == [1, 2, 4]
    assert (await _token(stack, creds, creds.client_secret, ATTACKER)).status_code == 200
    assert (await _token(stack, creds, "wrong", ATTACKER)).status_code == 401
    assert (await _token(stack, creds, creds.client_secret, ATTACKER)).status_code == 200


async def test_an_address_spraying_client_ids_is_blocked_for_everyone(sqlite_stack: Stack) -> None:
    """Failures for many unknown client ids from one address block that address, even for a real
    client; the real client from another address is unaffected."""
    stack = sqlite_stack
    creds = await stack.tenant(["one-tap:login"])
    for _ in range(PER_ADDRESS.free + 1):
        guess = TenantCreds(creds.tenant_id, f"gw_{secrets.token_urlsafe(18)}", "x")
        assert (await _token(stack, guess, "wrong", ATTACKER)).status_code == 401
    _throttled_oauth(await _token(stack, creds, creds.client_secret, ATTACKER))
    assert (await _token(stack, creds, creds.client_secret, BANK)).status_code == 200


async def test_bad_assertions_at_the_backchannel_endpoint_are_throttled(sqlite_stack: Stack) -> None:
    """Failed private_key_jwt assertions count against the client id they claim, at bc-authorize too."""
    stack = sqlite_stack
    creds = await stack.tenant(["sim-swap:check", PURPOSE])
    form = {
        "client_id": creds.client_id,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": "not.a.jwt",
        "scope": f"openid {PURPOSE} sim-swap:check",
        "login_hint": "tel:+8613800138000",
    }
    url = f"{stack.gateway_url}/oauth2/bc-authorize"
    for _ in range(PER_PRINCIPAL.free + 1):
        resp = await stack.http.post(url, data=form, headers={"X-Forwarded-For": ATTACKER})
        assert resp.status_code == 401, resp.text
    _throttled_oauth(await stack.http.post(url, data=form, headers={"X-Forwarded-For": ATTACKER}))


async def _admin(stack: Stack, token: str, address: str) -> httpx.Response:
    return await stack.http.post(
        f"{stack.gateway_url}/admin/tenants",
        json={"name": "Bank", "scopes": ["one-tap:login"]},
        headers={"Authorization": f"Bearer {token}", "X-Forwarded-For": address},
    )


async def test_admin_token_failures_are_throttled_per_address(sqlite_stack: Stack) -> None:
    """Wrong admin tokens from one address end in 429 TOO_MANY_REQUESTS (the contract's shape, with
    Retry-After), also for the right token there; the operator from another address is served."""
    stack = sqlite_stack
    for _ in range(PER_PRINCIPAL.free + 1):
        assert (await _admin(stack, "wrong", ATTACKER)).status_code == 401
    resp = await _admin(stack, stack.admin_token, ATTACKER)
    assert resp.status_code == 429, resp.text
    assert resp.json()["code"] == "TOO_MANY_REQUESTS" and set(resp.json()) == {"status", "code", "message"}
    assert int(resp.headers["retry-after"]) >= 1
    assert (await _admin(stack, stack.admin_token, BANK)).status_code == 201


@pytest.fixture
async def redis_stack(sqlite_url: str, redis_url: str) -> AsyncIterator[Stack]:
    """A stack whose throttle state lives in Redis (shared by every process)."""
    async with open_stack(sqlite_url, redis_url=redis_url) as running:
        yield running


async def test_the_throttle_is_shared_through_redis(redis_stack: Stack) -> None:
    """With Redis configured the block is kept there and ends with Redis's clock; IPv6 sources are
    counted by their /64, so another host of the attacker's /64 is blocked too."""
    stack = redis_stack
    creds = await stack.tenant(["one-tap:login"])
    attacker = _address()
    neighbour = attacker.replace("::1", "::2")
    for _ in range(PER_PRINCIPAL.free + 1):
        assert (await _token(stack, creds, "wrong", attacker)).status_code == 401
    _throttled_oauth(await _token(stack, creds, creds.client_secret, neighbour))
    assert (await _token(stack, creds, creds.client_secret, _address())).status_code == 200
    await asyncio.sleep(1.1)
    assert (await _token(stack, creds, creds.client_secret, neighbour)).status_code == 200
