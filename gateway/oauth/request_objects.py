"""Signed request objects: RFC 9101 (JAR) on ``/oauth2/authorize`` and signed authentication
requests (OpenID CIBA Core §7.1.1) on ``/oauth2/bc-authorize``.

A request object is accepted when all of these hold:

- it is a compact JWS of at most 16384 characters whose header ``alg`` is not ``none`` (unsigned
  objects are refused), without header-borne key material (``jku``, ``x5u``, ``jwk``, ``x5c``) or
  ``crit``; its ``typ``, when present, is ``oauth-authz-req+jwt`` (RFC 9101 §10.8) or ``JWT``
  (compared case-insensitively, an ``application/`` prefix ignored);
- the key is the entry of the client's registered JWKS (the keys of ``private_key_jwt``) named by
  the header's ``kid`` or, without ``kid``, the only registered key that verifies the header's
  ``alg``; the algorithm is the one the key verifies
  (:func:`gateway.oauth.assertions.select_key`), and the header's ``alg`` must be it;
- the signature verifies; ``iss`` is the client id; ``aud`` is this server's issuer, as a string
  or a list of that one value; ``client_id``, when present, is the client id;
- ``exp`` is present, not past and at most 60 minutes ahead; ``nbf`` and ``iat``, when present,
  are not in the future and ``nbf`` at most 60 minutes in the past (the FAPI 2.0 bounds), each with
  30 s of leeway on the gateway's clock;
- it carries neither ``request`` nor ``request_uri``;
- for CIBA, ``iat``, ``nbf`` and ``jti`` are required too, and ``jti`` is single use per client.

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

MAX_LIFETIME = 3600
LEEWAY = 30
SIGNING_ALGORITHMS = ("ES256", "ES384", "ES512", "RS256", "PS256", "EdDSA")
"""The algorithms :func:`~gateway.oauth.assertions.select_key` binds registered keys to: what clients
sign request objects and assertions with (discovery's ``…_signing_alg_values_supported``)."""
_MAX_LENGTH = 16384
_MAX_JTI = 256
_TYPES = frozenset({"oauth-authz-req+jwt", "jwt"})
_FORBIDDEN_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c", "crit"})
_JWT_CLAIMS = frozenset({"iss", "aud", "exp", "nbf", "iat", "jti"})
_CIBA_REQUIRED = ("iat", "nbf", "jti")
_DECODE_OPTIONS: Any = {
    "require": ["iss", "aud", "exp"],
    "verify_aud": False,
    "verify_iss": False,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
}


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
        claims = self._verified(request_object, key, tenant.client_id)
        self._check_times(claims, ciba=ciba)
        if "request" in claims or "request_uri" in claims:
            raise _rejected("A request object must not contain request or request_uri.")
        if ciba:
            await self._spend_jti(claims, tenant.client_id)
        params = {name: _text(name, value) for name, value in claims.items() if name not in _JWT_CLAIMS}
        return {**params, "client_id": tenant.client_id}

    def _verified(self, request_object: str, key: jwt.PyJWK, client_id: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                request_object,
                key,
                algorithms=[key.algorithm_name],
                options=_DECODE_OPTIONS,
            )
        except jwt.MissingRequiredClaimError as exc:
            raise _rejected(f"The request object has no {exc.claim} claim.") from exc
        except jwt.InvalidSignatureError as exc:
            raise _rejected("The request object's signature does not verify with the client's keys.") from exc
        except jwt.PyJWTError as exc:
            raise _rejected(f"The request object is malformed ({type(exc).__name__}).") from exc
        if claims["iss"] != client_id:
            raise _rejected("The request object's iss must be the client_id.")
        if claims.get("client_id", client_id) != client_id:
            raise _rejected("The request object's client_id does not match the client_id parameter.")
        audience = claims["aud"]
        if audience != self._issuer and audience != [self._issuer]:
            raise _rejected(f"The request object's aud must be this server's issuer, {self._issuer}.")
        return claims

    def _check_times(self, claims: dict[str, Any], *, ciba: bool) -> None:
        missing = [name for name in _CIBA_REQUIRED if ciba and name not in claims]
        if missing:
            raise _rejected(f"A signed authentication request needs {', '.join(missing)}.")
        now = self._clock.now().timestamp()
        exp = _instant(claims, "exp")
        if exp <= now - LEEWAY:
            raise _rejected("The request object has expired.")
        if exp > now + MAX_LIFETIME + LEEWAY:
            raise _rejected("The request object's exp is more than 60 minutes ahead.")
        for name in ("nbf", "iat"):
            if name in claims and _instant(claims, name) > now + LEEWAY:
                raise _rejected(f"The request object's {name} is in the future.")
        if "nbf" in claims and _instant(claims, "nbf") < now - MAX_LIFETIME - LEEWAY:
            raise _rejected("The request object's nbf is more than 60 minutes in the past.")

    async def _spend_jti(self, claims: dict[str, Any], client_id: str) -> None:
        jti = claims["jti"]
        if not isinstance(jti, str) or not 0 < len(jti) <= _MAX_JTI:
            raise _rejected("The request object's jti must be a string of 1 to 256 characters.")
        remaining = max(_instant(claims, "exp") - self._clock.now().timestamp(), 0.0) + LEEWAY
        if not await self._replay.claim(f"request_object:{client_id}:{jti}", remaining):
            raise _rejected("The request object's jti has been used before.")


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
