"""Signed request objects over real sockets, with authlib as the client: authlib builds the
authorization URL around a request object signed with joserfc (authlib's JOSE library) and
completes the code flow; signed CIBA requests at /oauth2/bc-authorize; the OAuth error each
defect answers."""

from __future__ import annotations

import secrets
import time
import warnings
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey, KeySet

from gateway.crypto import b64url_encode
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
CIBA = "urn:openid:params:grant-type:ciba"


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[AuthStack]:
    """On SQLite and PostgreSQL."""
    async with open_auth_stack(database_url) as running:
        yield running


@pytest.fixture
async def sqlite_stack(sqlite_url: str) -> AsyncIterator[AuthStack]:
    """On SQLite only."""
    async with open_auth_stack(sqlite_url) as running:
        yield running


def _query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def _signing_tenant(stack: AuthStack, scopes: list[str]) -> tuple[TenantCreds, ECKey]:
    """A tenant registering the public half of a fresh joserfc P-256 key (kid ``k1``)."""
    key = ECKey.generate_key("P-256")
    return await stack.tenant(scopes, jwks={"keys": [{**key.as_dict(private=False), "kid": "k1"}]}), key


def _request_object(
    stack: AuthStack, creds: TenantCreds, key: ECKey, claims: dict[str, Any], **header: str
) -> str:
    """``claims`` signed by ``key`` (ES256, kid ``k1``) with the JWT claims CAMARA requires, ``aud``
    the issuer unless ``claims`` says otherwise (None drops a claim; a time claim given as ``"+600"``
    or ``"-120"`` is that many seconds from now, taken when the object is signed)."""
    now = int(time.time())
    claims = {
        name: now + int(value) if name in ("iat", "nbf", "exp") and isinstance(value, str) else value
        for name, value in claims.items()
    }
    body = {
        "iss": creds.client_id,
        "aud": stack.url,
        "client_id": creds.client_id,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": secrets.token_urlsafe(12),
        **claims,
    }
    headers = {"alg": "ES256", "kid": "k1", "typ": "oauth-authz-req+jwt", **header}
    return jose_jwt.encode(headers, {k: v for k, v in body.items() if v is not None}, key)


async def test_authlib_sends_a_signed_request_object_and_gets_tokens(stack: AuthStack) -> None:
    """authlib's create_authorization_url carries the signed request object (aud the authorization
    endpoint's URL, as CAMARA recommends) beside the plain parameters; the gateway takes the
    object's (its state and nonce come back), the code flow completes and the ID token carries the
    object's nonce. The same URL again is redirected with invalid_request_object (jti spent)."""
    creds, key = await _signing_tenant(stack, ["number-verification:verify", PURPOSE])
    _, ip = stack.phone("cucc")
    verifier, nonce, state = secrets.token_urlsafe(48), secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    claims = {
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": f"openid {PURPOSE} number-verification:verify",
        "state": state,
        "nonce": nonce,
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
        "aud": f"{stack.url}/oauth2/authorize",
    }
    async with AsyncOAuth2Client(
        creds.client_id,
        creds.client_secret,
        scope=f"openid {PURPOSE} number-verification:verify",
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
    ) as client:
        url, _ = client.create_authorization_url(
            f"{stack.url}/oauth2/authorize",
            state=state,
            code_verifier=verifier,
            nonce=nonce,
            request=_request_object(stack, creds, key, claims),
        )
        location = await run_device(url, until=REDIRECT, device_ip=ip)
        assert _query(location)["state"] == state and _query(location)["iss"] == stack.url
        token = await client.fetch_token(
            f"{stack.url}/oauth2/token", authorization_response=location, code_verifier=verifier
        )
    SENSITIVE.update({token["access_token"], token["id_token"]})
    assert token["scope"] == f"{PURPOSE} number-verification:verify openid"
    keys = KeySet.import_key_set((await stack.http.get(f"{stack.url}/oauth2/jwks")).json())
    assert jose_jwt.decode(token["id_token"], keys).claims["nonce"] == nonce
    replayed = await stack.http.get(url)
    assert replayed.status_code == 302, replayed.text
    assert _query(replayed.headers["location"])["error"] == "invalid_request_object"
    assert _query(replayed.headers["location"])["error_description"] == (
        "The request object's jti has been used before."
    )


def _unsigned(signed: str) -> str:
    """``signed``'s claims as an unsecured JWT (alg none, empty signature)."""
    return b64url_encode(b'{"alg":"none","typ":"oauth-authz-req+jwt"}') + "." + signed.split(".")[1] + "."


_BAD: dict[str, tuple[dict[str, Any], dict[str, str]]] = {
    "wrong aud": ({"aud": "https://other.example"}, {}),
    "aud another server's authorization endpoint": ({"aud": "https://other.example/oauth2/authorize"}, {}),
    "expired": ({"iat": "-420", "exp": "-120"}, {}),
    "exp more than 300 s after iat": ({"exp": "+600"}, {}),
    "no iat": ({"iat": None}, {}),
    "no jti": ({"jti": None}, {}),
    "client_id mismatch": ({"client_id": "gw_another"}, {}),
    "typ of an access token": ({}, {"typ": "at+jwt"}),
}


@pytest.mark.parametrize("defect", [*sorted(_BAD), "bad signature", "alg none", "request_uri"])
async def test_defective_requests_are_redirected_with_the_right_error(
    sqlite_stack: AuthStack, defect: str
) -> None:
    """Over HTTP: a bad signature, alg none, a wrong aud, an expired object, one living more than
    300 s, one without iat or jti, a client_id mismatch or a wrong typ come back to the client as
    invalid_request_object; request_uri as request_uri_not_supported."""
    creds, key = await _signing_tenant(sqlite_stack, ["number-verification:verify"])
    claims = {"response_type": "code", "redirect_uri": REDIRECT, "scope": "openid", "state": "inner"}
    params = {"client_id": creds.client_id, "redirect_uri": REDIRECT, "state": "outer"}
    expected = "invalid_request_object"
    if defect in _BAD:
        extra, header = _BAD[defect]
        params["request"] = _request_object(sqlite_stack, creds, key, {**claims, **extra}, **header)
    elif defect == "bad signature":
        params["request"] = _request_object(sqlite_stack, creds, ECKey.generate_key("P-256"), claims)
    elif defect == "alg none":
        params["request"] = _unsigned(_request_object(sqlite_stack, creds, key, claims))
    else:
        params["request_uri"] = "urn:ietf:params:oauth:request_uri:abc"
        expected = "request_uri_not_supported"
    resp = await sqlite_stack.http.get(f"{sqlite_stack.url}/oauth2/authorize", params=params)
    assert resp.status_code == 302, resp.text
    answer = _query(resp.headers["location"])
    assert resp.headers["location"].startswith(REDIRECT)
    assert answer["error"] == expected and answer["state"] == "outer" and answer["iss"] == sqlite_stack.url


async def test_a_signed_ciba_request_is_accepted_and_replays_are_refused(stack: AuthStack) -> None:
    """A signed authentication request (CIBA Core §7.1.1, aud the backchannel authentication
    endpoint's URL as CAMARA recommends) with client_secret_basic yields an auth_req_id whose poll
    gives tokens; sending it again is 400 invalid_request_object (jti spent); an unsigned one, and
    one whose aud is the authorization endpoint, are refused the same way."""
    creds, key = await _signing_tenant(stack, ["sim-swap:check", PURPOSE])
    number, _ = stack.phone("cmcc")
    claims = {
        "scope": f"openid {PURPOSE} sim-swap:check",
        "login_hint": f"tel:{number}",
        "binding_message": "pay 1",
        "aud": f"{stack.url}/oauth2/bc-authorize",
    }
    signed = _request_object(stack, creds, key, claims)
    auth = (creds.client_id, creds.client_secret)
    started = await stack.http.post(f"{stack.url}/oauth2/bc-authorize", data={"request": signed}, auth=auth)
    assert started.status_code == 200, started.text
    polled = await stack.token({"grant_type": CIBA, "auth_req_id": started.json()["auth_req_id"]}, auth)
    assert polled.status_code == 200, polled.text
    SENSITIVE.update({polled.json()["access_token"], polled.json()["id_token"]})
    assert polled.json()["scope"] == f"{PURPOSE} openid sim-swap:check"
    again = await stack.http.post(f"{stack.url}/oauth2/bc-authorize", data={"request": signed}, auth=auth)
    assert again.status_code == 400 and again.json()["error"] == "invalid_request_object"
    unsigned = _unsigned(_request_object(stack, creds, key, claims))
    refused = await stack.http.post(f"{stack.url}/oauth2/bc-authorize", data={"request": unsigned}, auth=auth)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_request_object"
    elsewhere = _request_object(stack, creds, key, {**claims, "aud": f"{stack.url}/oauth2/authorize"})
    refused = await stack.http.post(
        f"{stack.url}/oauth2/bc-authorize", data={"request": elsewhere}, auth=auth
    )
    assert refused.status_code == 400 and "aud must be" in refused.json()["error_description"]
