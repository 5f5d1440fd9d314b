"""private_key_jwt under RFC 7523, RFC 7523bis and OpenID Connect Core §9: kid optional with one key
per alg, iat optional, the issuer (or this server's endpoint) as the only audience, no header-borne
keys, typ checked; each assertion is signed by a real key and verified end to end."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from gateway.errors import OAuthError
from gateway.oauth.assertions import key_algorithm, select_key
from gateway.oauth.client_auth import ASSERTION_TYPE
from gateway.tenants.models import Tenant
from tests.leaks import SENSITIVE
from tests.unit.oauth.conftest import ISSUER, Harness

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
TOKEN_ENDPOINT = f"{ISSUER}/oauth2/token"


def _jwk(key: PrivateKey, kid: str, **extra: str) -> dict[str, Any]:
    public = key.public_key()
    if isinstance(public, ec.EllipticCurvePublicKey):
        text = jwt.algorithms.ECAlgorithm.to_jwk(public)
    elif isinstance(public, rsa.RSAPublicKey):
        text = jwt.algorithms.RSAAlgorithm.to_jwk(public)
    else:
        text = jwt.algorithms.OKPAlgorithm.to_jwk(public)
    return {**json.loads(text), "kid": kid, **extra}


async def _tenant(h: Harness, *jwks: dict[str, Any]) -> Tenant:
    creds = await h.runtime.tenants.create(
        name=f"t-{secrets.token_hex(3)}",
        scopes=["one-tap:login"],
        redirect_uris=[],
        jwks={"keys": list(jwks)},
    )
    SENSITIVE.add(creds.client_secret)
    tenant = await h.runtime.tenants.by_client_id(creds.client_id)
    assert tenant is not None
    return tenant


def _sign(
    tenant: Tenant, key: PrivateKey, alg: str, *, header: dict[str, Any] | None = None, **claims: Any
) -> str:
    now = int(time.time())
    body = {
        "iss": tenant.client_id,
        "sub": tenant.client_id,
        "aud": TOKEN_ENDPOINT,
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_urlsafe(12),
        **claims,
    }
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, key, algorithm=alg, headers=header if header is not None else {"kid": "k1"})


async def _authenticate(h: Harness, assertion: str) -> Tenant:
    form = {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
    return await h.runtime.client_auth.authenticate(None, form)


async def _refused(h: Harness, assertion: str) -> OAuthError:
    with pytest.raises(OAuthError) as caught:
        await _authenticate(h, assertion)
    assert caught.value.error == "invalid_client" and caught.value.status == 401
    return caught.value


async def test_kid_may_be_left_out_when_the_client_has_one_key(harness: Harness) -> None:
    """A header without kid is verified with the client's only key."""
    key = ec.generate_private_key(ec.SECP256R1())
    tenant = await _tenant(harness, _jwk(key, "k1"))
    assert (await _authenticate(harness, _sign(tenant, key, "ES256", header={}))).id == tenant.id


async def test_kid_may_be_left_out_when_one_key_verifies_the_alg(harness: Harness) -> None:
    """With an EC and an RSA key registered, a kid-less RS256 assertion is verified with the RSA key."""
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tenant = await _tenant(harness, _jwk(ec_key, "ec"), _jwk(rsa_key, "rsa"))
    assert (await _authenticate(harness, _sign(tenant, rsa_key, "RS256", header={}))).id == tenant.id


async def test_no_kid_with_several_keys_for_the_alg_is_refused_clearly(harness: Harness) -> None:
    """Two EC P-256 keys and no kid: invalid_client telling the developer to send kid; the server does
    not try each key."""
    first, second = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    tenant = await _tenant(harness, _jwk(first, "a"), _jwk(second, "b"))
    error = await _refused(harness, _sign(tenant, second, "ES256", header={}))
    assert "kid" in error.description and "private_key_jwt" in error.description
    with_kid = _sign(tenant, second, "ES256", header={"kid": "b"})
    assert (await _authenticate(harness, with_kid)).id == tenant.id


async def test_no_kid_and_no_key_for_the_alg_is_refused(harness: Harness) -> None:
    """A kid-less ES256 assertion for a client whose only key is RSA finds no key."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tenant = await _tenant(harness, _jwk(rsa_key, "rsa"))
    forged = _sign(tenant, ec.generate_private_key(ec.SECP256R1()), "ES256", header={})
    await _refused(harness, forged)


async def test_iat_is_optional(harness: Harness) -> None:
    """Without iat the assertion is accepted when exp is at most 300 s ahead, refused beyond."""
    key = ec.generate_private_key(ec.SECP256R1())
    tenant = await _tenant(harness, _jwk(key, "k1"))
    assert (await _authenticate(harness, _sign(tenant, key, "ES256", iat=None))).id == tenant.id
    await _refused(harness, _sign(tenant, key, "ES256", iat=None, exp=int(time.time()) + 900))


@pytest.mark.parametrize(
    "aud",
    [ISSUER, [ISSUER], TOKEN_ENDPOINT, [TOKEN_ENDPOINT], f"{ISSUER}/oauth2/bc-authorize"],
    ids=["issuer", "issuer-list", "token-endpoint", "token-endpoint-list", "backchannel-endpoint"],
)
async def test_audiences_naming_this_server_alone_are_accepted(harness: Harness, aud: object) -> None:
    """The issuer, or for compatibility this server's token or backchannel endpoint, alone."""
    key = ec.generate_private_key(ec.SECP256R1())
    tenant = await _tenant(harness, _jwk(key, "k1"))
    assert (await _authenticate(harness, _sign(tenant, key, "ES256", aud=aud))).id == tenant.id


async def test_an_audience_list_naming_another_server_is_refused(harness: Harness) -> None:
    """RFC 7523bis: an assertion addressed to several servers is refused, even when it names us."""
    key = ec.generate_private_key(ec.SECP256R1())
    tenant = await _tenant(harness, _jwk(key, "k1"))
    error = await _refused(harness, _sign(tenant, key, "ES256", aud=[ISSUER, "https://other-as.example"]))
    assert "aud" in error.description


@pytest.mark.parametrize(
    "aud",
    ["https://other-as.example", f"{ISSUER}/", f"{ISSUER}/oauth2/authorize", [], 7, None],
    ids=["other-server", "trailing-slash", "authorize-endpoint", "empty-list", "number", "absent"],
)
async def test_other_audiences_are_refused(harness: Harness, aud: object) -> None:
    """Another server, a near miss, an endpoint that takes no assertion, or no audience at all."""
    key = ec.generate_private_key(ec.SECP256R1())
    tenant = await _tenant(harness, _jwk(key, "k1"))
    await _refused(harness, _sign(tenant, key, "ES256", aud=aud))


@pytest.mark.parametrize("name", ["jku", "x5u", "jwk", "x5c"])
async def test_header_borne_keys_are_refused(harness: Harness, name: str) -> None:
    """A header pointing at or carrying a key is refused, naming the header, even when the signature
    would verify with the registered key."""
    key = ec.generate_private_key(ec.SECP256R1())
    tenant = await _tenant(harness, _jwk(key, "k1"))
    values: dict[str, Any] = {
        "jku": "https://attacker.example/jwks",
        "x5u": "https://attacker.example/cert.pem",
        "jwk": _jwk(key, "k1"),
        "x5c": ["MIIB"],
    }
    error = await _refused(harness, _sign(tenant, key, "ES256", header={"kid": "k1", name: values[name]}))
    assert name in error.description


@pytest.mark.parametrize(
    "typ", ["JWT", "jwt", "client-authentication+jwt", "application/client-authentication+jwt"]
)
async def test_accepted_types(harness: Harness, typ: str) -> None:
    """typ JWT or client-authentication+jwt (case-insensitive, application/ prefix allowed)."""
    key = ec.generate_private_key(ec.SECP256R1())
    tenant = await _tenant(harness, _jwk(key, "k1"))
    assertion = _sign(tenant, key, "ES256", header={"kid": "k1", "typ": typ})
    assert (await _authenticate(harness, assertion)).id == tenant.id


@pytest.mark.parametrize("typ", ["at+jwt", "JOSE", "oauth-authz-req+jwt", "jwt; charset=x", 1])
async def test_other_types_are_refused(harness: Harness, typ: object) -> None:
    """An access token, a request object, a parameterised or a non-string typ is not a client assertion."""
    key = ec.generate_private_key(ec.SECP256R1())
    tenant = await _tenant(harness, _jwk(key, "k1"))
    error = await _refused(harness, _sign(tenant, key, "ES256", header={"kid": "k1", "typ": typ}))
    assert "typ" in error.description


async def test_replay_and_expiry_are_still_refused(harness: Harness) -> None:
    """A jti is spent by its first use; an expired assertion is refused; the generic description
    reveals nothing more."""
    key = ec.generate_private_key(ec.SECP256R1())
    tenant = await _tenant(harness, _jwk(key, "k1"))
    assertion = _sign(tenant, key, "ES256", header={})
    await _authenticate(harness, assertion)
    replayed = await _refused(harness, assertion)
    assert replayed.description.startswith("Client authentication failed")
    now = int(time.time())
    await _refused(harness, _sign(tenant, key, "ES256", iat=now - 400, exp=now - 100))


@pytest.mark.parametrize(
    ("curve", "alg"), [(ec.SECP256R1(), "ES256"), (ec.SECP384R1(), "ES384"), (ec.SECP521R1(), "ES512")]
)
async def test_each_nist_curve_verifies_its_own_alg(
    harness: Harness, curve: ec.EllipticCurve, alg: str
) -> None:
    """P-256, P-384 and P-521 keys verify ES256, ES384 and ES512; another alg on the same key is refused."""
    key = ec.generate_private_key(curve)
    tenant = await _tenant(harness, _jwk(key, "k1"))
    assert (await _authenticate(harness, _sign(tenant, key, alg))).id == tenant.id
    wrong = "ES384" if alg == "ES256" else "ES256"
    other = ec.generate_private_key(ec.SECP384R1() if wrong == "ES384" else ec.SECP256R1())
    await _refused(harness, _sign(tenant, other, wrong))


async def test_a_short_rsa_key_is_unusable(harness: Harness) -> None:
    """An RSA key under 2048 bits stored before the registration check verifies nothing."""
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the weak key under test
    tenant = await _tenant(harness, _jwk(weak, "k1"))
    with pytest.warns(jwt.warnings.InsecureKeyLengthWarning):
        assertion = _sign(tenant, weak, "RS256")
    await _refused(harness, assertion)
    assert select_key({"keys": [_jwk(weak, "k1")]}, "k1") is None


def test_key_algorithm_follows_the_key_type() -> None:
    """The one algorithm per key: curves map to their ES alg, RSA to RS256 or a declared PS256,
    Ed25519 to EdDSA; a symmetric key, an unknown curve or a contradicting alg give none."""
    assert key_algorithm({"kty": "EC", "crv": "P-521"}) == "ES512"
    assert key_algorithm({"kty": "RSA", "alg": "PS256"}) == "PS256"
    assert key_algorithm({"kty": "OKP", "crv": "Ed25519"}) == "EdDSA"
    assert key_algorithm({"kty": "oct"}) is None
    assert key_algorithm({"kty": "EC", "crv": "secp256k1"}) is None
    assert key_algorithm({"kty": "EC", "crv": "P-256", "alg": "ES384"}) is None


async def test_the_jwt_bearer_grant_refuses_a_client_authentication_typ(harness: Harness) -> None:
    """A client assertion (typ client-authentication+jwt) cannot be replayed as a JWT-bearer grant,
    and the grant still requires iat (CAMARA ICM)."""
    client = await harness.client(["sim-swap:check", "dpv:FraudPreventionAndDetection"], signing=True)
    claims = {"sub": "tel:+8613800138002", "scope": "dpv:FraudPreventionAndDetection sim-swap:check"}
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    for assertion in (
        client.assertion(claims, typ="client-authentication+jwt"),
        client.assertion({**claims, "iat": None}),
    ):
        with pytest.raises(OAuthError) as caught:
            await harness.runtime.oauth.token_endpoint.handle(
                None, {"grant_type": grant, "assertion": assertion}
            )
        assert caught.value.error == "invalid_grant"
