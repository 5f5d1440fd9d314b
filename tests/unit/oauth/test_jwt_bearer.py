"""The JWT-bearer grant (RFC 7523, CAMARA rules)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from carrier_adapters import CarrierUnavailable
from gateway.errors import OAuthError
from tests.leaks import SENSITIVE
from tests.unit.oauth.conftest import Client, Harness

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
PHONE = "+8613800138002"


async def _grant(h: Harness, assertion: str, authorization: str | None = None, **form: str) -> dict[str, Any]:
    return await h.runtime.oauth.token_endpoint.handle(
        authorization, {"grant_type": GRANT, "assertion": assertion, **form}
    )


async def _error(h: Harness, assertion: str, authorization: str | None = None, **form: str) -> OAuthError:
    with pytest.raises(OAuthError) as caught:
        await _grant(h, assertion, authorization, **form)
    return caught.value


def _claims(**extra: Any) -> dict[str, Any]:
    return {"sub": f"tel:{PHONE}", "scope": "dpv:FraudPreventionAndDetection sim-swap:check", **extra}


async def _client(h: Harness) -> Client:
    return await h.client(["sim-swap:check", "dpv:FraudPreventionAndDetection"], signing=True)


async def test_tel_subject_yields_a_short_three_legged_token(harness: Harness) -> None:
    """A valid assertion alone authenticates the client; the token names the number (amr tel), no ID or
    refresh token."""
    client = await _client(harness)
    body = await _grant(harness, client.assertion(_claims()))
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    who = await harness.runtime.tokens.verify(body["access_token"])
    assert who.tenant_id == client.tenant.id and who.scopes == {
        "dpv:FraudPreventionAndDetection",
        "sim-swap:check",
    }
    assert (
        who.subscriber is not None and who.subscriber.phone_number == PHONE and who.subscriber.amr == {"tel"}
    )


async def test_operator_token_subject_is_network_authenticated(harness: Harness) -> None:
    """sub = operatortoken:<SDK token> is exchanged at its operator: amr network."""
    client = await _client(harness)
    token = harness.operators["cucc"].one_tap.issue("+8618600186002")
    SENSITIVE.add(token)
    body = await _grant(harness, client.assertion(_claims(sub=f"operatortoken:{token}")))
    who = await harness.runtime.tokens.verify(body["access_token"])
    assert (
        who.subscriber is not None and who.subscriber.amr == {"network"} and who.subscriber.operator == "cucc"
    )


async def test_replayed_assertion_is_refused(harness: Harness) -> None:
    """The same assertion (jti) twice: the second is invalid_grant."""
    client = await _client(harness)
    assertion = client.assertion(_claims())
    await _grant(harness, assertion)
    assert (await _error(harness, assertion)).error == "invalid_grant"


async def test_operator_failure_is_temporarily_unavailable(harness: Harness) -> None:
    """An operator that cannot exchange the SDK token gives 503 temporarily_unavailable."""
    client = await _client(harness)
    fake = harness.operators["cmcc"]
    token = fake.one_tap.issue(PHONE)
    SENSITIVE.add(token)
    fake.one_tap.fail_next(CarrierUnavailable("cmcc", "down"))
    error = await _error(harness, client.assertion(_claims(sub=f"operatortoken:{token}")))
    assert error.error == "temporarily_unavailable" and error.status == 503


async def test_scope_parameter_is_refused(harness: Harness) -> None:
    """Scopes travel in the assertion; a scope request parameter is invalid_request."""
    client = await _client(harness)
    assert (
        await _error(harness, client.assertion(_claims()), scope="sim-swap:check")
    ).error == "invalid_request"


@pytest.mark.parametrize(
    ("claims", "error"),
    [
        ({"exp_offset": 301, "iat_offset": 0}, "invalid_grant"),
        ({"exp_offset": 400, "iat_offset": 200}, "invalid_grant"),
        ({"exp_offset": -40, "iat_offset": -100}, "invalid_grant"),
        ({"aud": "https://elsewhere.test/token"}, "invalid_grant"),
        ({"sub": "+8613800138000"}, "invalid_grant"),
        ({"sub": "tel:+14155550100"}, "invalid_grant"),
        ({"scope": "openid kyc-match:match"}, "invalid_scope"),
        ({"scope": ""}, "invalid_scope"),
        ({"jti": None}, "invalid_grant"),
    ],
)
async def test_invalid_assertions(harness: Harness, claims: dict[str, Any], error: str) -> None:
    """Over-long life, iat in the future, expired, wrong aud, bad sub, bad scope claim, missing jti."""
    client = await _client(harness)
    now = harness.clock.now().timestamp()
    extra = {k: v for k, v in claims.items() if not k.endswith("_offset")}
    iat, exp = now + claims.get("iat_offset", 0), now + claims.get("exp_offset", 60)
    assertion = client.assertion(_claims(iat=int(iat), exp=int(exp), **extra))
    assert (await _error(harness, assertion)).error == error


async def test_foreign_key_and_other_clients_authentication(harness: Harness) -> None:
    """An assertion signed by an unregistered key, or presented with another client's credentials, fails."""
    client = await _client(harness)
    other = await _client(harness)
    forged = Client(client.tenant, client.secret, ec.generate_private_key(ec.SECP256R1()))
    assert (await _error(harness, forged.assertion(_claims()))).error == "invalid_grant"
    assert (await _error(harness, client.assertion(_claims()), other.basic)).error == "invalid_grant"
    assert "access_token" in await _grant(harness, client.assertion(_claims()), client.basic)


async def test_client_without_registered_keys_cannot_use_the_grant(harness: Harness) -> None:
    """A tenant with no JWKS has nothing to verify an assertion with."""
    signed = await _client(harness)
    plain = await harness.client(["sim-swap:check"])
    impostor = Client(plain.tenant, plain.secret, signed.key)
    assert (await _error(harness, impostor.assertion(_claims()))).error == "invalid_grant"


async def test_an_assertion_whose_payload_nests_too_deeply_is_invalid_not_a_crash(harness: Harness) -> None:
    """A payload nested past the JSON parser's recursion limit is refused as a malformed assertion
    (an OAuth error), not a RecursionError that the middleware would answer 500."""
    client = await _client(harness)
    header = client.assertion(_claims()).split(".")[0]
    payload = base64.urlsafe_b64encode(b"[" * 2000).rstrip(b"=").decode()
    assert (await _error(harness, f"{header}.{payload}.c2ln")).error == "invalid_grant"
