"""Client authentication at the token endpoint: ``client_secret_basic`` and ``private_key_jwt``.

``private_key_jwt`` (RFC 7523 §2.2, CAMARA security profile): the assertion is verified against
the tenant's registered JWKS with the algorithm fixed by the key type (never by the token
header), ``iss`` = ``sub`` = client id, ``aud`` = the token endpoint URL or the issuer, ``exp``,
``iat`` and ``jti`` required, a lifetime of at most 300 s, and each ``jti`` accepted once.
Every failure is the same ``invalid_client``; the reason goes to the log.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import unquote

import jwt
import structlog

from gateway.clock import Clock
from gateway.errors import OAuthError
from gateway.oauth import jws
from gateway.oauth.assertions import claimed_issuer, select_key, unverified_header
from gateway.replay import ReplayCache
from gateway.tenants.models import Tenant
from gateway.tenants.service import TenantService

__all__ = ["ASSERTION_TYPE", "ClientAuthenticator"]

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_MAX_ASSERTION_LIFETIME = 300
_LEEWAY = 30
log = structlog.get_logger(__name__)


def _invalid(reason: str) -> OAuthError:
    log.info("client_auth_failed", reason=reason)
    return OAuthError("invalid_client", "Client authentication failed.")


class ClientAuthenticator:
    """Authenticates the client of a token request; see the module docstring."""

    def __init__(
        self, tenants: TenantService, replay: ReplayCache, clock: Clock, *, audiences: set[str]
    ) -> None:
        self._tenants = tenants
        self._replay = replay
        self._clock = clock
        self._audiences = audiences

    async def authenticate(self, authorization: str | None, form: dict[str, str]) -> Tenant:
        """The authenticated tenant; exactly one method may be used.

        :raises OAuthError: ``invalid_client`` (401) or ``invalid_request`` for two methods at once.
        """
        basic = authorization is not None and authorization[:6].lower() == "basic "
        assertion = form.get("client_assertion")
        if basic and assertion:
            raise OAuthError("invalid_request", "Use exactly one client authentication method.")
        if basic and authorization is not None:
            return await self._basic(authorization[6:].strip())
        if assertion is not None:
            if form.get("client_assertion_type") != ASSERTION_TYPE:
                raise _invalid("unsupported client_assertion_type")
            return await self._private_key_jwt(assertion, form.get("client_id"))
        raise _invalid("no client authentication")

    async def _basic(self, encoded: str) -> Tenant:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise _invalid("malformed basic credentials") from exc
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            raise _invalid("malformed basic credentials")
        tenant = await self._tenants.check_secret(unquote(client_id), unquote(secret))
        if tenant is None:
            raise _invalid("bad client secret")
        return tenant

    async def _private_key_jwt(self, assertion: str, client_id: str | None) -> Tenant:
        if len(assertion) > 8192:
            raise _invalid("assertion too long")
        try:
            header = unverified_header(assertion)
            issuer = claimed_issuer(assertion)
        except (jwt.PyJWTError, ValueError) as exc:
            raise _invalid("malformed assertion") from exc
        if not isinstance(issuer, str) or (client_id is not None and client_id != issuer):
            raise _invalid("iss does not name the client")
        tenant = await self._tenants.by_client_id(issuer)
        if tenant is None or tenant.jwks is None:
            raise _invalid("client has no registered keys")
        key, algorithm = select_key(json.loads(tenant.jwks), header.get("kid"))
        if key is None or algorithm is None or header.get("alg") != algorithm:
            raise _invalid("no matching key for kid/alg")
        claims = self._verify(assertion, key, algorithm, issuer)
        lifetime_left = float(claims["exp"]) - self._clock.now().timestamp()
        if not await self._replay.claim(
            f"client_assertion:{issuer}:{claims['jti']}", max(lifetime_left, 0) + _LEEWAY
        ):
            raise _invalid("assertion jti replayed")
        return tenant

    def _verify(self, assertion: str, key: Any, algorithm: str, client_id: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jws.decode(
                assertion,
                key,
                algorithms=[algorithm],
                audience=sorted(self._audiences),
                issuer=client_id,
                leeway=_LEEWAY,
                options={"require": ["exp", "iat", "jti", "sub", "aud", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise _invalid(f"assertion rejected: {type(exc).__name__}") from exc
        if claims["sub"] != client_id or not isinstance(claims["jti"], str) or not claims["jti"]:
            raise _invalid("sub or jti invalid")
        if float(claims["exp"]) - float(claims["iat"]) > _MAX_ASSERTION_LIFETIME:
            raise _invalid("assertion lifetime over 300 s")
        return claims
