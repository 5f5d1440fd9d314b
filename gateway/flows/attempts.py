"""Failed redemptions counted per device and per source, never per link (contract §6).

A forwarded link must not lock out its holder, and a phone that is not the holder must not make
the tenant pay for an operator check at every tap. The operator token proves nothing about the
opening phone before the (billed) check, so the caller is identified by what the gateway itself
sees:

- the **device**: an opaque random id in the ``gw_device`` cookie (HttpOnly, ``SameSite=Strict``,
  path ``/push/v1/links/``); a redemption without a valid one gets a new id, used for that
  request and set in its answer;
- the **source**: the request's source address (the TCP peer, or the ``X-Forwarded-For`` hop a
  trusted proxy reports; an IPv6 address by its /64), see :mod:`gateway.auth_throttle`.

Three keys of the shared :class:`~gateway.failure_backoff.FailureBackoff` store (Redis when
configured, so every process sees them; the store keeps only SHA-256 digests of the keys):

- **known wrong phone** ``(message, device, source)``: set by a definitive refusal
  (``NUMBER_MISMATCH``: the operator said the token's phone is not the recipient's;
  ``OPERATOR_MISMATCH``: the token is another operator's). For ``FLOW_REDEEM_WINDOW_SECONDS`` that
  caller's redemptions of that link are refused at once, with no operator check and no new
  ``link.rejected`` (the tenant was told once). The device id is part of the key, so another
  phone behind the same carrier NAT address (the holder's, or one without cookies, whose every
  request has a new id) is never refused unchecked; a changed source (a dual-SIM phone switching
  its data SIM) is checked again;
- **per device**: every refusal and every invalid token counts; after ``FLOW_REDEEM_ATTEMPTS``
  within the window the device is ``429`` for the window;
- **per source**: the same failures; ``SOURCE_FACTOR`` times as many are allowed (many phones
  share a carrier NAT address), then the source is ``429`` for the window. This bounds the billed
  checks of a caller that drops its cookie.

A success resets the device's count, not the source's. A refusal answered from memory counts
nowhere. Concurrent first attempts of one device may each reach the operator (the memory is
written after the answer); sequential ones do not. A store that cannot answer makes the
redemption ``503`` (:class:`~gateway.errors.Unavailable`): without the counts, billed checks
would be unbounded.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Final

from gateway.errors import TooManyRequests
from gateway.failure_backoff import BackoffPolicy, FailureBackoff

__all__ = [
    "DEVICE_COOKIE",
    "DEVICE_COOKIE_PATH",
    "SOURCE_FACTOR",
    "Attempts",
    "Caller",
    "new_device_id",
    "valid_device_id",
]

DEVICE_COOKIE: Final = "gw_device"
DEVICE_COOKIE_PATH: Final = "/push/v1/links/"
SOURCE_FACTOR: Final = 5
_DEVICE = re.compile(r"dv_[A-Za-z0-9_-]{22}")


def new_device_id() -> str:
    """A fresh device id: ``dv_`` + 16 random bytes in base64url."""
    return "dv_" + secrets.token_urlsafe(16)


def valid_device_id(value: str | None) -> bool:
    """Whether a cookie value has the shape of a device id (anything else is ignored)."""
    return value is not None and bool(_DEVICE.fullmatch(value))


@dataclass(frozen=True, slots=True)
class Caller:
    """Who redeems: its device id (presented, or issued with this answer) and its source address."""

    device: str
    source: str | None


class Attempts:
    """See the module docstring; ``attempts`` and ``window_seconds`` are ``FLOW_REDEEM_*``."""

    def __init__(self, store: FailureBackoff, *, attempts: int, window_seconds: int) -> None:
        window = float(window_seconds)
        self._store = store
        self._device = BackoffPolicy(free=attempts - 1, base=window, cap=window, forget=window)
        self._source = BackoffPolicy(
            free=attempts * SOURCE_FACTOR - 1, base=window, cap=window, forget=window
        )
        self._known = BackoffPolicy(free=0, base=window, cap=window, forget=0.0)

    @staticmethod
    def _known_key(message_id: str, caller: Caller) -> str:
        return f"flows:wrong-phone:{message_id}|{caller.device}|{caller.source or '-'}"

    @staticmethod
    def _source_key(caller: Caller) -> str:
        return f"flows:source:{caller.source or '-'}"

    @staticmethod
    def _device_key(caller: Caller) -> str:
        return f"flows:device:{caller.device}"

    async def known_wrong(self, message_id: str, caller: Caller) -> bool:
        """Whether this caller was refused definitively for this message within the window."""
        return await self._store.blocked(self._known_key(message_id, caller)) > 0

    async def check(self, caller: Caller) -> None:
        """Pass unless the caller's device or source is blocked.

        :raises TooManyRequests: with the seconds left of the longer block.
        """
        wait = await self._store.blocked(self._source_key(caller), self._device_key(caller))
        if wait > 0:
            raise TooManyRequests(wait)

    async def failed(self, message_id: str, caller: Caller, *, definitive: bool) -> None:
        """Count a failure of the caller; a ``definitive`` one also remembers the wrong phone."""
        await self._store.failed(self._source_key(caller), self._source)
        await self._store.failed(self._device_key(caller), self._device)
        if definitive:
            await self._store.failed(self._known_key(message_id, caller), self._known)

    async def succeeded(self, caller: Caller) -> None:
        """The holder redeemed: the device's count starts over."""
        await self._store.reset(self._device_key(caller))
