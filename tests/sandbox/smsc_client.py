"""A minimal SP side of CMPP 2.0/3.0 and SMGP 3.0 for the sandbox gateway tests, written with
``struct`` from docs/operator-dialects.md ("SMS over the operators' binary protocols") and sharing
no code with the sandbox or the carrier adapters."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import struct
from dataclasses import dataclass
from typing import Any, ClassVar, Final

__all__ = [
    "NO_FAULTS",
    "Pdu",
    "SpLink",
    "cmpp_connect",
    "cmpp_deliver",
    "cmpp_deliver_resp",
    "cmpp_submit",
    "smgp_deliver",
    "smgp_deliver_resp",
    "smgp_login",
    "smgp_submit",
]

NO_FAULTS: Final[dict[str, Any]] = {
    "latencyMs": 0,
    "errorRate": 0.0,
    "down": False,
    "deliveryReport": "DELIVRD",
    "refuseLogin": False,
    "silent": False,
    "silentHeartbeats": False,
    "dropWindow": 0,
    "answerDelayMs": 0,
    "flowControlRate": 0.0,
    "submitsPerSecond": 0,
    "reportDelayMs": 0,
    "duplicateReports": False,
    "reorderReports": False,
    "maapDown": False,
    "maapDelivery": "delivered",
}
"""The faults view of an operator without faults."""

TIMESTAMP: Final = 102150405
"""``MMDDHHMMSS`` 0102150405 as the u32 both logins carry."""


def _md5(data: bytes) -> bytes:
    return hashlib.md5(data, usedforsecurity=False).digest()


def _pad(text: str | bytes, size: int) -> bytes:
    raw = text.encode("ascii") if isinstance(text, str) else text
    assert len(raw) <= size
    return raw.ljust(size, b"\0")


def _text(raw: bytes) -> str:
    return raw.rstrip(b"\0").decode("ascii")


@dataclass(frozen=True)
class Pdu:
    """A PDU read from the gateway: 12-byte header fields and the body."""

    command: int
    sequence: int
    body: bytes


def pdu(command: int, sequence: int, body: bytes) -> bytes:
    """A PDU with the 12-byte header both protocols share (length, command, sequence)."""
    return struct.pack(">III", 12 + len(body), command, sequence) + body


class SpLink:
    """A TCP connection of the SP to a sandbox gateway; :meth:`close_all` closes every one opened."""

    opened: ClassVar[list[SpLink]] = []

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.stash: list[Pdu] = []

    @classmethod
    async def open(cls, port: int) -> SpLink:
        """Connect to the gateway on ``port`` of the loopback address."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        link = cls(reader, writer)
        cls.opened.append(link)
        return link

    @classmethod
    async def close_all(cls) -> None:
        """Close every link opened so far."""
        links, cls.opened[:] = list(cls.opened), []
        for link in links:
            await link.close()

    async def send(self, *raw: bytes) -> None:
        """Write ``raw`` PDUs (any bytes) in one go."""
        self.writer.write(b"".join(raw))
        await self.writer.drain()

    async def read(self, within: float = 3.0) -> Pdu:
        """The next PDU (those set aside by :meth:`read_command` first); TimeoutError when none
        comes ``within`` seconds."""
        if self.stash:
            return self.stash.pop(0)
        async with asyncio.timeout(within):
            length, command, sequence = struct.unpack(">III", await self.reader.readexactly(12))
            return Pdu(command, sequence, await self.reader.readexactly(length - 12))

    async def read_command(self, command: int, within: float = 3.0) -> Pdu:
        """The next PDU with ``command``; the others read meanwhile are set aside for :meth:`read`."""
        async with asyncio.timeout(within):
            while True:
                length, got, sequence = struct.unpack(">III", await self.reader.readexactly(12))
                pdu = Pdu(got, sequence, await self.reader.readexactly(length - 12))
                if got == command:
                    return pdu
                self.stash.append(pdu)

    async def silent_for(self, seconds: float) -> bool:
        """Whether nothing arrives (and the connection stays open) for ``seconds``."""
        assert not self.stash, "PDUs set aside were not read"
        try:
            async with asyncio.timeout(seconds):
                data = await self.reader.read(1)
        except TimeoutError:
            return True
        assert data == b"", "the gateway sent something"
        return False

    async def closed_by_peer(self, within: float = 3.0) -> bool:
        """Whether the gateway closes the connection ``within`` seconds without sending more."""
        async with asyncio.timeout(within):
            return await self.reader.read(1) == b""

    async def close(self) -> None:
        """Close the connection."""
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


# CMPP (China Mobile)

CMPP_CONNECT: Final = 0x00000001
CMPP_TERMINATE: Final = 0x00000002
CMPP_SUBMIT: Final = 0x00000004
CMPP_DELIVER: Final = 0x00000005
CMPP_ACTIVE_TEST: Final = 0x00000008
RESP: Final = 0x80000000


def cmpp_authenticator(sp_id: str, secret: str, timestamp: int = TIMESTAMP) -> bytes:
    """``AuthenticatorSource``."""
    return _md5(sp_id.encode() + bytes(9) + secret.encode() + f"{timestamp:010d}".encode())


def cmpp_connect(
    sequence: int, sp_id: str, secret: str, *, version: int = 0x30, timestamp: int = TIMESTAMP
) -> bytes:
    """A ``CONNECT``."""
    body = (
        _pad(sp_id, 6) + cmpp_authenticator(sp_id, secret, timestamp) + struct.pack(">BI", version, timestamp)
    )
    return pdu(CMPP_CONNECT, sequence, body)


def cmpp_submit(
    sequence: int,
    *,
    sp_id: str,
    src_id: str,
    destinations: tuple[str, ...],
    content: bytes,
    version: int = 0x30,
    fmt: int = 8,
    udhi: int = 0,
    pk: tuple[int, int] = (1, 1),
    registered_delivery: int = 1,
    service_id: str = "MBANK",
) -> bytes:
    """A ``SUBMIT`` with the doc's field order for ``version``."""
    term = 21 if version == 0x20 else 32
    v3 = version == 0x30
    body = b"".join(
        (
            bytes(8),
            struct.pack(">BBBB", pk[0], pk[1], registered_delivery, 0),
            _pad(service_id, 10),
            b"\x02",
            bytes(term),
            b"\x00" if v3 else b"",
            struct.pack(">BBB", 0, udhi, fmt),
            _pad(sp_id, 6),
            _pad("01", 2),
            _pad("0", 6),
            bytes(17),
            bytes(17),
            _pad(src_id, 21),
            struct.pack(">B", len(destinations)),
            b"".join(_pad(number, term) for number in destinations),
            b"\x00" if v3 else b"",
            struct.pack(">B", len(content)),
            content,
            bytes(20 if v3 else 8),
        )
    )
    return pdu(CMPP_SUBMIT, sequence, body)


def cmpp_result(body: bytes, version: int = 0x30) -> tuple[bytes, int]:
    """``(Msg_Id, Result)`` of a ``SUBMIT_RESP``."""
    if version == 0x20:
        assert len(body) == 9
        return body[:8], body[8]
    assert len(body) == 12
    return body[:8], struct.unpack(">I", body[8:])[0]


def cmpp_deliver(body: bytes, version: int = 0x30) -> dict[str, Any]:
    """The fields of a ``DELIVER`` body (and of its status report when it is one)."""
    term = 21 if version == 0x20 else 32
    at = 0

    def take(size: int) -> bytes:
        nonlocal at
        chunk = body[at : at + size]
        assert len(chunk) == size, "DELIVER too short"
        at += size
        return chunk

    fields: dict[str, Any] = {
        "msg_id": take(8),
        "dest_id": _text(take(21)),
        "service_id": _text(take(10)),
        "tp_pid": take(1)[0],
        "tp_udhi": take(1)[0],
        "msg_fmt": take(1)[0],
        "src_terminal_id": _text(take(term)),
    }
    if version == 0x30:
        fields["src_terminal_type"] = take(1)[0]
    fields["registered_delivery"] = take(1)[0]
    content = take(take(1)[0])
    fields["content"] = content
    take(20 if version == 0x30 else 8)
    assert at == len(body), "bytes left after the DELIVER"
    if fields["registered_delivery"] == 1:
        assert len(content) == 8 + 7 + 10 + 10 + term + 4
        fields["report"] = {
            "msg_id": content[:8],
            "stat": _text(content[8:15]),
            "submit_time": _text(content[15:25]),
            "done_time": _text(content[25:35]),
            "dest_terminal_id": _text(content[35 : 35 + term]),
            "smsc_sequence": struct.unpack(">I", content[35 + term :])[0],
        }
    return fields


def cmpp_deliver_resp(sequence: int, msg_id: bytes, result: int = 0, version: int = 0x30) -> bytes:
    """A ``DELIVER_RESP``."""
    status = struct.pack(">B", result) if version == 0x20 else struct.pack(">I", result)
    return pdu(CMPP_DELIVER | RESP, sequence, msg_id + status)


# SMGP (China Telecom)

SMGP_LOGIN: Final = 0x00000001
SMGP_SUBMIT: Final = 0x00000002
SMGP_DELIVER: Final = 0x00000003
SMGP_ACTIVE_TEST: Final = 0x00000004
SMGP_EXIT: Final = 0x00000006


def smgp_authenticator(client_id: str, secret: str, timestamp: int = TIMESTAMP) -> bytes:
    """``AuthenticatorClient``."""
    return _md5(client_id.encode() + bytes(7) + secret.encode() + f"{timestamp:010d}".encode())


def smgp_login(
    sequence: int,
    client_id: str,
    secret: str,
    *,
    mode: int = 2,
    version: int = 0x30,
    timestamp: int = TIMESTAMP,
) -> bytes:
    """A ``LOGIN``."""
    auth = smgp_authenticator(client_id, secret, timestamp)
    return pdu(
        SMGP_LOGIN, sequence, _pad(client_id, 8) + auth + struct.pack(">BIB", mode, timestamp, version)
    )


def smgp_submit(
    sequence: int,
    *,
    src: str,
    destinations: tuple[str, ...],
    content: bytes,
    fmt: int = 8,
    need_report: int = 1,
    msg_type: int = 6,
    priority: int = 0,
    tlvs: bytes = b"",
) -> bytes:
    """A ``SUBMIT`` in the doc's field order."""
    body = b"".join(
        (
            struct.pack(">BBB", msg_type, need_report, priority),
            _pad("MBANK", 10),
            _pad("00", 2),
            _pad("0", 6),
            _pad("0", 6),
            struct.pack(">B", fmt),
            bytes(17),
            bytes(17),
            _pad(src, 21),
            bytes(21),
            struct.pack(">B", len(destinations)),
            b"".join(_pad(number, 21) for number in destinations),
            struct.pack(">B", len(content)),
            content,
            bytes(8),
            tlvs,
        )
    )
    return pdu(SMGP_SUBMIT, sequence, body)


def tlv(tag: int, value: bytes) -> bytes:
    """One SMGP optional parameter."""
    return struct.pack(">HH", tag, len(value)) + value


def smgp_deliver(body: bytes) -> dict[str, Any]:
    """The fields of a ``DELIVER`` body."""
    fields: dict[str, Any] = {
        "msg_id": body[:10],
        "is_report": body[10],
        "msg_format": body[11],
        "recv_time": _text(body[12:26]),
        "src_term_id": _text(body[26:47]),
        "dest_term_id": _text(body[47:68]),
    }
    length = body[68]
    fields["content"] = body[69 : 69 + length]
    assert body[69 + length : 77 + length] == bytes(8)
    tlvs: dict[int, bytes] = {}
    at = 77 + length
    while at < len(body):
        tag, size = struct.unpack(">HH", body[at : at + 4])
        tlvs[tag] = body[at + 4 : at + 4 + size]
        at += 4 + size
    assert at == len(body)
    fields["tlvs"] = tlvs
    return fields


def smgp_deliver_resp(sequence: int, msg_id: bytes, status: int = 0) -> bytes:
    """A ``DELIVER_RESP``."""
    return pdu(SMGP_DELIVER | RESP, sequence, msg_id + struct.pack(">I", status))
