"""POST /admin/tenants refuses weak keys, non-loopback http and fragment redirect URIs, and control
characters in names: 400 INVALID_ARGUMENT in the contract's shape naming the field, never a 500."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.stack import Stack

pytestmark = pytest.mark.integration


async def _create(stack: Stack, body: dict[str, Any]) -> httpx.Response:
    return await stack.http.post(
        f"{stack.gateway_url}/admin/tenants",
        json={"name": "Bank", "scopes": ["one-tap:login"], **body},
        headers={"Authorization": f"Bearer {stack.admin_token}"},
    )


def _rsa_jwk(bits: int) -> dict[str, Any]:
    public = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    return {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public)), "kid": f"rsa-{bits}"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"jwks": {"keys": [_rsa_jwk(1024)]}}, "jwks: keys[0]"),
        ({"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "s"}]}}, "jwks: keys[0]"),
        ({"jwks": {"keys": [{"kty": "RSA", "n": 5, "e": [], "kid": "r"}]}}, "jwks: keys[0]"),
        ({"jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": None, "kid": "e"}]}}, "jwks: keys[0]"),
        ({"redirect_uris": ["http://bank.example/cb"]}, "redirect_uris: redirect_uris[0]"),
        ({"redirect_uris": ["https://bank.example/cb#x"]}, "redirect_uris: redirect_uris[0]"),
        ({"name": "Bank\u202eknab"}, "name:"),
        ({"name": "Bank\r\nX-Injected: 1"}, "name:"),
    ],
    ids=[
        "rsa-1024",
        "symmetric",
        "rsa-garbage",
        "ec-garbage",
        "http-redirect",
        "fragment",
        "bidi-name",
        "crlf-name",
    ],
)
async def test_weak_or_unsafe_client_metadata_is_400(stack: Stack, body: dict[str, Any], field: str) -> None:
    """Each unsafe definition is 400 INVALID_ARGUMENT whose message names the member, on both databases."""
    resp = await _create(stack, body)
    assert resp.status_code == 400, resp.text
    answer = resp.json()
    assert set(answer) == {"status", "code", "message"}
    assert answer["status"] == 400 and answer["code"] == "INVALID_ARGUMENT"
    assert answer["message"].startswith(f"Invalid request body: {field}"), answer["message"]


async def test_loopback_redirect_and_strong_keys_register(sqlite_stack: Stack) -> None:
    """A native app's loopback http redirect URI and P-384/RSA-2048 keys register (201)."""
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    jwks = {
        "keys": [_rsa_jwk(2048), {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(p384)), "kid": "ec-384"}]
    }
    resp = await _create(
        sqlite_stack, {"jwks": jwks, "redirect_uris": ["http://127.0.0.1:53117/cb", "http://[::1]/cb"]}
    )
    assert resp.status_code == 201, resp.text
