"""Signed request objects: RFC 9101 (JAR) on ``/oauth2/authorize`` and signed authentication
requests (OpenID CIBA Core §7.1.1) on ``/oauth2/bc-authorize``, both as the CAMARA Security and
Interoperability Profile (Signed Authentication Requests) has them.

A request object is accepted when all of these hold:

- it is a compact JWS of at most 16384 characters whose header ``alg`` is not ``none`` (unsigned
  objects are refused), without header-borne key material (``jku``, ``x5u``, ``jwk``, ``x5c``) or
  ``crit``; its ``typ``, when present, is ``oauth-authz-req+jwt`` (RFC 9101 §10.8) or ``JWT``
  (compared case-insensitively, an ``application/`` prefix ignored);
- the key is the entry of the client's registered JWKS (the keys of ``private_key_jwt``) named by
  the header's ``kid`` or, without ``kid``, the only registered key that verifies the header's
  ``alg``; the algorithm is the one the key verifies
  (:func:`gateway.oauth.assertions.select_key`), and the header's ``alg`` must be it;
- the signature verifies; ``iss``, ``aud``, ``exp``, ``iat`` and ``jti`` are present (CIBA also
  needs ``nbf``); ``iss`` is the client id; ``client_id``, when present, is the client id;
- ``aud`` is this server's issuer or the URL of the endpoint the object is sent to
  (``{issuer}/oauth2/authorize`` or ``{issuer}/oauth2/bc-authorize``, the value CAMARA
  recommends), as a string or a list of such values only (a list naming any other audience,
  another endpoint of this server included, is refused);
- ``exp`` is not past, ``iat`` not in the future and ``exp - iat`` at most 300 s; ``nbf``, when
  present, is not in the future and at most 60 minutes in the past (the FAPI 2.0 bound); 30 s of
  leeway on the gateway's clock for each;
- ``jti`` is a string of 1 to 256 characters used once per client (for as long as the object
  could be accepted; both endpoints share the marker);
- it carries neither ``request`` nor ``request_uri``.

The verified claims replace the request's parameters (RFC 9101 §6.3): every claim but the JWT
ones (``iss``, ``aud``, ``exp``, ``nbf``, ``iat``, ``jti``) becomes a parameter; strings as they
are, integers as decimal text; any other value is refused. Every failure is ``invalid_request_object``
with a description naming the broken rule (never key material).
"""

from __future__ import annotations

import json
import math
from typing import Any

import jwt

from gateway.clock import Clock
from gateway.errors import OAuthError
from gateway.oauth.assertions import select_key
from gateway.replay import ReplayCache
from gateway.tenants.models import Tenant

__all__ = ["MAX_LIFETIME", "SIGNING_ALGORITHMS", "RequestObjects"]

MAX_LIFETIME = 300
"""The longest ``exp - iat`` accepted (CAMARA, Signed Authentication Requests)."""
MAX_NBF_AGE = 3600
LEEWAY = 30
SIGNING_ALGORITHMS = ("ES256", "ES384", "ES512", "RS256", "PS256", "EdDSA")
"""The algorithms :func:`~gateway.oauth.assertions.select_key` binds registered keys to: what clients
sign request objects and assertions with (discovery's ``…_signing_alg_values_supported``)."""
_MAX_LENGTH = 16384
_MAX_JTI = 256
_TYPES = frozenset({"oauth-authz-req+jwt", "jwt"})
_FORBIDDEN_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c", "crit"})
_JWT_CLAIMS = frozenset({"iss", "aud", "exp", "nbf", "iat", "jti"})
_UNCHECKED = {
    "verify_aud": False,
    "verify_iss": False,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_jti": False,
}
_REQUIRED = ["iss", "aud", "exp", "iat", "jti"]
_OPTIONS: Any = {**_UNCHECKED, "require": _REQUIRED}
_CIBA_OPTIONS: Any = {**_UNCHECKED, "require": [*_REQUIRED, "nbf"]}


def _rejected(description: str) -> OAuthError:
    return OAuthError("invalid_request_object", description)


class RequestObjects:
    """Verifies clients' signed request objects; see the module docstring."""

    def __init__(self, replay: ReplayCache, clock: Clock, *, issuer: str) -> None:
        self._replay = replay
        self._clock = clock
        self._issuer = issuer

    async def parameters(self, request_object: str, tenant: Tenant, *, ciba: bool = False) -> dict[str, str]:
        """The request parameters ``request_object`` of ``tenant`` carries, ``client_id`` included.

        :raises OAuthError: ``invalid_request_object``.
        """
        header = _header(request_object)
        key = _key(tenant, header)
        claims = _verified(request_object, key, _CIBA_OPTIONS if ciba else _OPTIONS)
        self._check_identity(claims, tenant.client_id, ciba=ciba)
        self._check_times(claims)
        if "request" in claims or "request_uri" in claims:
            raise _rejected("A request object must not contain request or request_uri.")
        await self._spend_jti(claims, tenant.client_id)
        params = {name: _text(name, value) for name, value in claims.items() if name not in _JWT_CLAIMS}
        return {**params, "client_id": tenant.client_id}

    def _check_identity(self, claims: dict[str, Any], client_id: str, *, ciba: bool) -> None:
        if claims["iss"] != client_id:
            raise _rejected("The request object's iss must be the client_id.")
        if claims.get("client_id", client_id) != client_id:
            raise _rejected("The request object's client_id does not match the client_id parameter.")
        endpoint = f"{self._issuer}/oauth2/{'bc-authorize' if ciba else 'authorize'}"
        audience = claims["aud"]
        values = audience if isinstance(audience, list) and audience else [audience]
        if not all(value in (self._issuer, endpoint) for value in values):
            raise _rejected(
                f"The request object's aud must be this server's issuer, {self._issuer}, or {endpoint}."
            )

    def _check_times(self, claims: dict[str, Any]) -> None:
        now = self._clock.now().timestamp()
        exp, iat = _instant(claims, "exp"), _instant(claims, "iat")
        if exp <= now - LEEWAY:
            raise _rejected("The request object has expired.")
        for name in ("iat", "nbf"):
            if name in claims and _instant(claims, name) > now + LEEWAY:
                raise _rejected(f"The request object's {name} is in the future.")
        if exp - iat > MAX_LIFETIME:
            raise _rejected("The request object's exp is more than 300 s after its iat.")
        if "nbf" in claims and _instant(claims, "nbf") < now - MAX_NBF_AGE - LEEWAY:
            raise _rejected("The request object's nbf is more than 60 minutes in the past.")

    async def _spend_jti(self, claims: dict[str, Any], client_id: str) -> None:
        jti = claims["jti"]
        if not isinstance(jti, str) or not 0 < len(jti) <= _MAX_JTI:
            raise _rejected("The request object's jti must be a string of 1 to 256 characters.")
        remaining = max(_instant(claims, "exp") - self._clock.now().timestamp(), 0.0) + LEEWAY
        if not await self._replay.claim(f"request_object:{client_id}:{jti}", remaining):
            raise _rejected("The request object's jti has been used before.")


def _verified(request_object: str, key: jwt.PyJWK, options: Any) -> dict[str, Any]:
    """The claims of ``request_object``, whose signature ``key`` verifies, with the claims ``options``
    require."""
    try:
        claims: dict[str, Any] = jwt.decode(
            request_object, key, algorithms=[key.algorithm_name], options=options
        )
    except jwt.MissingRequiredClaimError as exc:
        raise _rejected(f"The request object has no {exc.claim} claim.") from exc
    except jwt.InvalidSignatureError as exc:
        raise _rejected("The request object's signature does not verify with the client's keys.") from exc
    except jwt.PyJWTError as exc:
        raise _rejected(f"The request object is malformed ({type(exc).__name__}).") from exc
    return claims


def _header(request_object: str) -> dict[str, Any]:
    if len(request_object) > _MAX_LENGTH:
        raise _rejected("The request object is longer than 16384 characters.")
    try:
        header = jwt.get_unverified_header(request_object)
    except jwt.PyJWTError as exc:
        raise _rejected("The request object is not a signed JWT (JWS compact serialization).") from exc
    alg = header.get("alg")
    if not isinstance(alg, str) or alg.lower() == "none":
        raise _rejected("The request object must be signed; alg none is refused.")
    if _FORBIDDEN_HEADERS & header.keys():
        raise _rejected("The request object's header must not carry jku, x5u, jwk, x5c or crit.")
    typ = header.get("typ")
    if typ is not None and (
        not isinstance(typ, str) or typ.lower().removeprefix("application/") not in _TYPES
    ):
        raise _rejected("The request object's typ must be oauth-authz-req+jwt.")
    return header


def _key(tenant: Tenant, header: dict[str, Any]) -> jwt.PyJWK:
    """The client's key for this header, bound to the algorithm it verifies."""
    if tenant.jwks is None:
        raise _rejected("The client has no registered keys to verify request objects with.")
    kid = header.get("kid")
    key = select_key(json.loads(tenant.jwks), kid, alg=header["alg"])
    if key is None and kid is None:
        raise _rejected(
            f"The request object needs a kid: not exactly one registered key verifies {header['alg']}."
        )
    if key is None:
        raise _rejected("The request object's kid names no usable registered key of the client.")
    if header["alg"] != key.algorithm_name:
        raise _rejected(f"The request object's alg must be {key.algorithm_name}, the algorithm of its key.")
    return key


def _instant(claims: dict[str, Any], name: str) -> float:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _rejected(f"The request object's {name} is not a number.")
    return float(value)


def _text(name: str, value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise _rejected(f"The request object's {name} must be a string.")
