"""Phone number formats at the adapter boundary: E.164 outside, national 11-digit inside.

``docs/operator-dialects.md``: operators exchange national numbers (``13800138000``); the rest of
the gateway speaks E.164 (``+8613800138000``). Converting is the adapters' business, so it lives
here, together with a number-range guess of a number's operator (portability makes it a guess).
"""

from __future__ import annotations

import functools
import re
from types import MappingProxyType

import phonenumbers
from phonenumbers import carrier

__all__ = ["is_national_mobile", "operator_for_number", "to_e164", "to_national"]

_COUNTRY_PREFIX = "+86"
_NATIONAL_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_OPERATOR_BY_CARRIER_NAME = MappingProxyType(
    {"China Mobile": "cmcc", "China Unicom": "cucc", "China Telecom": "ctcc"}
)


def is_national_mobile(number: str) -> bool:
    """Whether ``number`` has the shape of a mainland mobile number in national format."""
    return _NATIONAL_MOBILE.fullmatch(number) is not None


def to_national(e164: str) -> str:
    """``+8613800138000`` -> ``13800138000``.

    :raises ValueError: if ``e164`` is not a mainland China mobile number in E.164.
    """
    national = e164.removeprefix(_COUNTRY_PREFIX)
    if national == e164 or not is_national_mobile(national):
        raise ValueError("not a mainland China mobile number in E.164 form")
    return national


def to_e164(national: str) -> str:
    """``13800138000`` -> ``+8613800138000``.

    :raises ValueError: if ``national`` is not an 11-digit mainland mobile number.
    """
    if not is_national_mobile(national):
        raise ValueError("not an 11-digit mainland China mobile number")
    return _COUNTRY_PREFIX + national


@functools.lru_cache(maxsize=4096)
def operator_for_number(e164: str) -> str | None:
    """The operator whose number range holds ``e164`` (``cmcc``/``cucc``/``ctcc``), else ``None``.

    A first guess only: ported numbers keep their original range. Answers are memoised (bounded):
    parsing a number costs more than the login check's own logic, and logins repeat numbers.
    """
    try:
        parsed = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return None
    if parsed.country_code != 86:
        return None
    return _OPERATOR_BY_CARRIER_NAME.get(carrier.name_for_number(parsed, "en"))
