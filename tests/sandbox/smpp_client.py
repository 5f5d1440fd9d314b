"""A minimal ESME side of SMPP 3.4 for the sandbox SMSC tests, written with ``struct`` from
docs/operator-dialects.md ("SMPP 3.4"), sharing no code with the sandbox or the carrier adapters."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "BIND_TRANSCEIVER",
    "DELIVER_SM",
    "ENQUIRE_LINK",
    "GENERIC_NACK",
    "RESP",
    "SUBMIT_SM",
    "UNBIND",
    "EsmeLink",
    "Pdu",
    "bind_transceiver",
    "cstr",
    "deliver_sm_fields",
    "pdu",
    "submit_sm",
    "tlv",
]

BIND_TRANSCEIVER: Final = 0x00000009
UNBIND: Final = 0x00000006
ENQUIRE_LINK: Final = 0x00000015
SUBMIT_SM: Final = 0x00000004
DELIVER_SM: Final = 0x00000005
GENERIC_NACK: Final = 0x80000000
RESP: Final = 0x80000000


def cstr(text: str) -> bytes:
    """A C-Octet String: ASCII and one NUL."""
    return text.encode("ascii") + b"\0"


def tlv(tag: int, value: bytes) -> bytes:
    """One optional parameter."""
    return struct.pack(">HH", tag, len(value)) + value


def pdu(command: int, sequence: int, body: bytes = b"", status: int = 0) -> bytes:
    """A PDU with the 16-byte header."""
    return struct.pack(">IIII", 16 + len(body), command, status, sequence) + body


def bind_transceiver(sequence: int, system_id: str, password: str) -> bytes:
    """A ``bind_transceiver`` with the gateway's values (TON/NPI 0, version 0x34)."""
    return pdu(
        BIND_TRANSCEIVER, sequence, cstr(system_id) + cstr(password) + cstr("") + b"\x34\x00\x00" + cstr("")
    )


def submit_sm(
    sequence: int,
    *,
    source: str = "Bank",
    source_ton: int = 5,
    source_npi: int = 0,
    destination: str = "447700900123",
    dest_ton: int = 1,
    dest_npi: int = 1,
    esm_class: int = 0,
    schedule: str = "",
    validity: str = "",
    registered_delivery: int = 1,
    data_coding: int = 8,
    content: bytes = "Hi".encode("utf-16-be"),
    tlvs: bytes = b"",
    service_type: bytes = b"\0",
) -> bytes:
    """A ``submit_sm`` in the doc's field order."""
    body = b"".join(
        (
            service_type,
            struct.pack(">BB", source_ton, source_npi),
            cstr(source),
            struct.pack(">BB", dest_ton, dest_npi),
            cstr(destination),
            struct.pack(">BBB", esm_class, 0, 0),
            cstr(schedule),
            cstr(validity),
            struct.pack(">BBBBB", registered_delivery, 0, data_coding, 0, len(content)),
            content,
            tlvs,
        )
    )
    return pdu(SUBMIT_SM, sequence, body)


def deliver_sm_fields(body: bytes) -> dict[str, Any]:
    """The fields of a ``deliver_sm`` body, TLVs by tag."""
    at = 0

    def c(size: int) -> str:
        nonlocal at
        end = body.index(b"\0", at)
        assert end - at < size
        text = body[at:end].decode("ascii")
        at = end + 1
        return text

    def u8() -> int:
        nonlocal at
        at += 1
        return body[at - 1]

    fields: dict[str, Any] = {"service_type": c(6)}
    fields["source"] = (u8(), u8(), c(21))
    fields["destination"] = (u8(), u8(), c(21))
    fields["esm_class"], fields["protocol_id"], fields["priority_flag"] = u8(), u8(), u8()
    fields["schedule"], fields["validity"] = c(17), c(17)
    fields["registered_delivery"], fields["replace"], fields["data_coding"] = u8(), u8(), u8()
    fields["sm_default_msg_id"] = u8()
    length = u8()
    fields["short_message"] = body[at : at + length]
    at += length
    tlvs: dict[int, bytes] = {}
    while at < len(body):
        tag, size = struct.unpack(">HH", body[at : at + 4])
        tlvs[tag] = body[at + 4 : at + 4 + size]
        at += 4 + size
    assert at == len(body)
    fields["tlvs"] = tlvs
    return fields


@dataclass(frozen=True)
class Pdu:
    """A PDU read from the SMSC."""

    command: int
    status: int
    sequence: int
    body: bytes


class EsmeLink:
    """A TCP connection of the ESME to the SMSC; while ``answer_pings`` it answers the SMSC's
    ``enquire_link`` itself and :meth:`read` skips them."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.answer_pings = True

    @classmethod
    async def open(cls, port: int) -> EsmeLink:
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
            while True:
                length, command, status, sequence = struct.unpack(">IIII", await self.reader.readexactly(16))
                body = await self.reader.readexactly(length - 16)
                if not (self.answer_pings and command == ENQUIRE_LINK):
                    return Pdu(command, status, sequence, body)
                await self.send(pdu(ENQUIRE_LINK | RESP, sequence))

    async def silent_for(self, seconds: float) -> bool:
        """Whether nothing but answered pings arrives (and the connection stays open) for ``seconds``."""
        try:
            got = await self.read(within=seconds)
        except TimeoutError:
            return True
        except asyncio.IncompleteReadError:
            return False
        raise AssertionError(f"the SMSC sent {got}")

    async def closed_by_peer(self, within: float = 3.0) -> bool:
        """Whether the SMSC closes the connection ``within`` seconds without sending more."""
        async with asyncio.timeout(within):
            return await self.reader.read(1) == b""

    async def close(self) -> None:
        """Close the connection."""
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()
