"""A small SMGP 3.0 SMGW, written with ``struct`` from docs/operator-dialects.md ("SMGP 3.0"),
independently of ``carrier_adapters.smgp``: a disagreement between the codec and the document
fails the tests that talk to it.

It checks ``LOGIN`` (``ClientID``, ``AuthenticatorClient``, version) and answers with the doc's
``AuthenticatorServer``; checks each ``SUBMIT`` in the doc's order (TLVs included) and mints a BCD
``MsgID`` (SMGW code ``000001``); sends status reports (the 122-byte text with the binary id) and
MO replies as ``DELIVER`` and records their answers; answers ``ACTIVE_TEST`` and ``EXIT``. Knobs:
``refuse_login`` (``Status`` 21), ``forge_authenticator`` (a ``Status`` 0 answer whose
``AuthenticatorServer`` is wrong), ``throttle`` (the next N submits answered ``Status`` 1),
``drop_on_submit`` (cut the connection when that many submits have arrived, the last unanswered),
and :meth:`drop`.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import struct
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

from tests.peers.base import RESP, Connection, PeerServer

LOGIN, SUBMIT, DELIVER, ACTIVE_TEST, EXIT = 0x1, 0x2, 0x3, 0x4, 0x6
TP_UDHI, PK_TOTAL, PK_NUMBER = 0x0002, 0x0009, 0x000A
BEIJING = timezone(timedelta(hours=8))
SMGW_CODE = "000001"
_CTCC_NUMBER = re.compile(r"(133|149|153|173|177|180|181|189|19[0139])[0-9]{8}")
_SUBMIT_HEAD = struct.Struct(">BBB10s2s6s6sB17s17s21s21sB")


def mint_msg_id(moment: datetime, sequence: int) -> bytes:
    """20 BCD digits: SMGW code (6), Beijing ``MMDDhhmm`` (8), sequence (6)."""
    return bytes.fromhex(f"{SMGW_CODE}{moment:%m%d%H%M}{sequence % 1_000_000:06d}")


def _md5(*parts: bytes) -> bytes:
    return hashlib.md5(b"".join(parts), usedforsecurity=False).digest()


def _text(data: bytes) -> str | None:
    stripped = data.rstrip(b"\0")
    return stripped.decode("ascii") if stripped.isascii() else None


def _pad(value: str, size: int) -> bytes:
    raw = value.encode("ascii")
    assert len(raw) <= size
    return raw + bytes(size - len(raw))


def _tlv(tag: int, value: bytes) -> bytes:
    return struct.pack(">HH", tag, len(value)) + value


@dataclass(frozen=True)
class ReceivedSubmit:
    """A SUBMIT as the SMGW read it, with its ``Status`` (-1: dropped unanswered) and ``MsgID``."""

    msg_type: int
    need_report: int
    priority: int
    service_id: str
    msg_format: int
    src_term_id: str
    destinations: tuple[str, ...]
    content: bytes
    tlvs: dict[int, bytes] = field(default_factory=dict)
    status: int = 0
    msg_id: bytes = bytes(10)


class SmgpSmgw(PeerServer):
    """See the module docstring."""

    def __init__(self, *, client_id: str = "10690001", secret: str = "secret") -> None:  # noqa: S107
        super().__init__()
        self.client_id, self.secret = client_id, secret
        self.refuse_login = False
        self.forge_authenticator = False
        self.throttle = 0
        self.drop_on_submit: int | None = None
        self.login_statuses: list[int] = []
        self.login_modes: list[int] = []
        self.submits: list[ReceivedSubmit] = []
        self.deliver_answers: list[tuple[int, bytes, int]] = []
        self.heartbeats_received = 0
        self.heartbeat_answers: list[int] = []
        self.exits_received = 0
        self.exit_answers: list[int] = []
        self._ids = itertools.count(1)

    def _mint(self) -> bytes:
        return mint_msg_id(datetime.now(BEIJING), next(self._ids))

    def handle(self, connection: Connection, command: int, sequence: int, body: bytes) -> bool:
        if command == LOGIN:
            return self._login(connection, sequence, body)
        if not connection.logged_in:
            return False
        if command == SUBMIT:
            return self._submit(connection, sequence, body)
        if command == DELIVER | RESP:
            assert len(body) == 14, "a DELIVER_RESP is MsgID 10 + Status 4"
            self.deliver_answers.append((sequence, body[:10], struct.unpack(">I", body[10:])[0]))
        elif command == ACTIVE_TEST:
            self.heartbeats_received += 1
            connection.send(ACTIVE_TEST | RESP, b"", sequence)
        elif command == ACTIVE_TEST | RESP:
            self.heartbeat_answers.append(sequence)
        elif command == EXIT:
            self.exits_received += 1
            connection.send(EXIT | RESP, b"", sequence)
            return False
        elif command == EXIT | RESP:
            self.exit_answers.append(sequence)
            return False
        else:
            return False
        return True

    def _login(self, connection: Connection, sequence: int, body: bytes) -> bool:
        if connection.logged_in or len(body) != 30:
            return False
        client_id, authenticator, mode, timestamp, version = struct.unpack(">8s16sBIB", body)
        self.login_modes.append(mode)
        expected = _md5(self.client_id.encode(), bytes(7), self.secret.encode(), f"{timestamp:010d}".encode())
        if (
            client_id.rstrip(b"\0") != self.client_id.encode()
            or authenticator != expected
            or self.refuse_login
        ):
            status = 21
        elif version > 0x30:
            status = 22
        else:
            status = 0
        self.login_statuses.append(status)
        reply = bytes(16)
        if status == 0:
            reply = _md5(struct.pack(">I", 0), authenticator, self.secret.encode())
            if self.forge_authenticator:
                reply = _md5(b"not", reply)
        connection.send(LOGIN | RESP, struct.pack(">I", status) + reply + b"\x30", sequence)
        connection.logged_in = status == 0
        return status in (0, 22)

    def _submit(self, connection: Connection, sequence: int, body: bytes) -> bool:
        submit = self._read_submit(body)
        if self.drop_on_submit is not None and len(self.submits) + 1 >= self.drop_on_submit:
            self.drop_on_submit = None
            if submit is not None:
                self.submits.append(replace(submit, status=-1))
            connection.writer.transport.abort()
            return False
        status = 10 if submit is None else self._check(submit)
        msg_id = self._mint() if status == 0 else bytes(10)
        if submit is not None:
            self.submits.append(replace(submit, status=status, msg_id=msg_id))
        connection.send(SUBMIT | RESP, msg_id + struct.pack(">I", status), sequence)
        return True

    @staticmethod
    def _read_submit(body: bytes) -> ReceivedSubmit | None:
        """The SUBMIT as read, or ``None`` when it does not parse (``Status`` 10)."""
        if len(body) < _SUBMIT_HEAD.size:
            return None
        (msg_type, need_report, priority, service_id, _, _, _, msg_format, _, _, src, _, count) = (
            _SUBMIT_HEAD.unpack_from(body)
        )
        offset = _SUBMIT_HEAD.size
        destinations = [body[offset + n * 21 : offset + (n + 1) * 21] for n in range(count)]
        offset += 21 * count
        if not 1 <= count <= 100 or offset >= len(body):
            return None
        length = body[offset]
        content = body[offset + 1 : offset + 1 + length]
        offset += 1 + length + 8
        if offset > len(body) or len(content) != length:
            return None
        tlvs: dict[int, bytes] = {}
        while offset < len(body):
            if offset + 4 > len(body):
                return None
            tag, size = struct.unpack_from(">HH", body, offset)
            if offset + 4 + size > len(body):
                return None
            tlvs[tag] = body[offset + 4 : offset + 4 + size]
            offset += 4 + size
        if tlvs.get(TP_UDHI) == b"\x01" and not (len(content) > 1 and 1 + content[0] <= len(content)):
            return None
        texts = [_text(raw) for raw in (service_id, src, *destinations)]
        if any(text is None for text in texts):
            return None
        service, source, *numbers = (str(text) for text in texts)
        return ReceivedSubmit(
            msg_type=msg_type,
            need_report=need_report,
            priority=priority,
            service_id=service,
            msg_format=msg_format,
            src_term_id=source,
            destinations=tuple(numbers),
            content=content,
            tlvs=tlvs,
        )

    def _check(self, submit: ReceivedSubmit) -> int:
        if self.throttle > 0:
            self.throttle -= 1
            return 1
        if submit.msg_type != 6:
            return 30
        if submit.priority > 3:
            return 31
        if submit.msg_format not in (0, 4, 8, 15):
            return 34
        if not 1 <= len(submit.content) <= (160 if submit.msg_format == 0 else 140):
            return 36
        if not re.fullmatch(r"106[0-9]{2,17}", submit.src_term_id):
            return 46
        if len(submit.destinations) != 1:
            return 10
        if not re.fullmatch(r"[0-9]{11}", submit.destinations[0]):
            return 47
        if not _CTCC_NUMBER.fullmatch(submit.destinations[0]):
            return 58
        return 0

    def _deliver(
        self, *, report: int, fmt: int, src: str, dest: str, content: bytes, tlvs: bytes = b""
    ) -> tuple[bytes, int]:
        msg_id = self._mint()
        body = msg_id + bytes([report, fmt]) + _pad(f"{datetime.now(BEIJING):%Y%m%d%H%M%S}", 14)
        body += _pad(src, 21) + _pad(dest, 21) + bytes([len(content)]) + content + bytes(8) + tlvs
        return msg_id, self.latest().send(DELIVER, body)

    def send_report(self, submit: ReceivedSubmit, stat: str = "DELIVRD") -> tuple[bytes, int]:
        """A status report on an accepted submit; returns the DELIVER's ``MsgID`` and sequence."""
        now = f"{datetime.now(BEIJING):%y%m%d%H%M}"
        delivered, err = ("001", "000") if stat == "DELIVRD" else ("000", "006")
        items = f" sub:001 dlvrd:{delivered} Submit date:{now} done date:{now} stat:{stat:<7} err:{err} Text:"
        report = b"id:" + submit.msg_id + items.encode() + bytes(20)
        assert len(report) == 122
        return self._deliver(
            report=1, fmt=0, src=submit.destinations[0], dest=submit.src_term_id, content=report
        )

    def send_mo(self, phone: str, text: str, *, to: str = "10690001") -> list[bytes]:
        """A reply typed on ``phone`` (national), UCS-2, in 67-unit parts beyond 70; the MsgIDs."""
        units = text.encode("utf-16-be")
        if len(units) <= 140:
            return [self._deliver(report=0, fmt=8, src=phone, dest=to, content=units)[0]]
        chunks = [units[start : start + 134] for start in range(0, len(units), 134)]
        ids = []
        for seq, chunk in enumerate(chunks, 1):
            tlvs = (
                _tlv(TP_UDHI, b"\x01") + _tlv(PK_TOTAL, bytes([len(chunks)])) + _tlv(PK_NUMBER, bytes([seq]))
            )
            content = bytes([5, 0, 3, 0x33, len(chunks), seq]) + chunk
            ids.append(self._deliver(report=0, fmt=8, src=phone, dest=to, content=content, tlvs=tlvs)[0])
        return ids

    def send_active_test(self) -> int:
        return self.latest().send(ACTIVE_TEST)

    def send_exit(self) -> int:
        return self.latest().send(EXIT)
