"""SMGP 3.0 login authenticators, pure functions of their inputs (the caller supplies the time).

``AuthenticatorClient = MD5(ClientID + 7 NUL bytes + secret + TimeStamp as 10 ASCII digits)``,
where ``ClientID`` is the ASCII id as configured (not padded to 8) and the digits are the LOGIN
``TimeStamp`` field (``MMDDHHMMSS``, Beijing time) zero-padded on the left: 1 March 00:00:00 is
``0301000000``. ``AuthenticatorServer = MD5(Status as 4 big-endian bytes + AuthenticatorClient +
secret)``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from carrier_adapters.pdu import PduError

__all__ = ["BEIJING", "authenticator_client", "authenticator_server", "login_timestamp"]

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


def login_timestamp(moment: datetime) -> int:
    """The LOGIN ``TimeStamp`` of an aware ``moment``: ``MMDDHHMMSS`` in Beijing time as a number."""
    if moment.tzinfo is None:
        raise ValueError("login_timestamp needs an aware datetime")
    local = moment.astimezone(BEIJING)
    return int(local.strftime("%m%d%H%M%S"))


def authenticator_client(client_id: str, secret: str, timestamp: int) -> bytes:
    """The 16-byte ``AuthenticatorClient`` for ``client_id`` logging in at ``timestamp``."""
    if not 0 <= timestamp <= 9_999_999_999 or not client_id.isascii():
        raise PduError("a LOGIN needs an ASCII ClientID and a 10-digit TimeStamp")
    material = client_id.encode("ascii") + bytes(7) + secret.encode() + f"{timestamp:010d}".encode()
    return hashlib.md5(material, usedforsecurity=False).digest()


def authenticator_server(status: int, authenticator_client: bytes, secret: str) -> bytes:
    """The 16-byte ``AuthenticatorServer`` a gateway answers to a LOGIN with ``status``."""
    material = status.to_bytes(4, "big") + authenticator_client + secret.encode()
    return hashlib.md5(material, usedforsecurity=False).digest()
