"""Signing keys: creation, encrypted storage, rotation and the published JWKS.

One active key per algorithm: ES256 (P-256) signs access tokens and the ID tokens of clients whose
``id_token_signed_response_alg`` is ES256 (or unset); RS256 (RSA 2048) signs the ID tokens of the
others (RS256 is the default at registration).
``kid`` is the RFC 7638 thumbprint of the public key; ``generation`` changes whenever the set of
published keys does, so verification caches know to forget. The newest unretired key of an algorithm
signs; a retired key stays published (and accepted) until every token it signed has expired. A
``kid`` this process does not know triggers one reload from the database (other processes may have
rotated), at most once per ``reload_interval`` seconds, so forged ``kid`` values cannot flood the
database.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.clock import Clock
from gateway.crypto import FieldCipher, b64url_encode
from gateway.db import as_utc
from gateway.oauth.models import SigningKey

__all__ = ["ALGORITHMS", "KeyStore", "LoadedKey", "PrivateKey", "PublicKey"]

ALGORITHMS = ("ES256", "RS256")
"""The signing algorithms, each with its own active key; the first signs access tokens."""
RSA_BITS = 2048
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey
_THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}


@dataclass(frozen=True, slots=True)
class LoadedKey:
    """A usable key: its id, algorithm, private key, public key (derived once, reused by every
    verification) and public JWK."""

    kid: str
    alg: str
    private_key: PrivateKey
    public_key: PublicKey
    public_jwk: dict[str, str]
    created_at: datetime
    retired_at: datetime | None


def _public_jwk(key: PrivateKey) -> dict[str, str]:
    if isinstance(key, rsa.RSAPrivateKey):
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    else:
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    return {k: jwk[k] for k in _THUMBPRINT_MEMBERS[jwk["kty"]]}


def _rfc7638(jwk: dict[str, str]) -> str:
    members = _THUMBPRINT_MEMBERS[jwk["kty"]]
    canonical = json.dumps({k: jwk[k] for k in members}, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode()).digest())


def _generate(alg: str) -> PrivateKey:
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"unsupported signing algorithm {alg!r}")


def _load_private(pem: str, kid: str, alg: str) -> PrivateKey:
    """The decrypted PEM's key, checked to be a key of ``alg``."""
    private = serialization.load_pem_private_key(pem.encode(), password=None)
    if (
        alg == "ES256"
        and isinstance(private, ec.EllipticCurvePrivateKey)
        and isinstance(private.curve, ec.SECP256R1)
    ):
        return private
    if alg == "RS256" and isinstance(private, rsa.RSAPrivateKey) and private.key_size >= RSA_BITS:
        return private
    raise TypeError(f"signing key {kid} is not an {alg} key")


class KeyStore:
    """Loads, creates and rotates signing keys; see the module docstring."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        cipher: FieldCipher,
        clock: Clock,
        *,
        max_token_ttl: int,
        reload_interval: float = 5.0,
    ) -> None:
        self._sessions = sessions
        self._cipher = cipher
        self._clock = clock
        self._max_token_ttl = max_token_ttl
        self._reload_interval = reload_interval
        self._keys: dict[str, LoadedKey] = {}
        self._last_reload = float("-inf")
        self.generation = 0

    @staticmethod
    def _aad(kid: str) -> str:
        return f"signing_keys|private_key|{kid}"

    async def load(self) -> None:
        """Load every published key; create a key for each algorithm that has no active one."""
        await self._reload()
        for alg in ALGORITHMS:
            if not any(k.retired_at is None and k.alg == alg for k in self._keys.values()):
                await self.rotate(alg)

    async def rotate(self, alg: str = ALGORITHMS[0]) -> LoadedKey:
        """Create a new ``alg`` signing key and retire that algorithm's previous ones (they stay
        published)."""
        private = _generate(alg)
        jwk = _public_jwk(private)
        kid = _rfc7638(jwk)
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            active = await session.exec(
                select(SigningKey).where(col(SigningKey.retired_at).is_(None), SigningKey.alg == alg)
            )
            for row in active:
                row.retired_at = now
                session.add(row)
            session.add(
                SigningKey(
                    kid=kid,
                    alg=alg,
                    private_key=self._cipher.encrypt(pem, aad=self._aad(kid)),
                    created_at=now,
                )
            )
        await self._reload()
        return self._keys[kid]

    async def _reload(self) -> None:
        horizon = self._clock.now() - timedelta(seconds=self._max_token_ttl + 300)
        async with self._sessions() as session:
            rows = await session.exec(select(SigningKey))
            keys: dict[str, LoadedKey] = {}
            for row in rows:
                retired = as_utc(row.retired_at)
                if retired is not None and retired < horizon:
                    continue
                pem = self._cipher.decrypt(row.private_key, aad=self._aad(row.kid))
                private = _load_private(pem, row.kid, row.alg)
                keys[row.kid] = LoadedKey(
                    row.kid,
                    row.alg,
                    private,
                    private.public_key(),
                    _public_jwk(private),
                    as_utc(row.created_at) or self._clock.now(),
                    retired,
                )
        if keys.keys() != self._keys.keys():
            self.generation += 1
        self._keys = keys
        self._last_reload = self._clock.now().timestamp()

    @property
    def signing_key(self) -> LoadedKey:
        """The newest active ES256 key (access tokens)."""
        return self.signing_key_for(ALGORITHMS[0])

    def signing_key_for(self, alg: str) -> LoadedKey:
        """The newest active key of ``alg``."""
        active = [k for k in self._keys.values() if k.retired_at is None and k.alg == alg]
        return max(active, key=lambda k: k.created_at)

    async def verification_key(self, kid: str, alg: str = ALGORITHMS[0]) -> LoadedKey | None:
        """The published ``alg`` key ``kid`` (default ES256: access tokens), reloading once
        (rate-limited) when it is unknown here; None for a key of another algorithm."""
        key = self._keys.get(kid)
        if key is None and self._clock.now().timestamp() - self._last_reload >= self._reload_interval:
            await self._reload()
            key = self._keys.get(kid)
        return key if key is not None and key.alg == alg else None

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The public JWK Set (``use``, ``alg`` and ``kid`` on every key)."""
        return {
            "keys": [{**k.public_jwk, "use": "sig", "alg": k.alg, "kid": k.kid} for k in self._keys.values()]
        }
