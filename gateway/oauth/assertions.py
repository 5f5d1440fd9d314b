"""Client-signed JWT assertions (RFC 7523): finding the verification key in a tenant's JWKS.

The algorithm comes from the registered key (EC P-256 -> ES256, RSA -> RS256 or its declared
PS256, Ed25519 -> EdDSA), never from the assertion's header; a key whose declared ``alg``
contradicts its type is unusable. Used by ``private_key_jwt`` client authentication and by the
JWT-bearer grant.
"""

from __future__ import annotations

import json
from typing import Any

import jwt

from gateway.crypto import b64url_decode

__all__ = ["claimed_issuer", "select_key", "unverified_header"]

_ALG_BY_KEY = {("EC", "P-256"): "ES256", ("RSA", None): "RS256", ("OKP", "Ed25519"): "EdDSA"}


def unverified_header(token: str) -> dict[str, Any]:
    """A JWS's protected header, read only to choose the verification key (``jwt.decode`` then
    parses and checks the whole token): ``jwt.get_unverified_header`` decodes and checks every
    segment byte by byte in Python, about 30 us for an 800-byte access token.

    :raises ValueError: not three dot-separated segments, or a header that is not a base64url
        encoded JSON object.
    """
    if token.count(".") != 2:
        raise ValueError("not a compact JWS")
    try:
        header = json.loads(b64url_decode(token.partition(".")[0]))
    except RecursionError:
        raise ValueError("header nests too deeply") from None
    if not isinstance(header, dict):
        raise ValueError("header is not an object")
    return header


def claimed_issuer(assertion: str) -> object:
    """The ``iss`` an assertion claims, read only to find whose keys verify it.

    :raises ValueError: the payload is not a JSON object.
    """
    payload = assertion.split(".")[1]
    claims = json.loads(b64url_decode(payload))
    if not isinstance(claims, dict):
        raise ValueError("claims are not an object")
    return claims.get("iss")


def select_key(jwks: dict[str, Any], kid: object) -> tuple[Any, str | None]:
    """The key with ``kid`` and the one algorithm it verifies, or ``(None, None)``."""
    for entry in jwks.get("keys", []):
        if entry.get("kid") != kid:
            continue
        algorithm = _ALG_BY_KEY.get((entry.get("kty"), entry.get("crv")))
        declared = entry.get("alg")
        if entry.get("kty") == "RSA" and declared in ("RS256", "PS256"):
            algorithm = declared
        if algorithm is None or (declared is not None and declared != algorithm):
            return None, None
        return jwt.PyJWK.from_dict(entry, algorithm=algorithm).key, algorithm
    return None, None
