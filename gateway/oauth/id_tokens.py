"""OpenID Connect ID tokens (OIDC Core §2), signed with the gateway's current key of the client's
``id_token_signed_response_alg`` (OIDC Registration §2): what the client registered, RS256 when it
registered none; a client registered before RS256 became that default has none stored and keeps ES256.

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
from gateway.oauth.keys import ALGORITHMS, KeyStore

__all__ = ["IdTokens"]


class IdTokens:
    """Issues ID tokens; see the module docstring."""

    def __init__(self, keys: KeyStore, clock: Clock, *, issuer: str, ttl: int = 300) -> None:
        self._keys = keys
        self._clock = clock
        self._issuer = issuer
        self._ttl = ttl

    def issue(
        self,
        *,
        client_id: str,
        subject: str,
        auth_time: datetime,
        amr: list[str],
        nonce: str | None,
        alg: str | None = None,
    ) -> str:
        """A signed ID token for ``client_id`` about the pairwise ``subject``, in ``alg`` (one of
        :data:`~gateway.oauth.keys.ALGORITHMS`; None: ES256)."""
        now = int(self._clock.now().timestamp())
        key = self._keys.signing_key_for(alg or ALGORITHMS[0])
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
        return jwt.encode(claims, key.private_key, algorithm=key.alg, headers={"kid": key.kid, "typ": "JWT"})
