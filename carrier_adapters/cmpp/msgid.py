"""CMPP's 8-byte ``Msg_Id``: the ISMG's identity of one submitted SMS part.

Bits 64-39 hold the ISMG's time (month 4 bits, day 5, hour 5, minute 6, second 6), bits 38-17
the ISMG code (22 bits), bits 16-1 a sequence number. The raw bytes are the identity: reports
name a submission by them, so they are compared and stored as they arrived (as 16 uppercase hex
characters), never re-composed from the parsed parts or read as a signed number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from carrier_adapters.pdu import PduError

__all__ = ["MsgId"]

_GATEWAY_BITS = 22
_SEQUENCE_BITS = 16


@dataclass(frozen=True, slots=True)
class MsgId:
    """One ``Msg_Id``; construct from its 8 raw bytes, its hex, or its parts."""

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != 8:
            raise PduError(f"a Msg_Id is 8 bytes, not {len(self.raw)}")

    @classmethod
    def compose(cls, moment: datetime, *, gateway: int, sequence: int) -> MsgId:
        """The id an ISMG with code ``gateway`` gives its ``sequence``-th SMS at ``moment`` (its clock)."""
        if not 0 <= gateway < 1 << _GATEWAY_BITS:
            raise PduError(f"ISMG code {gateway} does not fit {_GATEWAY_BITS} bits")
        if not 0 <= sequence < 1 << _SEQUENCE_BITS:
            raise PduError(f"sequence {sequence} does not fit {_SEQUENCE_BITS} bits")
        value = moment.month
        for part, bits in ((moment.day, 5), (moment.hour, 5), (moment.minute, 6), (moment.second, 6)):
            value = value << bits | part
        value = (value << _GATEWAY_BITS | gateway) << _SEQUENCE_BITS | sequence
        return cls(value.to_bytes(8, "big"))

    @classmethod
    def from_hex(cls, text: str) -> MsgId:
        """The id stored as :meth:`hex` (either case)."""
        if len(text) != 16:
            raise PduError("a Msg_Id in hex is 16 characters")
        try:
            return cls(bytes.fromhex(text))
        except ValueError:
            raise PduError("a Msg_Id in hex holds a non-hex character") from None

    def hex(self) -> str:
        """The storage form: 16 uppercase hex characters."""
        return self.raw.hex().upper()

    @property
    def _value(self) -> int:
        return int.from_bytes(self.raw, "big")

    @property
    def month(self) -> int:
        """Bits 64-61 (not validated: a foreign ISMG's id is kept whatever it holds)."""
        return self._value >> 60

    @property
    def day(self) -> int:
        """Bits 60-56."""
        return self._value >> 55 & 0x1F

    @property
    def hour(self) -> int:
        """Bits 55-51."""
        return self._value >> 50 & 0x1F

    @property
    def minute(self) -> int:
        """Bits 50-45."""
        return self._value >> 44 & 0x3F

    @property
    def second(self) -> int:
        """Bits 44-39."""
        return self._value >> 38 & 0x3F

    @property
    def gateway(self) -> int:
        """Bits 38-17: the ISMG code."""
        return self._value >> _SEQUENCE_BITS & ((1 << _GATEWAY_BITS) - 1)

    @property
    def sequence(self) -> int:
        """Bits 16-1."""
        return self._value & 0xFFFF
