"""Signed request objects (RFC 9101) at the authorization endpoint and signed CIBA requests, as
services on a real database: what is accepted, and the OAuth error each defect answers."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.crypto import b64url_encode
from gateway.errors import InvalidArgument, OAuthError, OAuthRedirect
from gateway.oauth.pkce import s256
from tests.leaks import SENSITIVE
from tests.unit.oauth.conftest import ISSUER, PURPOSE, REDIRECT, Client, Harness, query

CIBA = "urn:openid:params:grant-type:ciba"
AUTHORIZE = f"{ISSUER}/oauth2/authorize"
BC_AUTHORIZE = f"{ISSUER}/oauth2/bc-authorize"


def _now(h: Harness) -> int:
    return int(h.clock.now().timestamp())


def _claims(h: Harness, client: Client, **overrides: Any) -> dict[str, Any]:
    """A valid authorization request as request-object claims (None drops a claim)."""
    now = int(h.clock.now().timestamp())
    claims: dict[str, Any] = {
        "iss": client.tenant.client_id,
        "aud": ISSUER,
        "client_id": client.tenant.client_id,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": secrets.token_urlsafe(12),
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": f"openid {PURPOSE} number-verification:verify",
        "state": "signed-state",
        "nonce": "signed-nonce",
        "code_challenge": s256("v" * 43),
        "code_challenge_method": "S256",
        **overrides,
    }
    return {k: v for k, v in claims.items() if v is not None}


def _sign(client: Client, claims: dict[str, Any], **header: Any) -> str:
    assert client.key is not None
    headers = {"kid": client.kid, "typ": "oauth-authz-req+jwt", **header}
    return jwt.encode(claims, client.key, algorithm="ES256", headers={k: v for k, v in headers.items() if v})


def _unsigned(claims: dict[str, Any]) -> str:
    """An unsecured JWT (RFC 7519 §6: alg none, empty signature)."""
    parts = ({"alg": "none", "typ": "oauth-authz-req+jwt"}, claims)
    return ".".join(b64url_encode(json.dumps(part).encode()) for part in parts) + "."


async def _start(h: Harness, params: dict[str, str], ip: str = "10.64.0.7") -> str:
    return await h.runtime.oauth.authorization.start(
        {k: [v] for k, v in params.items()}, peer="127.0.0.1", forwarded_for=ip
    )


async def _error(h: Harness, params: dict[str, str]) -> dict[str, str]:
    with pytest.raises(OAuthRedirect) as caught:
        await _start(h, params)
    return query(h.runtime.oauth.authorization.error_location(caught.value))


def _query(client: Client, request_object: str, **extra: str) -> dict[str, str]:
    """What authlib sends: client_id, the request object, and the plain redirect_uri and state."""
    return {
        "client_id": client.tenant.client_id,
        "request": request_object,
        "redirect_uri": REDIRECT,
        "state": "query-state",
        **extra,
    }


async def test_the_request_objects_parameters_replace_the_querys(any_db_harness: Harness) -> None:
    """A verified request object alone decides the request (RFC 9101 §6.3): the query's scope,
    nonce and state are ignored, the code flow completes with the object's state and nonce."""
    h = any_db_harness
    client = await h.client(["number-verification:verify", PURPOSE], signing=True)
    phone, ip = h.subscriber("cmcc")
    params = _query(client, _sign(client, _claims(h, client)), scope="openid", nonce="query-nonce")
    target = await _start(h, params, ip)
    location = h.operators["cmcc"].authorize(target, device_ip=ip)
    back = query(
        await h.runtime.oauth.authorization.finish("cmcc", {k: [v] for k, v in query(location).items()})
    )
    assert back["state"] == "signed-state" and back["iss"] == ISSUER
    body = await h.runtime.oauth.token_endpoint.handle(
        client.basic,
        {
            "grant_type": "authorization_code",
            "code": back["code"],
            "redirect_uri": REDIRECT,
            "code_verifier": "v" * 43,
        },
    )
    SENSITIVE.update({str(body["access_token"]), str(body["id_token"])})
    assert body["scope"] == f"{PURPOSE} number-verification:verify openid"
    assert jwt.decode(str(body["id_token"]), options={"verify_signature": False})["nonce"] == "signed-nonce"
    assert phone not in json.dumps(body)


async def test_only_client_id_and_request_in_the_query_is_enough(harness: Harness) -> None:
    """RFC 9101 §5: the query may carry nothing but client_id and request; a JWT without typ and a
    key without kid (the client's only key) are accepted."""
    client = await harness.client(["number-verification:verify", PURPOSE], signing=True)
    _, ip = harness.subscriber("cucc")
    request_object = _sign(client, _claims(harness, client), kid=None, typ=None)
    assert "kid" not in jwt.get_unverified_header(request_object)
    target = await _start(harness, {"client_id": client.tenant.client_id, "request": request_object}, ip)
    assert target.startswith("https://operator.invalid/cucc/authorize?")


async def test_an_rsa_client_key_signs_rs256_request_objects(harness: Harness) -> None:
    """A client that registered an RSA key signs with RS256 (the algorithm fixed by its key)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    creds = await harness.runtime.tenants.create(
        name="rsa-client",
        scopes=["number-verification:verify", PURPOSE],
        redirect_uris=[REDIRECT],
        jwks={"keys": [{**public, "kid": "r1", "use": "sig"}]},
    )
    SENSITIVE.add(creds.client_secret)
    tenant = await harness.runtime.tenants.by_client_id(creds.client_id)
    assert tenant is not None
    client = Client(tenant, creds.client_secret, None, "r1")
    signed = jwt.encode(_claims(harness, client), key, algorithm="RS256", headers={"kid": "r1"})
    _, ip = harness.subscriber("ctcc")
    assert (await _start(harness, _query(client, signed), ip)).startswith("https://operator.invalid/ctcc/")
    as_es = jwt.encode(_claims(harness, client), key, algorithm="PS256", headers={"kid": "r1"})
    assert (await _error(harness, _query(client, as_es)))["error"] == "invalid_request_object"


def _other_key_signature(h: Harness, client: Client) -> str:
    return jwt.encode(
        _claims(h, client), ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers={"kid": "k1"}
    )


_DEFECTS: dict[str, Any] = {
    "signed by another key": _other_key_signature,
    "alg none": lambda h, c: _unsigned(_claims(h, c)),
    "signed with the client secret (HS256)": lambda h, c: jwt.encode(
        _claims(h, c), c.secret, algorithm="HS256", headers={"kid": "k1"}
    ),
    "aud another server": lambda h, c: _sign(c, _claims(h, c, aud="https://other.test")),
    "aud a list naming another server": lambda h, c: _sign(c, _claims(h, c, aud=[ISSUER, "https://x.test"])),
    "aud a list naming the endpoint and another server": lambda h, c: _sign(
        c, _claims(h, c, aud=[AUTHORIZE, "https://x.test/oauth2/authorize"])
    ),
    "aud the backchannel endpoint": lambda h, c: _sign(c, _claims(h, c, aud=BC_AUTHORIZE)),
    "aud the endpoint with a trailing slash": lambda h, c: _sign(c, _claims(h, c, aud=AUTHORIZE + "/")),
    "aud an empty list": lambda h, c: _sign(c, _claims(h, c, aud=[])),
    "no aud": lambda h, c: _sign(c, _claims(h, c, aud=None)),
    "expired": lambda h, c: _sign(c, _claims(h, c, exp=_now(h) - 60)),
    "no exp": lambda h, c: _sign(c, _claims(h, c, exp=None)),
    "exp two hours ahead": lambda h, c: _sign(c, _claims(h, c, exp=_now(h) + 7200)),
    "exp 301 s after iat": lambda h, c: _sign(c, _claims(h, c, iat=_now(h) - 1, exp=_now(h) + 300)),
    "no iat": lambda h, c: _sign(c, _claims(h, c, iat=None)),
    "iat in the future": lambda h, c: _sign(c, _claims(h, c, iat=_now(h) + 60, exp=_now(h) + 120)),
    "iat not a number": lambda h, c: _sign(c, _claims(h, c, iat="now")),
    "no jti": lambda h, c: _sign(c, _claims(h, c, jti=None)),
    "jti not a string": lambda h, c: _sign(c, _claims(h, c, jti=7)),
    "nbf in the future": lambda h, c: _sign(c, _claims(h, c, nbf=_now(h) + 600)),
    "nbf two hours ago": lambda h, c: _sign(c, _claims(h, c, nbf=_now(h) - 7200)),
    "iss another client": lambda h, c: _sign(c, _claims(h, c, iss="gw_someone_else")),
    "client_id claim another client": lambda h, c: _sign(c, _claims(h, c, client_id="gw_someone_else")),
    "typ of an access token": lambda h, c: _sign(c, _claims(h, c), typ="at+jwt"),
    "header-borne jwk": lambda h, c: _sign(c, _claims(h, c), jwk={"kty": "EC"}),
    "unknown kid": lambda h, c: _sign(c, _claims(h, c), kid="nope"),
    "nested request_uri": lambda h, c: _sign(c, _claims(h, c, request_uri="https://x.test/r")),
    "scope as a list": lambda h, c: _sign(c, _claims(h, c, scope=["openid"])),
    "not a JWT": lambda h, c: "eyJhbGciOi",
}


_REASONS = {
    "signed by another key": "signature does not verify",
    "alg none": "alg none is refused",
    "signed with the client secret (HS256)": "alg must be ES256",
    "aud another server": f"aud must be this server's issuer, {ISSUER}, or {AUTHORIZE}.",
    "aud a list naming another server": "aud must be this server's issuer",
    "aud a list naming the endpoint and another server": "aud must be this server's issuer",
    "aud the backchannel endpoint": "aud must be this server's issuer",
    "aud the endpoint with a trailing slash": "aud must be this server's issuer",
    "aud an empty list": "aud must be this server's issuer",
    "no aud": "no aud claim",
    "expired": "has expired",
    "no exp": "no exp claim",
    "exp two hours ahead": "exp is more than 300 s after its iat",
    "exp 301 s after iat": "exp is more than 300 s after its iat",
    "no iat": "no iat claim",
    "iat in the future": "iat is in the future",
    "iat not a number": "iat is not a number",
    "no jti": "no jti claim",
    "jti not a string": "jti must be a string",
    "nbf in the future": "nbf is in the future",
    "nbf two hours ago": "nbf is more than 60 minutes in the past",
    "iss another client": "iss must be the client_id",
    "client_id claim another client": "client_id does not match",
    "typ of an access token": "typ must be oauth-authz-req+jwt",
    "header-borne jwk": "must not carry jku",
    "unknown kid": "kid names no usable registered key",
    "nested request_uri": "must not contain request or request_uri",
    "scope as a list": "scope must be a string",
    "not a JWT": "not a signed JWT",
}


@pytest.mark.parametrize("defect", sorted(_DEFECTS))
async def test_a_defective_request_object_is_invalid_request_object(harness: Harness, defect: str) -> None:
    """Each defect is redirected as invalid_request_object, saying which rule it broke, to the
    query's registered redirect URI with the query's state (the object's cannot be trusted) and iss."""
    client = await harness.client(["number-verification:verify", PURPOSE], signing=True)
    answer = await _error(harness, _query(client, _DEFECTS[defect](harness, client)))
    assert answer["error"] == "invalid_request_object", answer
    assert _REASONS[defect] in answer["error_description"]
    assert answer["state"] == "query-state" and answer["iss"] == ISSUER


@pytest.mark.parametrize(
    "aud",
    [ISSUER, [ISSUER], AUTHORIZE, [AUTHORIZE], [ISSUER, AUTHORIZE]],
    ids=["issuer", "issuer list", "endpoint", "endpoint list", "issuer and endpoint"],
)
async def test_aud_may_be_the_issuer_or_the_authorization_endpoint(harness: Harness, aud: Any) -> None:
    """CAMARA recommends the authorization endpoint's URL as aud and lets the server take its
    issuer: either, alone or in a list of only those two, is accepted."""
    client = await harness.client(["number-verification:verify", PURPOSE], signing=True)
    _, ip = harness.subscriber("cmcc")
    target = await _start(harness, _query(client, _sign(client, _claims(harness, client, aud=aud))), ip)
    assert target.startswith("https://operator.invalid/cmcc/authorize?")


async def test_the_lifetime_bound_is_300_s_from_iat_with_30_s_of_clock_skew(harness: Harness) -> None:
    """exp - iat of exactly 300 s is accepted, and so are an iat 25 s ahead of the gateway's clock
    and an exp 25 s behind it (within the 30 s leeway)."""
    client = await harness.client(["number-verification:verify", PURPOSE], signing=True)
    _, ip = harness.subscriber("cucc")
    now = _now(harness)
    for iat, exp in ((now, now + 300), (now + 25, now + 325), (now - 270, now - 25)):
        signed = _sign(client, _claims(harness, client, iat=iat, nbf=None, exp=exp))
        assert await _start(harness, _query(client, signed), ip), (iat, exp)


async def test_a_request_objects_jti_is_single_use(any_db_harness: Harness) -> None:
    """The same request object sent twice to the authorization endpoint: the second is
    invalid_request_object (its jti was spent by the first), until the object has expired anyway; a
    new object with another jti passes."""
    h = any_db_harness
    client = await h.client(["number-verification:verify", PURPOSE], signing=True)
    _, ip = h.subscriber("cmcc")
    signed = _sign(client, _claims(h, client))
    assert (await _start(h, _query(client, signed), ip)).startswith("https://operator.invalid/cmcc/")
    with pytest.raises(OAuthRedirect) as caught:
        await _start(h, _query(client, signed), ip)
    answer = query(h.runtime.oauth.authorization.error_location(caught.value))
    assert answer["error"] == "invalid_request_object"
    assert answer["error_description"] == "The request object's jti has been used before."
    assert await _start(h, _query(client, _sign(client, _claims(h, client))), ip)


async def test_a_jti_spent_at_one_endpoint_is_spent_at_the_other(harness: Harness) -> None:
    """jti is single use per client across both endpoints: an aud-the-issuer object's jti spent by
    the authorization endpoint cannot open a CIBA request."""
    client = await harness.client(["number-verification:verify", "sim-swap:check", PURPOSE], signing=True)
    phone, ip = harness.subscriber("cmcc")
    jti = secrets.token_urlsafe(12)
    await _start(harness, _query(client, _sign(client, _claims(harness, client, jti=jti))), ip)
    with pytest.raises(OAuthError) as caught:
        await harness.runtime.oauth.backchannel.start(
            client.tenant, {"request": _sign(client, _ciba_claims(harness, client, phone, jti=jti))}
        )
    assert caught.value.description == "The request object's jti has been used before."


async def test_a_request_object_of_another_client_is_refused(harness: Harness) -> None:
    """client_id in the query must be the object's: client B cannot send client A's signed object."""
    a = await harness.client(["number-verification:verify", PURPOSE], signing=True)
    b = await harness.client(["number-verification:verify", PURPOSE], signing=True)
    answer = await _error(harness, _query(b, _sign(a, _claims(harness, a))))
    assert answer["error"] == "invalid_request_object"


async def test_a_client_without_keys_cannot_send_request_objects(harness: Harness) -> None:
    """No registered JWKS: invalid_request_object, whatever the object."""
    keyless = await harness.client(["number-verification:verify", PURPOSE])
    signer = await harness.client(["number-verification:verify", PURPOSE], signing=True)
    keyless.key, keyless.kid = signer.key, signer.kid
    answer = await _error(harness, _query(keyless, _sign(keyless, _claims(harness, keyless))))
    assert answer["error"] == "invalid_request_object" and "no registered keys" in answer["error_description"]


async def test_request_uri_is_not_supported(harness: Harness) -> None:
    """request_uri (by reference) answers request_uri_not_supported."""
    client = await harness.client(["number-verification:verify", PURPOSE], signing=True)
    params = {
        "client_id": client.tenant.client_id,
        "redirect_uri": REDIRECT,
        "request_uri": "https://x.test/r",
    }
    assert (await _error(harness, params))["error"] == "request_uri_not_supported"


async def test_without_a_registered_redirect_uri_in_the_query_the_error_is_direct(harness: Harness) -> None:
    """A bad object with no registered redirect_uri in the query has nowhere safe to be redirected:
    400 directly, never a redirect to the unverified object's URI."""
    client = await harness.client(["number-verification:verify", PURPOSE], signing=True)
    bad = _unsigned(_claims(harness, client))
    for params in (
        {"client_id": client.tenant.client_id, "request": bad},
        {"client_id": client.tenant.client_id, "request": bad, "redirect_uri": "https://evil.test/cb"},
    ):
        with pytest.raises(InvalidArgument) as caught:
            await _start(harness, params)
        assert "alg none" in str(caught.value)


async def _must_sign(h: Harness, scopes: list[str]) -> Client:
    """A client registered with an EC key and require_signed_request_object."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    creds = await h.runtime.tenants.create(
        name=f"t-{secrets.token_hex(3)}",
        scopes=scopes,
        redirect_uris=[REDIRECT],
        jwks={"keys": [{**public, "kid": "k1"}]},
        require_signed_request_object=True,
    )
    SENSITIVE.add(creds.client_secret)
    tenant = await h.runtime.tenants.by_client_id(creds.client_id)
    assert tenant is not None and tenant.require_signed_request_object
    return Client(tenant, creds.client_secret, key)


async def test_a_client_that_must_sign_cannot_send_plain_parameters(any_db_harness: Harness) -> None:
    """require_signed_request_object: plain parameters are invalid_request; a signed object passes."""
    h = any_db_harness
    client = await _must_sign(h, ["number-verification:verify", PURPOSE])
    plain = {
        "client_id": client.tenant.client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": f"openid {PURPOSE} number-verification:verify",
        "state": "st",
        "code_challenge": s256("v" * 43),
        "code_challenge_method": "S256",
    }
    answer = await _error(h, plain)
    assert answer["error"] == "invalid_request" and "signed request object" in answer["error_description"]
    _, ip = h.subscriber("cmcc")
    target = await _start(h, _query(client, _sign(client, _claims(h, client))), ip)
    assert target.startswith("https://operator.invalid/cmcc/")


def _ciba_claims(h: Harness, client: Client, phone: str, **overrides: Any) -> dict[str, Any]:
    base = _claims(h, client, scope=f"openid {PURPOSE} sim-swap:check", login_hint=f"tel:{phone}")
    for name in (
        "response_type",
        "redirect_uri",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
    ):
        base.pop(name)
    return {k: v for k, v in {**base, **overrides}.items() if v is not None}


async def test_a_signed_ciba_request_is_accepted_once(any_db_harness: Harness) -> None:
    """A signed authentication request (CIBA §7.1.1) starts the flow and its tokens follow; the
    same signed request again (its jti spent) is invalid_request_object."""
    h = any_db_harness
    client = await h.client(["sim-swap:check", PURPOSE], signing=True)
    phone, _ = h.subscriber("cucc")
    signed = _sign(client, _ciba_claims(h, client, phone))
    started = await h.runtime.oauth.backchannel.start(client.tenant, {"request": signed})
    body = await h.runtime.oauth.token_endpoint.handle(
        client.basic, {"grant_type": CIBA, "auth_req_id": started["auth_req_id"]}
    )
    SENSITIVE.update({str(body["access_token"]), str(body["id_token"])})
    assert body["scope"] == f"{PURPOSE} openid sim-swap:check"
    who = await h.runtime.tokens.verify(str(body["access_token"]))
    assert who.subscriber is not None and who.subscriber.phone_number == phone
    with pytest.raises(OAuthError) as caught:
        await h.runtime.oauth.backchannel.start(client.tenant, {"request": signed})
    assert caught.value.error == "invalid_request_object" and "jti" in caught.value.description


@pytest.mark.parametrize(
    "aud",
    [ISSUER, BC_AUTHORIZE, [BC_AUTHORIZE], [ISSUER, BC_AUTHORIZE]],
    ids=["issuer", "endpoint", "endpoint list", "issuer and endpoint"],
)
async def test_a_signed_ciba_requests_aud_may_be_the_issuer_or_the_backchannel_endpoint(
    harness: Harness, aud: Any
) -> None:
    """CAMARA recommends the backchannel authentication endpoint's URL as aud; the issuer is
    accepted too, alone or in a list of only those two."""
    client = await harness.client(["sim-swap:check", PURPOSE], signing=True)
    phone, _ = harness.subscriber("cucc")
    signed = _sign(client, _ciba_claims(harness, client, phone, aud=aud))
    started = await harness.runtime.oauth.backchannel.start(client.tenant, {"request": signed})
    assert started["auth_req_id"]


_CIBA_DEFECTS: list[tuple[Callable[[int], dict[str, Any]], dict[str, Any], str]] = [
    (lambda now: {"jti": None}, {}, "no jti claim"),
    (lambda now: {"nbf": None}, {}, "no nbf claim"),
    (lambda now: {"iat": None}, {}, "no iat claim"),
    (lambda now: {"aud": AUTHORIZE}, {}, "aud must be this server's issuer"),
    (lambda now: {"aud": [BC_AUTHORIZE, "https://x.test"]}, {}, "aud must be this server's issuer"),
    (lambda now: {"exp": 0}, {}, "has expired"),
    (lambda now: {"iat": now, "exp": now + 301}, {}, "exp is more than 300 s after its iat"),
    (lambda now: {}, {"kid": "nope"}, "kid names no usable registered key"),
]


@pytest.mark.parametrize(("overrides", "header", "reason"), _CIBA_DEFECTS, ids=[d[2] for d in _CIBA_DEFECTS])
async def test_signed_ciba_requests_need_the_full_claim_set(
    harness: Harness, overrides: Callable[[int], dict[str, Any]], header: dict[str, Any], reason: str
) -> None:
    """Without jti, nbf or iat, with an aud other than the issuer or the backchannel endpoint (the
    authorization endpoint's included), expired, living more than 300 s from iat or with an unknown
    kid: invalid_request_object naming the rule."""
    client = await harness.client(["sim-swap:check", PURPOSE], signing=True)
    phone, _ = harness.subscriber("cmcc")
    signed = _sign(client, _ciba_claims(harness, client, phone, **overrides(_now(harness))), **header)
    with pytest.raises(OAuthError) as caught:
        await harness.runtime.oauth.backchannel.start(client.tenant, {"request": signed})
    assert caught.value.error == "invalid_request_object" and reason in caught.value.description


async def test_ciba_refuses_unsigned_objects_request_uri_and_plain_requests_when_signing_is_required(
    harness: Harness,
) -> None:
    """alg none is invalid_request_object; request_uri invalid_request; a client that must sign
    sending plain parameters invalid_request."""
    client = await harness.client(["sim-swap:check", PURPOSE], signing=True)
    phone, _ = harness.subscriber("cmcc")
    backchannel = harness.runtime.oauth.backchannel
    with pytest.raises(OAuthError) as caught:
        await backchannel.start(client.tenant, {"request": _unsigned(_ciba_claims(harness, client, phone))})
    assert caught.value.error == "invalid_request_object"
    with pytest.raises(OAuthError) as caught:
        await backchannel.start(client.tenant, {"request_uri": "https://x.test/r"})
    assert caught.value.error == "invalid_request"
    must_sign = await _must_sign(harness, ["sim-swap:check", PURPOSE])
    with pytest.raises(OAuthError) as caught:
        await backchannel.start(
            must_sign.tenant, {"scope": f"openid {PURPOSE} sim-swap:check", "login_hint": f"tel:{phone}"}
        )
    assert caught.value.error == "invalid_request" and "signed" in caught.value.description


async def test_without_kid_two_keys_of_the_alg_are_ambiguous(harness: Harness) -> None:
    """No kid and two registered P-256 keys: invalid_request_object asking for a kid (no key is tried
    in turn)."""
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(2)]
    jwks = {
        "keys": [
            {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(k.public_key())), "kid": f"k{i}"}
            for i, k in enumerate(keys)
        ]
    }
    creds = await harness.runtime.tenants.create(
        name="two-keys", scopes=["number-verification:verify", PURPOSE], redirect_uris=[REDIRECT], jwks=jwks
    )
    SENSITIVE.add(creds.client_secret)
    tenant = await harness.runtime.tenants.by_client_id(creds.client_id)
    assert tenant is not None
    client = Client(tenant, creds.client_secret, keys[1], "k1")
    answer = await _error(harness, _query(client, _sign(client, _claims(harness, client), kid=None)))
    assert answer["error"] == "invalid_request_object" and "needs a kid" in answer["error_description"]
    _, ip = harness.subscriber("cmcc")
    assert await _start(harness, _query(client, _sign(client, _claims(harness, client))), ip)
