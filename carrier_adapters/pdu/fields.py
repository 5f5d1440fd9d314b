"""Big-endian field writing and reading with the protocols' string conventions.

Fixed-length strings (CMPP/SGIP/SMGP ``Octet String``, SMPP fixed fields) are padded with NUL
bytes on the right and read back without them; SMPP's ``C-Octet String`` is NUL-terminated with
a maximum size that counts the NUL. A value too long for its field is an error, never truncated.
"""

from __future__ import annotations

import struct

__all__ = ["PduError", "PduReader", "PduWriter"]

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


class PduError(ValueError):
    """A PDU or field that does not follow its protocol (length, value, encoding)."""


class PduWriter:
    """Appends fields to a PDU body; :meth:`getvalue` returns the bytes written so far."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    def u8(self, value: int) -> PduWriter:
        """An unsigned byte."""
        if not 0 <= value <= 0xFF:
            raise PduError(f"{value} does not fit one byte")
        self._buffer.append(value)
        return self

    def u16(self, value: int) -> PduWriter:
        """An unsigned big-endian 16-bit integer."""
        if not 0 <= value <= 0xFFFF:
            raise PduError(f"{value} does not fit two bytes")
        self._buffer += _U16.pack(value)
        return self

    def u32(self, value: int) -> PduWriter:
        """An unsigned big-endian 32-bit integer."""
        if not 0 <= value <= 0xFFFFFFFF:
            raise PduError(f"{value} does not fit four bytes")
        self._buffer += _U32.pack(value)
        return self

    def raw(self, data: bytes) -> PduWriter:
        """Bytes as they are (a variable-length content whose length was written before)."""
        self._buffer += data
        return self

    def fixed(self, data: bytes, size: int) -> PduWriter:
        """``data`` NUL-padded to exactly ``size`` bytes."""
        if len(data) > size:
            raise PduError(f"{len(data)} bytes do not fit a {size}-byte field")
        self._buffer += data
        self._buffer += bytes(size - len(data))
        return self

    def text(self, value: str, size: int) -> PduWriter:
        """An ASCII string NUL-padded to exactly ``size`` bytes."""
        return self.fixed(_ascii(value), size)

    def cstring(self, value: str, size: int) -> PduWriter:
        """An ASCII string and its terminating NUL; ``size`` is the maximum, NUL included."""
        data = _ascii(value)
        if len(data) + 1 > size:
            raise PduError(f"{len(data)} characters do not fit a {size}-byte C-string")
        self._buffer += data
        self._buffer.append(0)
        return self

    def getvalue(self) -> bytes:
        """The bytes written."""
        return bytes(self._buffer)

    def __len__(self) -> int:
        return len(self._buffer)


class PduReader:
    """Reads fields from a PDU body in order; reading past its end raises :class:`PduError`."""

    __slots__ = ("_data", "_offset")

    def __init__(self, data: bytes, offset: int = 0) -> None:
        self._data = data
        self._offset = offset

    def _take(self, size: int) -> bytes:
        end = self._offset + size
        if size < 0 or end > len(self._data):
            raise PduError(f"PDU ends before a {size}-byte field at offset {self._offset}")
        chunk = self._data[self._offset : end]
        self._offset = end
        return chunk

    def u8(self) -> int:
        """An unsigned byte."""
        return self._take(1)[0]

    def u16(self) -> int:
        """An unsigned big-endian 16-bit integer."""
        value: int = _U16.unpack(self._take(2))[0]
        return value

    def u32(self) -> int:
        """An unsigned big-endian 32-bit integer."""
        value: int = _U32.unpack(self._take(4))[0]
        return value

    def raw(self, size: int) -> bytes:
        """The next ``size`` bytes as they are."""
        return self._take(size)

    def fixed(self, size: int) -> bytes:
        """A ``size``-byte field without its NUL padding on the right."""
        return self._take(size).rstrip(b"\0")

    def text(self, size: int) -> str:
        """A ``size``-byte NUL-padded ASCII string."""
        return _decode_ascii(self.fixed(size))

    def cstring(self, size: int) -> str:
        """A NUL-terminated ASCII string of at most ``size`` bytes, NUL included."""
        end = self._data.find(b"\0", self._offset, self._offset + size)
        if end < 0:
            raise PduError(f"no NUL within {size} bytes at offset {self._offset}")
        value = self._take(end - self._offset)
        self._offset += 1
        return _decode_ascii(value)

    def rest(self) -> bytes:
        """Every byte not read yet."""
        return self._take(len(self._data) - self._offset)

    @property
    def remaining(self) -> int:
        """How many bytes are left."""
        return len(self._data) - self._offset

    def end(self) -> None:
        """Check that every byte was read (a longer PDU than its command allows is malformed)."""
        if self._offset != len(self._data):
            raise PduError(f"{len(self._data) - self._offset} unexpected bytes after the last field")


def _ascii(value: str) -> bytes:
    try:
        return value.encode("ascii")
    except UnicodeEncodeError:
        raise PduError("a text field holds a non-ASCII character") from None


def _decode_ascii(data: bytes) -> str:
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise PduError("a text field holds a non-ASCII byte") from None
