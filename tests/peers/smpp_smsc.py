"""An independent SMPP 3.4 SMSC for tests: binds a transceiver, answers submit_sm, sends receipts,
MO texts, enquire_link and unbind, and records what the ESME answered.

Written with ``struct`` from docs/operator-dialects.md ("SMPP 3.4"); imports nothing from
``carrier_adapters``. Header: ``command_length``, ``command_id``, ``command_status``,
``sequence_number`` (uint32 each); C-Octet Strings end with one NUL.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import struct
from dataclasses import dataclass, field

HEADER = struct.Struct(">IIII")
GENERIC_NACK = 0x80000000
BIND_TRANSCEIVER, UNBIND, SUBMIT_SM, DELIVER_SM, ENQUIRE_LINK = 0x09, 0x06, 0x04, 0x05, 0x15
RESP = 0x80000000
ESME_RINVBNDSTS, ESME_RINVPASWD, ESME_RINVSYSID, ESME_RINVCMDID = 0x04, 0x0E, 0x0F, 0x03
ESME_RINVDSTADR, ESME_RINVMSGLEN = 0x0B, 0x01
MAX_PDU = 8192


def cstring(value: str) -> bytes:
    return value.encode("ascii") + b"\0"


class Body:
    """Reads a body field by field."""

    def __init__(self, data: bytes) -> None:
        self.data, self.offset = data, 0

    def u8(self) -> int:
        self.offset += 1
        return self.data[self.offset - 1]

    def cstring(self) -> str:
        end = self.data.index(b"\0", self.offset)
        value = self.data[self.offset : end].decode("ascii")
        self.offset = end + 1
        return value

    def raw(self, size: int) -> bytes:
        self.offset += size
        return self.data[self.offset - size : self.offset]


@dataclass(frozen=True)
class Submitted:
    """A submit_sm the SMSC accepted, with the ``message_id`` it answered."""

    message_id: str
    source_addr_ton: int
    source_addr_npi: int
    source_addr: str
    dest_addr_ton: int
    dest_addr_npi: int
    destination_addr: str
    esm_class: int
    registered_delivery: int
    data_coding: int
    short_message: bytes


def parse_submit(message_id: str, body: bytes) -> Submitted:
    reader = Body(body)
    reader.cstring()  # service_type
    source_ton, source_npi, source = reader.u8(), reader.u8(), reader.cstring()
    dest_ton, dest_npi, destination = reader.u8(), reader.u8(), reader.cstring()
    esm_class, _protocol_id, _priority = reader.u8(), reader.u8(), reader.u8()
    reader.cstring(), reader.cstring()  # schedule_delivery_time, validity_period
    registered_delivery, _replace = reader.u8(), reader.u8()
    data_coding, _default_id, length = reader.u8(), reader.u8(), reader.u8()
    short_message = reader.raw(length)
    assert reader.offset == len(body), "the gateway sends no TLV in submit_sm"
    return Submitted(
        message_id,
        source_ton,
        source_npi,
        source,
        dest_ton,
        dest_npi,
        destination,
        esm_class,
        registered_delivery,
        data_coding,
        short_message,
    )


def deliver_body(
    source: str, destination: str, esm_class: int, data_coding: int, short_message: bytes, tlvs: bytes = b""
) -> bytes:
    return (
        cstring("")
        + bytes([1, 1])
        + cstring(source)
        + bytes([5, 0])
        + cstring(destination)
        + bytes([esm_class, 0, 0])
        + cstring("")
        + cstring("")
        + bytes([0, 0, data_coding, 0, len(short_message)])
        + short_message
        + tlvs
    )


@dataclass
class SmppSmsc:
    """The SMSC side; ``statuses`` are the submit_sm answers to give in order (then its checks')."""

    system_id: str
    password: str
    statuses: list[int] = field(default_factory=list)
    submits: list[Submitted] = field(default_factory=list)
    enquire_links: int = 0
    unbinds: int = 0
    binds: int = 0
    answers: dict[int, tuple[int, int, bytes]] = field(default_factory=dict)
    port: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(0xA1B2C3D4E5F60001))
    _sequences: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _bound: list[asyncio.StreamWriter] = field(default_factory=list)
    _server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        for writer in self._bound:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def bound(self) -> int:
        """Connections bound and open now."""
        return sum(1 for writer in self._bound if not writer.is_closing())

    def send(self, command: int, body: bytes = b"") -> int:
        """A request to the latest bound ESME; returns its sequence (the answer lands in ``answers``)."""
        writer = [w for w in self._bound if not w.is_closing()][-1]
        sequence = next(self._sequences)
        writer.write(HEADER.pack(HEADER.size + len(body), command, 0, sequence) + body)
        return sequence

    def send_receipt(self, message_id: str, handset: str, stat: str, err: str = "000") -> int:
        """A delivery receipt with its text and the receipted_message_id / message_state TLVs."""
        states = {"DELIVRD": 2, "EXPIRED": 3, "UNDELIV": 5, "REJECTD": 8, "ENROUTE": 1}
        receipt = (
            f"id:{message_id} sub:001 dlvrd:{'001' if stat == 'DELIVRD' else '000'}"
            f" submit date:2401151230 done date:2401151231 stat:{stat} err:{err} text:"
        ).encode("ascii")
        receipted = cstring(message_id)
        tlvs = struct.pack(">HH", 0x001E, len(receipted)) + receipted
        tlvs += struct.pack(">HHB", 0x0427, 1, states[stat])
        return self.send(DELIVER_SM, deliver_body(handset, "Bank", 0x04, 0, receipt, tlvs))

    def send_mo(self, handset: str, message: str) -> int:
        """An MO text in UCS-2 from ``handset`` (E.164 digits)."""
        return self.send(DELIVER_SM, deliver_body(handset, "Bank", 0x00, 8, message.encode("utf-16-be")))

    async def answer(self, sequence: int, within: float = 2.0) -> tuple[int, int, bytes]:
        """``(command_id, command_status, body)`` of the ESME's answer to our request ``sequence``."""
        deadline = asyncio.get_running_loop().time() + within
        while sequence not in self.answers:
            assert asyncio.get_running_loop().time() < deadline, "no answer in time"
            await asyncio.sleep(0.005)
        return self.answers[sequence]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        bound = False
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                head = await reader.readexactly(HEADER.size)
                length, command, status, sequence = HEADER.unpack(head)
                if not HEADER.size <= length <= MAX_PDU:
                    break
                body = await reader.readexactly(length - HEADER.size)

                def respond(
                    answer: bytes, answer_status: int = 0, *, request: int = command, seq: int = sequence
                ) -> None:
                    length = HEADER.size + len(answer)
                    writer.write(HEADER.pack(length, request | RESP, answer_status, seq) + answer)

                if command & RESP:
                    self.answers[sequence] = (command, status, body)
                elif command == ENQUIRE_LINK:
                    self.enquire_links += 1
                    respond(b"")
                elif command == BIND_TRANSCEIVER:
                    self.binds += 1
                    reader_ = Body(body)
                    system_id, password = reader_.cstring(), reader_.cstring()
                    if system_id != self.system_id:
                        respond(b"", ESME_RINVSYSID)
                        break
                    if password != self.password:
                        respond(b"", ESME_RINVPASWD)
                        break
                    respond(cstring("SANDBOX") + struct.pack(">HHB", 0x0210, 1, 0x34))
                    bound = True
                    self._bound.append(writer)
                elif not bound:
                    respond(b"", ESME_RINVBNDSTS)
                elif command == SUBMIT_SM:
                    status = self._submit(body)
                    respond(b"" if status else cstring(self.submits[-1].message_id), status)
                elif command == UNBIND:
                    self.unbinds += 1
                    respond(b"")
                    break
                else:
                    writer.write(HEADER.pack(HEADER.size, GENERIC_NACK, ESME_RINVCMDID, sequence))
        writer.close()

    def _submit(self, body: bytes) -> int:
        if self.statuses:
            return self.statuses.pop(0)
        submit = parse_submit(f"{next(self._ids):016X}", body)
        destination = submit.destination_addr
        if not (7 <= len(destination) <= 15 and destination.isdigit() and destination[0] != "0"):
            return ESME_RINVDSTADR
        limit = 160 if submit.data_coding == 1 else 140
        if not 0 < len(submit.short_message) <= limit:
            return ESME_RINVMSGLEN
        self.submits.append(submit)
        return 0
