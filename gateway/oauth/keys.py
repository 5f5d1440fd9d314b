"""ES256 signing keys: creation, encrypted storage, rotation and the published JWKS.

``kid`` is the RFC 7638 thumbprint of the public key; ``generation`` changes whenever the set of
published keys does, so verification caches know to forget. The newest unretired key signs; a retired
key stays published (and accepted) until every token it signed has expired. A ``kid`` this
process does not know triggers one reload from the database (other processes may have rotated),
at most once per ``reload_interval`` seconds, so forged ``kid`` values cannot flood the database.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.clock import Clock
from gateway.crypto import FieldCipher, b64url_encode
from gateway.db import as_utc
from gateway.oauth.models import SigningKey

__all__ = ["KeyStore", "LoadedKey"]


@dataclass(frozen=True, slots=True)
class LoadedKey:
    """A usable key: its id, private key, public key (derived once, reused by every verification)
    and public JWK."""

    kid: str
    private_key: ec.EllipticCurvePrivateKey
    public_key: ec.EllipticCurvePublicKey
    public_jwk: dict[str, str]
    created_at: datetime
    retired_at: datetime | None


def _public_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    return {k: jwk[k] for k in ("kty", "crv", "x", "y")}


def _rfc7638(jwk: dict[str, str]) -> str:
    canonical = json.dumps(
        {k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True
    )
    return b64url_encode(hashlib.sha256(canonical.encode()).digest())


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
        """Load every published key; create the first one if none is active."""
        await self._reload()
        if not any(k.retired_at is None for k in self._keys.values()):
            await self.rotate()

    async def rotate(self) -> LoadedKey:
        """Create a new signing key and retire the previous ones (they stay published)."""
        private = ec.generate_private_key(ec.SECP256R1())
        jwk = _public_jwk(private)
        kid = _rfc7638(jwk)
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            active = await session.exec(select(SigningKey).where(col(SigningKey.retired_at).is_(None)))
            for row in active:
                row.retired_at = now
                session.add(row)
            session.add(
                SigningKey(kid=kid, private_key=self._cipher.encrypt(pem, aad=self._aad(kid)), created_at=now)
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
                private = serialization.load_pem_private_key(pem.encode(), password=None)
                if not isinstance(private, ec.EllipticCurvePrivateKey):
                    raise TypeError(f"signing key {row.kid} is not an EC key")
                keys[row.kid] = LoadedKey(
                    row.kid,
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
        """The newest active key."""
        active = [k for k in self._keys.values() if k.retired_at is None]
        return max(active, key=lambda k: k.created_at)

    async def verification_key(self, kid: str) -> LoadedKey | None:
        """The published key ``kid``, reloading once (rate-limited) when it is unknown here."""
        key = self._keys.get(kid)
        if key is None and self._clock.now().timestamp() - self._last_reload >= self._reload_interval:
            await self._reload()
            key = self._keys.get(kid)
        return key

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The public JWK Set (``use``, ``alg`` and ``kid`` on every key)."""
        return {
            "keys": [
                {**k.public_jwk, "use": "sig", "alg": "ES256", "kid": k.kid} for k in self._keys.values()
            ]
        }
