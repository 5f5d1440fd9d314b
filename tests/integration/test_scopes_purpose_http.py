"""The dpv: purpose rule through /oauth2/token (JWT bearer) and /oauth2/bc-authorize on real sockets:
a refusal is 400 invalid_scope in the RFC 6749 shape naming the rule."""

from __future__ import annotations

import json
import secrets
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.stack import Stack

pytestmark = pytest.mark.integration
FRAUD, MARKETING = "dpv:FraudPreventionAndDetection", "dpv:Marketing"


def _invalid_scope(resp: httpx.Response) -> str:
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert set(body) == {"error", "error_description"} and body["error"] == "invalid_scope"
    description: str = body["error_description"]
    return description


async def test_jwt_bearer_purposes(stack: Stack) -> None:
    """One purpose beside sim-swap:check gets a token; none, or two, is invalid_scope; both databases."""
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key())), "kid": "k"}
    creds = await stack.tenant(["sim-swap:check", FRAUD, MARKETING], jwks={"keys": [jwk]})
    phone = await stack.subscriber("cmcc")

    async def grant(scope: str) -> httpx.Response:
        now = int(time.time())
        claims = {
            "iss": creds.client_id,
            "sub": f"tel:{phone}",
            "aud": f"{stack.settings.issuer}/oauth2/token",
            "iat": now,
            "exp": now + 60,
            "jti": secrets.token_hex(8),
            "scope": scope,
        }
        assertion = jwt.encode(claims, key, algorithm="ES256", headers={"kid": "k"})
        return await stack.http.post(
            f"{stack.gateway_url}/oauth2/token",
            data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
        )

    assert (await grant(f"{FRAUD} sim-swap:check")).status_code == 200
    assert "personal data" in _invalid_scope(await grant("sim-swap:check"))
    assert "exactly one" in _invalid_scope(await grant(f"{FRAUD} {MARKETING} sim-swap:check"))


async def test_ciba_with_two_purposes_is_invalid_scope(sqlite_stack: Stack) -> None:
    """A backchannel request naming two purposes is refused before any subscriber is looked up."""
    stack = sqlite_stack
    creds = await stack.tenant(["sim-swap:check", FRAUD, MARKETING])
    resp = await stack.http.post(
        f"{stack.gateway_url}/oauth2/bc-authorize",
        data={"scope": f"openid {FRAUD} {MARKETING} sim-swap:check", "login_hint": "tel:+8613800138000"},
        auth=(creds.client_id, creds.client_secret),
    )
    assert "dpv:" in _invalid_scope(resp)
