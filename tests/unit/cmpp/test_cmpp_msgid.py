"""The 8-byte Msg_Id: its bit layout, its hex storage form, raw bytes as identity."""

from __future__ import annotations

from datetime import datetime

import pytest

from carrier_adapters.cmpp import MsgId
from carrier_adapters.pdu import PduError

BITS = (
    "0001"  # month 1 (bits 64-61)
    "00010"  # day 2 (60-56)
    "01111"  # hour 15 (55-51)
    "000100"  # minute 4 (50-45)
    "000101"  # second 5 (44-39)
    "0000101010010111110011"  # ISMG code 0x2A5F3 (38-17)
    "1011111011101111"  # sequence 0xBEEF (16-1)
)


def test_compose_places_time_gateway_and_sequence_bits() -> None:
    """2 Jan 15:04:05, ISMG 0x2A5F3, sequence 0xBEEF compose to the hand-laid 64 bits."""
    msg_id = MsgId.compose(datetime(2025, 1, 2, 15, 4, 5), gateway=0x2A5F3, sequence=0xBEEF)
    assert msg_id.raw == int(BITS, 2).to_bytes(8, "big")
    assert msg_id.raw == bytes.fromhex("113c4142a5f3beef")


def test_parse_reads_every_part_back() -> None:
    """The parts of a received id are read from its bits."""
    msg_id = MsgId(bytes.fromhex("113c4142a5f3beef"))
    parts = (msg_id.month, msg_id.day, msg_id.hour, msg_id.minute, msg_id.second)
    assert parts == (1, 2, 15, 4, 5)
    assert (msg_id.gateway, msg_id.sequence) == (0x2A5F3, 0xBEEF)


def test_extreme_values_occupy_their_fields_without_overlap() -> None:
    """All-ones parts fill exactly their bit ranges (Dec 31 23:59:59, code 2^22-1, seq 65535)."""
    msg_id = MsgId.compose(datetime(2025, 12, 31, 23, 59, 59), gateway=(1 << 22) - 1, sequence=0xFFFF)
    assert msg_id.raw == int("11001111110111111011111011" + "1" * 22 + "1" * 16, 2).to_bytes(8, "big")
    assert (msg_id.month, msg_id.day, msg_id.hour, msg_id.minute, msg_id.second) == (12, 31, 23, 59, 59)


def test_hex_is_the_storage_form_and_round_trips() -> None:
    """Stored as 16 uppercase hex characters; read back in either case to the same raw bytes."""
    msg_id = MsgId(bytes.fromhex("f13c4142a5f3beef"))
    assert msg_id.hex() == "F13C4142A5F3BEEF"
    assert MsgId.from_hex("f13c4142a5f3beef") == msg_id
    assert MsgId.from_hex(msg_id.hex()).raw == msg_id.raw


def test_a_foreign_id_with_impossible_parts_is_kept_as_received() -> None:
    """An id whose month bits read 15 is still an identity: parsing does not validate or rewrite it."""
    msg_id = MsgId(b"\xff" * 8)
    assert msg_id.month == 15
    assert msg_id.hex() == "FFFFFFFFFFFFFFFF"


@pytest.mark.parametrize("raw", [b"", bytes(7), bytes(9)])
def test_raw_must_be_eight_bytes(raw: bytes) -> None:
    """A Msg_Id of another size is refused."""
    with pytest.raises(PduError):
        MsgId(raw)


@pytest.mark.parametrize("text", ["113c4142a5f3bee", "113c4142a5f3beefa", "113c4142a5f3beeg"])
def test_from_hex_refuses_other_lengths_and_non_hex(text: str) -> None:
    """Only 16 hex characters name a Msg_Id."""
    with pytest.raises(PduError):
        MsgId.from_hex(text)


@pytest.mark.parametrize(("gateway", "sequence"), [(1 << 22, 0), (-1, 0), (0, 1 << 16), (0, -1)])
def test_compose_refuses_parts_wider_than_their_field(gateway: int, sequence: int) -> None:
    """A gateway code over 22 bits or a sequence over 16 bits cannot be composed."""
    with pytest.raises(PduError):
        MsgId.compose(datetime(2025, 1, 2), gateway=gateway, sequence=sequence)
