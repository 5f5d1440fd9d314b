"""CMPP login digests and the ``CONNECT`` timestamp, as pure functions of their inputs.

``AuthenticatorSource = MD5(Source_Addr + 9 NUL bytes + secret + "MMDDHHMMSS")`` proves the SP
knows the shared secret; ``AuthenticatorISMG = MD5(Status + AuthenticatorSource + secret)``
proves the ISMG does. ``Status`` enters the second digest as its wire bytes: 1 byte in CMPP 2.0,
4 bytes big-endian in 3.0 (as the ``CONNECT_RESP`` carries it). Strings are hashed as their
UTF-8 bytes (ASCII in practice). The timestamp is the caller's Beijing time on a 24-hour clock.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import NamedTuple

from carrier_adapters.cmpp.version import Layout
from carrier_adapters.pdu import PduError

__all__ = [
    "ConnectTimestamp",
    "authenticator_ismg",
    "authenticator_source",
    "connect_timestamp",
    "timestamp_text",
]


class ConnectTimestamp(NamedTuple):
    """One moment as the digest hashes it (``text``) and as ``CONNECT`` carries it (``value``)."""

    text: str
    value: int


def connect_timestamp(moment: datetime) -> ConnectTimestamp:
    """``moment`` (already Beijing time) as ``MMDDHHMMSS`` and as that decimal number."""
    text = moment.strftime("%m%d%H%M%S")
    return ConnectTimestamp(text, int(text))


def timestamp_text(value: int) -> str:
    """The ``MMDDHHMMSS`` text of a received ``CONNECT`` ``Timestamp`` (zero-padded to 10 digits)."""
    if not 0 <= value <= 9_999_999_999:
        raise PduError(f"timestamp {value} has more than 10 digits")
    return f"{value:010d}"


def authenticator_source(source_addr: str, secret: str, timestamp: str) -> bytes:
    """The SP's 16-byte ``AuthenticatorSource`` for ``timestamp`` (``MMDDHHMMSS``)."""
    if len(timestamp) != 10 or not timestamp.isdigit():
        raise PduError("the CONNECT timestamp is 10 digits MMDDHHMMSS")
    material = source_addr.encode() + bytes(9) + secret.encode() + timestamp.encode()
    return hashlib.md5(material, usedforsecurity=False).digest()


def authenticator_ismg(status: int, authenticator_source: bytes, secret: str, *, version: int) -> bytes:
    """The ISMG's 16-byte ``AuthenticatorISMG``, hashing ``status`` in ``version``'s width."""
    if len(authenticator_source) != 16:
        raise PduError("AuthenticatorSource is 16 bytes")
    material = Layout.of(version).status_bytes(status) + authenticator_source + secret.encode()
    return hashlib.md5(material, usedforsecurity=False).digest()
