"""Phone number formats: E.164 on the control API, national 11-digit numbers on the southbound wire."""

from __future__ import annotations

import re
from typing import Final

__all__ = ["E164_PATTERN", "NATIONAL_PATTERN", "from_national", "is_e164", "to_national"]

E164_PATTERN: Final = r"^\+[1-9][0-9]{4,14}$"
NATIONAL_PATTERN: Final = r"^1[0-9]{10}$"

_E164: Final = re.compile(E164_PATTERN)
_CHINA_MOBILE_E164: Final = re.compile(r"^\+861[0-9]{10}$")


def is_e164(value: str) -> bool:
    """Whether ``value`` is an E.164 number with its leading ``+``."""
    return _E164.fullmatch(value) is not None


def to_national(e164: str) -> str | None:
    """The 11-digit national form of a Chinese mobile number, or None for any other number."""
    return e164[3:] if _CHINA_MOBILE_E164.fullmatch(e164) else None


def from_national(national: str) -> str:
    """The E.164 form of an 11-digit national number (the caller has checked its shape)."""
    return "+86" + national
