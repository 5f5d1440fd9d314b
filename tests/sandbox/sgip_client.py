"""A minimal SP side of SGIP 1.2 for the sandbox SMG tests, written with ``struct`` from
docs/operator-dialects.md ("China Unicom: SGIP 1.2"), sharing no code with the sandbox or the carrier
adapters: PDUs, a connection to the SMG, and the SP's listener the SMG dials."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "BIND",
    "DELIVER",
    "REPORT",
    "RESP",
    "SUBMIT",
    "UNBIND",
    "Listener",
    "Pdu",
    "SgipLink",
    "bind",
    "deliver_fields",
    "pdu",
    "report_fields",
    "resp",
    "sgip_submit",
]

BIND: Final = 0x00000001
UNBIND: Final = 0x00000002
SUBMIT: Final = 0x00000003
DELIVER: Final = 0x00000004
REPORT: Final = 0x00000005
RESP: Final = 0x80000000
SP_NODE: Final = 3010012345
STAMP: Final = 1120203225


def _pad(text: str | bytes, size: int) -> bytes:
    raw = text.encode("ascii") if isinstance(text, str) else text
    assert len(raw) <= size
    return raw.ljust(size, b"\0")


def _text(raw: bytes) -> str:
    return raw.rstrip(b"\0").decode("ascii")


def seq(counter: int) -> bytes:
    """The SP's 12-byte sequence with ``counter``."""
    return struct.pack(">III", SP_NODE, STAMP, counter)


def pdu(command: int, sequence: bytes, body: bytes) -> bytes:
    """A PDU: ``Message_Length``, ``Command_ID``, the 12-byte sequence, ``body``."""
    assert len(sequence) == 12
    return struct.pack(">II", 20 + len(body), command) + sequence + body


def resp(command: int, sequence: bytes, result: int = 0) -> bytes:
    """The 29-byte answer to ``command``."""
    return pdu(command | RESP, sequence, bytes((result,)) + bytes(8))


def bind(sequence: bytes, name: str, password: str, login_type: int = 1) -> bytes:
    """A ``BIND``."""
    return pdu(BIND, sequence, bytes((login_type,)) + _pad(name, 16) + _pad(password, 16) + bytes(8))


def sgip_submit(
    sequence: bytes,
    *,
    sp_number: str,
    corp_id: str,
    users: tuple[str, ...],
    content: bytes,
    charge: str = "0" * 21,
    service_type: str = "MBANK",
    report_flag: int = 1,
    udhi: int = 0,
    coding: int = 8,
) -> bytes:
    """A ``SUBMIT`` in the doc's field order."""
    body = b"".join(
        (
            _pad(sp_number, 21),
            _pad(charge, 21),
            bytes((len(users),)),
            b"".join(_pad(user, 21) for user in users),
            _pad(corp_id, 5),
            _pad(service_type, 10),
            b"\x01",
            _pad("0", 6),
            _pad("0", 6),
            b"\x00\x02\x00",
            bytes(16),
            bytes(16),
            bytes((report_flag, 0, udhi, coding, 0)),
            struct.pack(">I", len(content)),
            content,
            bytes(8),
        )
    )
    return pdu(SUBMIT, sequence, body)


@dataclass(frozen=True)
class Pdu:
    """A PDU read: its command, 12-byte sequence and body."""

    command: int
    sequence: bytes
    body: bytes

    @property
    def result(self) -> int:
        """The ``Result`` of a 29-byte response."""
        assert len(self.body) == 9, self
        return self.body[0]


def report_fields(body: bytes) -> dict[str, Any]:
    """The fields of a ``REPORT`` body (44 bytes)."""
    assert len(body) == 44
    return {
        "submit_sequence": body[:12],
        "report_type": body[12],
        "user_number": _text(body[13:34]),
        "state": body[34],
        "error_code": body[35],
        "reserve": body[36:],
    }


def deliver_fields(body: bytes) -> dict[str, Any]:
    """The fields of an MO ``DELIVER`` body."""
    (length,) = struct.unpack(">I", body[45:49])
    assert len(body) == 57 + length
    return {
        "user_number": _text(body[:21]),
        "sp_number": _text(body[21:42]),
        "tp_pid": body[42],
        "tp_udhi": body[43],
        "coding": body[44],
        "content": body[49 : 49 + length],
    }


class SgipLink:
    """One TCP connection speaking SGIP (the SP's to the SMG, or the SMG's to the listener)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> SgipLink:
        """Connect to the loopback ``port``."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, *raw: bytes) -> None:
        """Write ``raw`` PDUs in one go."""
        self.writer.write(b"".join(raw))
        await self.writer.drain()

    async def read(self, within: float = 3.0) -> Pdu:
        """The next PDU; TimeoutError when none comes ``within`` seconds."""
        async with asyncio.timeout(within):
            length, command = struct.unpack(">II", await self.reader.readexactly(8))
            sequence = await self.reader.readexactly(12)
            return Pdu(command, sequence, await self.reader.readexactly(length - 20))

    async def silent_for(self, seconds: float) -> bool:
        """Whether nothing arrives (and the connection stays open) for ``seconds``."""
        try:
            async with asyncio.timeout(seconds):
                data = await self.reader.read(1)
        except TimeoutError:
            return True
        assert data == b"", "the peer sent something"
        return False

    async def closed_by_peer(self, within: float = 3.0) -> bool:
        """Whether the peer closes the connection ``within`` seconds without sending more."""
        async with asyncio.timeout(within):
            return await self.reader.read(1) == b""

    async def close(self) -> None:
        """Close the connection."""
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


class Listener:
    """The SP's listener: every connection the SMG opens is queued as an :class:`SgipLink`."""

    def __init__(self) -> None:
        self.accepted: asyncio.Queue[SgipLink] = asyncio.Queue()
        self.links: list[SgipLink] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        """Listen on a free loopback port."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = SgipLink(reader, writer)
        self.links.append(link)
        await self.accepted.put(link)

    async def next_link(self, within: float = 3.0) -> SgipLink:
        """The next connection the SMG opened."""
        async with asyncio.timeout(within):
            return await self.accepted.get()

    async def bound(self, name: str, password: str, within: float = 3.0) -> SgipLink:
        """The next connection, after checking its ``BIND`` (Login_Type 2, the account) and answering 0."""
        link = await self.next_link(within)
        request = await link.read()
        assert request.command == BIND
        assert request.body == bytes((2,)) + _pad(name, 16) + _pad(password, 16) + bytes(8)
        await link.send(resp(BIND, request.sequence))
        return link

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        for link in self.links:
            await link.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
