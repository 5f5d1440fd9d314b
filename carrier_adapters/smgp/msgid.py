"""SMGP's 10-byte ``MsgID``: 20 BCD digits, the lowercase hex of the bytes is its identity.

Digits: the SMGW code (6 digits, 3 bytes), the gateway's Beijing time ``MMDDHHMM`` (8 digits,
4 bytes), a sequence number (6 digits, 3 bytes). ``0x12 0x34 0x56`` reads ``123456``.
"""

from __future__ import annotations

from dataclasses import dataclass

from carrier_adapters.pdu import PduError

__all__ = ["MSG_ID_LENGTH", "MsgIdParts", "compose_msg_id", "msg_id_from_hex", "msg_id_hex", "parse_msg_id"]

MSG_ID_LENGTH = 10
_HEX = frozenset("0123456789abcdefABCDEF")


@dataclass(frozen=True, slots=True)
class MsgIdParts:
    """The fields of a ``MsgID``."""

    smgw_code: int
    month: int
    day: int
    hour: int
    minute: int
    sequence: int


_RANGES = (
    ("smgw_code", 0, 999_999),
    ("month", 1, 12),
    ("day", 1, 31),
    ("hour", 0, 23),
    ("minute", 0, 59),
    ("sequence", 0, 999_999),
)


def compose_msg_id(parts: MsgIdParts) -> bytes:
    """The 10 BCD bytes of ``parts``; a field out of its range raises :class:`PduError`."""
    for name, low, high in _RANGES:
        if not low <= getattr(parts, name) <= high:
            raise PduError(f"MsgID {name} outside {low}..{high}")
    digits = (
        f"{parts.smgw_code:06d}{parts.month:02d}{parts.day:02d}"
        f"{parts.hour:02d}{parts.minute:02d}{parts.sequence:06d}"
    )
    return bytes.fromhex(digits)


def parse_msg_id(raw: bytes) -> MsgIdParts:
    """The fields of a ``MsgID``; anything but 10 BCD bytes in range raises :class:`PduError`."""
    digits = raw.hex()
    if len(raw) != MSG_ID_LENGTH or not digits.isdigit():
        raise PduError("a MsgID is 10 BCD bytes")
    parts = MsgIdParts(
        smgw_code=int(digits[0:6]),
        month=int(digits[6:8]),
        day=int(digits[8:10]),
        hour=int(digits[10:12]),
        minute=int(digits[12:14]),
        sequence=int(digits[14:20]),
    )
    compose_msg_id(parts)
    return parts


def msg_id_hex(raw: bytes) -> str:
    """The identity of a ``MsgID``: 20 lowercase hex characters (the digits when it is BCD)."""
    if len(raw) != MSG_ID_LENGTH:
        raise PduError("a MsgID is 10 bytes")
    return raw.hex()


def msg_id_from_hex(text: str) -> bytes:
    """The 10 bytes of a ``MsgID`` written as 20 hex characters."""
    if len(text) != 2 * MSG_ID_LENGTH or not all(c in _HEX for c in text):
        raise PduError("a MsgID is 20 hex characters")
    return bytes.fromhex(text)
