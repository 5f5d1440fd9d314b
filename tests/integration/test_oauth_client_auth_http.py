"""private_key_jwt through /oauth2/token and /oauth2/bc-authorize on real sockets: the RFC 7523bis
audience, optional kid and iat, refused header keys and typ, each refusal a 401 in the RFC 6749 shape."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.stack import Stack, TenantCreds

pytestmark = pytest.mark.integration
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
PURPOSE = "dpv:FraudPreventionAndDetection"


def _rsa_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    return {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())), "kid": kid, "use": "sig"}


def _ec_jwk(key: ec.EllipticCurvePrivateKey, kid: str) -> dict[str, Any]:
    return {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key())), "kid": kid, "use": "sig"}


def _assertion(
    creds: TenantCreds, key: Any, alg: str, aud: object, header: dict[str, Any], **claims: Any
) -> str:
    now = int(time.time())
    body = {
        "iss": creds.client_id,
        "sub": creds.client_id,
        "aud": aud,
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_hex(12),
        **claims,
    }
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm=alg, headers=header)


async def _token(stack: Stack, assertion: str) -> httpx.Response:
    return await stack.http.post(
        f"{stack.gateway_url}/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
    )


def _invalid_client(resp: httpx.Response) -> str:
    assert resp.status_code == 401, resp.text
    body = resp.json()
    assert set(body) == {"error", "error_description"} and body["error"] == "invalid_client"
    assert resp.headers["www-authenticate"].startswith("Basic")
    description: str = body["error_description"]
    return description


async def test_an_rs256_assertion_without_kid_or_iat_addressed_to_the_issuer(stack: Stack) -> None:
    """A client with one RSA key signs without kid and iat, aud the issuer: a token, on both databases."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    creds = await stack.tenant(["one-tap:login"], jwks={"keys": [_rsa_jwk(key, "rsa-1")]})
    assertion = _assertion(creds, key, "RS256", stack.settings.issuer, {"typ": "JWT"}, iat=None)
    resp = await _token(stack, assertion)
    assert resp.status_code == 200, resp.text
    assert resp.json()["scope"] == "one-tap:login"


async def test_typed_assertion_at_the_backchannel_endpoint(sqlite_stack: Stack) -> None:
    """typ client-authentication+jwt with aud [issuer] authenticates a CIBA request; a list adding
    another server does not."""
    stack = sqlite_stack
    key = ec.generate_private_key(ec.SECP256R1())
    creds = await stack.tenant(["sim-swap:check", PURPOSE], jwks={"keys": [_ec_jwk(key, "k")]})
    header = {"typ": "client-authentication+jwt"}
    url = f"{stack.gateway_url}/oauth2/bc-authorize"
    form = {
        "client_assertion_type": ASSERTION_TYPE,
        "scope": f"openid {PURPOSE} sim-swap:check",
        "login_hint": "tel:+8613800138000",
    }
    good = _assertion(creds, key, "ES256", [stack.settings.issuer], header)
    resp = await stack.http.post(url, data={**form, "client_assertion": good})
    assert resp.status_code == 200, resp.text
    assert resp.json()["auth_req_id"]
    mixed = _assertion(creds, key, "ES256", [stack.settings.issuer, "https://other-as.example"], header)
    description = _invalid_client(await stack.http.post(url, data={**form, "client_assertion": mixed}))
    assert "aud" in description


@pytest.mark.parametrize(
    ("case", "header", "aud", "says"),
    [
        ("jku", {"kid": "k", "jku": "https://attacker.example/jwks"}, None, "jku"),
        ("x5u", {"kid": "k", "x5u": "https://attacker.example/c.pem"}, None, "x5u"),
        ("jwk", {"kid": "k", "jwk": {"kty": "EC"}}, None, "jwk"),
        ("typ", {"kid": "k", "typ": "at+jwt"}, None, "typ"),
        ("aud-list", {"kid": "k"}, "both", "aud"),
        ("no-kid-two-keys", {}, None, "kid"),
    ],
)
async def test_structural_faults_are_invalid_client_saying_why(
    sqlite_stack: Stack, case: str, header: dict[str, Any], aud: str | None, says: str
) -> None:
    """Header-borne keys, a foreign typ, an audience list naming another server, and a missing kid
    among several keys are 401 invalid_client whose description names the fault."""
    stack = sqlite_stack
    key, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    creds = await stack.tenant(["one-tap:login"], jwks={"keys": [_ec_jwk(key, "k"), _ec_jwk(other, "k2")]})
    audience: object = [stack.settings.issuer, "https://other.example"] if aud else stack.settings.issuer
    description = _invalid_client(await _token(stack, _assertion(creds, key, "ES256", audience, header)))
    assert says in description, case


async def test_signature_faults_stay_generic(sqlite_stack: Stack) -> None:
    """A wrong key or a foreign audience says only that authentication failed (nothing to probe)."""
    stack = sqlite_stack
    key = ec.generate_private_key(ec.SECP256R1())
    creds = await stack.tenant(["one-tap:login"], jwks={"keys": [_ec_jwk(key, "k")]})
    stranger = ec.generate_private_key(ec.SECP256R1())
    for assertion in (
        _assertion(creds, stranger, "ES256", stack.settings.issuer, {"kid": "k"}),
        _assertion(creds, key, "ES256", "https://other-as.example", {"kid": "k"}),
    ):
        assert _invalid_client(await _token(stack, assertion)).startswith("Client authentication failed")
