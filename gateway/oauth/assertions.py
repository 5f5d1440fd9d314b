"""Client-signed JWT assertions (RFC 7523): the one verifier for ``private_key_jwt`` client
authentication (§2.2) and the JWT-bearer grant (§2.1).

An assertion is accepted when all of these hold:

- it is a compact JWS of at most 8192 characters without header-borne key material (``jku``,
  ``x5u``, ``jwk``, ``x5c``);
- its ``iss`` names a client with a registered JWKS (and the client the caller expects, if any);
- the header's ``kid`` names a key of that JWKS and its ``alg`` is the one algorithm the key
  verifies, fixed by the key (EC P-256 -> ES256, RSA -> RS256 or its declared PS256, Ed25519 ->
  EdDSA), never by the header; a key whose declared ``alg`` contradicts its type is unusable;
- the signature verifies; ``aud`` is one of the verifier's audiences; ``iss``, ``sub``, ``aud``,
  ``exp``, ``iat`` and ``jti`` are present; ``sub`` equals ``iss`` when the verifier requires it;
- ``exp - iat`` is at most 300 s, ``exp`` at most 300 s ahead and not past, ``iat`` and ``nbf``
  not in the future, each with 30 s of leeway on the gateway's clock;
- ``jti`` is a string of 1 to 256 characters this client has not used before (the marker lives as
  long as the assertion could still be accepted).

Every failure is :class:`AssertionRejected`, whose reason is for the log only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jwt

from gateway.clock import Clock
from gateway.replay import ReplayCache
from gateway.tenants.models import Tenant
from gateway.tenants.service import TenantService

__all__ = ["AssertionRejected", "AssertionVerifier", "VerifiedAssertion", "select_key"]

MAX_LIFETIME = 300
LEEWAY = 30
_MAX_LENGTH = 8192
_MAX_JTI = 256
_REQUIRED = ["exp", "iat", "jti", "sub", "aud", "iss"]
_FORBIDDEN_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c"})
_ALG_BY_KEY = {("EC", "P-256"): "ES256", ("RSA", None): "RS256", ("OKP", "Ed25519"): "EdDSA"}


class AssertionRejected(Exception):
    """The assertion is not acceptable; the message says why, for the log only."""


@dataclass(frozen=True, slots=True)
class VerifiedAssertion:
    """An accepted assertion: the client that signed it and its verified claims."""

    tenant: Tenant
    subject: str
    claims: dict[str, Any]


def select_key(jwks: dict[str, Any], kid: object) -> jwt.PyJWK | None:
    """The key of ``jwks`` with ``kid``, bound to the one algorithm it verifies, or None."""
    for entry in jwks.get("keys", []):
        if entry.get("kid") != kid:
            continue
        algorithm = _ALG_BY_KEY.get((entry.get("kty"), entry.get("crv")))
        declared = entry.get("alg")
        if entry.get("kty") == "RSA" and declared in ("RS256", "PS256"):
            algorithm = declared
        if algorithm is None or (declared is not None and declared != algorithm):
            return None
        try:
            return jwt.PyJWK.from_dict(entry, algorithm=algorithm)
        except jwt.PyJWTError:
            return None
    return None


class AssertionVerifier:
    """Verifies client assertions for one use; see the module docstring.

    ``audiences`` are the accepted ``aud`` values; ``replay_scope`` separates this use's ``jti``
    markers from another's; ``subject_is_client`` requires ``sub`` = ``iss`` (client
    authentication) rather than any string (the JWT-bearer grant's subscriber).
    """

    def __init__(
        self,
        tenants: TenantService,
        replay: ReplayCache,
        clock: Clock,
        *,
        audiences: Iterable[str],
        replay_scope: str,
        subject_is_client: bool,
    ) -> None:
        self._tenants = tenants
        self._replay = replay
        self._clock = clock
        self._audiences = sorted(audiences)
        self._replay_scope = replay_scope
        self._subject_is_client = subject_is_client

    async def verify(self, assertion: str, *, client_id: str | None = None) -> VerifiedAssertion:
        """The verified assertion, its ``jti`` spent; ``client_id``, when given, must be its ``iss``.

        :raises AssertionRejected: any rule of the module docstring is broken.
        """
        header, issuer = self._unverified(assertion)
        if client_id is not None and issuer != client_id:
            raise AssertionRejected("iss does not name the client")
        tenant = await self._tenants.by_client_id(issuer)
        if tenant is None or tenant.jwks is None:
            raise AssertionRejected("client has no registered keys")
        key = select_key(json.loads(tenant.jwks), header.get("kid"))
        if key is None or header.get("alg") != key.algorithm_name:
            raise AssertionRejected("no matching key for kid/alg")
        claims = self._verified_claims(assertion, key, issuer)
        subject = self._subject(claims, issuer)
        exp = self._check_times(claims)
        remaining = max(exp - self._clock.now().timestamp(), 0.0) + LEEWAY
        if not await self._replay.claim(f"{self._replay_scope}:{issuer}:{claims['jti']}", remaining):
            raise AssertionRejected("jti replayed")
        return VerifiedAssertion(tenant, subject, claims)

    @staticmethod
    def _unverified(assertion: str) -> tuple[dict[str, Any], str]:
        """The header and claimed ``iss``, read unverified only to find the verification key."""
        if len(assertion) > _MAX_LENGTH:
            raise AssertionRejected("assertion too long")
        try:
            unverified = jwt.decode_complete(assertion, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise AssertionRejected("malformed assertion") from exc
        header: dict[str, Any] = unverified["header"]
        issuer = unverified["payload"].get("iss")
        if not isinstance(issuer, str):
            raise AssertionRejected("iss missing")
        if _FORBIDDEN_HEADERS & header.keys():
            raise AssertionRejected("header-borne key material")
        return header, issuer

    def _verified_claims(self, assertion: str, key: jwt.PyJWK, issuer: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                assertion,
                key,
                algorithms=[key.algorithm_name],
                audience=self._audiences,
                issuer=issuer,
                options={"require": _REQUIRED, "verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.PyJWTError as exc:
            raise AssertionRejected(f"assertion rejected: {type(exc).__name__}") from exc
        jti = claims["jti"]
        if not isinstance(jti, str) or not 0 < len(jti) <= _MAX_JTI:
            raise AssertionRejected("jti is not a string of 1 to 256 characters")
        return claims

    def _subject(self, claims: dict[str, Any], issuer: str) -> str:
        subject = claims["sub"]
        if not isinstance(subject, str) or (self._subject_is_client and subject != issuer):
            raise AssertionRejected("sub invalid")
        return subject

    def _check_times(self, claims: dict[str, Any]) -> float:
        """``exp``, once the time claims pass the module docstring's rules."""
        exp, iat = _instant(claims["exp"]), _instant(claims["iat"])
        nbf = _instant(claims.get("nbf", iat))
        now = self._clock.now().timestamp()
        if exp <= now - LEEWAY:
            raise AssertionRejected("assertion expired")
        if iat > now + LEEWAY or nbf > now + LEEWAY:
            raise AssertionRejected("assertion issued in the future")
        if exp - iat > MAX_LIFETIME or exp > now + MAX_LIFETIME + LEEWAY:
            raise AssertionRejected("assertion lifetime over 300 s")
        return exp


def _instant(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AssertionRejected("time claims are not numbers")
    return float(value)
