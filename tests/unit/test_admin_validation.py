"""The admin API's client metadata rules (gateway.tenants.validation): weak or unusable keys, redirect
URIs that are not https (loopback excepted, RFC 8252) or carry a fragment, and names with control
or bidirectional override characters are refused with a message naming the member; real keys."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from pydantic import ValidationError

from gateway.tenants.schemas import TenantCreate
from gateway.wire import describe_validation_error


def _jwk(public: Any, kid: str = "k1", **extra: Any) -> dict[str, Any]:
    if isinstance(public, ec.EllipticCurvePublicKey):
        text = jwt.algorithms.ECAlgorithm.to_jwk(public)
    elif isinstance(public, rsa.RSAPublicKey):
        text = jwt.algorithms.RSAAlgorithm.to_jwk(public)
    else:
        text = jwt.algorithms.OKPAlgorithm.to_jwk(public)
    return {**json.loads(text), "kid": kid, **extra}


def _body(**fields: Any) -> dict[str, Any]:
    return {"name": "Bank", "scopes": ["one-tap:login"], **fields}


def _refusal(**fields: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        TenantCreate.model_validate(_body(**fields))
    return describe_validation_error(caught.value)


RSA_2048 = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()


@pytest.mark.parametrize(
    "key",
    [
        RSA_2048,
        rsa.generate_private_key(public_exponent=65537, key_size=3072).public_key(),
        ec.generate_private_key(ec.SECP256R1()).public_key(),
        ec.generate_private_key(ec.SECP384R1()).public_key(),
        ec.generate_private_key(ec.SECP521R1()).public_key(),
        ed25519.Ed25519PrivateKey.generate().public_key(),
    ],
    ids=["rsa-2048", "rsa-3072", "p-256", "p-384", "p-521", "ed25519"],
)
def test_strong_signing_keys_are_accepted(key: Any) -> None:
    """RSA of 2048 bits or more, EC on the NIST curves P-256/384/521 and Ed25519 register."""
    assert TenantCreate.model_validate(_body(jwks={"keys": [_jwk(key)]})).jwks is not None


def test_rsa_under_2048_bits_is_refused() -> None:
    """A 1024- or 2047-bit RSA key is refused, the message naming the key and its size."""
    for bits in (1024, 2047):
        weak = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
        message = _refusal(jwks={"keys": [_jwk(RSA_2048, "ok"), _jwk(weak, "weak")]})
        assert message.startswith("Invalid request body: jwks: keys[1]") and f"{bits} bits" in message


@pytest.mark.parametrize(
    ("key", "says"),
    [
        (_jwk(ec.generate_private_key(ec.SECP256K1()).public_key()), "curve"),
        ({"kty": "EC", "crv": "P-192", "x": "AAAA", "y": "AAAA", "kid": "k1"}, "curve"),
        (_jwk(ed448.Ed448PrivateKey.generate().public_key()), "curve"),
        ({"kty": "oct", "k": "c2VjcmV0c2VjcmV0c2VjcmV0", "kid": "k1"}, "symmetric"),
        ({"kty": "oct", "kid": "k1"}, "symmetric"),
        ({**_jwk(RSA_2048), "d": "AQAB"}, "private"),
        ({**_jwk(RSA_2048), "use": "enc"}, "use"),
        ({**_jwk(ec.generate_private_key(ec.SECP256R1()).public_key()), "alg": "RS256"}, "alg"),
        ({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA", "kid": "k1"}, "not a valid"),
        ({**_jwk(RSA_2048), "kid": ""}, "kid"),
        ({key: value for key, value in _jwk(RSA_2048).items() if key != "kid"}, "kid"),
        ({"kty": "XYZ", "kid": "k1"}, "signing key"),
    ],
    ids=[
        "secp256k1",
        "p-192",
        "ed448",
        "oct",
        "oct-without-k",
        "private-rsa",
        "encryption-key",
        "alg-contradicts-type",
        "point-not-on-curve",
        "empty-kid",
        "no-kid",
        "unknown-kty",
    ],
)
def test_unusable_keys_are_refused(key: dict[str, Any], says: str) -> None:
    """Other curves, symmetric keys, private members, encryption keys, a contradicting alg, invalid
    points and missing kids are refused naming keys[0]."""
    message = _refusal(jwks={"keys": [key]})
    assert message.startswith("Invalid request body: jwks: keys[0]") and says in message


@pytest.mark.parametrize(
    "jwks",
    [{"keys": []}, {"keys": "x"}, {"keys": [_jwk(RSA_2048, f"k{i}") for i in range(11)]}, {"keys": [1]}, {}],
    ids=["empty", "not-a-list", "eleven-keys", "not-an-object", "no-keys"],
)
def test_malformed_key_sets_are_refused(jwks: dict[str, Any]) -> None:
    """A JWK Set needs 1 to 10 JWK objects."""
    assert _refusal(jwks=jwks).startswith("Invalid request body: jwks:")


def test_duplicate_kids_are_refused() -> None:
    """Two keys with one kid would make key selection ambiguous."""
    ec_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    assert "repeats the kid" in _refusal(jwks={"keys": [_jwk(RSA_2048, "same"), _jwk(ec_key, "same")]})


@pytest.mark.parametrize(
    "uri",
    [
        "https://bank.example/cb",
        "https://bank.example:8443/cb?app=1",
        "http://127.0.0.1/cb",
        "http://127.0.0.1:51004/oauth/cb",
        "http://[::1]:8080/cb",
        "http://localhost:3000/cb",
        "http://LOCALHOST/cb",
    ],
)
def test_https_and_loopback_redirect_uris_are_accepted(uri: str) -> None:
    """https anywhere; http only on the loopback interface (RFC 8252 §7.3), any port."""
    assert TenantCreate.model_validate(_body(redirect_uris=[uri])).redirect_uris == [uri]


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("http://bank.example/cb", "loopback"),
        ("http://127.0.0.2/cb", "loopback"),
        ("http://localhost.attacker.example/cb", "loopback"),
        ("http://10.0.0.1/cb", "loopback"),
        ("https://bank.example/cb#frag", "fragment"),
        ("https://bank.example/cb#", "fragment"),
        ("javascript:alert(1)", "https"),
        ("com.bank.app:/cb", "https"),
        ("https:///cb", "https"),
        ("/relative/cb", "https"),
        ("https://user:pw@bank.example/cb", "user information"),
        ("https://bank.example/c b", "whitespace"),
        ("https://bank.example/cb\u0000", "control"),
        ("https://bank.example:99999/cb", "valid URL"),
        ("https://[::1/cb", "valid URL"),
        ("https://bank.example/" + "a" * 2000, "longer"),
    ],
)
def test_other_redirect_uris_are_refused(uri: str, says: str) -> None:
    """http off loopback, fragments, non-https schemes, hostless or relative URIs, user information,
    whitespace, control characters, bad ports and over-long URIs are refused naming the entry."""
    message = _refusal(redirect_uris=["https://bank.example/ok", uri])
    assert message.startswith("Invalid request body: redirect_uris: redirect_uris[1]") and says in message


@pytest.mark.parametrize(
    "name",
    [
        "Bank\u0000",
        "Bank\nSpoof",
        "Bank\u0007",
        "Bank\u0085",
        "Bank\u202eknab",
        "Bank\u2066x\u2069",
        "\u202a",
    ],
    ids=["nul", "newline", "bell", "c1-nel", "rlo", "lri-pdi", "lre"],
)
def test_names_with_control_or_bidi_override_characters_are_refused(name: str) -> None:
    """Category Cc (C0 and C1) and bidi embeddings, overrides and isolates are refused in names."""
    message = _refusal(name=name)
    assert message.startswith("Invalid request body: name:") and "control" in message


@pytest.mark.parametrize("name", ["Bank of Example", "招商银行", "Банк", "بنك", "Bank \u00e9\u00e8 (EU)"])
def test_ordinary_names_are_accepted(name: str) -> None:
    """Any script, spaces and punctuation are fine (right-to-left text itself is not an override)."""
    assert TenantCreate.model_validate(_body(name=name)).name == name
