"""Short-link codes of push messages (contract §6): ``{PUBLIC_URL}/l/{code}``.

A code is 22 base62 characters drawn with :mod:`secrets` (about 131 bits, well above the contract's
64); 22 is also the length the template segment estimate assumes. The landing page and the
redemption of a code belong to the links feature.
"""

from __future__ import annotations

import secrets
import string

__all__ = ["ALPHABET", "CODE_LENGTH", "link_url", "new_code"]

ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
CODE_LENGTH = 22
_BASE = len(ALPHABET)
_UNBIASED = 256 - 256 % _BASE


def new_code() -> str:
    """A fresh random code: uniform over the alphabet (bytes at or above 248, the largest multiple
    of 62 that fits, are drawn again), from one read of the system's random source per 32 bytes."""
    code: list[str] = []
    while len(code) < CODE_LENGTH:
        code.extend(ALPHABET[b % _BASE] for b in secrets.token_bytes(32) if b < _UNBIASED)
    return "".join(code[:CODE_LENGTH])


def link_url(public_url: str, code: str) -> str:
    """The link put in the SMS."""
    return f"{public_url.rstrip('/')}/l/{code}"
