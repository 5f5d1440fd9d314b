"""What the admin API accepts as a client's metadata: names, redirect URIs and JWKS.

- **Names** hold no control characters (Unicode category Cc) and no bidirectional embeddings,
  overrides or isolates (U+202A-U+202E, U+2066-U+2069), which would let a name display as
  something else in consoles and logs.
- **Redirect URIs** (RFC 6749 §3.1.2, RFC 8252 §7.3 and §8.3, OAuth 2.0 Security BCP §4.1): absolute
  ``https`` URLs with a host, or ``http`` only on the loopback interface (``127.0.0.1``,
  ``[::1]``, ``localhost``; any port); no fragment, no user information, no whitespace or control
  characters, at most 2000 characters.
- **JWKS** (``private_key_jwt``, signed request objects): 1 to 10 public signing keys with distinct
  ``kid`` values, each one this server verifies with exactly one algorithm
  (:func:`~gateway.oauth.assertions.key_algorithm`): RSA of at least 2048 bits, EC on P-256,
  P-384 or P-521, Ed25519. Symmetric keys, private key members, other curves, ``use`` other than
  ``sig`` and an ``alg`` contradicting the key type are refused.

Each check raises :class:`ValueError` whose message names the offending member, never its value.
"""

from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import urlsplit

import jwt

from gateway.oauth.assertions import MIN_RSA_BITS, key_algorithm, rsa_bits

__all__ = ["check_jwks", "check_name", "check_redirect_uri"]

_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
_CURVES = {"EC": ("P-256", "P-384", "P-521"), "OKP": ("Ed25519",)}
_MAX_URI = 2000
_MAX_KEYS = 10


def check_name(name: str) -> str:
    """``name`` when it holds no control or bidirectional-override characters."""
    for char in name:
        if unicodedata.category(char) == "Cc" or char in _BIDI_CONTROLS:
            raise ValueError(
                f"must not contain control or bidirectional override characters (U+{ord(char):04X})"
            )
    return name


def check_redirect_uri(uri: str, where: str) -> str:
    """``uri`` when it is an acceptable redirect URI; ``where`` names it in the error."""
    if len(uri) > _MAX_URI:
        raise ValueError(f"{where} is longer than {_MAX_URI} characters")
    if any(char.isspace() or unicodedata.category(char) == "Cc" for char in uri):
        raise ValueError(f"{where} contains whitespace or control characters")
    try:
        parts = urlsplit(uri)
        host = parts.hostname
        parts.port  # noqa: B018 - a malformed port raises here
    except ValueError as exc:
        raise ValueError(f"{where} is not a valid URL") from exc
    if "#" in uri:
        raise ValueError(f"{where} must not contain a fragment")
    if parts.scheme not in ("https", "http") or not host:
        raise ValueError(f"{where} must be an absolute https URL with a host")
    if "@" in parts.netloc:
        raise ValueError(f"{where} must not contain user information")
    if parts.scheme == "http" and host not in _LOOPBACK_HOSTS:
        raise ValueError(
            f"{where} may use http:// only on loopback (127.0.0.1, [::1], localhost), https elsewhere"
        )
    return uri


def check_jwks(jwks: dict[str, Any]) -> dict[str, Any]:
    """``jwks`` when it is a JWK Set of acceptable public signing keys (see the module docstring)."""
    keys = jwks.get("keys")
    if set(jwks) != {"keys"} or not isinstance(keys, list) or not 0 < len(keys) <= _MAX_KEYS:
        raise ValueError(f"must be a JWK Set holding 1 to {_MAX_KEYS} keys")
    kids: set[str] = set()
    for index, key in enumerate(keys):
        where = f"keys[{index}]"
        if not isinstance(key, dict):
            raise ValueError(f"{where} is not a JWK object")
        _check_key(key, where)
        kid = key["kid"]
        if kid in kids:
            raise ValueError(f"{where} repeats the kid of an earlier key; kids must be distinct")
        kids.add(kid)
    return jwks


def _check_key(key: dict[str, Any], where: str) -> None:
    kid, kty = key.get("kid"), key.get("kty")
    if not isinstance(kid, str) or not 0 < len(kid) <= 200:
        raise ValueError(f"{where} needs a kid of 1 to 200 characters")
    if kty == "oct":
        raise ValueError(f"{where} is a symmetric key; register public keys only")
    if any(member in key for member in _PRIVATE_MEMBERS):
        raise ValueError(f"{where} holds private key members; register public keys only")
    if key.get("use", "sig") != "sig":
        raise ValueError(f"{where} has use other than sig")
    if kty in _CURVES and key.get("crv") not in _CURVES[kty]:
        raise ValueError(f"{where} is on a curve this server does not accept ({', '.join(_CURVES[kty])})")
    algorithm = key_algorithm(key)
    if algorithm is None:
        raise ValueError(f"{where} is not an RSA, EC or Ed25519 signing key, or its alg contradicts its type")
    bits = rsa_bits(key)
    if kty == "RSA" and bits < MIN_RSA_BITS:
        raise ValueError(f"{where} is an RSA key of {bits} bits; at least {MIN_RSA_BITS} are required")
    try:
        jwt.PyJWK.from_dict(key, algorithm=algorithm)
    except jwt.PyJWTError as exc:
        raise ValueError(f"{where} is not a valid {kty} public key") from exc
