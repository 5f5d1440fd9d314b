"""SgipSequence: its wire bytes, its 24-hex correlation key and its Beijing-time timestamp."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from carrier_adapters.pdu import PduError
from carrier_adapters.sgip import SgipSequence


def test_wire_bytes_are_three_big_endian_uint32() -> None:
    """The sequence is node id, MMDDhhmmss and counter as three network-order integers."""
    sequence = SgipSequence(3010012345, 1120203225, 7)
    assert sequence.to_bytes() == bytes.fromhex("B36924B942C4F1D900000007")
    assert SgipSequence.from_bytes(bytes.fromhex("B36924B942C4F1D900000007")) == sequence


def test_hex_is_24_uppercase_characters_and_round_trips() -> None:
    """The correlation key is the 12 wire bytes in uppercase hex; either case parses back."""
    sequence = SgipSequence(101001, 1207093000, 42)
    assert sequence.hex() == "00018A8947F2C7080000002A"
    assert SgipSequence.from_hex("00018a8947f2c7080000002a") == sequence


def test_at_reads_an_aware_datetime_in_beijing_time() -> None:
    """A UTC instant becomes the Beijing wall time MMDDhhmmss (UTC+8), as a decimal integer."""
    moment = datetime(2025, 11, 20, 12, 32, 25, tzinfo=UTC)
    assert SgipSequence.at(3010012345, moment, 9) == SgipSequence(3010012345, 1120203225, 9)


def test_at_keeps_leading_zero_months_as_a_smaller_number() -> None:
    """January 2nd 03:04:05 in Beijing is 0102030405, the integer 102030405."""
    beijing = timezone(timedelta(hours=8))
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=beijing)
    sequence = SgipSequence.at(1, moment, 0)
    assert sequence.timestamp == 102030405
    assert str(sequence) == "1-0102030405-0"


def test_at_refuses_a_naive_datetime() -> None:
    """A datetime without a timezone is ambiguous and refused."""
    with pytest.raises(ValueError, match="timezone-aware"):
        SgipSequence.at(1, datetime(2026, 1, 2, 3, 4, 5), 0)


@pytest.mark.parametrize("parts", [(-1, 0, 0), (0, 2**32, 0), (0, 0, 2**32)])
def test_parts_outside_32_bits_are_refused(parts: tuple[int, int, int]) -> None:
    """Each part is an unsigned 32-bit integer."""
    with pytest.raises(ValueError, match="32 bits"):
        SgipSequence(*parts)


@pytest.mark.parametrize("size", [0, 11, 13])
def test_from_bytes_needs_exactly_12_bytes(size: int) -> None:
    """Anything but 12 bytes is a PduError."""
    with pytest.raises(PduError):
        SgipSequence.from_bytes(bytes(size))


@pytest.mark.parametrize("text", ["", "00018A8947F2C7080000002", "00018A8947F2C7080000002G"])
def test_from_hex_refuses_what_hex_does_not_produce(text: str) -> None:
    """A key of the wrong length or with a non-hex character is a ValueError."""
    with pytest.raises(ValueError):
        SgipSequence.from_hex(text)
