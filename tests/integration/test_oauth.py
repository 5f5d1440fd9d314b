"""The token endpoint (client_credentials), client authentication, discovery and JWKS (contract §2)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.stack import Stack, TenantCreds

pytestmark = pytest.mark.integration
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


async def test_client_credentials_token_is_es256_with_kid_and_verifies_from_jwks(stack: Stack) -> None:
    """A client_credentials token is an ES256 JWT whose kid is published and whose claims are complete."""
    creds = await stack.tenant(["one-tap:login", "one-tap:verify"])
    resp = await stack.http.post(
        f"{stack.gateway_url}/oauth2/token",
        data={"grant_type": "client_credentials", "scope": "one-tap:login"},
        auth=(creds.client_id, creds.client_secret),
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store"
    body = resp.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "one-tap:login" and body["expires_in"] > 0
    header = jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "ES256" and header["typ"] == "at+jwt"
    jwks = jwt.PyJWKSet.from_dict((await stack.http.get(f"{stack.gateway_url}/oauth2/jwks")).json())
    claims = jwt.decode(
        body["access_token"],
        jwks[header["kid"]].key,
        algorithms=["ES256"],
        audience=stack.settings.issuer,
        options={"require": ["exp", "iat", "aud", "iss", "jti", "sub"]},
    )
    assert claims["tid"] == creds.tenant_id and claims["iss"] == stack.settings.issuer


async def test_discovery_document(stack: Stack) -> None:
    """The discovery document names the issuer, token endpoint, JWKS and the client auth methods."""
    doc = (await stack.http.get(f"{stack.gateway_url}/.well-known/openid-configuration")).json()
    assert doc["issuer"] == stack.settings.issuer
    assert doc["token_endpoint"].endswith("/oauth2/token") and doc["jwks_uri"].endswith("/oauth2/jwks")
    assert {"client_secret_basic", "private_key_jwt"} <= set(doc["token_endpoint_auth_methods_supported"])


async def _token(stack: Stack, data: dict[str, str], auth: tuple[str, str] | None = None) -> httpx.Response:
    return await stack.http.post(
        f"{stack.gateway_url}/oauth2/token", data=data, auth=auth or httpx.USE_CLIENT_DEFAULT
    )


def _oauth_error(resp: httpx.Response, status: int, error: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.json()["error"] == error


async def test_wrong_secret_and_another_tenants_secret_are_invalid_client(sqlite_stack: Stack) -> None:
    """A wrong secret, or tenant A's secret with tenant B's client id, is 401 invalid_client."""
    a = await sqlite_stack.tenant(["one-tap:login"])
    b = await sqlite_stack.tenant(["one-tap:login"])
    form = {"grant_type": "client_credentials"}
    _oauth_error(await _token(sqlite_stack, form, (a.client_id, "nope")), 401, "invalid_client")
    _oauth_error(await _token(sqlite_stack, form, (b.client_id, a.client_secret)), 401, "invalid_client")
    _oauth_error(await _token(sqlite_stack, form), 401, "invalid_client")


async def test_scope_beyond_registration_is_invalid_scope(sqlite_stack: Stack) -> None:
    """Asking for a scope the client was not registered for is 400 invalid_scope."""
    a = await sqlite_stack.tenant(["one-tap:login"])
    resp = await _token(
        sqlite_stack,
        {"grant_type": "client_credentials", "scope": "one-tap:verify"},
        (a.client_id, a.client_secret),
    )
    _oauth_error(resp, 400, "invalid_scope")


async def test_unsupported_grant_type(sqlite_stack: Stack) -> None:
    """An unknown grant type is 400 unsupported_grant_type."""
    a = await sqlite_stack.tenant(["one-tap:login"])
    resp = await _token(sqlite_stack, {"grant_type": "password"}, (a.client_id, a.client_secret))
    _oauth_error(resp, 400, "unsupported_grant_type")


def _keypair() -> tuple[ec.EllipticCurvePrivateKey, dict[str, str]]:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    return key, {**jwk, "kid": "bank-key-1", "use": "sig"}


def _assertion(key: ec.EllipticCurvePrivateKey, creds: TenantCreds, aud: str, **claims: object) -> str:
    now = int(time.time())
    payload = {
        "iss": creds.client_id,
        "sub": creds.client_id,
        "aud": aud,
        "iat": now,
        "exp": now + 120,
        "jti": secrets.token_hex(12),
        **claims,
    }
    return jwt.encode(payload, key, algorithm="ES256", headers={"kid": "bank-key-1"})


async def test_private_key_jwt(stack: Stack) -> None:
    """A signed client assertion authenticates once; replaying the same jti is 401 invalid_client."""
    key, public = _keypair()
    creds = await stack.tenant(["one-tap:login"], jwks={"keys": [public]})
    assertion = _assertion(key, creds, f"{stack.settings.issuer}/oauth2/token")
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    first = await _token(stack, form)
    again = await _token(stack, form)
    assert first.status_code == 200, first.text
    _oauth_error(again, 401, "invalid_client")


@pytest.mark.parametrize(
    ("why", "claims", "aud"),
    [
        ("lifetime over 300 s", lambda now: {"exp": now + 900}, None),
        ("expired", lambda now: {"iat": now - 400, "exp": now - 100}, None),
        ("wrong audience", lambda now: {}, "https://elsewhere.example/token"),
        ("sub is not the client", lambda now: {"sub": "someone-else"}, None),
        ("no jti", lambda now: {"jti": ""}, None),
    ],
)
async def test_bad_client_assertions_are_invalid_client(
    sqlite_stack: Stack, why: str, claims: Callable[[int], dict[str, object]], aud: str | None
) -> None:
    """Client assertions breaking the CAMARA profile (300 s, audience, sub, jti) are 401 invalid_client
    (times are taken when the test runs, not when the suite was collected)."""
    key, public = _keypair()
    creds = await sqlite_stack.tenant(["one-tap:login"], jwks={"keys": [public]})
    assertion = _assertion(
        key, creds, aud or f"{sqlite_stack.settings.issuer}/oauth2/token", **claims(int(time.time()))
    )
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    _oauth_error(await _token(sqlite_stack, form), 401, "invalid_client")
    assert why


async def test_assertion_signed_by_another_key_is_invalid_client(sqlite_stack: Stack) -> None:
    """An assertion signed by a key the tenant did not register is 401 invalid_client."""
    _, public = _keypair()
    stranger, _ = _keypair()
    creds = await sqlite_stack.tenant(["one-tap:login"], jwks={"keys": [public]})
    assertion = _assertion(stranger, creds, f"{sqlite_stack.settings.issuer}/oauth2/token")
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    _oauth_error(await _token(sqlite_stack, form), 401, "invalid_client")


async def test_token_request_must_be_form_encoded(sqlite_stack: Stack) -> None:
    """A JSON token request is 400 invalid_request in the RFC 6749 shape."""
    resp = await sqlite_stack.http.post(
        f"{sqlite_stack.gateway_url}/oauth2/token", json={"grant_type": "client_credentials"}
    )
    _oauth_error(resp, 400, "invalid_request")


@pytest.mark.parametrize("path", ["/oauth2/token", "/oauth2/authorize", "/oauth2/bc-authorize"])
@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=no-such-charset"],
)
async def test_an_undecodable_form_body_is_invalid_request(
    sqlite_stack: Stack, path: str, content_type: str
) -> None:
    """A form body that is not UTF-8 (or names an unknown charset) is 400, not a 500: invalid_request
    in the RFC 6749 shape on the token and backchannel endpoints, INVALID_ARGUMENT in the contract's
    shape on the authorization endpoint (whose direct errors all use it)."""
    a = await sqlite_stack.tenant(["one-tap:login"])
    resp = await sqlite_stack.http.post(
        f"{sqlite_stack.gateway_url}{path}",
        content=b"grant_type=\xff\xfe",
        headers={"Content-Type": content_type},
        auth=(a.client_id, a.client_secret),
    )
    if path == "/oauth2/authorize":
        assert resp.status_code == 400
        assert resp.json()["code"] == "INVALID_ARGUMENT"
        assert "UTF-8" in resp.json()["message"]
        return
    _oauth_error(resp, 400, "invalid_request")
    assert set(resp.json()) == {"error", "error_description"}


async def test_invalid_client_names_the_accepted_methods(sqlite_stack: Stack) -> None:
    """An invalid_client answer lists the client authentication methods discovery advertises."""
    doc = (await sqlite_stack.http.get(f"{sqlite_stack.gateway_url}/.well-known/openid-configuration")).json()
    resp = await _token(sqlite_stack, {"grant_type": "client_credentials"})
    _oauth_error(resp, 401, "invalid_client")
    description = resp.json()["error_description"]
    assert all(method in description for method in doc["token_endpoint_auth_methods_supported"])
