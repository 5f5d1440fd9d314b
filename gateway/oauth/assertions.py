"""Client-signed JWT assertions (RFC 7523): the one verifier for ``private_key_jwt`` client
authentication (§2.2) and the JWT-bearer grant (§2.1).

An assertion is accepted when all of these hold:

- it is a compact JWS of at most 8192 characters without header-borne key material (``jku``,
  ``x5u``, ``jwk``, ``x5c``) and, when its header has a ``typ``, one the verifier accepts
  (compared case-insensitively, an ``application/`` prefix ignored);
- its ``iss`` names a client with a registered JWKS (and the client the caller expects, if any);
- the key is the one its header's ``kid`` names or, without ``kid``, the only key of the JWKS
  that verifies the header's ``alg`` (several such keys and no ``kid`` is refused); the
  algorithm is fixed by the key (EC P-256/P-384/P-521 -> ES256/ES384/ES512, RSA of 2048 bits or
  more -> RS256 or its declared PS256, Ed25519 -> EdDSA), never by the header; a key whose declared
  ``alg`` contradicts its type is unusable;
- the signature verifies; ``aud`` is one of the verifier's audiences, as a string or a list of
  that one value (a list naming anyone else is refused, RFC 7523bis); ``iss``, ``sub``, ``aud``,
  ``exp`` and ``jti`` are present, and ``iat`` too when the verifier requires it; ``sub`` equals
  ``iss`` when the verifier requires it;
- ``exp - iat`` (when ``iat`` is present) is at most 300 s, ``exp`` at most 300 s ahead and not
  past, ``iat`` and ``nbf`` not in the future, each with 30 s of leeway on the gateway's clock;
- ``jti`` is a string of 1 to 256 characters this client has not used before (the marker lives as
  long as the assertion could still be accepted).

Every failure is :class:`AssertionRejected`; its ``reason`` is for the log, its ``public`` text
(only for the structural faults a client developer must fix: header key material, ``typ``, a
missing ``kid``, a multi-valued ``aud``) may be shown to the client.
"""

from __future__ import annotations

import base64
import binascii
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

__all__ = [
    "MIN_RSA_BITS",
    "AssertionRejected",
    "AssertionVerifier",
    "VerifiedAssertion",
    "claimed_issuer",
    "key_algorithm",
    "rsa_bits",
    "select_key",
]

MAX_LIFETIME = 300
LEEWAY = 30
MIN_RSA_BITS = 2048
_MAX_LENGTH = 8192
_MAX_JTI = 256
_FORBIDDEN_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c"})
_ALG_BY_KEY: dict[tuple[object, object], str] = {
    ("EC", "P-256"): "ES256",
    ("EC", "P-384"): "ES384",
    ("EC", "P-521"): "ES512",
    ("RSA", None): "RS256",
    ("OKP", "Ed25519"): "EdDSA",
}


class AssertionRejected(Exception):
    """The assertion is not acceptable: ``reason`` (the message) for the log, ``public`` (or None)
    for the client."""

    def __init__(self, reason: str, *, public: str | None = None) -> None:
        super().__init__(reason)
        self.public = public


@dataclass(frozen=True, slots=True)
class VerifiedAssertion:
    """An accepted assertion: the client that signed it and its verified claims."""

    tenant: Tenant
    subject: str
    claims: dict[str, Any]


def key_algorithm(entry: dict[str, Any]) -> str | None:
    """The one algorithm the JWK ``entry`` verifies, or None when it verifies none this server
    accepts (unknown type or curve, an ``alg`` contradicting the type)."""
    algorithm = _ALG_BY_KEY.get((entry.get("kty"), entry.get("crv")))
    declared = entry.get("alg")
    if entry.get("kty") == "RSA" and declared in ("RS256", "PS256"):
        algorithm = declared
    if algorithm is None or (declared is not None and declared != algorithm):
        return None
    return algorithm


def rsa_bits(entry: dict[str, Any]) -> int:
    """The modulus length of an RSA JWK in bits (0 when ``n`` is not base64url)."""
    modulus = entry.get("n")
    if not isinstance(modulus, str):
        return 0
    try:
        raw = base64.urlsafe_b64decode(modulus + "=" * (-len(modulus) % 4))
    except (binascii.Error, ValueError):
        return 0
    return int.from_bytes(raw, "big").bit_length()


def _usable(entry: dict[str, Any]) -> jwt.PyJWK | None:
    algorithm = key_algorithm(entry)
    if algorithm is None or (entry.get("kty") == "RSA" and rsa_bits(entry) < MIN_RSA_BITS):
        return None
    try:
        return jwt.PyJWK.from_dict(entry, algorithm=algorithm)
    except jwt.PyJWTError:
        return None


def select_key(jwks: dict[str, Any], kid: object, *, alg: object = None) -> jwt.PyJWK | None:
    """The verification key of ``jwks`` for a JWS header, bound to the one algorithm it verifies.

    With a ``kid``: the key with that ``kid``, or None if it is unusable. Without (``kid`` None):
    the only usable key verifying ``alg``, or None when there is none or several.
    """
    entries = [entry for entry in jwks.get("keys", []) if isinstance(entry, dict)]
    if kid is not None:
        for entry in entries:
            if entry.get("kid") == kid:
                return _usable(entry)
        return None
    if alg is None:
        return None
    candidates = [entry for entry in entries if key_algorithm(entry) == alg]
    return _usable(candidates[0]) if len(candidates) == 1 else None


def claimed_issuer(assertion: str) -> str | None:
    """The ``iss`` ``assertion`` claims, read unverified (None when it is not a readable JWT)."""
    if len(assertion) > _MAX_LENGTH:
        return None
    try:
        issuer = jwt.decode(assertion, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError:
        return None
    return issuer if isinstance(issuer, str) else None


def _accepted_types(types: Iterable[str]) -> frozenset[str]:
    return frozenset(t.lower() for t in types)


class AssertionVerifier:
    """Verifies client assertions for one use; see the module docstring.

    ``audiences`` are the accepted ``aud`` values; ``replay_scope`` separates this use's ``jti``
    markers from another's; ``subject_is_client`` requires ``sub`` = ``iss`` (client
    authentication) rather than any string (the JWT-bearer grant's subscriber); ``require_iat``
    makes ``iat`` mandatory; ``types`` are the accepted header ``typ`` values.
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
        require_iat: bool = True,
        types: Iterable[str] = ("JWT",),
    ) -> None:
        self._tenants = tenants
        self._replay = replay
        self._clock = clock
        self._audiences = frozenset(audiences)
        self._replay_scope = replay_scope
        self._subject_is_client = subject_is_client
        self._required = ["exp", "jti", "sub", "aud", "iss", *(["iat"] if require_iat else [])]
        self._types = _accepted_types(types)

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
        key = self._key(json.loads(tenant.jwks), header)
        claims = self._verified_claims(assertion, key, issuer)
        subject = self._subject(claims, issuer)
        exp = self._check_times(claims)
        remaining = max(exp - self._clock.now().timestamp(), 0.0) + LEEWAY
        if not await self._replay.claim(f"{self._replay_scope}:{issuer}:{claims['jti']}", remaining):
            raise AssertionRejected("jti replayed")
        return VerifiedAssertion(tenant, subject, claims)

    def _unverified(self, assertion: str) -> tuple[dict[str, Any], str]:
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
        carried = sorted(_FORBIDDEN_HEADERS & header.keys())
        if carried:
            raise AssertionRejected(
                "header-borne key material",
                public=f"The assertion header must not carry {', '.join(carried)}: "
                "keys come from the client's registration only.",
            )
        if "typ" in header and not self._type_accepted(header["typ"]):
            raise AssertionRejected(
                "typ not accepted",
                public=f"The assertion's typ must be one of: {', '.join(sorted(self._types))}.",
            )
        return header, issuer

    def _type_accepted(self, value: object) -> bool:
        if not isinstance(value, str):
            return False
        lowered = value.lower()
        return lowered.removeprefix("application/") in self._types

    @staticmethod
    def _key(jwks: dict[str, Any], header: dict[str, Any]) -> jwt.PyJWK:
        kid, alg = header.get("kid"), header.get("alg")
        key = select_key(jwks, kid, alg=alg)
        if key is not None and alg == key.algorithm_name:
            return key
        if (
            kid is None
            and sum(key_algorithm(e) == alg for e in jwks.get("keys", []) if isinstance(e, dict)) > 1
        ):
            raise AssertionRejected(
                "no kid and several keys for alg",
                public="The client has several keys for this alg: name the signing key with kid.",
            )
        raise AssertionRejected("no matching key for kid/alg")

    def _verified_claims(self, assertion: str, key: jwt.PyJWK, issuer: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                assertion,
                key,
                algorithms=[key.algorithm_name],
                issuer=issuer,
                options={
                    "require": self._required,
                    "verify_aud": False,
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise AssertionRejected(f"assertion rejected: {type(exc).__name__}") from exc
        self._check_audience(claims["aud"])
        jti = claims["jti"]
        if not isinstance(jti, str) or not 0 < len(jti) <= _MAX_JTI:
            raise AssertionRejected("jti is not a string of 1 to 256 characters")
        return claims

    def _check_audience(self, aud: object) -> None:
        if isinstance(aud, list) and len(aud) > 1:
            raise AssertionRejected(
                "aud names other audiences",
                public="The assertion's aud must be this server's issuer alone, not a list of servers.",
            )
        value = aud[0] if isinstance(aud, list) and aud else aud
        if not isinstance(value, str) or value not in self._audiences:
            raise AssertionRejected("aud is not this server")

    def _subject(self, claims: dict[str, Any], issuer: str) -> str:
        subject = claims["sub"]
        if not isinstance(subject, str) or (self._subject_is_client and subject != issuer):
            raise AssertionRejected("sub invalid")
        return subject

    def _check_times(self, claims: dict[str, Any]) -> float:
        """``exp``, once the time claims pass the module docstring's rules."""
        exp = _instant(claims["exp"])
        iat = _instant(claims["iat"]) if "iat" in claims else None
        nbf = _instant(claims["nbf"]) if "nbf" in claims else iat
        now = self._clock.now().timestamp()
        if exp <= now - LEEWAY:
            raise AssertionRejected("assertion expired")
        if (iat is not None and iat > now + LEEWAY) or (nbf is not None and nbf > now + LEEWAY):
            raise AssertionRejected("assertion issued in the future")
        if (iat is not None and exp - iat > MAX_LIFETIME) or exp > now + MAX_LIFETIME + LEEWAY:
            raise AssertionRejected("assertion lifetime over 300 s")
        return exp


def _instant(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AssertionRejected("time claims are not numbers")
    return float(value)
