"""SMGP's 10-byte BCD MsgID: composing, parsing, hex identity."""

from __future__ import annotations

import pytest

from carrier_adapters.pdu import PduError
from carrier_adapters.smgp import MsgIdParts, compose_msg_id, msg_id_from_hex, msg_id_hex, parse_msg_id

PARTS = MsgIdParts(smgw_code=12345, month=3, day=1, hour=12, minute=30, sequence=42)
RAW = bytes.fromhex(
    "012345"  # SMGW code 012345 (3 BCD bytes)
    "03011230"  # MMDDHHMM 03-01 12:30 (4 BCD bytes)
    "000042"  # sequence 000042 (3 BCD bytes)
)


def test_compose_writes_bcd_digits() -> None:
    """SMGW code, MMDDHHMM and sequence become 20 BCD digits in 10 bytes."""
    assert compose_msg_id(PARTS) == RAW


def test_parse_reads_the_fields_back() -> None:
    """Parsing a composed MsgID gives its fields."""
    assert parse_msg_id(RAW) == PARTS


def test_hex_is_the_identity_and_reads_as_the_digits() -> None:
    """The hex of a BCD MsgID is its 20 decimal digits; from_hex inverts it."""
    assert msg_id_hex(RAW) == "01234503011230000042"
    assert msg_id_from_hex("01234503011230000042") == RAW
    assert msg_id_from_hex("ABCDEF0123456789abcd") == bytes.fromhex("abcdef0123456789abcd")


@pytest.mark.parametrize(
    "parts",
    [
        MsgIdParts(smgw_code=1_000_000, month=3, day=1, hour=0, minute=0, sequence=0),
        MsgIdParts(smgw_code=1, month=13, day=1, hour=0, minute=0, sequence=0),
        MsgIdParts(smgw_code=1, month=3, day=0, hour=0, minute=0, sequence=0),
        MsgIdParts(smgw_code=1, month=3, day=1, hour=24, minute=0, sequence=0),
        MsgIdParts(smgw_code=1, month=3, day=1, hour=0, minute=60, sequence=0),
        MsgIdParts(smgw_code=1, month=3, day=1, hour=0, minute=0, sequence=-1),
    ],
)
def test_compose_refuses_fields_out_of_range(parts: MsgIdParts) -> None:
    """Each field must fit its digits and its calendar range."""
    with pytest.raises(PduError):
        compose_msg_id(parts)


@pytest.mark.parametrize(
    "raw",
    [
        bytes.fromhex("0123450301123000004a"),  # a nibble above 9
        bytes.fromhex("01234513011230000042"),  # month 13
        bytes.fromhex("012345030112300000"),  # 9 bytes
    ],
)
def test_parse_refuses_non_bcd_and_out_of_range(raw: bytes) -> None:
    """Only 10 BCD bytes with a valid date and time parse."""
    with pytest.raises(PduError):
        parse_msg_id(raw)


@pytest.mark.parametrize(
    "text", ["0123450301123000004", "01 23 45 03 01 12 30 00 00 42", "0123450301123000004g"]
)
def test_from_hex_refuses_anything_but_twenty_hex_digits(text: str) -> None:
    """Short, spaced or non-hex text is not a MsgID."""
    with pytest.raises(PduError):
        msg_id_from_hex(text)


def test_hex_refuses_a_wrong_size() -> None:
    """The identity is only defined for 10 bytes."""
    with pytest.raises(PduError):
        msg_id_hex(RAW + b"\0")
