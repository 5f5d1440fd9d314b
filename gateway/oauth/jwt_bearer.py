"""The JWT-bearer authorization grant (RFC 7523 §2.1) under the CAMARA ICM rules.

The client posts ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` and an ``assertion``
it signed with a key of its registered JWKS (algorithm fixed by the key, never the header):

- ``iss`` is the client id; ``aud`` the token endpoint URL or the issuer; ``sub`` names the
  subscriber as ``tel:+E164`` or ``operatortoken:<SDK token>`` (:mod:`gateway.oauth.subjects`);
- ``exp``, ``iat`` and ``jti`` are required, ``exp - iat`` at most 300 s, ``exp`` at most 300 s
  ahead, ``iat`` not in the future (30 s leeway, judged by the gateway's clock), ``jti`` single use;
- the ``scope`` claim carries the scopes; a ``scope`` request parameter is refused.

The signed assertion authenticates the client; separate client authentication is optional and,
when present, must name the same client. Failures are ``invalid_grant`` (``invalid_scope`` for
scopes); an operator that cannot exchange the token is 503 ``temporarily_unavailable``. No refresh
token, no ID token.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import jwt
import structlog

from gateway.clock import Clock
from gateway.errors import OAuthError
from gateway.oauth import jws
from gateway.oauth.assertions import claimed_issuer, select_key, unverified_header
from gateway.oauth.subjects import (
    AuthenticatedSubscriber,
    HintError,
    SubjectRejected,
    SubjectResolver,
    SubjectUnavailable,
)
from gateway.oauth.user_tokens import requested_scopes
from gateway.replay import ReplayCache
from gateway.tenants.models import Tenant
from gateway.tenants.service import TenantService

__all__ = ["GRANT_TYPE", "JwtBearerGrant"]

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_MAX_LIFETIME = 300
_LEEWAY = 30
_MAX_ASSERTION_LENGTH = 8192
_FORBIDDEN_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c"})
log = structlog.get_logger(__name__)


def _invalid(reason: str) -> OAuthError:
    log.info("jwt_bearer_rejected", reason=reason)
    return OAuthError("invalid_grant", "The assertion is invalid.")


class JwtBearerGrant:
    """Verifies JWT-bearer assertions and authenticates their subject; see the module docstring."""

    def __init__(
        self,
        *,
        tenants: TenantService,
        subjects: SubjectResolver,
        replay: ReplayCache,
        clock: Clock,
        audiences: set[str],
    ) -> None:
        self._tenants = tenants
        self._subjects = subjects
        self._replay = replay
        self._clock = clock
        self._audiences = sorted(audiences)

    async def exchange(
        self, form: Mapping[str, str], client: Tenant | None
    ) -> tuple[Tenant, frozenset[str], AuthenticatedSubscriber]:
        """The tenant, scopes and subscriber of a valid assertion (its ``jti`` and any SDK token spent).

        :raises OAuthError: ``invalid_request``, ``invalid_grant``, ``invalid_scope``,
            ``temporarily_unavailable``.
        """
        if "scope" in form:
            raise OAuthError("invalid_request", "The scope belongs in the assertion, not the request.")
        assertion = form.get("assertion")
        if not assertion:
            raise OAuthError("invalid_request", "assertion is required.")
        tenant, claims = await self._verify(assertion, client)
        try:
            hint = self._subjects.parse(claims["sub"])
        except HintError as exc:
            raise _invalid(f"sub: {exc.reason}") from exc
        scope = claims.get("scope")
        scopes = requested_scopes(tenant, scope if isinstance(scope, str) else None, require_openid=False)
        lifetime_left = float(claims["exp"]) - self._clock.now().timestamp()
        if not await self._replay.claim(
            f"jwt_bearer:{tenant.client_id}:{claims['jti']}", lifetime_left + _LEEWAY
        ):
            raise _invalid("jti replayed")
        try:
            subscriber = await self._subjects.authenticate(hint)
        except SubjectRejected as exc:
            raise _invalid(str(exc)) from exc
        except SubjectUnavailable as exc:
            raise OAuthError(
                "temporarily_unavailable", "The mobile operator is unavailable.", status=503
            ) from exc
        return tenant, scopes, subscriber

    async def _verify(self, assertion: str, client: Tenant | None) -> tuple[Tenant, dict[str, Any]]:
        if len(assertion) > _MAX_ASSERTION_LENGTH:
            raise _invalid("assertion too long")
        try:
            header = unverified_header(assertion)
            issuer = claimed_issuer(assertion)
        except (jwt.PyJWTError, ValueError) as exc:
            raise _invalid("malformed assertion") from exc
        if not isinstance(issuer, str) or (client is not None and issuer != client.client_id):
            raise _invalid("iss does not name the client")
        if _FORBIDDEN_HEADERS & header.keys():
            raise _invalid("header-borne key material")
        tenant = client or await self._tenants.by_client_id(issuer)
        if tenant is None or tenant.jwks is None:
            raise _invalid("client has no registered keys")
        key, algorithm = select_key(json.loads(tenant.jwks), header.get("kid"))
        if key is None or algorithm is None or header.get("alg") != algorithm:
            raise _invalid("no matching key for kid/alg")
        try:
            claims: dict[str, Any] = jws.decode(
                assertion,
                key,
                algorithms=[algorithm],
                audience=self._audiences,
                issuer=issuer,
                options={
                    "require": ["exp", "iat", "jti", "sub", "aud", "iss"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise _invalid(f"assertion rejected: {type(exc).__name__}") from exc
        self._check_times(claims)
        if not isinstance(claims["sub"], str) or not isinstance(claims["jti"], str) or not claims["jti"]:
            raise _invalid("sub or jti invalid")
        if len(claims["jti"]) > 256:
            raise _invalid("jti too long")
        return tenant, claims

    def _check_times(self, claims: dict[str, Any]) -> None:
        now = self._clock.now().timestamp()
        try:
            exp, iat = float(claims["exp"]), float(claims["iat"])
            nbf = float(claims.get("nbf", iat))
        except (TypeError, ValueError) as exc:
            raise _invalid("time claims are not numbers") from exc
        if exp <= now - _LEEWAY:
            raise _invalid("assertion expired")
        if iat > now + _LEEWAY or nbf > now + _LEEWAY:
            raise _invalid("assertion issued in the future")
        if exp - iat > _MAX_LIFETIME or exp > now + _MAX_LIFETIME + _LEEWAY:
            raise _invalid("assertion lifetime over 300 s")
