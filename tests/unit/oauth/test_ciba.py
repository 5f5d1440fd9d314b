"""CIBA poll mode: hints, pending, slow_down, success, expiry, denial, tenant isolation."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.errors import OAuthError
from tests.leaks import SENSITIVE
from tests.unit.oauth.conftest import PURPOSE, Client, Harness

CIBA = "urn:openid:params:grant-type:ciba"


async def _start(
    h: Harness, client: Client, hint: str, scope: str = f"openid {PURPOSE} sim-swap:check"
) -> dict[str, Any]:
    return await h.runtime.oauth.backchannel.start(client.tenant, {"scope": scope, "login_hint": hint})


async def _poll(h: Harness, client: Client, auth_req_id: str) -> dict[str, Any]:
    return await h.runtime.oauth.token_endpoint.handle(
        client.basic, {"grant_type": CIBA, "auth_req_id": auth_req_id}
    )


async def _poll_error(h: Harness, client: Client, auth_req_id: str) -> str:
    with pytest.raises(OAuthError) as caught:
        await _poll(h, client, auth_req_id)
    return caught.value.error


async def _settled(h: Harness) -> None:
    tasks = list(h.runtime.oauth.backchannel._tasks)
    await asyncio.gather(*tasks)


async def test_tel_hint_identifies_without_authenticating(any_db_harness: Harness) -> None:
    """A tel: hint is settled at once: tokens (with an ID token) whose amr is tel, not network."""
    h = any_db_harness
    client = await h.client(["sim-swap:check", PURPOSE])
    phone, _ = h.subscriber("cucc")
    started = await _start(h, client, f"tel:{phone}")
    assert started["interval"] == 5 and started["expires_in"] == 120 and len(started["auth_req_id"]) >= 43
    body = await _poll(h, client, started["auth_req_id"])
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "id_token"}
    who = await h.runtime.tokens.verify(body["access_token"])
    assert (
        who.subscriber is not None and who.subscriber.amr == {"tel"} and who.subscriber.phone_number == phone
    )
    h.clock.advance(5)
    assert await _poll_error(h, client, started["auth_req_id"]) == "invalid_grant"


async def test_operator_token_pending_slow_down_then_success(any_db_harness: Harness) -> None:
    """Before the operator answers: authorization_pending; polling faster than the interval: slow_down;
    once authenticated (amr network): tokens, exactly once."""
    h = any_db_harness
    client = await h.client(["number-verification:verify", PURPOSE])
    fake = h.operators["cmcc"]
    fake.login_gate = asyncio.Event()
    token = fake.one_tap.issue("+8613800138001")
    SENSITIVE.add(token)
    started = await _start(
        h, client, f"operatortoken:{token}", f"openid {PURPOSE} number-verification:verify"
    )
    auth_req_id = started["auth_req_id"]
    assert await _poll_error(h, client, auth_req_id) == "authorization_pending"
    h.clock.advance(2)
    assert await _poll_error(h, client, auth_req_id) == "slow_down"
    h.clock.advance(5)
    assert await _poll_error(h, client, auth_req_id) == "authorization_pending"
    fake.login_gate.set()
    await _settled(h)
    h.clock.advance(5)
    body = await _poll(h, client, auth_req_id)
    who = await h.runtime.tokens.verify(body["access_token"])
    assert who.subscriber is not None and who.subscriber.amr == {"network"} and body["expires_in"] == 300
    h.clock.advance(5)
    assert await _poll_error(h, client, auth_req_id) == "invalid_grant"


async def test_refused_token_is_access_denied(harness: Harness) -> None:
    """A token the operator refuses (here: already spent at one-tap) ends in access_denied."""
    client = await harness.client(["sim-swap:check", PURPOSE])
    fake = harness.operators["ctcc"]
    token = fake.one_tap.issue("+8618900189001")
    SENSITIVE.add(token)
    await fake.exchange_login(token)
    started = await _start(harness, client, f"operatortoken:{token}")
    await _settled(harness)
    assert await _poll_error(harness, client, started["auth_req_id"]) == "access_denied"


async def test_sdk_token_is_spent_once_across_ciba_requests(harness: Harness) -> None:
    """The same operator token in a second request is refused locally, never sent to the operator again."""
    client = await harness.client(["sim-swap:check", PURPOSE])
    fake = harness.operators["cucc"]
    token = fake.one_tap.issue("+8618600186001")
    SENSITIVE.add(token)
    first = await _start(harness, client, f"operatortoken:{token}")
    second = await _start(harness, client, f"operatortoken:{token}")
    await _settled(harness)
    assert "access_token" in await _poll(harness, client, first["auth_req_id"])
    assert await _poll_error(harness, client, second["auth_req_id"]) == "access_denied"
    assert [method for method, _ in fake.one_tap.calls] == ["exchange_login"]


async def test_request_expires(harness: Harness) -> None:
    """After expires_in the auth_req_id answers expired_token, even once authenticated."""
    client = await harness.client(["sim-swap:check", PURPOSE])
    phone, _ = harness.subscriber("cmcc")
    started = await _start(harness, client, f"tel:{phone}")
    harness.clock.advance(121)
    assert await _poll_error(harness, client, started["auth_req_id"]) == "expired_token"


async def test_another_tenants_auth_req_id_is_invalid_grant(harness: Harness) -> None:
    """Tenant B polling tenant A's auth_req_id gets invalid_grant; A still gets its tokens."""
    a = await harness.client(["sim-swap:check", PURPOSE])
    b = await harness.client(["sim-swap:check", PURPOSE])
    phone, _ = harness.subscriber("cmcc")
    started = await _start(harness, a, f"tel:{phone}")
    assert await _poll_error(harness, b, started["auth_req_id"]) == "invalid_grant"
    assert await _poll_error(harness, a, "nope") == "invalid_grant"
    assert "access_token" in await _poll(harness, a, started["auth_req_id"])


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"scope": "sim-swap:check", "login_hint": "tel:+8613800138000"}, "invalid_scope"),
        ({"scope": "openid kyc-match:match", "login_hint": "tel:+8613800138000"}, "invalid_scope"),
        ({"scope": f"openid {PURPOSE} sim-swap:check"}, "invalid_request"),
        ({"scope": f"openid {PURPOSE} sim-swap:check", "login_hint": "+8613800138000"}, "invalid_request"),
        ({"scope": f"openid {PURPOSE} sim-swap:check", "login_hint": "ipport:10.64.0.1"}, "invalid_request"),
        ({"scope": f"openid {PURPOSE} sim-swap:check", "login_hint": "tel:+14155550100"}, "unknown_user_id"),
        (
            {"scope": f"openid {PURPOSE} sim-swap:check", "login_hint": "operatortoken:garbage"},
            "unknown_user_id",
        ),
        (
            {
                "scope": f"openid {PURPOSE} sim-swap:check",
                "login_hint_token": "x",
                "login_hint": "tel:+8613800138000",
            },
            "invalid_request",
        ),
        ({"scope": f"openid {PURPOSE} sim-swap:check", "id_token_hint": "x"}, "invalid_request"),
    ],
)
async def test_bad_backchannel_requests(harness: Harness, form: dict[str, str], error: str) -> None:
    """Scope without openid or beyond registration, a missing or unsupported hint, an unknown subscriber."""
    client = await harness.client(["sim-swap:check", PURPOSE])
    with pytest.raises(OAuthError) as caught:
        await harness.runtime.oauth.backchannel.start(client.tenant, form)
    assert caught.value.error == error and caught.value.status == 400
