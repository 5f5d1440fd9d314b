"""The token response of the 3-legged grants (authorization code, CIBA, JWT bearer).

- ``sub`` (access and ID token) is a pairwise pseudonym: the blind index (HMAC) of the number
  scoped to the tenant, so two tenants see unrelated subjects and no one sees the number. It is
  stable while ``GATEWAY_INDEX_KEYS``' current key is.
- The access token carries the number sealed (:mod:`gateway.oauth.tokens`), the operator and ``amr``.
- A token whose scope holds any ``number-verification:*`` scope lives at most 300 s (CAMARA NV).
- No refresh token is ever issued: every verification is a fresh authentication.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gateway.clock import Clock
from gateway.crypto import BlindIndex
from gateway.errors import OAuthError
from gateway.oauth.id_tokens import IdTokens
from gateway.oauth.subjects import AuthenticatedSubscriber
from gateway.oauth.tokens import AccessTokens, Principal
from gateway.scopes import purpose_error
from gateway.tenants.models import Tenant

__all__ = ["NV_MAX_TTL", "IssuedTokens", "UserTokens", "requested_scopes"]

NV_MAX_TTL = 300
_MAX_SCOPE_LENGTH = 2000


def requested_scopes(tenant: Tenant, value: str | None, *, require_openid: bool) -> frozenset[str]:
    """The scopes of a 3-legged request: non-empty, within the tenant's registration (``openid`` is
    always allowed), when ``require_openid`` including ``openid``, and with exactly one ``dpv:``
    purpose when any is personal data (at most one otherwise; :func:`gateway.scopes.purpose_error`).

    :raises OAuthError: ``invalid_scope``.
    """
    scopes = frozenset((value or "").split()) if value and len(value) <= _MAX_SCOPE_LENGTH else frozenset()
    if not scopes:
        raise OAuthError("invalid_scope", "A scope is required.")
    if require_openid and "openid" not in scopes:
        raise OAuthError("invalid_scope", "The scope must include openid.")
    if not scopes <= frozenset(tenant.scopes.split()) | {"openid"}:
        raise OAuthError("invalid_scope", "The requested scope exceeds the client's registration.")
    problem = purpose_error(scopes)
    if problem is not None:
        raise OAuthError("invalid_scope", problem)
    return scopes


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    """A token response and the ``jti``/expiry of its access token."""

    body: dict[str, Any]
    token_id: str
    expires_at: datetime


class UserTokens:
    """Issues 3-legged token responses; see the module docstring."""

    def __init__(self, tokens: AccessTokens, id_tokens: IdTokens, index: BlindIndex, clock: Clock) -> None:
        self._tokens = tokens
        self._clock = clock
        self._id_tokens = id_tokens
        self._index = index

    def subject(self, tenant_id: str, phone_number: str) -> str:
        """The pairwise ``sub`` of ``phone_number`` for ``tenant_id``."""
        return self._index.compute(phone_number, scope=f"sub|{tenant_id}")

    def ttl_for(self, scopes: frozenset[str]) -> int:
        """Access-token lifetime for ``scopes`` (seconds)."""
        if any(scope.startswith("number-verification:") for scope in scopes):
            return min(self._tokens.ttl, NV_MAX_TTL)
        return self._tokens.ttl

    def issue(
        self,
        tenant: Tenant,
        subscriber: AuthenticatedSubscriber,
        scopes: frozenset[str],
        *,
        id_token: bool,
        nonce: str | None = None,
        token_id: str | None = None,
    ) -> IssuedTokens:
        """Access token (``jti`` = ``token_id``, default random) and, with ``id_token``, an ID token
        for ``subscriber`` on behalf of ``tenant``."""
        subject = self.subject(tenant.id, subscriber.phone_number)
        ttl = self.ttl_for(scopes)
        expires_at = self._clock.now() + timedelta(seconds=ttl)
        token_id = token_id or secrets.token_urlsafe(16)
        access_token = self._tokens.issue(
            Principal(tenant_id=tenant.id, client_id=tenant.client_id, scopes=scopes),
            {"sub": subject, "auth_time": int(subscriber.auth_time.timestamp())},
            phone_number=subscriber.phone_number,
            operator=subscriber.operator,
            amr=list(subscriber.amr),
            ttl=ttl,
            jti=token_id,
        )
        body: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "Bearer",  # RFC 6750 token type, not a password  # nosec B105
            "expires_in": ttl,
            "scope": " ".join(sorted(scopes)),
        }
        if id_token:
            body["id_token"] = self._id_tokens.issue(
                client_id=tenant.client_id,
                subject=subject,
                auth_time=subscriber.auth_time,
                amr=list(subscriber.amr),
                nonce=nonce,
                alg=tenant.id_token_signed_response_alg,
            )
        return IssuedTokens(body, token_id, expires_at)
