"""Throttling of repeated authentication failures (the admin token, client secrets and client
assertions) without letting an attacker lock a real client out.

Failures are counted in two keys, each with its own :class:`~gateway.failure_backoff.BackoffPolicy`:

- **per (principal, source address)**: the principal is the client id the request claims (or
  ``admin``); 5 consecutive failures are free, then each failure blocks the pair for 1 s,
  doubling up to 5 minutes;
- **per source address**: every failure from the address, whatever principal it claims (a
  caller trying many client ids); 30 are free, then 1 s doubling up to 15 minutes.

A blocked key refuses the attempt before any credential is checked, and the refusal is not
counted. A success resets both keys of that request. Failures are forgotten an hour after the
last one. Nothing is counted per principal alone: failures from one address never block the
same client from another address. IPv6 addresses are counted by their /64 (one host usually
holds a whole /64). The source address is the TCP peer, or the ``X-Forwarded-For`` hop a
trusted proxy reports (:meth:`~gateway.oauth.telco_finder.TelcoFinder.client_ip`), bound per
request by :func:`source_address_middleware`.

When the store cannot answer (Redis down), attempts are checked without throttling and a warning
is logged: client secrets are 256-bit, so the throttle is defence in depth, and it must not turn a
Redis outage into refusing every token request and the admin API.
"""

from __future__ import annotations

import contextvars
import ipaddress
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from gateway.errors import Unavailable
from gateway.failure_backoff import BackoffPolicy, FailureBackoff
from gateway.oauth.telco_finder import IPAddress, TelcoFinder, parse_networks

__all__ = [
    "PER_ADDRESS",
    "PER_PRINCIPAL",
    "AuthThrottle",
    "Throttled",
    "current_address",
    "source_address_middleware",
]

PER_PRINCIPAL = BackoffPolicy(free=5, base=1.0, cap=300.0, forget=3600.0)
PER_ADDRESS = BackoffPolicy(free=30, base=1.0, cap=900.0, forget=3600.0)
_ADDRESS: contextvars.ContextVar[str | None] = contextvars.ContextVar("auth_source_address", default=None)
_UNKNOWN = "unknown"
log = structlog.get_logger(__name__)


class Throttled(Exception):
    """The attempt is refused unchecked; retry after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


def _address_key(address: IPAddress | None) -> str:
    if address is None:
        return _UNKNOWN
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def current_address() -> str | None:
    """The source address bound to the current request (None outside a request)."""
    return _ADDRESS.get()


def source_address_middleware(trusted_proxies: str) -> Callable[..., Awaitable[web.StreamResponse]]:
    """An aiohttp middleware binding each request's source address (see the module docstring)."""
    finder = TelcoFinder({}, trusted_proxies=parse_networks(trusted_proxies))

    @web.middleware
    async def bind_source_address(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        address = finder.client_ip(request.remote, request.headers.get("X-Forwarded-For"))
        token = _ADDRESS.set(_address_key(address))
        try:
            return await handler(request)
        finally:
            _ADDRESS.reset(token)

    return bind_source_address


class AuthThrottle:
    """Checks and records authentication attempts; see the module docstring."""

    def __init__(
        self,
        store: FailureBackoff,
        *,
        per_principal: BackoffPolicy = PER_PRINCIPAL,
        per_address: BackoffPolicy = PER_ADDRESS,
    ) -> None:
        self._store = store
        self._per_principal = per_principal
        self._per_address = per_address

    @staticmethod
    def _keys(principal: str | None, address: str | None) -> tuple[str, str]:
        where = address or _UNKNOWN
        return f"auth:principal:{principal or ''}|{where}", f"auth:address:{where}"

    async def check(self, principal: str | None, address: str | None) -> None:
        """Pass when neither key is blocked.

        :raises Throttled: with the longer of the two remaining blocks.
        """
        pair, source = self._keys(principal, address)
        try:
            remaining = await self._store.blocked(pair, source)
        except Unavailable:
            log.warning("auth_throttle_unavailable", step="check")
            return
        if remaining > 0:
            raise Throttled(remaining)

    async def failed(self, principal: str | None, address: str | None) -> int:
        """Record a failed attempt; the seconds the caller must now wait (0: none)."""
        pair, source = self._keys(principal, address)
        try:
            return max(
                await self._store.failed(pair, self._per_principal),
                await self._store.failed(source, self._per_address),
            )
        except Unavailable:
            log.warning("auth_throttle_unavailable", step="failed")
            return 0

    async def succeeded(self, principal: str, address: str | None) -> None:
        """Record a successful attempt: both keys start over."""
        pair, source = self._keys(principal, address)
        try:
            await self._store.reset(pair, source)
        except Unavailable:
            log.warning("auth_throttle_unavailable", step="succeeded")
