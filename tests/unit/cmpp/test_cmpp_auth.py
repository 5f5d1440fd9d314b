"""CMPP login digests and the CONNECT timestamp, checked against hashlib over hand-spelled bytes."""

from __future__ import annotations

import hashlib
from datetime import datetime

import pytest

from carrier_adapters.cmpp import (
    ConnectTimestamp,
    authenticator_ismg,
    authenticator_source,
    connect_timestamp,
    timestamp_text,
)
from carrier_adapters.pdu import PduError


def md5(data: bytes) -> bytes:
    return hashlib.md5(data, usedforsecurity=False).digest()


def test_connect_timestamp_is_month_day_and_24_hour_time() -> None:
    """2 January 15:04:05 is "0102150405" and the number 102150405 (afternoon stays 15, not 03)."""
    assert connect_timestamp(datetime(2025, 1, 2, 15, 4, 5)) == ConnectTimestamp("0102150405", 102150405)
    assert connect_timestamp(datetime(2025, 12, 31, 23, 59, 59)) == ("1231235959", 1231235959)


def test_timestamp_text_zero_pads_the_received_number() -> None:
    """An ISMG rebuilds the 10-digit text from CONNECT's uint32, keeping January's leading zero."""
    assert timestamp_text(102150405) == "0102150405"
    assert timestamp_text(1231235959) == "1231235959"


def test_authenticator_source_is_md5_of_addr_nine_nuls_secret_timestamp() -> None:
    """AuthenticatorSource = MD5("901234" + 9 x 00 + "s3cret" + "0102150405")."""
    expected = md5(
        b"901234"  # Source_Addr
        + b"\x00\x00\x00\x00\x00\x00\x00\x00\x00"  # 9 zero bytes
        + b"s3cret"  # shared secret
        + b"0102150405"  # MMDDHHMMSS
    )
    assert authenticator_source("901234", "s3cret", "0102150405") == expected


def test_authenticator_ismg_hashes_the_status_in_the_versions_width() -> None:
    """AuthenticatorISMG = MD5(Status + AuthenticatorSource + secret): 1 status byte in 2.0, 4 in 3.0."""
    source = bytes(range(16))
    assert authenticator_ismg(0, source, "s3cret", version=0x20) == md5(b"\x00" + source + b"s3cret")
    assert authenticator_ismg(0, source, "s3cret", version=0x30) == md5(
        b"\x00\x00\x00\x00" + source + b"s3cret"
    )
    assert authenticator_ismg(3, source, "s3cret", version=0x30) == md5(
        b"\x00\x00\x00\x03" + source + b"s3cret"
    )


@pytest.mark.parametrize("timestamp", ["102150405", "01021504051", "01021504O5"])
def test_authenticator_source_refuses_a_timestamp_that_is_not_ten_digits(timestamp: str) -> None:
    """A timestamp of another length or with a non-digit is refused, never hashed."""
    with pytest.raises(PduError):
        authenticator_source("901234", "s3cret", timestamp)


def test_authenticator_ismg_refuses_a_short_source_and_a_status_too_wide() -> None:
    """AuthenticatorSource must be 16 bytes; a 2.0 status must fit one byte."""
    with pytest.raises(PduError):
        authenticator_ismg(0, bytes(15), "s3cret", version=0x30)
    with pytest.raises(PduError):
        authenticator_ismg(256, bytes(16), "s3cret", version=0x20)
