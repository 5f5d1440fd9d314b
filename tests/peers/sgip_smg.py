"""An independent SGIP 1.2 SMG for tests: it serves the SP's BIND, SUBMIT and UNBIND, and dials
the SP's listener to send REPORT and DELIVER.

Written with ``struct`` from docs/operator-dialects.md ("China Unicom: SGIP 1.2"); imports nothing
from ``carrier_adapters``. Header: ``Message_Length`` uint32, ``Command_ID`` uint32, 12-byte
sequence (node id, ``MMDDhhmmss``, counter); Text fields NUL-padded on the right.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import struct
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

HEADER = struct.Struct(">II12s")
BIND, UNBIND, SUBMIT, DELIVER, REPORT = 1, 2, 3, 4, 5
RESP = 0x80000000
NODE_ID = 101001
MAX_PDU = 2048
_BEIJING = timezone(timedelta(hours=8))
_RESULT = struct.Struct(">B8s")


def text(value: str, size: int) -> bytes:
    """A Text field: ASCII, NUL-padded on the right to ``size``."""
    data = value.encode("ascii")
    assert len(data) <= size
    return data + bytes(size - len(data))


def read_text(data: bytes) -> str:
    return data.rstrip(b"\0").decode("ascii")


def pdu(command: int, sequence: bytes, body: bytes = b"") -> bytes:
    return HEADER.pack(HEADER.size + len(body), command, sequence) + body


def result_body(result: int) -> bytes:
    return _RESULT.pack(result, bytes(8))


@dataclass(frozen=True)
class Submitted:
    """A SUBMIT the SMG read: its 12-byte header sequence and the fields the tests look at."""

    sequence: bytes
    sp_number: str
    charge_number: str
    user_numbers: tuple[str, ...]
    corp_id: str
    service_type: str
    report_flag: int
    tp_udhi: int
    message_coding: int
    content: bytes


def parse_submit(sequence: bytes, body: bytes) -> Submitted:
    sp_number, charge_number = read_text(body[0:21]), read_text(body[21:42])
    count = body[42]
    offset = 43
    users = tuple(read_text(body[offset + 21 * i : offset + 21 * (i + 1)]) for i in range(count))
    offset += 21 * count
    corp_id, service_type = read_text(body[offset : offset + 5]), read_text(body[offset + 5 : offset + 15])
    offset += 15 + 1 + 6 + 6 + 1 + 1 + 1 + 16 + 16  # FeeType .. ScheduleTime
    report_flag, _tp_pid, tp_udhi, coding, _message_type = body[offset : offset + 5]
    offset += 5
    (length,) = struct.unpack_from(">I", body, offset)
    content = body[offset + 4 : offset + 4 + length]
    assert len(body) == offset + 4 + length + 8, "SUBMIT body length does not add up"
    return Submitted(
        sequence,
        sp_number,
        charge_number,
        users,
        corp_id,
        service_type,
        report_flag,
        tp_udhi,
        coding,
        content,
    )


@dataclass
class Dialled:
    """What the SP's listener answered on one connection the SMG opened."""

    bind_result: int
    results: list[int] = field(default_factory=list)
    unbind_answered: bool = False
    closed_by_sp: bool = False


@dataclass
class SgipSmg:
    """The SMG side; ``results`` are the SUBMIT answers to give in order (then the checks' own)."""

    login: str
    password: str
    corp_id: str
    access_number: str
    results: list[int] = field(default_factory=list)
    submits: list[Submitted] = field(default_factory=list)
    binds: int = 0
    unbinds: int = 0
    closes: int = 0
    port: int = 0
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _server: asyncio.Server | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)

    def sequence(self) -> bytes:
        stamp = int(datetime.now(_BEIJING).strftime("%m%d%H%M%S"))
        return struct.pack(">III", NODE_ID, stamp, next(self._counter))

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        bound = False
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                command, sequence, body = await _read_pdu(reader)
                if not bound:
                    if command != BIND:
                        break
                    self.binds += 1
                    result = self._bind_result(body)
                    writer.write(pdu(BIND | RESP, sequence, result_body(result)))
                    if result:
                        break
                    bound = True
                elif command == SUBMIT:
                    writer.write(pdu(SUBMIT | RESP, sequence, result_body(self._submit(sequence, body))))
                elif command == UNBIND:
                    self.unbinds += 1
                    writer.write(pdu(UNBIND | RESP, sequence))
                    break
                elif command == BIND:
                    writer.write(pdu(BIND | RESP, sequence, result_body(2)))
        self.closes += 1
        writer.close()

    def _bind_result(self, body: bytes) -> int:
        if len(body) != 41:
            return 5
        if body[0] != 1:
            return 4
        if read_text(body[1:17]) != self.login or read_text(body[17:33]) != self.password:
            return 1
        return 0

    def _submit(self, sequence: bytes, body: bytes) -> int:
        if self.results:
            return self.results.pop(0)
        submit = parse_submit(sequence, body)
        if (
            not submit.sp_number.startswith(self.access_number)
            or submit.corp_id != self.corp_id
            or not submit.service_type
            or submit.report_flag > 2
            or submit.message_coding not in (0, 8, 15)
        ):
            return 5
        if submit.tp_udhi == 1:
            header = submit.content[:6]
            if len(header) < 6 or header[:3] != b"\x05\x00\x03" or not 1 <= header[5] <= header[4]:
                return 5
        for number in submit.user_numbers:
            if len(number) != 13 or not number.isdigit() or not number.startswith("861"):
                return 6
        limit = 160 if submit.message_coding == 0 else 140
        if not 0 < len(submit.content) <= limit:
            return 8
        self.submits.append(submit)
        return 0

    async def report(
        self, port: int, submit_sequence: bytes, user_number: str, state: int, error_code: int = 0
    ) -> Dialled:
        """Dial the SP's listener and send one REPORT for the SUBMIT of ``submit_sequence``."""
        body = submit_sequence + bytes([0]) + text(user_number, 21) + bytes([state, error_code]) + bytes(8)
        return await self.dial(port, [(REPORT, body)])

    async def deliver(self, port: int, user_number: str, sp_number: str, message: str) -> Dialled:
        """Dial the SP's listener and send one MO text (UCS-2, no header)."""
        content = message.encode("utf-16-be")
        body = text(user_number, 21) + text(sp_number, 21) + bytes([0, 0, 8])
        body += struct.pack(">I", len(content)) + content + bytes(8)
        return await self.dial(port, [(DELIVER, body)])

    async def dial(
        self, port: int, requests: list[tuple[int, bytes]], *, password: str | None = None
    ) -> Dialled:
        """BIND (``Login_Type`` 2), each request in turn waiting for its answer, then UNBIND."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            bind = (
                bytes([2]) + text(self.login, 16) + text(self.password if password is None else password, 16)
            )
            writer.write(pdu(BIND, self.sequence(), bind + bytes(8)))
            command, _, body = await asyncio.wait_for(_read_pdu(reader), 2)
            assert command == BIND | RESP
            dialled = Dialled(body[0])
            if dialled.bind_result:
                dialled.closed_by_sp = await _closed(reader)
                return dialled
            for request, request_body in requests:
                sequence = self.sequence()
                writer.write(pdu(request, sequence, request_body))
                command, echoed, body = await asyncio.wait_for(_read_pdu(reader), 2)
                assert (command, echoed) == (request | RESP, sequence)
                dialled.results.append(body[0])
            sequence = self.sequence()
            writer.write(pdu(UNBIND, sequence))
            command, echoed, _ = await asyncio.wait_for(_read_pdu(reader), 2)
            dialled.unbind_answered = (command, echoed) == (UNBIND | RESP, sequence)
            return dialled
        finally:
            writer.close()


async def _read_pdu(reader: asyncio.StreamReader) -> tuple[int, bytes, bytes]:
    head = await reader.readexactly(HEADER.size)
    length, command, sequence = HEADER.unpack(head)
    assert HEADER.size <= length <= MAX_PDU
    return command, sequence, await reader.readexactly(length - HEADER.size)


async def _closed(reader: asyncio.StreamReader) -> bool:
    """Whether the other side closes the connection within a second."""
    try:
        return await asyncio.wait_for(reader.read(1), 1) == b""
    except (TimeoutError, ConnectionError):
        return False
