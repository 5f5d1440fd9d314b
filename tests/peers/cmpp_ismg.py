"""A small CMPP 2.0/3.0 ISMG, written with ``struct`` from docs/operator-dialects.md ("China
Mobile: CMPP 2.0 / 3.0"), independently of ``carrier_adapters.cmpp``: a disagreement between the
codec and the document fails the tests that talk to it.

It checks ``CONNECT`` (structure, version, SP id, ``AuthenticatorSource``) and answers with the
doc's ``AuthenticatorISMG``; checks each ``SUBMIT`` in the doc's order and mints a ``Msg_Id`` per
the doc's bit layout; sends status reports and MO replies as ``DELIVER`` and records their
answers; answers ``ACTIVE_TEST`` and ``TERMINATE``. Knobs: ``refuse_login`` (``Status`` 3),
``forge_authenticator`` (a ``Status`` 0 answer whose ``AuthenticatorISMG`` is wrong),
``throttle`` (the next N submits answered ``Result`` 8), ``drop_on_submit`` (cut the connection
when that many submits have arrived, the last unanswered), and :meth:`drop`.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import struct
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from tests.peers.base import RESP, Connection, PeerServer

CONNECT, TERMINATE, SUBMIT, DELIVER, ACTIVE_TEST = 0x1, 0x2, 0x4, 0x5, 0x8
BEIJING = timezone(timedelta(hours=8))
_CMCC_NUMBER = re.compile(r"(13[4-9]|147|15[0-27-9]|172|178|18[2-478]|19[578])[0-9]{8}")


def mint_msg_id(moment: datetime, ismg_code: int, sequence: int) -> bytes:
    """Month 4 bits, day 5, hour 5, minute 6, second 6, ISMG code 22, sequence 16 (big-endian)."""
    value = moment.month
    for part, bits in ((moment.day, 5), (moment.hour, 5), (moment.minute, 6), (moment.second, 6)):
        value = (value << bits) | part
    value = (value << 22 | ismg_code) << 16 | sequence
    return struct.pack(">Q", value)


def _md5(*parts: bytes) -> bytes:
    return hashlib.md5(b"".join(parts), usedforsecurity=False).digest()


def _text(data: bytes) -> str | None:
    """An Octet String read back without its NUL padding; ``None`` if it is not ASCII."""
    stripped = data.rstrip(b"\0")
    return stripped.decode("ascii") if stripped.isascii() else None


def _pad(value: str, size: int) -> bytes:
    raw = value.encode("ascii")
    assert len(raw) <= size
    return raw + bytes(size - len(raw))


@dataclass(frozen=True)
class ReceivedSubmit:
    """A SUBMIT as the ISMG read it, with its ``Result`` (-1: dropped unanswered) and ``Msg_Id``."""

    pk_total: int
    pk_number: int
    registered_delivery: int
    service_id: str
    tp_udhi: int
    msg_fmt: int
    msg_src: str
    src_id: str
    destinations: tuple[str, ...]
    content: bytes
    result: int = 0
    msg_id: bytes = bytes(8)


class CmppIsmg(PeerServer):
    """See the module docstring."""

    def __init__(self, *, sp_id: str = "901234", secret: str = "s3cret", access: str = "106900001") -> None:  # noqa: S107
        super().__init__()
        self.sp_id, self.secret, self.access = sp_id, secret, access
        self.ismg_code = 0x2A5F3
        self.refuse_login = False
        self.forge_authenticator = False
        self.throttle = 0
        self.drop_on_submit: int | None = None
        self.login_statuses: list[int] = []
        self.submits: list[ReceivedSubmit] = []
        self.deliver_answers: list[tuple[int, bytes, int]] = []
        self.heartbeats_received = 0
        self.heartbeat_answers: list[int] = []
        self.terminates_received = 0
        self.terminate_answers: list[int] = []
        self._ids = itertools.count(1)

    def _status_bytes(self, connection: Connection, value: int) -> bytes:
        return struct.pack(">I" if connection.version == 0x30 else ">B", value)

    def _terminal_size(self, connection: Connection) -> int:
        return 32 if connection.version == 0x30 else 21

    def _mint(self) -> bytes:
        return mint_msg_id(datetime.now(BEIJING), self.ismg_code, next(self._ids) & 0xFFFF)

    def handle(self, connection: Connection, command: int, sequence: int, body: bytes) -> bool:
        if command == CONNECT:
            return self._connect(connection, sequence, body)
        if not connection.logged_in:
            return False
        if command == SUBMIT:
            return self._submit(connection, sequence, body)
        if command == DELIVER | RESP:
            size = 4 if connection.version == 0x30 else 1
            result = int.from_bytes(body[8 : 8 + size], "big")
            assert len(body) == 8 + size, "a DELIVER_RESP is Msg_Id 8 + Result"
            self.deliver_answers.append((sequence, body[:8], result))
        elif command == ACTIVE_TEST:
            self.heartbeats_received += 1
            connection.send(ACTIVE_TEST | RESP, b"\0", sequence)
        elif command == ACTIVE_TEST | RESP:
            self.heartbeat_answers.append(sequence)
        elif command == TERMINATE:
            self.terminates_received += 1
            connection.send(TERMINATE | RESP, b"", sequence)
            return False
        elif command == TERMINATE | RESP:
            self.terminate_answers.append(sequence)
            return False
        else:
            return False
        return True

    def _connect(self, connection: Connection, sequence: int, body: bytes) -> bool:
        if connection.logged_in:
            return False
        status, version = 0, 0x30
        if len(body) != 27:
            status = 1
        else:
            source, authenticator, version, timestamp = struct.unpack(">6s16sBI", body)
            if version not in (0x20, 0x30):
                status, version = 4, 0x30
            elif source.rstrip(b"\0") != self.sp_id.encode():
                status = 2
            else:
                digits = f"{timestamp:010d}".encode()
                expected = _md5(self.sp_id.encode(), bytes(9), self.secret.encode(), digits)
                status = 3 if authenticator != expected or self.refuse_login else 0
        connection.version = version
        self.login_statuses.append(status)
        reply = bytes(16)
        if status == 0:
            reply = _md5(self._status_bytes(connection, 0), body[6:22], self.secret.encode())
            if self.forge_authenticator:
                reply = _md5(b"not", reply)
        answer = self._status_bytes(connection, status) + reply + bytes([version])
        connection.send(CONNECT | RESP, answer, sequence)
        connection.logged_in = status == 0
        return status == 0

    def _submit(self, connection: Connection, sequence: int, body: bytes) -> bool:
        submit = self._read_submit(body, self._terminal_size(connection), connection.version == 0x30)
        if self.drop_on_submit is not None and len(self.submits) + 1 >= self.drop_on_submit:
            self.drop_on_submit = None
            if submit is not None:
                self.submits.append(replace(submit, result=-1))
            connection.writer.transport.abort()
            return False
        result = 1 if submit is None else self._check(submit)
        msg_id = self._mint() if result == 0 else bytes(8)
        if submit is not None:
            self.submits.append(replace(submit, result=result, msg_id=msg_id))
        connection.send(SUBMIT | RESP, msg_id + self._status_bytes(connection, result), sequence)
        return True

    @staticmethod
    def _read_submit(body: bytes, tid: int, v3: bool) -> ReceivedSubmit | None:
        """The SUBMIT as read, or ``None`` when its fields do not add up to the PDU (Result 1)."""
        head = f">8xBBBx10sx{tid}x{'x' if v3 else ''}xBB6s2x6x17x17x21sB"
        size = struct.calcsize(head)
        if len(body) < size:
            return None
        pk_total, pk_number, registered, service_id, tp_udhi, msg_fmt, msg_src, src_id, count = (
            struct.unpack_from(head, body)
        )
        destinations = [body[size + n * tid : size + (n + 1) * tid] for n in range(count)]
        offset = size + count * tid + (1 if v3 else 0)
        if offset >= len(body):
            return None
        length = body[offset]
        content = body[offset + 1 : offset + 1 + length]
        if offset + 1 + length + (20 if v3 else 8) != len(body) or not 1 <= count <= 100:
            return None
        texts = [_text(raw) for raw in (service_id, msg_src, src_id, *destinations)]
        if any(text is None for text in texts) or msg_fmt not in (0, 4, 8, 15):
            return None
        service, source, sender, *numbers = (str(text) for text in texts)
        return ReceivedSubmit(
            pk_total=pk_total,
            pk_number=pk_number,
            registered_delivery=registered,
            service_id=service,
            tp_udhi=tp_udhi,
            msg_fmt=msg_fmt,
            msg_src=source,
            src_id=sender,
            destinations=tuple(numbers),
            content=content,
        )

    def _check(self, submit: ReceivedSubmit) -> int:
        if self.throttle > 0:
            self.throttle -= 1
            return 8
        if submit.msg_src != self.sp_id:
            return 11
        if not (submit.src_id.startswith(self.access) and submit.src_id.isdigit()):
            return 10
        if len(submit.content) > (160 if submit.msg_fmt == 0 else 140):
            return 6
        for destination in submit.destinations:
            national = destination.removeprefix("86") if len(destination) == 13 else destination
            if not _CMCC_NUMBER.fullmatch(national):
                return 13
        return 0

    def _deliver(
        self, *, dest_id: str, service_id: str, udhi: int, fmt: int, src: str, report: int, content: bytes
    ) -> tuple[bytes, int]:
        connection = self.latest()
        tid, v3 = self._terminal_size(connection), connection.version == 0x30
        msg_id = self._mint()
        body = msg_id + _pad(dest_id, 21) + _pad(service_id, 10) + bytes([0, udhi, fmt]) + _pad(src, tid)
        body += (b"\0" if v3 else b"") + bytes([report, len(content)]) + content + bytes(20 if v3 else 8)
        return msg_id, connection.send(DELIVER, body)

    def send_report(self, submit: ReceivedSubmit, stat: str = "DELIVRD") -> tuple[bytes, int]:
        """A status report on an accepted submit; returns the DELIVER's ``Msg_Id`` and sequence."""
        connection = self.latest()
        now = datetime.now(BEIJING).strftime("%y%m%d%H%M")
        report = submit.msg_id + _pad(stat, 7) + _pad(now, 10) + _pad(now, 10)
        report += _pad(submit.destinations[0], self._terminal_size(connection)) + struct.pack(">I", 7)
        return self._deliver(
            dest_id=submit.src_id, service_id=submit.service_id, udhi=0, fmt=0,
            src=submit.destinations[0], report=1, content=report,
        )  # fmt: skip

    def send_mo(self, phone: str, text: str, *, to: str | None = None) -> list[bytes]:
        """A reply typed on ``phone`` (national), UCS-2, in 67-unit parts beyond 70; the Msg_Ids."""
        units = text.encode("utf-16-be")
        if len(units) <= 140:
            chunks, udhi = [units], 0
        else:
            chunks = [units[start : start + 134] for start in range(0, len(units), 134)]
            chunks = [bytes([5, 0, 3, 0x5A, len(chunks), seq]) + chunk for seq, chunk in enumerate(chunks, 1)]
            udhi = 1
        return [
            self._deliver(
                dest_id=to or self.access, service_id="", udhi=udhi, fmt=8, src=phone, report=0, content=chunk
            )[0]
            for chunk in chunks
        ]

    def send_active_test(self) -> int:
        return self.latest().send(ACTIVE_TEST)

    def send_terminate(self) -> int:
        return self.latest().send(TERMINATE)
