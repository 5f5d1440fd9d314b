"""Access tokens: ES256 JWTs (RFC 9068 ``at+jwt``) issued and verified by this gateway.

Verification pins everything the token header could otherwise choose: the algorithm is ES256
only, the key comes from our own key store by ``kid`` (charset- and length-checked, never used
as a path or URL), header-borne keys (``jku``, ``x5u``, ``jwk``, ``x5c``) are refused, ``typ``
must be ``at+jwt``, and ``exp``, ``iat``, ``aud``, ``iss``, ``jti`` and ``sub`` are required.
``exp`` and ``iat`` are judged by the injected clock (30 s leeway), the one time source of the
gateway, rather than by PyJWT's wall clock.

A 3-legged token also names its subscriber: the operator, how the subscriber was authenticated
(``amr``) and the phone number, which travels AES-GCM encrypted (claim ``phn``, bound to the
token's ``jti``) so the client holding the token never learns the number from it; ``sub`` is
then whatever pseudonym the issuer chose (pairwise, never the number). A 3-legged token can be
revoked before it expires (:mod:`gateway.oauth.revocation`); that is checked on every use.

A successful verification is remembered (by the token's SHA-256, at most 10 000 tokens, never past
the token's own ``exp``), since a client reuses one access token for many calls; the memory is
dropped when keys reload.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import jwt

from gateway.clock import Clock
from gateway.crypto import DecryptionError, FieldCipher
from gateway.oauth.keys import KeyStore
from gateway.oauth.revocation import Revocations

__all__ = ["AccessTokens", "InvalidToken", "Principal", "Subscriber"]

_ALGORITHMS = ["ES256"]
_REQUIRED = ["exp", "iat", "aud", "iss", "jti", "sub"]
_KID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_FORBIDDEN_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c", "crit"})
_MAX_TOKEN_LENGTH = 4096
_LEEWAY = 30
_CACHE_SIZE = 10_000
_DECODER = jwt.PyJWT(
    options={"require": _REQUIRED, "strict_aud": True, "verify_exp": False, "verify_iat": False}
)


class InvalidToken(Exception):
    """The bearer token is missing, malformed, forged or expired (the reason stays in logs)."""


@dataclass(frozen=True, slots=True)
class Subscriber:
    """The mobile subscriber a 3-legged token was issued for.

    ``amr`` lists how the subscriber was authenticated (``network``, ``sms_otp``, ...);
    ``token_id`` is the token's ``jti`` (the key of single-use markers); ``issued_at`` and
    ``expires_at`` are its ``iat`` and ``exp`` in epoch seconds.
    """

    phone_number: str
    operator: str
    amr: frozenset[str]
    token_id: str
    expires_at: float
    issued_at: float


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the tenant, the scopes its token carries and, if 3-legged, the subscriber."""

    tenant_id: str
    client_id: str
    scopes: frozenset[str]
    subscriber: Subscriber | None = None


class AccessTokens:
    """Issues and verifies the gateway's access tokens."""

    def __init__(
        self,
        keys: KeyStore,
        clock: Clock,
        cipher: FieldCipher,
        *,
        issuer: str,
        ttl: int,
        revocations: Revocations | None = None,
    ) -> None:
        self._keys = keys
        self._clock = clock
        self._cipher = cipher
        self._revocations = revocations
        self.issuer = issuer
        self.ttl = ttl
        self._verified: OrderedDict[bytes, tuple[Principal, float]] = OrderedDict()
        self._key_generation = keys.generation

    def issue(
        self,
        principal: Principal,
        extra: dict[str, Any] | None = None,
        *,
        phone_number: str | None = None,
        operator: str | None = None,
        amr: list[str] | None = None,
        ttl: int | None = None,
        jti: str | None = None,
    ) -> str:
        """A signed access token for ``principal``, valid for ``ttl`` (default: the configured) seconds.

        With ``phone_number`` the token is 3-legged: ``operator`` and ``amr`` are then required and
        ``extra`` should carry the pseudonymous ``sub``. ``principal.subscriber`` is ignored. ``jti``
        (default: 128 random bits) lets the issuer remember the token, e.g. to revoke it.
        """
        now = int(self._clock.now().timestamp())
        key = self._keys.signing_key
        jti = jti or secrets.token_urlsafe(16)
        subject: dict[str, Any] = {}
        if phone_number is not None:
            if not operator or not amr:
                raise ValueError("a 3-legged token needs its operator and amr")
            subject = {
                "phn": self._cipher.encrypt(phone_number, aad=_phone_aad(jti)),
                "op": operator,
                "amr": list(amr),
            }
        claims = {
            "iss": self.issuer,
            "aud": self.issuer,
            "sub": principal.client_id,
            "client_id": principal.client_id,
            "tid": principal.tenant_id,
            "scope": " ".join(sorted(principal.scopes)),
            "iat": now,
            "exp": now + (self.ttl if ttl is None else ttl),
            "jti": jti,
            **subject,
            **(extra or {}),
        }
        return jwt.encode(
            claims, key.private_key, algorithm="ES256", headers={"kid": key.kid, "typ": "at+jwt"}
        )

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token.

        :raises InvalidToken: on any defect; the message says which, for the log only.
        """
        if len(token) > _MAX_TOKEN_LENGTH:
            raise InvalidToken("token too long")
        if self._key_generation != self._keys.generation:
            self._verified.clear()
            self._key_generation = self._keys.generation
        digest = hashlib.sha256(token.encode()).digest()
        remembered = self._verified.get(digest)
        if remembered is not None and remembered[1] > self._clock.now().timestamp():
            who = remembered[0]
        else:
            who, expires = await self._verify_fully(token)
            self._verified[digest] = (who, expires)
            if len(self._verified) > _CACHE_SIZE:
                self._verified.popitem(last=False)
        if (
            who.subscriber is not None
            and self._revocations is not None
            and await self._revocations.is_revoked(who.subscriber.token_id)
        ):
            raise InvalidToken("revoked")
        return who

    async def _verify_fully(self, token: str) -> tuple[Principal, float]:
        key = await self._keys.verification_key(_checked_kid(token))
        if key is None:
            raise InvalidToken("unknown kid")
        try:
            claims = _DECODER.decode(
                token,
                key.public_key,
                algorithms=_ALGORITHMS,
                audience=self.issuer,
                issuer=self.issuer,
                leeway=_LEEWAY,
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(type(exc).__name__) from exc
        now = self._clock.now().timestamp()
        issued, expires = claims["iat"], claims["exp"]
        if not isinstance(issued, int | float) or not isinstance(expires, int | float):
            raise InvalidToken("non-numeric iat or exp")
        if not issued - _LEEWAY <= now < expires + _LEEWAY:
            raise InvalidToken("expired or not yet valid")
        tenant_id, client_id, scope = claims.get("tid"), claims.get("client_id"), claims.get("scope", "")
        if not isinstance(tenant_id, str) or not isinstance(client_id, str) or not isinstance(scope, str):
            raise InvalidToken("missing tenant claims")
        who = Principal(
            tenant_id=tenant_id,
            client_id=client_id,
            scopes=frozenset(scope.split()),
            subscriber=self._subscriber(claims),
        )
        return who, float(claims["exp"])

    def _subscriber(self, claims: dict[str, Any]) -> Subscriber | None:
        sealed, operator, amr = claims.get("phn"), claims.get("op"), claims.get("amr")
        if sealed is None:
            return None
        if not isinstance(sealed, str) or not isinstance(operator, str) or not isinstance(amr, list):
            raise InvalidToken("malformed subscriber claims")
        try:
            phone_number = self._cipher.decrypt(sealed, aad=_phone_aad(str(claims["jti"])))
        except DecryptionError as exc:
            raise InvalidToken("subscriber claim does not decrypt") from exc
        return Subscriber(
            phone_number=phone_number,
            operator=operator,
            amr=frozenset(str(method) for method in amr),
            token_id=str(claims["jti"]),
            expires_at=float(claims["exp"]),
            issued_at=float(claims["iat"]),
        )


def _checked_kid(token: str) -> str:
    """The ``kid`` of an access token's header, read unverified once the header passes the pins
    (module docstring). Only the header segment is decoded here; PyJWT then checks the whole
    token's encoding and the signature over this same header."""
    segment = token.partition(".")[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, RecursionError) as exc:
        raise InvalidToken("malformed header") from exc
    if not isinstance(header, dict):
        raise InvalidToken("malformed header")
    kid = header.get("kid")
    if header.get("typ") != "at+jwt" or header.get("alg") not in _ALGORITHMS:
        raise InvalidToken("wrong typ or alg")
    if _FORBIDDEN_HEADERS & header.keys():
        raise InvalidToken("header-borne key material")
    if not isinstance(kid, str) or not _KID.match(kid):
        raise InvalidToken("bad kid")
    return kid


def _phone_aad(jti: str) -> str:
    return f"access_token|phn|{jti}"
