"""Big-endian fields and length-prefixed framing shared by the sandbox's SMS gateways.

Every protocol of ``docs/operator-dialects.md`` "SMS over the operators' binary protocols" starts a
PDU with its whole length as a ``u32``; the header's other fields and the bodies are the protocol
modules' business. Fixed-size text fields are ASCII padded on the right with NULs.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Final

__all__ = ["Malformed", "Reader", "octets", "read_pdu", "u8", "u16", "u32"]

_U16: Final = struct.Struct(">H")
_U32: Final = struct.Struct(">I")


class Malformed(Exception):
    """Bytes that do not follow the protocol's layout."""


def u8(value: int) -> bytes:
    """One octet."""
    return bytes((value,))


def u16(value: int) -> bytes:
    """A big-endian unsigned 16-bit integer."""
    return _U16.pack(value)


def u32(value: int) -> bytes:
    """A big-endian unsigned 32-bit integer."""
    return _U32.pack(value)


def octets(value: str | bytes, size: int) -> bytes:
    """``value`` (ASCII text or raw bytes) NUL-padded to ``size``; ValueError when longer."""
    raw = value.encode("ascii") if isinstance(value, str) else value
    if len(raw) > size:
        raise ValueError(f"a value of {len(raw)} bytes does not fit a {size}-byte field")
    return raw.ljust(size, b"\0")


class Reader:
    """Reads fields off a body in order; reading past its end raises :class:`Malformed`."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    @property
    def remaining(self) -> int:
        """Bytes not read yet."""
        return len(self._data) - self._at

    def raw(self, size: int) -> bytes:
        """The next ``size`` bytes as they are."""
        end = self._at + size
        if size < 0 or end > len(self._data):
            raise Malformed("a field runs past the end of the PDU")
        chunk = self._data[self._at : end]
        self._at = end
        return chunk

    def peek(self, size: int) -> bytes:
        """Up to ``size`` of the next bytes, left unread."""
        return self._data[self._at : self._at + size]

    def u8(self) -> int:
        """The next octet."""
        return self.raw(1)[0]

    def u16(self) -> int:
        """The next big-endian u16."""
        value: int = _U16.unpack(self.raw(2))[0]
        return value

    def u32(self) -> int:
        """The next big-endian u32."""
        value: int = _U32.unpack(self.raw(4))[0]
        return value

    def text(self, size: int) -> str:
        """A fixed-size ASCII field without its trailing NULs; a byte above 0x7F is malformed."""
        raw = self.raw(size).rstrip(b"\0")
        if not raw.isascii():
            raise Malformed("a text field holds a byte above 0x7F")
        return raw.decode("ascii")

    def rest(self) -> bytes:
        """Everything not read yet."""
        return self.raw(self.remaining)

    def end(self) -> None:
        """Raise :class:`Malformed` unless every byte was read."""
        if self.remaining:
            raise Malformed("bytes left over after the last field")


async def read_pdu(reader: asyncio.StreamReader, *, minimum: int, maximum: int) -> bytes | None:
    """The next whole PDU (its length prefix included), or None when the peer closed the stream.

    A length below ``minimum`` or above ``maximum`` cannot be resynchronised: :class:`Malformed`.
    """
    try:
        prefix = await reader.readexactly(4)
        length: int = _U32.unpack(prefix)[0]
        if not minimum <= length <= maximum:
            raise Malformed(f"PDU length {length} outside {minimum}..{maximum}")
        return prefix + await reader.readexactly(length - 4)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
