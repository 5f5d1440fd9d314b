"""Throttling of failed console sign-ins, on the gateway's authentication-failure store.

Three keys per attempt (:mod:`gateway.failure_backoff` rules: free failures, then a block that
doubles up to a ceiling, forgotten an hour after the last failure):

- **(username, source address)** and **source address**: :class:`~gateway.auth_throttle.AuthThrottle`
  with its policies (5 free per pair, then 1 s doubling to 5 min; 30 free per address, then 1 s
  doubling to 15 min); the address key is the one every other authentication failure counts in;
- **username**, from any address: 10 free, then 1 s doubling to 60 s. Passwords are guessable
  where client secrets are not, so guesses spread over many addresses slow down too; the short
  ceiling keeps a stranger from locking a teller out for long.

A success resets the username's keys (the address key too, as everywhere). A wrong TOTP code is a
failure; a missing one is not counted either way. The username is compared case-folded.
"""

from __future__ import annotations

import structlog

from gateway.auth_throttle import PER_ADDRESS, PER_PRINCIPAL, AuthThrottle, Throttled
from gateway.errors import Unavailable
from gateway.failure_backoff import BackoffPolicy, FailureBackoff

__all__ = ["PER_USERNAME", "SignInThrottle", "Throttled"]

PER_USERNAME = BackoffPolicy(free=10, base=1.0, cap=60.0, forget=3600.0)
_MAX_KEY = 200
log = structlog.get_logger(__name__)


def _principal(username: str) -> str:
    return "console:" + username.strip().casefold()[:_MAX_KEY]


class SignInThrottle:
    """Checks and records console sign-in attempts; see the module docstring."""

    def __init__(
        self,
        store: FailureBackoff,
        *,
        per_username: BackoffPolicy = PER_USERNAME,
        per_pair: BackoffPolicy = PER_PRINCIPAL,
        per_address: BackoffPolicy = PER_ADDRESS,
    ) -> None:
        self._store = store
        self._pairs = AuthThrottle(store, per_principal=per_pair, per_address=per_address)
        self._per_username = per_username

    @staticmethod
    def _username_key(username: str) -> str:
        return "auth:username:" + _principal(username)

    async def check(self, username: str, address: str | None) -> None:
        """Pass when no key of the attempt is blocked.

        :raises Throttled: with the longest remaining block.
        """
        await self._pairs.check(_principal(username), address)
        try:
            remaining = await self._store.blocked(self._username_key(username))
        except Unavailable:
            log.warning("auth_throttle_unavailable", step="check")
            return
        if remaining > 0:
            raise Throttled(remaining)

    async def failed(self, username: str, address: str | None) -> int:
        """Record a failed sign-in; the seconds the caller must now wait (0: none)."""
        waits = await self._pairs.failed(_principal(username), address)
        try:
            waits = max(waits, await self._store.failed(self._username_key(username), self._per_username))
        except Unavailable:
            log.warning("auth_throttle_unavailable", step="failed")
        return waits

    async def succeeded(self, username: str, address: str | None) -> None:
        """Record a successful sign-in: its keys start over."""
        await self._pairs.succeeded(_principal(username), address)
        try:
            await self._store.reset(self._username_key(username))
        except Unavailable:
            log.warning("auth_throttle_unavailable", step="succeeded")
