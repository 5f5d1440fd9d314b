"""SGIP's 12-byte sequence number: source node id, ``MMDDhhmmss`` timestamp, counter.

Every SGIP command carries one in its header and the answer echoes it; a ``REPORT`` names the
``SUBMIT`` it reports on by that ``SUBMIT``'s sequence, so the sequence is the message id that
delivery reports are correlated by (rendered as :meth:`SgipSequence.hex`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from carrier_adapters.pdu import PduError

__all__ = ["BEIJING", "SgipSequence"]

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
"""The protocol's clock: timestamps are Beijing time (UTC+8, no daylight saving)."""

_SEQUENCE = struct.Struct(">III")
_U32_MAX = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class SgipSequence:
    """``node_id`` (the command's source node), ``timestamp`` (decimal ``MMDDhhmmss``), ``counter``.

    Each part is an unsigned 32-bit integer; out-of-range parts raise :class:`ValueError`. The
    timestamp is not checked to be a date: a peer's sequence is echoed as it came.
    """

    node_id: int
    timestamp: int
    counter: int

    def __post_init__(self) -> None:
        for value in (self.node_id, self.timestamp, self.counter):
            if not 0 <= value <= _U32_MAX:
                raise ValueError(f"a sequence part {value} does not fit 32 bits")

    @classmethod
    def at(cls, node_id: int, moment: datetime, counter: int) -> SgipSequence:
        """The sequence of a command made at ``moment`` (timezone-aware, read as Beijing time)."""
        if moment.tzinfo is None:
            raise ValueError("a sequence timestamp needs a timezone-aware datetime")
        local = moment.astimezone(BEIJING)
        stamp = int(f"{local:%m%d%H%M%S}")
        return cls(node_id, stamp, counter)

    @classmethod
    def from_bytes(cls, data: bytes) -> SgipSequence:
        """Three big-endian ``uint32``; anything but 12 bytes raises :class:`PduError`."""
        if len(data) != _SEQUENCE.size:
            raise PduError(f"an SGIP sequence is 12 bytes, not {len(data)}")
        node_id, timestamp, counter = _SEQUENCE.unpack(data)
        return cls(node_id, timestamp, counter)

    @classmethod
    def from_hex(cls, text: str) -> SgipSequence:
        """The inverse of :meth:`hex` (either case); anything else raises :class:`ValueError`."""
        if len(text) != 2 * _SEQUENCE.size:
            raise ValueError("an SGIP sequence is 24 hex characters")
        return cls.from_bytes(bytes.fromhex(text))

    def to_bytes(self) -> bytes:
        """The 12 bytes on the wire."""
        return _SEQUENCE.pack(self.node_id, self.timestamp, self.counter)

    def hex(self) -> str:
        """24 uppercase hex characters of the wire bytes: the correlation key of reports."""
        return self.to_bytes().hex().upper()

    def __str__(self) -> str:
        return f"{self.node_id}-{self.timestamp:010d}-{self.counter}"
