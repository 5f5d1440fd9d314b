"""Bad input and hostile credentials on the public surface: always the contract's error, never a 500."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.crypto import FieldCipher, Keyring
from gateway.db import create_engine, session_factory
from gateway.oauth.keys import KeyStore
from gateway.oauth.tokens import AccessTokens, Principal
from tests.stack import SettableClock, Stack

pytestmark = pytest.mark.integration


def _assert_error(resp: object, status: int, code: str) -> None:
    import httpx

    assert isinstance(resp, httpx.Response)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert body["status"] == status and body["code"] == code and isinstance(body["message"], str)
    assert "Traceback" not in resp.text


async def _login_bearer(stack: Stack) -> str:
    return await stack.access_token(await stack.tenant(["one-tap:login"]))


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"{not json", "malformed JSON"),
        (b"[]", "an array instead of an object"),
        (b'{"token": 42}', "a number where a string is required"),
        (b'{"token": "STsid00", "operator": "vodafone"}', "an operator outside the enum"),
        (b'{"token": "STsid00", "extra": true}', "an unknown property"),
        (b"{}", "a missing required property"),
        (b"", "an empty body"),
    ],
)
async def test_malformed_bodies_are_400(sqlite_stack: Stack, raw: bytes, why: str) -> None:
    """Each malformed body is 400 INVALID_ARGUMENT in the contract's error shape."""
    bearer = await _login_bearer(sqlite_stack)
    resp = await sqlite_stack.http.post(
        f"{sqlite_stack.gateway_url}/one-tap/v1/login",
        content=raw,
        headers={"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"},
    )
    _assert_error(resp, 400, "INVALID_ARGUMENT")


async def test_bad_phone_number_is_400(sqlite_stack: Stack) -> None:
    """A phone number that is not E.164 with '+' is 400 INVALID_ARGUMENT and is not echoed back."""
    bearer = await sqlite_stack.access_token(await sqlite_stack.tenant(["one-tap:verify"]))
    resp = await sqlite_stack.call(
        "/one-tap/v1/verify", bearer, {"token": "STsid0", "phoneNumber": "13800138000"}
    )
    _assert_error(resp, 400, "INVALID_ARGUMENT")
    assert "13800138000" not in resp.text


async def test_non_json_content_type_is_415(sqlite_stack: Stack) -> None:
    """A form-encoded body on a JSON endpoint is 415 UNSUPPORTED_MEDIA_TYPE."""
    bearer = await _login_bearer(sqlite_stack)
    resp = await sqlite_stack.http.post(
        f"{sqlite_stack.gateway_url}/one-tap/v1/login",
        data={"token": "x"},
        headers={"Authorization": f"Bearer {bearer}"},
    )
    _assert_error(resp, 415, "UNSUPPORTED_MEDIA_TYPE")


async def test_two_mebibyte_body_is_413(sqlite_stack: Stack) -> None:
    """A 2 MiB body is refused with 413 in the contract shape before it is parsed."""
    bearer = await _login_bearer(sqlite_stack)
    body = b'{"token": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    resp = await sqlite_stack.http.post(
        f"{sqlite_stack.gateway_url}/one-tap/v1/login",
        content=body,
        headers={"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"},
    )
    _assert_error(resp, 413, "PAYLOAD_TOO_LARGE")


async def test_bad_correlator_is_400_and_not_echoed(sqlite_stack: Stack) -> None:
    """An x-correlator outside the CAMARA pattern is 400 INVALID_ARGUMENT; the bad value is not echoed."""
    resp = await sqlite_stack.http.get(
        f"{sqlite_stack.gateway_url}/healthz", headers={"x-correlator": "bad value!"}
    )
    _assert_error(resp, 400, "INVALID_ARGUMENT")
    assert resp.headers["x-correlator"] != "bad value!"


async def test_correlator_is_echoed_on_success_and_error(sqlite_stack: Stack) -> None:
    """A valid x-correlator comes back on a 200 and on an error; one is generated when absent."""
    ok = await sqlite_stack.http.get(
        f"{sqlite_stack.gateway_url}/healthz", headers={"x-correlator": "abc-123:{x}"}
    )
    err = await sqlite_stack.http.post(
        f"{sqlite_stack.gateway_url}/one-tap/v1/login", headers={"x-correlator": "c-2"}
    )
    none = await sqlite_stack.http.get(f"{sqlite_stack.gateway_url}/healthz")
    assert ok.headers["x-correlator"] == "abc-123:{x}"
    assert err.headers["x-correlator"] == "c-2"
    assert none.headers["x-correlator"]


async def test_unknown_route_and_method_use_the_error_shape(sqlite_stack: Stack) -> None:
    """The framework's own 404 and 405 answers use the contract's error body."""
    _assert_error(await sqlite_stack.http.get(f"{sqlite_stack.gateway_url}/nope"), 404, "NOT_FOUND")
    _assert_error(
        await sqlite_stack.http.get(f"{sqlite_stack.gateway_url}/one-tap/v1/login"), 405, "METHOD_NOT_ALLOWED"
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(stack: Stack, creds_client: str, tenant_id: str) -> dict[str, object]:
    now = int(time.time())
    return {
        "iss": stack.settings.issuer,
        "aud": stack.settings.issuer,
        "sub": creds_client,
        "client_id": creds_client,
        "tid": tenant_id,
        "scope": "one-tap:login",
        "iat": now,
        "exp": now + 600,
        "jti": secrets.token_hex(8),
    }


async def _forgeries(stack: Stack) -> dict[str, str]:
    creds = await stack.tenant(["one-tap:login"])
    claims = _claims(stack, creds.client_id, creds.tenant_id)
    jwks = (await stack.http.get(f"{stack.gateway_url}/oauth2/jwks")).json()["keys"]
    kid = jwks[0]["kid"]
    public_pem = jwt.PyJWK.from_dict(jwks[0]).key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    payload = _b64(json.dumps(claims).encode())
    none_token = _b64(json.dumps({"alg": "none", "typ": "at+jwt", "kid": kid}).encode()) + "." + payload + "."
    hs_header = _b64(json.dumps({"alg": "HS256", "typ": "at+jwt", "kid": kid}).encode())
    hs_sig = _b64(hmac.new(public_pem, f"{hs_header}.{payload}".encode(), hashlib.sha256).digest())
    stranger = ec.generate_private_key(ec.SECP256R1())
    unknown_kid = jwt.encode(
        claims, stranger, algorithm="ES256", headers={"kid": "not-a-key-of-ours", "typ": "at+jwt"}
    )
    wrong_key = jwt.encode(claims, stranger, algorithm="ES256", headers={"kid": kid, "typ": "at+jwt"})
    engine = create_engine(stack.settings.database_url)
    try:
        cipher = FieldCipher(Keyring.parse(stack.settings.data_keys.get_secret_value()))  # type: ignore[union-attr]

        past = SettableClock()
        past.advance(-7200)

        keys = KeyStore(session_factory(engine), cipher, past, max_token_ttl=900)
        await keys.load()
        expired = AccessTokens(keys, past, cipher, issuer=stack.settings.issuer, ttl=900).issue(
            Principal(creds.tenant_id, creds.client_id, frozenset({"one-tap:login"}))
        )
    finally:
        await engine.dispose()
    return {
        "alg none": none_token,
        "HS256 signed with the public key": f"{hs_header}.{payload}.{hs_sig}",
        "unknown kid": unknown_kid,
        "our kid, another key": wrong_key,
        "expired": expired,
        "garbage": "not-a-jwt",
    }


async def test_forged_or_expired_tokens_are_one_generic_401(sqlite_stack: Stack) -> None:
    """Missing, expired and forged bearer tokens all get the same 401 UNAUTHENTICATED body."""
    bodies = set()
    attempts = {"missing": None, **(await _forgeries(sqlite_stack))}
    for why, token in attempts.items():
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        resp = await sqlite_stack.http.post(
            f"{sqlite_stack.gateway_url}/one-tap/v1/login",
            json={"token": "STsid" + "0" * 32},
            headers=headers,
        )
        _assert_error(resp, 401, "UNAUTHENTICATED")
        bodies.add(resp.text)
        assert why
    assert len(bodies) == 1


async def test_missing_scope_is_403(sqlite_stack: Stack) -> None:
    """A valid token without the route's scope is 403 PERMISSION_DENIED."""
    bearer = await sqlite_stack.access_token(await sqlite_stack.tenant(["one-tap:verify"]))
    resp = await sqlite_stack.call("/one-tap/v1/login", bearer, {"token": "STsid" + "0" * 32})
    _assert_error(resp, 403, "PERMISSION_DENIED")


async def test_admin_api_requires_the_admin_token(sqlite_stack: Stack) -> None:
    """Tenant creation with no, a wrong, or a tenant's bearer is 401."""
    tenant_bearer = await _login_bearer(sqlite_stack)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {tenant_bearer}"}):
        resp = await sqlite_stack.http.post(
            f"{sqlite_stack.gateway_url}/admin/tenants",
            json={"name": "x", "scopes": ["one-tap:login"]},
            headers=headers,
        )
        _assert_error(resp, 401, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "scopes": ["root"]},
        {"name": "x", "scopes": []},
        {"name": "", "scopes": ["one-tap:login"]},
        {"name": "x", "scopes": ["one-tap:login"], "redirect_uris": ["javascript:alert(1)"]},
        {
            "name": "x",
            "scopes": ["one-tap:login"],
            "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "1"}]},
        },
        {"name": "x", "scopes": ["one-tap:login"], "tenant_id": "chosen"},
    ],
)
async def test_invalid_tenant_definitions_are_400(sqlite_stack: Stack, body: dict[str, object]) -> None:
    """Unknown scopes, empty names, bad redirect URIs, secret keys in JWKS and mass-assignment are 400."""
    resp = await sqlite_stack.http.post(
        f"{sqlite_stack.gateway_url}/admin/tenants",
        json=body,
        headers={"Authorization": f"Bearer {sqlite_stack.admin_token}"},
    )
    _assert_error(resp, 400, "INVALID_ARGUMENT")


async def test_health_and_readiness(sqlite_stack: Stack) -> None:
    """/healthz is 200; /readyz is 200 with every operator up and 503 when one is down."""
    assert (await sqlite_stack.http.get(f"{sqlite_stack.gateway_url}/healthz")).status_code == 200
    assert (await sqlite_stack.http.get(f"{sqlite_stack.gateway_url}/readyz")).status_code == 200
    await sqlite_stack.faults("ctcc", down=True)
    _assert_error(await sqlite_stack.http.get(f"{sqlite_stack.gateway_url}/readyz"), 503, "UNAVAILABLE")
