"""Values an operator's SMS gateway sends back, read the same way for every binary protocol.

The phone's number as the operators write it (national ``13800138000``, or with ``86``/``+86``
in front) to E.164; an MO text from its wire coding (0 ASCII, 8 UCS-2, 15 GBK/GB18030), without
its user data header; and a Beijing wall-clock time (``YYMMDDhhmm``, ``YYYYMMDDhhmmss``) to an
aware datetime. Each answers ``None`` for a value it cannot read: never a guessed number or time.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from carrier_adapters.numbers import is_national_mobile, to_e164
from carrier_adapters.segments import read_part

__all__ = ["BEIJING", "beijing_time", "mo_text", "subscriber_e164"]

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
"""The operators' clock: every time on their wire is Beijing wall-clock time."""

_CODECS = {0: "ascii", 8: "utf-16-be", 15: "gb18030"}


def subscriber_e164(number: str) -> str | None:
    """A mainland mobile number as an operator writes it, in E.164; ``None`` for any other."""
    digits = number.removeprefix("+")
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return to_e164(digits) if is_national_mobile(digits) else None


def mo_text(content: bytes, coding: int, *, udhi: bool) -> str | None:
    """The text of one MO message (or of one part of a long one, its header removed).

    ``coding`` is the protocol's data coding (0 ASCII, 8 UCS-2, 15 GBK, read as GB18030 which
    contains it); ``None`` for another coding (binary) or a malformed header. Bytes that do not
    decode become U+FFFD: a phone's reply is kept even when one character is damaged.
    """
    codec = _CODECS.get(coding)
    if codec is None:
        return None
    try:
        _, payload = read_part(content, udhi=udhi)
    except ValueError:
        return None
    return payload.decode(codec, errors="replace")


def beijing_time(text: str, pattern: str) -> datetime | None:
    """``text`` in ``pattern`` (``strptime``), Beijing time, as an aware datetime; ``None`` if unreadable."""
    try:
        return datetime.strptime(text, pattern).replace(tzinfo=BEIJING)
    except ValueError:
        return None
