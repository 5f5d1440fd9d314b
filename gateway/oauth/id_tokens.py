"""OpenID Connect ID tokens (OIDC Core §2): ES256 with the gateway's current signing key.

Header ``typ: JWT`` and the signing ``kid``; claims ``iss``, ``aud`` (the client id), the pairwise
``sub`` (never the number), ``iat``, ``exp``, ``auth_time``, ``amr`` and, when the client sent one,
``nonce``. The same keys verify access tokens, so the published JWKS verifies both; the ``typ``
values (``JWT`` vs ``at+jwt``) and audiences keep the two from being confused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import jwt

from gateway.clock import Clock
from gateway.oauth.keys import KeyStore

__all__ = ["IdTokens"]


class IdTokens:
    """Issues ID tokens; see the module docstring."""

    def __init__(self, keys: KeyStore, clock: Clock, *, issuer: str, ttl: int = 300) -> None:
        self._keys = keys
        self._clock = clock
        self._issuer = issuer
        self._ttl = ttl

    def issue(
        self, *, client_id: str, subject: str, auth_time: datetime, amr: list[str], nonce: str | None
    ) -> str:
        """A signed ID token for ``client_id`` about the pairwise ``subject``."""
        now = int(self._clock.now().timestamp())
        key = self._keys.signing_key
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "sub": subject,
            "aud": client_id,
            "azp": client_id,
            "iat": now,
            "exp": now + self._ttl,
            "auth_time": int(auth_time.timestamp()),
            "amr": amr,
        }
        if nonce is not None:
            claims["nonce"] = nonce
        return jwt.encode(claims, key.private_key, algorithm="ES256", headers={"kid": key.kid, "typ": "JWT"})
