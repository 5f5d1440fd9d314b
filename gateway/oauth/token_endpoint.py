"""The token endpoint (RFC 6749 §3.2): a registry of grant handlers keyed by ``grant_type``; each
authenticates the client its own way. An unknown ``grant_type`` is ``unsupported_grant_type`` (a
missing one ``invalid_request``) once the client has authenticated.

- ``client_credentials`` (§4.4): 2-legged; scope omitted means every registered scope.
- ``authorization_code`` (§4.1.3, RFC 7636): the code is spent by the first request that presents
  it for its tenant, whatever happens next; ``redirect_uri`` must equal the authorization
  request's and the PKCE verifier must match. A second use is ``invalid_grant`` and revokes the
  access token the first use issued (§4.1.2). ID token included.
- ``urn:openid:params:grant-type:ciba``: :mod:`gateway.oauth.ciba`. ID token included.
- ``urn:ietf:params:oauth:grant-type:jwt-bearer``: :mod:`gateway.oauth.jwt_bearer`; the assertion
  itself authenticates the client.

No grant issues refresh tokens (nor accepts ``refresh_token``). Errors are RFC 6749 §5.2 bodies.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

import structlog

from gateway.clock import Clock
from gateway.errors import OAuthError
from gateway.oauth import ciba, jwt_bearer, pkce
from gateway.oauth.ciba import BackchannelAuthentication
from gateway.oauth.client_auth import ClientAuthenticator
from gateway.oauth.codes import CodeInvalid, CodeReused, CodeStore, RedeemedCode
from gateway.oauth.jwt_bearer import JwtBearerGrant
from gateway.oauth.revocation import Revocations
from gateway.oauth.tokens import AccessTokens, Principal
from gateway.oauth.user_tokens import UserTokens
from gateway.tenants.models import Tenant

__all__ = ["GRANT_TYPES", "TokenEndpoint"]

GRANT_TYPES = ("client_credentials", "authorization_code", ciba.GRANT_TYPE, jwt_bearer.GRANT_TYPE)
log = structlog.get_logger(__name__)


_Grant = Callable[[str | None, Mapping[str, str]], Awaitable[dict[str, Any]]]
"""A grant handler: the ``Authorization`` header and the form in, the token response body out."""


def _invalid_grant(description: str) -> OAuthError:
    return OAuthError("invalid_grant", description)


class TokenEndpoint:
    """Dispatches token requests to their grant; see the module docstring."""

    def __init__(
        self,
        *,
        client_auth: ClientAuthenticator,
        tokens: AccessTokens,
        user_tokens: UserTokens,
        codes: CodeStore,
        revocations: Revocations,
        backchannel: BackchannelAuthentication,
        jwt_bearer_grant: JwtBearerGrant,
        clock: Clock,
    ) -> None:
        self._client_auth = client_auth
        self._tokens = tokens
        self._user_tokens = user_tokens
        self._codes = codes
        self._revocations = revocations
        self._backchannel = backchannel
        self._jwt_bearer_grant = jwt_bearer_grant
        self._clock = clock
        self._grants: dict[str, _Grant] = {
            "client_credentials": self._client_credentials,
            "authorization_code": self._authorization_code,
            ciba.GRANT_TYPE: self._ciba,
            jwt_bearer.GRANT_TYPE: self._jwt_bearer,
        }

    @property
    def grant_types(self) -> tuple[str, ...]:
        """The grant types this endpoint has a handler for."""
        return tuple(self._grants)

    async def handle(self, authorization: str | None, form: Mapping[str, str]) -> dict[str, Any]:
        """The token response body for a form-encoded token request.

        An unknown or missing ``grant_type`` still authenticates the client first.

        :raises OAuthError: any RFC 6749 error (``invalid_client`` as 401).
        """
        grant = self._grants.get(form.get("grant_type") or "")
        if grant is not None:
            return await grant(authorization, form)
        await self._client_auth.authenticate(authorization, form)
        if form.get("grant_type") is None:
            raise OAuthError("invalid_request", "grant_type is required.")
        raise OAuthError("unsupported_grant_type", "The grant type is not supported.")

    async def _client_credentials(self, authorization: str | None, form: Mapping[str, str]) -> dict[str, Any]:
        tenant = await self._client_auth.authenticate(authorization, form)
        scope = form.get("scope")
        allowed = frozenset(tenant.scopes.split())
        requested = frozenset(scope.split()) if scope else allowed
        if not requested or not requested <= allowed:
            raise OAuthError("invalid_scope", "The requested scope exceeds the client's registration.")
        who = Principal(tenant_id=tenant.id, client_id=tenant.client_id, scopes=requested)
        return {
            "access_token": self._tokens.issue(who),
            "token_type": "Bearer",  # RFC 6750 token type, not a password  # nosec B105
            "expires_in": self._tokens.ttl,
            "scope": " ".join(sorted(requested)),
        }

    async def _authorization_code(self, authorization: str | None, form: Mapping[str, str]) -> dict[str, Any]:
        tenant = await self._client_auth.authenticate(authorization, form)
        code, redirect_uri, verifier = form.get("code"), form.get("redirect_uri"), form.get("code_verifier")
        if not code or not redirect_uri:
            raise OAuthError("invalid_request", "code and redirect_uri are required.")
        if not verifier or not pkce.is_verifier(verifier):
            raise OAuthError("invalid_request", "A valid code_verifier is required (PKCE).")
        token_id = secrets.token_urlsafe(16)
        redeemed = await self._redeem(tenant, code, token_id)
        if redeemed.client_id != tenant.client_id or redeemed.redirect_uri != redirect_uri:
            raise _invalid_grant("The redirect_uri does not match the authorization request.")
        if not pkce.verifies(verifier, redeemed.code_challenge):
            raise _invalid_grant("The code_verifier does not match the code_challenge.")
        return self._user_tokens.issue(
            tenant,
            redeemed.subscriber,
            redeemed.scopes,
            id_token="openid" in redeemed.scopes,
            nonce=redeemed.nonce,
            token_id=token_id,
        ).body

    async def _redeem(self, tenant: Tenant, code: str, token_id: str) -> RedeemedCode:
        """Spend ``code``; a reused code revokes the token its first redemption issued."""
        expires_at = self._clock.now() + timedelta(seconds=self._tokens.ttl)
        try:
            return await self._codes.redeem(tenant.id, code, token_id=token_id, token_expires_at=expires_at)
        except CodeReused as exc:
            if exc.token_id is not None and exc.token_expires_at is not None:
                await self._revocations.revoke(exc.token_id, exc.token_expires_at)
            log.warning("authorization_code_reused", tenant_id=tenant.id)
            raise _invalid_grant("The authorization code has already been used.") from exc
        except CodeInvalid as exc:
            raise _invalid_grant("The authorization code is invalid or expired.") from exc

    async def _ciba(self, authorization: str | None, form: Mapping[str, str]) -> dict[str, Any]:
        tenant = await self._client_auth.authenticate(authorization, form)
        auth_req_id = form.get("auth_req_id")
        if not auth_req_id:
            raise OAuthError("invalid_request", "auth_req_id is required.")
        settled = await self._backchannel.poll(tenant, auth_req_id)
        return self._user_tokens.issue(tenant, settled.subscriber, settled.scopes, id_token=True).body

    async def _jwt_bearer(self, authorization: str | None, form: Mapping[str, str]) -> dict[str, Any]:
        presents_client_auth = authorization is not None or "client_assertion" in form
        client = await self._client_auth.authenticate(authorization, form) if presents_client_auth else None
        tenant, scopes, subscriber = await self._jwt_bearer_grant.exchange(form, client)
        return self._user_tokens.issue(tenant, subscriber, scopes, id_token=False).body
