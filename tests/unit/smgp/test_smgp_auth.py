"""SMGP 3.0 login authenticators and TimeStamp, checked against MD5 over hand-spelled bytes."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from carrier_adapters.pdu import PduError
from carrier_adapters.smgp import BEIJING, authenticator_client, authenticator_server, login_timestamp


def test_authenticator_client_is_md5_of_id_seven_nuls_secret_and_timestamp_digits() -> None:
    """MD5(ClientID + 7 x 0x00 + secret + "MMDDHHMMSS"), the digits zero-padded on the left."""
    material = b"12345678" + b"\x00\x00\x00\x00\x00\x00\x00" + b"s3cret" + b"0301000000"
    expected = hashlib.md5(material, usedforsecurity=False).digest()
    assert authenticator_client("12345678", "s3cret", 301000000) == expected


def test_authenticator_client_uses_the_client_id_unpadded() -> None:
    """A ClientID shorter than 8 characters enters the digest as it is, not NUL-padded."""
    material = b"SP01" + bytes(7) + b"pw" + b"1231235959"
    expected = hashlib.md5(material, usedforsecurity=False).digest()
    assert authenticator_client("SP01", "pw", 1231235959) == expected


def test_authenticator_server_is_md5_of_status_client_authenticator_and_secret() -> None:
    """MD5(Status as 4 big-endian bytes + AuthenticatorClient + secret)."""
    client = bytes.fromhex("00112233445566778899aabbccddeeff")
    expected_ok = hashlib.md5(b"\x00\x00\x00\x00" + client + b"s3cret", usedforsecurity=False).digest()
    expected_21 = hashlib.md5(b"\x00\x00\x00\x15" + client + b"s3cret", usedforsecurity=False).digest()
    assert authenticator_server(0, client, "s3cret") == expected_ok
    assert authenticator_server(21, client, "s3cret") == expected_21


def test_login_timestamp_is_beijing_mmddhhmmss_as_a_number() -> None:
    """16:00 UTC on 28 February is 00:00 on 1 March in Beijing: 0301000000 = 0x11F0E540."""
    assert login_timestamp(datetime(2025, 2, 28, 16, 0, 0, tzinfo=UTC)) == 0x11F0E540
    assert login_timestamp(datetime(2025, 12, 31, 23, 59, 59, tzinfo=BEIJING)) == 1231235959


def test_login_timestamp_refuses_a_naive_datetime() -> None:
    """Without a time zone the Beijing time cannot be known."""
    with pytest.raises(ValueError, match="aware"):
        login_timestamp(datetime(2025, 3, 1))


@pytest.mark.parametrize(("client_id", "timestamp"), [("客户", 1), ("12345678", -1), ("12345678", 10**10)])
def test_authenticator_client_refuses_non_ascii_ids_and_bad_timestamps(
    client_id: str, timestamp: int
) -> None:
    """A ClientID must be ASCII and the TimeStamp fit 10 digits."""
    with pytest.raises(PduError):
        authenticator_client(client_id, "pw", timestamp)
