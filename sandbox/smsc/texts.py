"""SMS content on the binary protocols: codings, the concatenation header, reassembly of long
messages and the split of a phone's long reply (``docs/operator-dialects.md``, "Long messages")."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "ASCII",
    "BINARY",
    "GBK",
    "UCS2",
    "BadHeader",
    "Concatenation",
    "Reassembly",
    "decode",
    "parse_udh",
    "split_ucs2",
]

ASCII: Final = 0
BINARY: Final = 4
UCS2: Final = 8
GBK: Final = 15
SINGLE_UNITS: Final = 70
PART_UNITS: Final = 67
_MAX_GROUPS: Final = 10_000


class BadHeader(ValueError):
    """A user data header that cannot be read (never a guessed text)."""


@dataclass(frozen=True, slots=True)
class Concatenation:
    """What a part's header says: message ``ref``, ``total`` parts, this part's ``seq`` (from 1)."""

    ref: int
    total: int
    seq: int


def parse_udh(content: bytes) -> tuple[Concatenation | None, bytes]:
    """The concatenation element of ``content``'s user data header (None without one) and the user
    data after the header. :class:`BadHeader` for a header longer than the content, a cut element,
    a total of 0, or a ``seq`` of 0 or above the total; other elements are skipped."""
    if not content:
        raise BadHeader("empty content")
    end = 1 + content[0]
    if end > len(content):
        raise BadHeader("header longer than the content")
    found: Concatenation | None = None
    at = 1
    while at < end:
        if at + 2 > end:
            raise BadHeader("cut element")
        tag, size = content[at], content[at + 1]
        data = content[at + 2 : at + 2 + size]
        if at + 2 + size > end:
            raise BadHeader("cut element")
        if tag == 0x00 and size == 3:
            found = Concatenation(data[0], data[1], data[2])
        elif tag == 0x08 and size == 4:
            found = Concatenation(data[0] << 8 | data[1], data[2], data[3])
        at += 2 + size
    if found is not None and not 1 <= found.seq <= found.total:
        raise BadHeader("seq outside 1..total")
    return found, content[end:]


def decode(coding: int, data: bytes) -> str:
    """The text of ``data`` in the protocol's coding (0 ASCII, 8 UCS-2, 15 GBK/GB18030, 4 binary)."""
    if coding == UCS2:
        return data.decode("utf-16-be", errors="replace")
    if coding == GBK:
        return data.decode("gb18030", errors="replace")
    if coding == BINARY:
        return data.hex()
    return data.decode("ascii", errors="replace")


def split_ucs2(text: str, ref: int) -> list[bytes]:
    """``text`` as UCS-2 contents: one without a header up to 70 code units, else parts of at most 67
    units (a surrogate pair never cut), each after ``05 00 03 ref total seq``."""
    units = text.encode("utf-16-be")
    if len(units) <= SINGLE_UNITS * 2:
        return [units]
    chunks: list[bytes] = []
    at = 0
    while at < len(units):
        end = min(at + PART_UNITS * 2, len(units))
        if end < len(units) and 0xD8 <= units[end - 2] <= 0xDB:
            end -= 2
        chunks.append(units[at:end])
        at = end
    total = len(chunks)
    return [bytes((5, 0, 3, ref & 0xFF, total, seq)) + chunk for seq, chunk in enumerate(chunks, start=1)]


@dataclass(slots=True)
class _Group:
    total: int
    parts: dict[int, str] = field(default_factory=dict)


class Reassembly:
    """Parts of long messages grouped by a caller's key (sender, recipient, ref), accepted in any
    order; the text once every part has arrived. A part repeated with the same text is ignored; with
    another text the group is dropped and starts again from that part. At most 10 000 groups wait."""

    def __init__(self) -> None:
        self._groups: OrderedDict[Hashable, _Group] = OrderedDict()

    def add(self, key: Hashable, part: Concatenation, text: str) -> str | None:
        """Add one part; the whole text when it completes its message, else None."""
        group = self._groups.get((key, part.total))
        if group is None or group.parts.get(part.seq, text) != text:
            group = _Group(part.total)
            while len(self._groups) >= _MAX_GROUPS:
                self._groups.popitem(last=False)
            self._groups[(key, part.total)] = group
        group.parts[part.seq] = text
        if len(group.parts) < group.total:
            return None
        del self._groups[(key, part.total)]
        return "".join(group.parts[seq] for seq in range(1, group.total + 1))

    def clear(self) -> None:
        """Forget every waiting part."""
        self._groups.clear()
