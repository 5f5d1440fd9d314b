"""An SMS text as the parts that go on the wire, how many parts it is billed as, and back.

One encoding per text:

- :attr:`Encoding.GSM7` when every character is both in the GSM 03.38 tables and in ASCII: printable
  ASCII except the backtick, plus ``\\n`` and ``\\r``. The operators' protocols carry it as ASCII
  octets, one per character (CMPP ``Msg_Fmt`` 0, SGIP ``MessageCoding`` 0, SMGP ``MsgFormat`` 0,
  SMPP ``data_coding`` 1, IA5); the SMSC sends it as GSM-7 on the air, so it is counted in septets:
  160 for a single SMS, 153 per part of a long one, and the extension characters
  ``[ ] { } \\ ^ ~ |`` weigh 2 (escape + code) and stay whole in one part.
- :attr:`Encoding.UCS2` otherwise, including texts with a GSM character outside ASCII (``£``, ``è``,
  ``Δ``, ``€``...): UTF-16-BE (CMPP/SGIP/SMGP 8, SMPP 8), 70 code units for a single SMS, 67 per part;
  a character outside the BMP (a surrogate pair) stays whole in one part.

A single SMS goes without a user data header (``TP_udhi`` 0). Every part of a long one starts with
the 6-octet header ``05 00 03 <ref> <total> <seq>`` (``TP_udhi`` 1; ``seq`` from 1; ``ref`` one octet,
the same on every part of a message, chosen by the caller). Wire content per part: UCS-2 at most 140
octets (6 + 134); GSM-7 at most 160 octets single and 159 (6 + 153) per part, which the SMSC packs into
140 octets on the air. A message has at most :data:`MAX_PARTS` parts.

:func:`count_segments` is what templates bill; :func:`split` produces exactly that many parts.
"""

from __future__ import annotations

import enum
import string
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "MAX_PARTS",
    "Concatenation",
    "Encoding",
    "SegmentCount",
    "SmsParts",
    "count_segments",
    "read_part",
    "reassemble",
    "split",
]

MAX_PARTS = 255

_ONE_SEPTET = frozenset(string.ascii_letters + string.digits + "\n\r !\"#$%&'()*+,-./:;<=>?@_")
_TWO_SEPTETS = frozenset("[]{}\\^~|")
_GSM7 = _ONE_SEPTET | _TWO_SEPTETS
_CONCAT_8BIT = 0x00
_CONCAT_16BIT = 0x08


class Encoding(enum.StrEnum):
    """The data coding an SMS is sent with (see the module docstring for each one's wire form)."""

    GSM7 = "gsm7"
    UCS2 = "ucs2"


_LIMITS: dict[Encoding, tuple[int, int]] = {Encoding.GSM7: (160, 153), Encoding.UCS2: (70, 67)}


@dataclass(frozen=True, slots=True)
class SegmentCount:
    """``units`` are septets (GSM-7) or UTF-16 code units (UCS-2); ``segments`` is at least 1."""

    encoding: Encoding
    units: int
    segments: int


@dataclass(frozen=True, slots=True)
class SmsParts:
    """The wire content of each part, in order, each with its user data header when ``udhi``."""

    encoding: Encoding
    parts: tuple[bytes, ...]
    udhi: bool

    @property
    def total(self) -> int:
        """The number of parts (``Pk_total``)."""
        return len(self.parts)


@dataclass(frozen=True, slots=True)
class Concatenation:
    """The concatenation element of a part's user data header (``ref`` is 16-bit with IE 0x08)."""

    ref: int
    total: int
    seq: int


def _encoding(text: str) -> Encoding:
    return Encoding.GSM7 if set(text) <= _GSM7 else Encoding.UCS2


def _weights(text: str, encoding: Encoding) -> list[int]:
    if encoding is Encoding.GSM7:
        return [2 if char in _TWO_SEPTETS else 1 for char in text]
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def _units(text: str, encoding: Encoding) -> int:
    if encoding is Encoding.GSM7:
        return len(text) + sum(text.count(char) for char in _TWO_SEPTETS & set(text))
    return len(text) + sum(ord(char) > 0xFFFF for char in text)


def _starts(weights: Sequence[int], per_part: int) -> list[int]:
    starts, used = [0], 0
    for index, weight in enumerate(weights):
        if used + weight > per_part:
            starts.append(index)
            used = 0
        used += weight
    return starts


def _encode(text: str, encoding: Encoding) -> bytes:
    if encoding is Encoding.GSM7:
        return text.encode("ascii")
    return text.encode("utf-16-be", "surrogatepass")


def count_segments(text: str) -> SegmentCount:
    """The encoding, length in units and number of parts of ``text`` (an empty text is one SMS).

    Never raises: a count above :data:`MAX_PARTS` is returned as is (:func:`split` refuses it).
    """
    encoding = _encoding(text)
    single, per_part = _LIMITS[encoding]
    units = _units(text, encoding)
    segments = 1 if units <= single else len(_starts(_weights(text, encoding), per_part))
    return SegmentCount(encoding, units, segments)


def split(text: str, *, ref: int) -> SmsParts:
    """``text`` as the parts to submit, ``count_segments(text).segments`` of them.

    :param ref: the concatenation reference (0-255) written into every part of a long message.
    :raises ValueError: ``ref`` out of range, or the text needs more than :data:`MAX_PARTS` parts.
    """
    if not 0 <= ref <= 0xFF:
        raise ValueError(f"ref must be 0-255, not {ref}")
    encoding = _encoding(text)
    single, per_part = _LIMITS[encoding]
    if _units(text, encoding) <= single:
        return SmsParts(encoding, (_encode(text, encoding),), udhi=False)
    starts = _starts(_weights(text, encoding), per_part)
    total = len(starts)
    if total > MAX_PARTS:
        raise ValueError(f"the text needs {total} parts; at most {MAX_PARTS}")
    ends = [*starts[1:], len(text)]
    parts = tuple(
        bytes((5, _CONCAT_8BIT, 3, ref, total, seq)) + _encode(text[start:end], encoding)
        for seq, (start, end) in enumerate(zip(starts, ends, strict=True), start=1)
    )
    return SmsParts(encoding, parts, udhi=True)


def read_part(content: bytes, *, udhi: bool) -> tuple[Concatenation | None, bytes]:
    """The concatenation element of one received part (``None`` if it has none) and its text bytes.

    Reads 8-bit (IE 0x00) and 16-bit (IE 0x08) reference elements and skips other elements.

    :raises ValueError: a header that overruns the content or its element, or a concatenation element
        with a total or sequence of 0 or a sequence above the total.
    """
    if not udhi:
        return None, content
    if not content:
        raise ValueError("TP_udhi is set but the content is empty")
    end = 1 + content[0]
    if end > len(content):
        raise ValueError("the user data header is longer than the content")
    concatenation, index = None, 1
    while index < end:
        if index + 2 > end or index + 2 + content[index + 1] > end:
            raise ValueError("a user data header element overruns the header")
        element, data = content[index], content[index + 2 : index + 2 + content[index + 1]]
        if element == _CONCAT_8BIT and len(data) == 3:
            concatenation = Concatenation(data[0], data[1], data[2])
        elif element == _CONCAT_16BIT and len(data) == 4:
            concatenation = Concatenation(int.from_bytes(data[:2], "big"), data[2], data[3])
        index += 2 + len(data)
    if concatenation is not None and not 1 <= concatenation.seq <= concatenation.total:
        raise ValueError(f"part {concatenation.seq} of {concatenation.total} is not a valid position")
    return concatenation, content[end:]


def reassemble(parts: SmsParts) -> str:
    """The text of a complete message whose parts arrived in any order.

    :raises ValueError: no parts, parts of different messages (reference or total), a part missing
        or repeated, a long message's part without a concatenation element, or bytes that do not
        decode in ``parts.encoding``.
    """
    if not parts.parts:
        raise ValueError("no parts")
    read = [read_part(content, udhi=parts.udhi) for content in parts.parts]
    if len(read) == 1 and read[0][0] is None:
        payload = read[0][1]
    else:
        numbered: list[tuple[Concatenation, bytes]] = []
        for concatenation, data in read:
            if concatenation is None:
                raise ValueError("a part of a long message has no concatenation element")
            numbered.append((concatenation, data))
        if len({(c.ref, c.total) for c, _ in numbered}) != 1:
            raise ValueError("the parts belong to different messages")
        numbered.sort(key=lambda item: item[0].seq)
        if [c.seq for c, _ in numbered] != list(range(1, numbered[0][0].total + 1)):
            raise ValueError("a part is missing or repeated")
        payload = b"".join(data for _, data in numbered)
    if parts.encoding is Encoding.GSM7:
        return payload.decode("ascii")
    return payload.decode("utf-16-be", "surrogatepass")
