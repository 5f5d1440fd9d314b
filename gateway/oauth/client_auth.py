"""Client authentication at the token and backchannel endpoints: ``client_secret_basic`` and
``private_key_jwt``.

``private_key_jwt`` (RFC 7523 §2.2, RFC 7523bis, OpenID Connect Core §9, CAMARA security
profile) verifies the client assertion with :class:`~gateway.oauth.assertions.AssertionVerifier`:
``sub`` = ``iss`` = the client id; ``aud`` the issuer, or for compatibility the URL of the
token or backchannel endpoint, as the only audience; ``iat`` optional; ``typ``, when present,
``JWT`` or ``client-authentication+jwt``. Every failure is ``invalid_client``, whose description
lists :data:`AUTH_METHODS` and, for a structural fault the client's developer must fix, says
which; the reason goes to the log.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from urllib.parse import unquote

import structlog

from gateway.auth_throttle import AuthThrottle, Throttled, current_address
from gateway.clock import Clock
from gateway.errors import OAuthError
from gateway.oauth.assertions import AssertionRejected, AssertionVerifier, claimed_issuer
from gateway.replay import ReplayCache
from gateway.tenants.models import Tenant
from gateway.tenants.service import TenantService

__all__ = ["ASSERTION_TYPE", "ASSERTION_TYPES", "AUTH_METHODS", "ClientAuthenticator"]

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_TYPES = ("JWT", "client-authentication+jwt")
"""The header ``typ`` values a client assertion may carry (RFC 7523bis explicit typing, or plain JWT)."""
AUTH_METHODS = ("client_secret_basic", "private_key_jwt")
"""The client authentication methods the server accepts (discovery's
``token_endpoint_auth_methods_supported``)."""
log = structlog.get_logger(__name__)


def _invalid(reason: str, public: str | None = None) -> OAuthError:
    log.info("client_auth_failed", reason=reason)
    generic = f"Client authentication failed; supported methods: {', '.join(AUTH_METHODS)}."
    return OAuthError("invalid_client", generic if public is None else f"{public} {generic}")


class ClientAuthenticator:
    """Authenticates the client of a token request; see the module docstring.

    Attempts go through ``throttle`` (:mod:`gateway.auth_throttle`), keyed by the client id the
    request claims and the request's source address: a blocked attempt is ``429
    temporarily_unavailable`` with ``Retry-After``, checked before any credential.
    """

    def __init__(
        self,
        tenants: TenantService,
        replay: ReplayCache,
        clock: Clock,
        *,
        audiences: set[str],
        throttle: AuthThrottle,
    ) -> None:
        self._tenants = tenants
        self._throttle = throttle
        self._assertions = AssertionVerifier(
            tenants,
            replay,
            clock,
            audiences=audiences,
            replay_scope="client_assertion",
            subject_is_client=True,
            require_iat=False,
            types=ASSERTION_TYPES,
        )

    async def authenticate(self, authorization: str | None, form: Mapping[str, str]) -> Tenant:
        """The authenticated tenant; exactly one method may be used.

        :raises OAuthError: ``invalid_client`` (401), ``invalid_request`` for two methods at once,
            ``temporarily_unavailable`` (429) while the client and address are throttled.
        """
        basic = authorization is not None and authorization[:6].lower() == "basic "
        assertion = form.get("client_assertion")
        if basic and assertion:
            raise OAuthError("invalid_request", "Use exactly one client authentication method.")
        credentials = _basic_credentials(authorization[6:].strip()) if basic and authorization else None
        if credentials is not None:
            claimed: str | None = credentials[0]
        elif assertion is not None:
            claimed = form.get("client_id") or claimed_issuer(assertion)
        else:
            claimed = form.get("client_id")
        address = current_address()
        try:
            await self._throttle.check(claimed, address)
        except Throttled as exc:
            log.info("client_auth_throttled", retry_after=exc.retry_after)
            raise OAuthError(
                "temporarily_unavailable",
                f"Too many failed client authentications from this address; retry in {exc.retry_after} s.",
                status=429,
                retry_after=exc.retry_after,
            ) from exc
        try:
            tenant = await self._authenticate(basic, credentials, assertion, form)
        except OAuthError as exc:
            if exc.error == "invalid_client":
                await self._throttle.failed(claimed, address)
            raise
        await self._throttle.succeeded(tenant.client_id, address)
        return tenant

    async def _authenticate(
        self, basic: bool, credentials: tuple[str, str] | None, assertion: str | None, form: Mapping[str, str]
    ) -> Tenant:
        if basic:
            if credentials is None:
                raise _invalid("malformed basic credentials")
            tenant = await self._tenants.check_secret(*credentials)
            if tenant is None:
                raise _invalid("bad client secret")
            return tenant
        if assertion is not None:
            if form.get("client_assertion_type") != ASSERTION_TYPE:
                raise _invalid("unsupported client_assertion_type")
            return await self._private_key_jwt(assertion, form.get("client_id"))
        raise _invalid("no client authentication")

    async def _private_key_jwt(self, assertion: str, client_id: str | None) -> Tenant:
        try:
            verified = await self._assertions.verify(assertion, client_id=client_id)
        except AssertionRejected as exc:
            raise _invalid(str(exc), exc.public) from exc
        return verified.tenant


def _basic_credentials(encoded: str) -> tuple[str, str] | None:
    """``(client_id, secret)`` of HTTP Basic credentials (RFC 6749 §2.3.1 form-decoding), or None."""
    try:
        decoded = base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (unquote(client_id), unquote(secret)) if sep else None
