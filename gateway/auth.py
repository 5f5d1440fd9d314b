"""Route policies: every handler declares who may call it, and the router refuses to start without.

``@public`` (no credentials), ``@admin`` (the bootstrap admin bearer; repeated failures are
throttled per source address by :mod:`gateway.auth_throttle`, 429 with ``Retry-After``), and
``@requires_scope(...)`` (a valid access token holding at least one of the given scopes). The
authenticated :class:`~gateway.oauth.tokens.Principal` is available as ``principal(request)``.
All authentication failures raise the one generic 401; a missing scope raises 403 naming the
scopes the route accepts.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web

from gateway.appkeys import PRINCIPAL, RUNTIME
from gateway.auth_throttle import Throttled, current_address
from gateway.errors import PermissionDenied, TooManyRequests, Unauthenticated
from gateway.oauth.tokens import InvalidToken, Principal

__all__ = [
    "Handler",
    "admin",
    "bearer_token",
    "declare_policy",
    "policy_of",
    "principal",
    "public",
    "requires_scope",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_POLICY = "__gateway_policy__"
_ADMIN = "admin"
"""The principal of the admin token in :class:`~gateway.auth_throttle.AuthThrottle` keys."""
log = structlog.get_logger(__name__)


def bearer_token(request: web.Request) -> str:
    """The request's bearer token.

    :raises Unauthenticated: when the Authorization header is missing or not a bearer.
    """
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthenticated()
    return value.strip()


def declare_policy(handler: Handler, policy: str) -> Handler:
    """Record that ``handler`` authenticates its callers itself, under the policy name ``policy``."""
    setattr(handler, _POLICY, policy)
    return handler


def public(handler: Handler) -> Handler:
    """Mark a handler as callable without credentials."""
    return declare_policy(handler, "public")


def admin(handler: Handler) -> Handler:
    """Require the bootstrap admin bearer token."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        runtime = request.app[RUNTIME]
        address = current_address()
        try:
            await runtime.auth_throttle.check(_ADMIN, address)
        except Throttled as exc:
            log.info("admin_auth_throttled", retry_after=exc.retry_after)
            raise TooManyRequests(exc.retry_after) from exc
        expected = runtime.settings.admin_token
        try:
            presented = bearer_token(request)
        except Unauthenticated:
            presented = ""
        if expected is None or not hmac.compare_digest(
            presented.encode(), expected.get_secret_value().encode()
        ):
            log.info("auth_failed", reason="admin token mismatch")
            await runtime.auth_throttle.failed(_ADMIN, address)
            raise Unauthenticated()
        await runtime.auth_throttle.succeeded(_ADMIN, address)
        return await handler(request)

    setattr(wrapped, _POLICY, "admin")
    return wrapped


def requires_scope(*alternatives: str) -> Callable[[Handler], Handler]:
    """Require an access token carrying any one of ``alternatives``."""
    missing = "The access token lacks the scope this operation requires: " + " or ".join(alternatives) + "."

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapped(request: web.Request) -> web.StreamResponse:
            try:
                who = await request.app[RUNTIME].tokens.verify(bearer_token(request))
            except InvalidToken as exc:
                log.info("auth_failed", reason=str(exc))
                raise Unauthenticated() from exc
            if not who.scopes.intersection(alternatives):
                raise PermissionDenied(missing)
            request[PRINCIPAL] = who
            structlog.contextvars.bind_contextvars(tenant_id=who.tenant_id)
            return await handler(request)

        setattr(wrapped, _POLICY, "scope:" + "|".join(alternatives))
        return wrapped

    return decorate


def principal(request: web.Request) -> Principal:
    """The caller authenticated by :func:`requires_scope`."""
    return request[PRINCIPAL]


def policy_of(handler: Any) -> str | None:
    """The declared policy of a handler, or None when it has none (a bug the router rejects)."""
    return getattr(handler, _POLICY, None)
