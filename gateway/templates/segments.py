"""How many SMS parts a text needs: GSM-7 when every character is in the GSM 03.38 tables, else UCS-2.

GSM-7: a single SMS holds 160 septets, a part of a long SMS 153 (the 6-octet UDH takes 7);
characters of the extension table (``€ [ ] { } \\ ^ ~ |`` and form feed) take two septets (escape
+ code). UCS-2: 70 UTF-16 code units single, 67 per part; a character outside the BMP takes two
units (a surrogate pair). Parts are packed the way handsets and SMSCs split: a two-unit character
is never cut between two parts, so it moves whole to the next part.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Encoding", "SegmentCount", "count_segments"]

_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


class Encoding(enum.StrEnum):
    """The data coding an SMS is sent with."""

    GSM7 = "gsm7"
    UCS2 = "ucs2"


_LIMITS: dict[Encoding, tuple[int, int]] = {Encoding.GSM7: (160, 153), Encoding.UCS2: (70, 67)}


@dataclass(frozen=True, slots=True)
class SegmentCount:
    """``units`` are septets (GSM-7) or UTF-16 code units (UCS-2); ``segments`` is at least 1."""

    encoding: Encoding
    units: int
    segments: int


def _gsm7_weights(text: str) -> list[int] | None:
    weights = []
    for char in text:
        if char in _GSM7_BASIC:
            weights.append(1)
        elif char in _GSM7_EXTENSION:
            weights.append(2)
        else:
            return None
    return weights


def _pack(weights: list[int], per_part: int) -> int:
    parts, used = 1, 0
    for weight in weights:
        if used + weight > per_part:
            parts, used = parts + 1, 0
        used += weight
    return parts


def count_segments(text: str) -> SegmentCount:
    """The encoding, length in units and number of parts of ``text`` (an empty text is one SMS)."""
    weights = _gsm7_weights(text)
    encoding = Encoding.GSM7
    if weights is None:
        encoding = Encoding.UCS2
        weights = [2 if ord(char) > 0xFFFF else 1 for char in text]
    single, per_part = _LIMITS[encoding]
    units = sum(weights)
    segments = 1 if units <= single else _pack(weights, per_part)
    return SegmentCount(encoding, units, segments)
