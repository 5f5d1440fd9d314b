"""Cutting a TCP byte stream into whole length-prefixed PDUs."""

from __future__ import annotations

from carrier_adapters.pdu.fields import PduError

__all__ = ["FrameBuffer"]


class FrameBuffer:
    """Accumulates received bytes and hands back each complete PDU, header included.

    A read may hold part of a PDU or several; :meth:`feed` keeps the remainder for the next read.
    A length below ``min_length`` (the header) or above ``max_length`` raises :class:`PduError`:
    the stream cannot be resynchronised and the connection must be closed.
    """

    __slots__ = ("_buffer", "_max", "_min")

    def __init__(self, *, min_length: int, max_length: int) -> None:
        self._buffer = bytearray()
        self._min = min_length
        self._max = max_length

    def feed(self, data: bytes) -> list[bytes]:
        """Append ``data``; return the PDUs it completed, in order."""
        self._buffer += data
        frames: list[bytes] = []
        while len(self._buffer) >= 4:
            length = int.from_bytes(self._buffer[:4], "big")
            if not self._min <= length <= self._max:
                raise PduError(f"PDU length {length} outside {self._min}..{self._max}")
            if len(self._buffer) < length:
                break
            frames.append(bytes(self._buffer[:length]))
            del self._buffer[:length]
        return frames

    @property
    def pending(self) -> int:
        """Bytes received that do not yet form a whole PDU."""
        return len(self._buffer)
