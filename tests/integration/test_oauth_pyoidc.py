"""pyoidc (PyPI ``oic``), a stock OpenID Connect relying party, run as it is against the gateway over
real sockets (issue 20: an authorization server standard clients accept). pyoidc discovers the
provider, builds the authorization request itself (PKCE S256 from ``add_code_challenge``), the
sandbox phone's browser runs it on cellular data, pyoidc parses the redirect (checking ``iss``,
RFC 9207), exchanges the code and verifies the ID token with the keys it fetched from ``jwks_uri``.

Two places where pyoidc's defaults break a rule of ours, and why the client is the one to adjust:

- **Client assertions** (``private_key_jwt``) live 600 s by default; the CAMARA Security and
  Interoperability Profile (Client Authentication) has the server refuse an ``exp`` more than 300 s
  ahead, which RFC 7523 §3 allows. Workaround: ``lifetime=300`` to ``do_access_token_request``.
- **Request objects** from ``request_method="request"`` (``oic.oic.make_openid_request``) carry only
  the plain parameters: no ``iss``, ``aud``, ``iat``, ``exp``, ``jti`` (RFC 9101 §4 SHOULD; the
  CAMARA profile, Signed Authentication Requests, MUST), and no ``code_challenge`` (it is not in
  ``OpenIDRequest.c_param``), while the server takes only the object's parameters (RFC 9101 §6.3,
  the same CAMARA section), so PKCE would be missing too. The gateway answers
  ``invalid_request_object``. Workaround: sign the object with pyoidc's own
  ``OpenIDRequest(...).to_jwt`` adding those claims (``aud`` the ``authorization_endpoint`` pyoidc
  discovered, the value CAMARA recommends; the issuer is accepted too) and the PKCE parameters.

``id_token_signed_response_alg`` defaults to RS256 on both sides (OIDC Registration §2), so a client
registered without it needs no setting; the ES256 case registers ES256 with the gateway and in
pyoidc's registration (pyoidc verifies in the registered algorithm,
``algs=client.sign_enc_algs("id_token")``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from Cryptodome.PublicKey import RSA
from jwkest import BadSignature
from jwkest.jwk import RSAKey
from oic import rndstr
from oic.oic import Client
from oic.oic.message import (
    AccessTokenResponse,
    AuthorizationErrorResponse,
    AuthorizationRequest,
    AuthorizationResponse,
    IdToken,
    OpenIDRequest,
    ProviderConfigurationResponse,
    RegistrationResponse,
    TokenErrorResponse,
)
from oic.utils.authn.client import CLIENT_AUTHN_METHOD
from oic.utils.keyio import KeyBundle

from gateway.crypto import b64url_decode, b64url_encode
from tests.leaks import SENSITIVE
from tests.stack import Stack, TenantCreds, open_stack

pytestmark = pytest.mark.integration
REDIRECT = "https://bank.test/callback"
PURPOSE = "dpv:FraudPreventionAndDetection"
SCOPE = ["openid", PURPOSE, "number-verification:verify"]
ASSERTION_LIFETIME = 300


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[Stack]:
    """On SQLite and PostgreSQL; the gateway's public URL is its real address (the issuer)."""
    async with open_stack(database_url, public=True) as running:
        yield running


def _rsa_key() -> RSAKey:
    """A fresh 2048-bit RSA signing key (kid ``k1``) in pyoidc's own key type."""
    return RSAKey(key=RSA.generate(2048), kid="k1", use="sig")


async def _tenant(stack: Stack, alg: str | None, key: RSAKey | None) -> TenantCreds:
    """A tenant registered with ``alg`` for its ID tokens (None: without the field)."""
    metadata: dict[str, Any] = {"jwks": {"keys": [key.serialize(private=False)]}} if key else {}
    if alg is not None:
        metadata["id_token_signed_response_alg"] = alg
    return await stack.tenant(["number-verification:verify", PURPOSE], redirect_uris=[REDIRECT], **metadata)


async def _relying_party(
    stack: Stack, creds: TenantCreds, alg: str | None, auth_method: str, key: RSAKey | None = None
) -> Client:
    """A pyoidc client holding the static registration (``alg`` None: without
    ``id_token_signed_response_alg``), configured by discovery of the issuer."""
    client = Client(client_authn_method=CLIENT_AUTHN_METHOD)
    registration: dict[str, Any] = {"id_token_signed_response_alg": alg} if alg else {}
    client.store_registration_info(
        RegistrationResponse(
            client_id=creds.client_id,
            client_secret=creds.client_secret,
            redirect_uris=[REDIRECT],
            token_endpoint_auth_method=auth_method,
            **registration,
        )
    )
    client.redirect_uris = [REDIRECT]
    await asyncio.to_thread(client.provider_config, stack.settings.issuer)
    if key is not None:
        bundle = KeyBundle()
        bundle.append(key)
        client.keyjar.add_kb("", bundle)
    return client


def _authorization_request(
    client: Client, state: str, nonce: str, pkce: dict[str, str], **kwargs: Any
) -> tuple[str, AuthorizationRequest]:
    """pyoidc's authorization request for :data:`SCOPE`: its URL and the message."""
    url, _, _, message = client.request_info(
        AuthorizationRequest,
        method="GET",
        request_args={
            "response_type": "code",
            "scope": SCOPE,
            "state": state,
            "nonce": nonce,
            "redirect_uri": REDIRECT,
            **pkce,
        },
        **kwargs,
    )
    assert isinstance(url, str) and isinstance(message, AuthorizationRequest)
    return url, message


async def _walk(stack: Stack, phone: str, url: str) -> str:
    """The sandbox phone's browser opens ``url`` on cellular data; the redirect it ends at."""
    walked = await stack.http.post(
        f"{stack.sandbox_url}/sandbox/devices/{phone}/authorize", json={"url": url, "method": "network"}
    )
    assert walked.status_code == 200, walked.text
    location: str = walked.json()["location"]
    assert location.startswith(REDIRECT + "?"), location
    return location


async def _exchange(client: Client, state: str, verifier: str, auth_method: str) -> AccessTokenResponse:
    """pyoidc's token request for the code it holds under ``state``; it verifies the ID token."""
    tokens = await asyncio.to_thread(
        client.do_access_token_request,
        state=state,
        request_args={"code_verifier": verifier, "redirect_uri": REDIRECT},
        authn_method=auth_method,
        algs=client.sign_enc_algs("id_token"),
        lifetime=ASSERTION_LIFETIME,
    )
    assert isinstance(tokens, AccessTokenResponse), tokens.to_dict()
    SENSITIVE.update({tokens["access_token"], tokens["id_token_jwt"]})
    return tokens


async def test_pyoidc_accepts_the_discovery_document_and_loads_the_jwks(stack: Stack) -> None:
    """provider_config takes /.well-known/openid-configuration for the issuer it asked (no
    mismatch), sets the endpoints, and loads the published ES256 and RS256 keys under their kids;
    the document passes pyoidc's ProviderConfigurationResponse checks but the HTTPS one, which the
    loopback test issuer cannot meet."""
    creds = await _tenant(stack, "ES256", None)
    client = await _relying_party(stack, creds, "ES256", "client_secret_basic")
    issuer = stack.settings.issuer
    assert client.provider_info["issuer"] == issuer
    assert client.authorization_endpoint == f"{issuer}/oauth2/authorize"
    assert client.token_endpoint == f"{issuer}/oauth2/token"
    on_https = {**client.provider_info.to_dict(), "issuer": issuer.replace("http://", "https://", 1)}
    assert ProviderConfigurationResponse(**on_https).verify()
    published = (await stack.http.get(f"{issuer}/oauth2/jwks")).json()["keys"]
    loaded = await asyncio.to_thread(client.keyjar.get_verify_key, owner=issuer)
    assert {(k.kty, k.kid) for k in loaded} == {(k["kty"], k["kid"]) for k in published}
    assert {k["alg"] for k in published} == {"ES256", "RS256"}


@pytest.mark.parametrize(
    ("alg", "auth_method", "operator"),
    [("ES256", "client_secret_basic", "cmcc"), (None, "private_key_jwt", "cucc")],
    ids=["ES256-client_secret_basic", "default-private_key_jwt"],
)
async def test_pyoidc_completes_the_code_flow_and_verifies_the_id_token(
    stack: Stack, alg: str | None, auth_method: str, operator: str
) -> None:
    """pyoidc's own authorization request (PKCE S256) runs on the phone; parse_response accepts the
    redirect (state, and iss equal to the discovered issuer); do_access_token_request
    authenticates with client_secret_basic, or private_key_jwt with an RSA key (kid k1, aud the
    token endpoint; its default 600 s assertion is refused with invalid_client first, the 300 s one
    accepted); pyoidc verifies the ID token's signature in the registered algorithm (ES256, or
    RS256 when neither side registered one) with a key it fetched from jwks_uri, and
    verify_id_token its iss, aud, exp and nonce. A changed claim breaks pyoidc's signature check;
    the access token passes Number Verification."""
    key = _rsa_key() if auth_method == "private_key_jwt" else None
    creds = await _tenant(stack, alg, key)
    client = await _relying_party(stack, creds, alg, auth_method, key)
    phone = await stack.subscriber(operator)
    pkce, verifier = client.add_code_challenge()
    state, nonce = rndstr(16), rndstr(16)
    url, request = _authorization_request(client, state, nonce, pkce)
    location = await _walk(stack, phone, url)
    answer = client.parse_response(AuthorizationResponse, info=location, sformat="urlencoded")
    assert isinstance(answer, AuthorizationResponse)
    assert answer["state"] == state and answer["iss"] == stack.settings.issuer

    if auth_method == "private_key_jwt":
        default_lifetime = await asyncio.to_thread(
            client.do_access_token_request,
            state=state,
            request_args={"code_verifier": verifier, "redirect_uri": REDIRECT},
            authn_method=auth_method,
        )
        assert isinstance(default_lifetime, TokenErrorResponse)
        assert default_lifetime["error"] == "invalid_client"
    tokens = await _exchange(client, state, verifier, auth_method)
    id_token = tokens["id_token"]
    assert isinstance(id_token, IdToken)
    assert id_token.jws_header["alg"] == (alg or "RS256")
    signing_key = client.keyjar.get_key_by_kid(id_token.jws_header["kid"], stack.settings.issuer)
    assert signing_key is not None and signing_key.kty == ("EC" if alg == "ES256" else "RSA")
    client.verify_id_token(id_token, request)
    assert id_token["nonce"] == nonce and id_token["aud"] == [creds.client_id]
    assert id_token["amr"] == ["network"] and tokens["token_type"] == "Bearer"

    header, payload, signature = tokens["id_token_jwt"].split(".")
    forged = b64url_encode(json.dumps({**json.loads(b64url_decode(payload)), "nonce": "other"}).encode())
    with pytest.raises(BadSignature):
        await asyncio.to_thread(IdToken().from_jwt, f"{header}.{forged}.{signature}", keyjar=client.keyjar)

    verified = await stack.call(
        "/number-verification/v2/verify", tokens["access_token"], {"phoneNumber": phone}
    )
    assert verified.status_code == 200, verified.text
    assert verified.json() == {"devicePhoneNumberVerified": True}


async def test_pyoidc_request_object_is_refused_and_the_completed_one_is_accepted(stack: Stack) -> None:
    """pyoidc's own signed request object (request_method="request", RS256, kid k1) has no iss,
    aud or exp: the phone is sent back with invalid_request_object naming the missing iss, which
    pyoidc parses as an AuthorizationErrorResponse with the state. The same object completed as the
    module docstring says (iss, aud = the discovered authorization endpoint, iat, exp, jti, PKCE)
    and signed by pyoidc runs the code flow, and the ID token carries the object's nonce (RS256, the
    default of both sides)."""
    key = _rsa_key()
    creds = await _tenant(stack, None, key)
    client = await _relying_party(stack, creds, None, "private_key_jwt", key)
    phone = await stack.subscriber("ctcc")
    pkce, verifier = client.add_code_challenge()
    state, nonce = rndstr(16), rndstr(16)

    url, _ = _authorization_request(
        client, state, nonce, pkce, request_method="request", request_object_signing_alg="RS256"
    )
    refused = client.parse_response(
        AuthorizationResponse, info=await _walk(stack, phone, url), sformat="urlencoded"
    )
    assert isinstance(refused, AuthorizationErrorResponse)
    assert refused["error"] == "invalid_request_object" and refused["state"] == state
    assert refused["error_description"] == "The request object has no iss claim."

    plain = client.construct_AuthorizationRequest(
        request_args={
            "response_type": "code",
            "scope": SCOPE,
            "state": state,
            "nonce": nonce,
            "redirect_uri": REDIRECT,
            **pkce,
        }
    )
    now = int(time.time())
    completed = OpenIDRequest(
        **plain.to_dict(),
        iss=creds.client_id,
        aud=client.authorization_endpoint,
        iat=now,
        exp=now + ASSERTION_LIFETIME,
        jti=rndstr(24),
    )
    plain["request"] = completed.to_jwt(key=client.keyjar.get_signing_key("RSA", kid="k1"), algorithm="RS256")
    location = await _walk(stack, phone, f"{client.authorization_endpoint}?{plain.to_urlencoded()}")
    answer = client.parse_response(AuthorizationResponse, info=location, sformat="urlencoded")
    assert isinstance(answer, AuthorizationResponse) and answer["state"] == state
    tokens = await _exchange(client, state, verifier, "private_key_jwt")
    assert tokens["id_token"]["nonce"] == nonce and tokens["id_token"].jws_header["alg"] == "RS256"
