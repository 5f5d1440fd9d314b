"""RS256 ID tokens over real sockets, judged by authlib: its code-flow client gets an ID token
signed RS256 for a client registered with ``id_token_signed_response_alg`` RS256 or without it (the
OIDC Registration §2 default), verified against the published JWKS (joserfc) and validated by
authlib's ``CodeIDToken``; ES256 clients, and clients registered before RS256 became the default,
keep ES256."""

from __future__ import annotations

import secrets
import warnings
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from authlib.oidc.core import CodeIDToken
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from gateway.db import create_engine
from tests.integration.test_authorization import PURPOSE, REDIRECT, AuthStack, open_auth_stack
from tests.leaks import SENSITIVE
from tests.stack import TenantCreds
from tests.unit.oauth.fakes import run_device

with warnings.catch_warnings():
    # authlib's "always" filter for its own deprecations; it deprecates plain httpx (see
    # tests/integration/test_authorization.py).
    import authlib.deprecate

    warnings.filterwarnings(
        "ignore", "The httpx module is deprecated", authlib.deprecate.AuthlibDeprecationWarning
    )
    from authlib.integrations.httpx_client import AsyncOAuth2Client

pytestmark = pytest.mark.integration


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[AuthStack]:
    """On SQLite and PostgreSQL."""
    async with open_auth_stack(database_url) as running:
        yield running


async def _tenant(stack: AuthStack, **metadata: Any) -> TenantCreds:
    assert stack.settings.admin_token is not None
    resp = await stack.http.post(
        f"{stack.url}/admin/tenants",
        json={
            "name": f"t-{secrets.token_hex(3)}",
            "scopes": ["number-verification:verify", PURPOSE],
            "redirect_uris": [REDIRECT],
            **metadata,
        },
        headers={"Authorization": f"Bearer {stack.settings.admin_token.get_secret_value()}"},
    )
    assert resp.status_code == 201, resp.text
    creds = TenantCreds(**resp.json())
    SENSITIVE.add(creds.client_secret)
    return creds


async def _id_token(stack: AuthStack, creds: TenantCreds, nonce: str) -> dict[str, Any]:
    """authlib's code flow from a device on cellular data: the token response."""
    _, ip = stack.phone("cmcc")
    verifier = secrets.token_urlsafe(48)
    async with AsyncOAuth2Client(
        creds.client_id,
        creds.client_secret,
        scope=f"openid {PURPOSE} number-verification:verify",
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
    ) as client:
        url, _ = client.create_authorization_url(
            f"{stack.url}/oauth2/authorize", code_verifier=verifier, nonce=nonce
        )
        location = await run_device(url, until=REDIRECT, device_ip=ip)
        token: dict[str, Any] = await client.fetch_token(
            f"{stack.url}/oauth2/token", authorization_response=location, code_verifier=verifier
        )
    SENSITIVE.update({token["access_token"], token["id_token"]})
    return token


@pytest.mark.parametrize(
    "metadata",
    [{"id_token_signed_response_alg": "RS256"}, {}, {"id_token_signed_response_alg": None}],
    ids=["RS256", "absent", "null"],
)
async def test_an_rs256_client_gets_an_id_token_authlib_verifies(
    stack: AuthStack, metadata: dict[str, Any]
) -> None:
    """Registered with id_token_signed_response_alg RS256, without it or with null (RS256 is the
    default), the client's ID token is RS256 under a published RSA key of 2048 bits or more;
    joserfc verifies it from the JWKS (RS256 only) and authlib's CodeIDToken validates iss, aud,
    nonce, exp, iat and auth_time."""
    creds = await _tenant(stack, **metadata)
    nonce = secrets.token_urlsafe(12)
    token = await _id_token(stack, creds, nonce)
    jwks = (await stack.http.get(f"{stack.url}/oauth2/jwks")).json()
    decoded = jose_jwt.decode(
        token["id_token"], KeySet.import_key_set(jwks), registry=JWSRegistry(algorithms=["RS256"])
    )
    published = {k["kid"]: k for k in jwks["keys"]}
    assert decoded.header["alg"] == "RS256" and published[decoded.header["kid"]]["kty"] == "RSA"
    assert len(published[decoded.header["kid"]]["n"]) >= 342  # 2048 bits in base64url
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        {"iss": {"essential": True, "value": stack.url}, "auth_time": {"essential": True}},
        {"nonce": nonce, "client_id": creds.client_id, "access_token": token["access_token"]},
    )
    claims.validate(leeway=5)
    assert claims["aud"] == creds.client_id and claims["amr"] == ["network"]


async def _forget_id_token_alg(stack: AuthStack, client_id: str) -> None:
    """Make ``client_id``'s row look registered before RS256 became the default (no value stored)."""
    engine = create_engine(stack.settings.database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "UPDATE tenants SET id_token_signed_response_alg = NULL WHERE client_id = :client_id"
                ),
                {"client_id": client_id},
            )
    finally:
        await engine.dispose()


async def test_es256_clients_and_clients_registered_before_the_default_get_es256(stack: AuthStack) -> None:
    """A client registered with ES256, and one whose row holds no algorithm (registered before RS256
    became the default; no migration rewrites such rows), get ES256 ID tokens; an algorithm
    outside ES256/RS256 is refused at registration."""
    es256 = await _tenant(stack, id_token_signed_response_alg="ES256")
    legacy = await _tenant(stack)
    await _forget_id_token_alg(stack, legacy.client_id)
    for creds in (es256, legacy):
        token = await _id_token(stack, creds, "n")
        jwks = KeySet.import_key_set((await stack.http.get(f"{stack.url}/oauth2/jwks")).json())
        assert jose_jwt.decode(token["id_token"], jwks, algorithms=["ES256"]).header["alg"] == "ES256"
    assert stack.settings.admin_token is not None
    refused = await stack.http.post(
        f"{stack.url}/admin/tenants",
        json={
            "name": "hs",
            "scopes": ["number-verification:verify", PURPOSE],
            "id_token_signed_response_alg": "HS256",
        },
        headers={"Authorization": f"Bearer {stack.settings.admin_token.get_secret_value()}"},
    )
    assert refused.status_code == 400 and refused.json()["code"] == "INVALID_ARGUMENT"
