"""SGIP's phone number form: the national mobile number behind the country code ``86``.

Every ``UserNumber`` (and a ``ChargeNumber`` naming a phone) travels as ``86`` followed by the
11-digit national number, ``8613012345678``; an SMG answers Result 6 to a number without it.
Numbers received are read leniently: some SMGs send the bare national number.
"""

from __future__ import annotations

import re

__all__ = ["from_user_number", "to_user_number"]

_COUNTRY_CODE = "86"
_NATIONAL_MOBILE = re.compile(r"1[3-9][0-9]{9}")


def to_user_number(national: str) -> str:
    """``13012345678`` -> ``8613012345678``; anything but a national mobile number is a ValueError."""
    if _NATIONAL_MOBILE.fullmatch(national) is None:
        raise ValueError("not an 11-digit mainland China mobile number")
    return _COUNTRY_CODE + national


def from_user_number(user_number: str) -> str:
    """``8613012345678`` -> ``13012345678``; a bare national number is accepted as it is.

    Anything else (another country code, a fixed line, a short code) is a ValueError.
    """
    national = user_number.removeprefix(_COUNTRY_CODE) if len(user_number) == 13 else user_number
    if _NATIONAL_MOBILE.fullmatch(national) is None:
        raise ValueError("not an SGIP user number (86 and an 11-digit mobile number)")
    return national
