"""The console's route policy and its cookie, CSRF and origin rules.

``@staff_session(*roles)`` (policy ``staff-session`` or ``staff-session:<role>|<role>``) requires a
live console session (:mod:`gateway.console.sessions`; else the generic ``401 UNAUTHENTICATED``),
then, for every state-changing method (anything but GET, HEAD, OPTIONS):

- a same-origin request (:func:`same_origin`): ``Sec-Fetch-Site``, when sent, is
  ``same-origin``, and ``Origin``, when sent, is the gateway's public origin or the request's own;
- the session's CSRF token in ``X-CSRF-Token`` (compared in constant time);

either missing or wrong is ``403 PERMISSION_DENIED``. Then the member's role must be one of
``roles`` (none given: any role), else 403. State-changing requests, and handlers declared with
``activity=True``, move the session's idle end. The session is ``request[STAFF_SESSION]``.

The cookie is ``gw_console``: HttpOnly, SameSite=Strict, Path=/console, no Max-Age (it ends with
the browser), and Secure unless the public URL is plain http on a loopback host
(:func:`secure_cookie`).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable
from urllib.parse import urlsplit

import structlog
from aiohttp import web

from gateway.appkeys import RUNTIME, STAFF_SESSION
from gateway.auth import Handler, declare_policy
from gateway.console.sessions import LiveSession, csrf_matches
from gateway.errors import PermissionDenied
from gateway.settings import Settings
from gateway.staff import Role, StaffMember

__all__ = [
    "COOKIE",
    "CSRF_HEADER",
    "CrossSiteRefused",
    "check_same_origin",
    "clear_cookie",
    "live_session",
    "same_origin",
    "secure_cookie",
    "set_cookie",
    "staff_member",
    "staff_session",
]

COOKIE = "gw_console"
COOKIE_PATH = "/console"
CSRF_HEADER = "X-CSRF-Token"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
log = structlog.get_logger(__name__)


def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def secure_cookie(settings: Settings) -> bool:
    """Whether the cookie carries ``Secure``: always, except for a plain-http loopback public URL."""
    parts = urlsplit(settings.issuer)
    return not (parts.scheme == "http" and _loopback(parts.hostname or ""))


def set_cookie(response: web.StreamResponse, token: str, *, secure: bool) -> None:
    """Give the browser the session cookie."""
    response.set_cookie(COOKIE, token, path=COOKIE_PATH, httponly=True, samesite="Strict", secure=secure)


def clear_cookie(response: web.StreamResponse, *, secure: bool) -> None:
    """Tell the browser to drop the session cookie."""
    response.set_cookie(
        COOKIE, "", path=COOKIE_PATH, httponly=True, samesite="Strict", secure=secure, max_age=0
    )


def same_origin(request: web.Request, public_url: str) -> bool:
    """Whether a request may change state: see the module docstring."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site != "same-origin":
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    public = urlsplit(public_url)
    allowed = {f"{public.scheme}://{public.netloc}", f"{request.scheme}://{request.host}"}
    return origin in allowed


class CrossSiteRefused(PermissionDenied):
    """A state-changing console request that is not same-origin, or lacks the session's CSRF token."""

    default_message = (
        "The request lacks the console's CSRF token or does not come from the console's own pages."
    )


def check_same_origin(request: web.Request) -> None:
    """:raises CrossSiteRefused: the request is not same-origin."""
    if not same_origin(request, request.app[RUNTIME].settings.issuer):
        log.info("console_cross_site_refused", reason="origin")
        raise CrossSiteRefused()


def staff_session(*roles: Role, activity: bool = False) -> Callable[[Handler], Handler]:
    """Require a live console session of a member with one of ``roles`` (see the module docstring)."""
    allowed = frozenset(roles) or frozenset(Role)
    policy = "staff-session" + (":" + "|".join(r.value for r in Role if r in allowed) if roles else "")
    wrong_role = "This console action is for " + " or ".join(sorted(r.value for r in allowed)) + " accounts."

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapped(request: web.Request) -> web.StreamResponse:
            sessions = request.app[RUNTIME].console.sessions
            live = await sessions.resolve(request.cookies.get(COOKIE))
            changes_state = request.method not in _SAFE
            if changes_state:
                check_same_origin(request)
                if not csrf_matches(request.headers.get(CSRF_HEADER), live.csrf_token):
                    log.info("console_cross_site_refused", reason="csrf")
                    raise CrossSiteRefused()
            if live.member.role not in allowed:
                raise PermissionDenied(wrong_role)
            if changes_state or activity:
                live = await sessions.touch(live)
            request[STAFF_SESSION] = live
            structlog.contextvars.bind_contextvars(tenant_id=live.member.tenant_id, staff_id=live.member.id)
            return await handler(request)

        return declare_policy(wrapped, policy)

    return decorate


def staff_member(request: web.Request) -> StaffMember:
    """The member :func:`staff_session` signed in."""
    return request[STAFF_SESSION].member


def live_session(request: web.Request) -> LiveSession:
    """The session :func:`staff_session` resolved."""
    return request[STAFF_SESSION]
