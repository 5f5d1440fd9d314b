"""The JWT-bearer authorization grant (RFC 7523 §2.1) under the CAMARA ICM rules.

The client posts ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` and an ``assertion``
it signed with a key of its registered JWKS, verified by
:class:`~gateway.oauth.assertions.AssertionVerifier` (``iss`` the client id, ``aud`` the token
endpoint URL or the issuer, the 300 s lifetime, single-use ``jti``); here ``sub`` names the
subscriber as ``tel:+E164`` or ``operatortoken:<SDK token>`` (:mod:`gateway.oauth.subjects`) and
the ``scope`` claim carries the scopes (a ``scope`` request parameter is refused), with exactly one
``dpv:`` purpose when any is personal data (:func:`~gateway.oauth.user_tokens.requested_scopes`).

The signed assertion authenticates the client; separate client authentication is optional and,
when present, must name the same client. Failures are ``invalid_grant`` (``invalid_scope`` for
scopes); an operator that cannot exchange the token is 503 ``temporarily_unavailable``. No refresh
token, no ID token.
"""

from __future__ import annotations

from collections.abc import Mapping

import structlog

from gateway.clock import Clock
from gateway.errors import OAuthError
from gateway.oauth.assertions import AssertionRejected, AssertionVerifier
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
log = structlog.get_logger(__name__)


def _invalid(reason: str, public: str | None = None) -> OAuthError:
    log.info("jwt_bearer_rejected", reason=reason)
    return OAuthError("invalid_grant", public or "The assertion is invalid.")


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
        self._subjects = subjects
        self._assertions = AssertionVerifier(
            tenants, replay, clock, audiences=audiences, replay_scope="jwt_bearer", subject_is_client=False
        )

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
        try:
            verified = await self._assertions.verify(
                assertion, client_id=client.client_id if client is not None else None
            )
            hint = self._subjects.parse(verified.subject)
        except AssertionRejected as exc:
            raise _invalid(str(exc), exc.public) from exc
        except HintError as exc:
            raise _invalid(f"sub: {exc.reason}") from exc
        scope = verified.claims.get("scope")
        scopes = requested_scopes(
            verified.tenant, scope if isinstance(scope, str) else None, require_openid=False
        )
        try:
            subscriber = await self._subjects.authenticate(hint)
        except SubjectRejected as exc:
            raise _invalid(str(exc)) from exc
        except SubjectUnavailable as exc:
            raise OAuthError(
                "temporarily_unavailable", "The mobile operator is unavailable.", status=503
            ) from exc
        return verified.tenant, scopes, subscriber
