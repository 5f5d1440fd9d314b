"""China Telecom's SMGW: SMGP 3.0 (``docs/operator-dialects.md``, "SMGP 3.0 (China Telecom SMGW)").

``LOGIN``, ``SUBMIT`` (the table's checks in order), ``ACTIVE_TEST`` and ``EXIT`` from the SP;
``DELIVER`` (status reports and MO texts) from the SMGW on connections logged in to receive,
each answered by ``DELIVER_RESP``. The SMGW sends no heartbeats of its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sandbox.numbers import from_national, to_national
from sandbox.operators._wire import BEIJING
from sandbox.sms import ReportWish
from sandbox.smsc.gateway import Smsc
from sandbox.smsc.session import RESPONSE, Frame, Session
from sandbox.smsc.texts import UCS2, BadHeader, parse_udh, split_ucs2
from sandbox.smsc.wire import Malformed, Reader, octets, u8, u16, u32
from sandbox.state import SmsRecord

__all__ = ["SMGP", "SmgpSession", "authenticator_client", "authenticator_server", "msg_id"]

LOGIN: Final = 0x00000001
SUBMIT: Final = 0x00000002
DELIVER: Final = 0x00000003
ACTIVE_TEST: Final = 0x00000004
EXIT: Final = 0x00000006
_COMMANDS: Final = frozenset({LOGIN, SUBMIT, DELIVER, ACTIVE_TEST, EXIT})
_HEADER: Final = 12
_MAX: Final = 4096
_VERSION: Final = 0x30
_SMGW_CODE: Final = "000001"
_TERM: Final = 21
_FORMATS: Final = frozenset({0, 4, 8, 15})
_SENDER: Final = re.compile(r"106[0-9]{2,17}")
_ELEVEN_DIGITS: Final = re.compile(r"[0-9]{11}")
_TP_UDHI: Final = 0x0002
_PK_TOTAL: Final = 0x0009
_PK_NUMBER: Final = 0x000A
_MAX_CONNECTIONS: Final = 60


def authenticator_client(client_id: str, secret: str, timestamp: int) -> bytes:
    """``MD5(ClientID + 7 NULs + secret + MMDDHHMMSS)``, the timestamp as 10 digits."""
    material = (
        client_id.encode("ascii") + bytes(7) + secret.encode("ascii") + f"{timestamp:010d}".encode("ascii")
    )
    return hashlib.md5(material, usedforsecurity=False).digest()


def authenticator_server(status: int, client: bytes, secret: str) -> bytes:
    """``MD5(Status as 4 bytes + AuthenticatorClient + secret)``."""
    return hashlib.md5(u32(status) + client + secret.encode("ascii"), usedforsecurity=False).digest()


def msg_id(now: datetime, sequence: int) -> bytes:
    """A fresh 10-byte BCD ``MsgID``: SMGW code, Beijing ``MMDDhhmm``, a 6-digit sequence."""
    digits = _SMGW_CODE + now.astimezone(BEIJING).strftime("%m%d%H%M") + f"{sequence % 1_000_000:06d}"
    return bytes.fromhex(digits)


def _minutes(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%y%m%d%H%M")


@dataclass(frozen=True, slots=True)
class _Submit:
    msg_type: int
    need_report: int
    priority: int
    fmt: int
    src_term: str
    destinations: tuple[str, ...]
    content: bytes
    udhi: bool


@dataclass(frozen=True, slots=True)
class Deliver:
    """A ``DELIVER`` the SMGW owes the SP: a report (``is_report``) or an MO text or part."""

    msg_id: bytes
    is_report: bool
    fmt: int
    src_term: str
    dest_term: str
    content: bytes
    tlvs: bytes


class SmgpSession(Session):
    """A connection of the SP to the SMGW."""

    protocol = "smgp"
    header_size = _HEADER
    max_length = _MAX

    def parse_header(self, raw: bytes) -> Frame:
        """The frame of a PDU; an unknown ``RequestID`` is :class:`Malformed`."""
        header = Reader(raw[4:_HEADER])
        command, sequence = header.u32(), header.u32()
        if command & ~RESPONSE not in _COMMANDS:
            raise Malformed(f"unknown RequestID {command:#010x}")
        return Frame(command, sequence, raw[_HEADER:], raw)

    async def on_request(self, frame: Frame) -> None:
        """Login first; then submits, heartbeats and ``EXIT``."""
        if frame.command == LOGIN and not self.logged_in:
            self._login(frame)
        elif not self.logged_in:
            self.close()
        elif frame.command == SUBMIT:
            self._submit(frame)
        elif frame.command == ACTIVE_TEST:
            if self.smsc.faults.silent_heartbeats:
                self.discard(frame)
            else:
                self.answer(frame, self._pdu(ACTIVE_TEST | RESPONSE, frame.sequence, b""))
        elif frame.command == EXIT:
            await self.drained()
            self.answer(frame, self._pdu(EXIT | RESPONSE, frame.sequence, b""))
            self.close()
        else:
            self.close()

    def delivered(self, answer: Frame) -> bool:
        """A ``DELIVER_RESP`` with ``Status`` 0."""
        return (
            answer.command == DELIVER | RESPONSE and len(answer.body) == 14 and answer.body[10:] == bytes(4)
        )

    def encode_deliver(self, payload: object, sequence: int) -> bytes:
        """The ``DELIVER`` of a :class:`Deliver`."""
        if not (isinstance(payload, Deliver)):
            raise RuntimeError("a payload of another protocol in this outbox")
        body = b"".join(
            (
                payload.msg_id,
                u8(1 if payload.is_report else 0),
                u8(payload.fmt),
                octets(self.smsc.clock.now().astimezone(BEIJING).strftime("%Y%m%d%H%M%S"), 14),
                octets(payload.src_term, _TERM),
                octets(payload.dest_term, _TERM),
                u8(len(payload.content)),
                payload.content,
                bytes(8),
                payload.tlvs,
            )
        )
        return self._pdu(DELIVER, sequence, body)

    def _pdu(self, command: int, sequence: int, body: bytes) -> bytes:
        return u32(_HEADER + len(body)) + u32(command) + u32(sequence) + body

    def _login(self, frame: Frame) -> None:
        account = self.smsc.account
        body = frame.body
        client = body[8:24]
        if len(body) != 30 or body[24] > 2:
            status = 10
        else:
            timestamp = int.from_bytes(body[25:29], "big")
            if (
                body[:8].rstrip(b"\0") != account.login.encode("ascii")
                or client != authenticator_client(account.login, account.secret, timestamp)
                or self.smsc.login_refused()
            ):
                status = 21
            elif body[29] > _VERSION:
                status = 22
            elif sum(1 for session in self.smsc.sessions if session.logged_in) >= _MAX_CONNECTIONS:
                status = 2
            else:
                status = 0
        authenticator = authenticator_server(0, client, account.secret) if status == 0 else bytes(16)
        self.answer(
            frame, self._pdu(LOGIN | RESPONSE, frame.sequence, u32(status) + authenticator + u8(_VERSION))
        )
        if status in (2, 10, 21):
            self.close()
        elif status == 0:
            self.logged_in = True
            self.receives = body[24] in (1, 2)
            self.smsc.logged_in(self)

    def _submit(self, frame: Frame) -> None:
        if self.hold_for_drop(frame):
            return
        submit = self._parse_submit(frame.body)
        status = 10 if submit is None else self._check(frame, submit)
        message_id = bytes(10)
        if submit is not None and status == 0:
            message_id = msg_id(self.smsc.clock.now(), self.smsc.next_id())
            self._accept(submit, message_id)
        delay = self.smsc.answer_delay() if status == 0 else 0.0
        self.answer(
            frame, self._pdu(SUBMIT | RESPONSE, frame.sequence, message_id + u32(status)), delay=delay
        )

    def _parse_submit(self, data: bytes) -> _Submit | None:
        body = Reader(data)
        try:
            msg_type, need_report, priority = body.u8(), body.u8(), body.u8()
            body.raw(10 + 2 + 6 + 6)
            fmt = body.u8()
            body.raw(17 + 17)
            src_term = body.text(_TERM)
            body.raw(_TERM)
            count = body.u8()
            if not 1 <= count <= 100:
                return None
            destinations = tuple(body.text(_TERM) for _ in range(count))
            content = body.raw(body.u8())
            body.raw(8)
            udhi = False
            while body.remaining:
                tag, size = body.u16(), body.u16()
                value = body.raw(size)
                if tag == _TP_UDHI and value[:1] == b"\x01":
                    udhi = True
        except Malformed:
            return None
        if udhi:
            try:
                parse_udh(content)
            except BadHeader:
                return None
        return _Submit(msg_type, need_report, priority, fmt, src_term, destinations, content, udhi)

    def _check(self, frame: Frame, submit: _Submit) -> int:
        if self.unanswered_with(frame.sequence) > 1:
            return 12
        if self.smsc.throttled(self):
            return 1
        fixed = (
            (submit.msg_type != 6, 30),
            (submit.priority > 3, 31),
            (submit.fmt not in _FORMATS, 34),
            (not 0 < len(submit.content) <= (160 if submit.fmt == 0 else 140), 36),
            (_SENDER.fullmatch(submit.src_term) is None, 46),
            (len(submit.destinations) != 1, 10),
            (_ELEVEN_DIGITS.fullmatch(submit.destinations[0]) is None, 47),
        )
        for failed, status in fixed:
            if failed:
                return status
        subscriber = self.smsc.state.subscribers.get("+86" + submit.destinations[0])
        if subscriber is None or subscriber.operator != self.smsc.operator:
            return 58
        return 0

    def _accept(self, submit: _Submit, message_id: bytes) -> None:
        smsc = self.smsc
        national = submit.destinations[0]
        submitted = _minutes(smsc.clock.now())
        wish = ReportWish.ALWAYS if submit.need_report == 1 else ReportWish.NEVER
        status, reported = smsc.center.outcome(smsc.operator, wish)
        if status == "DELIVRD":
            smsc.deliver(
                phone_number=from_national(national),
                sender=submit.src_term,
                coding=submit.fmt,
                content=submit.content,
                udhi=submit.udhi,
                message_id=message_id.hex(),
            )
        if reported:
            delivered = status == "DELIVRD"
            done = _minutes(smsc.clock.now())
            content = b"".join(
                (
                    b"id:",
                    message_id,
                    b" sub:001 dlvrd:",
                    b"001" if delivered else b"000",
                    f" Submit date:{submitted} done date:{done} stat:{status}".encode("ascii"),
                    b" err:",
                    b"000" if delivered else b"006",
                    b" Text:",
                    bytes(20),
                )
            )
            smsc.report(
                lambda: Deliver(
                    msg_id=msg_id(smsc.clock.now(), smsc.next_id()),
                    is_report=True,
                    fmt=0,
                    src_term=national,
                    dest_term=submit.src_term,
                    content=content,
                    tlvs=b"",
                ),
                self,
            )


def _tlv(tag: int, value: bytes) -> bytes:
    return u16(tag) + u16(len(value)) + value


@dataclass(frozen=True, slots=True)
class _Spec:
    name: str = "smgp"

    def session(self, smsc: Smsc, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Session:
        return SmgpSession(smsc, reader, writer)

    def replies(self, smsc: Smsc, record: SmsRecord, text: str) -> list[object]:
        national = to_national(record.phone_number) or record.phone_number.lstrip("+")
        contents = split_ucs2(text, smsc.next_ref())
        total = len(contents)
        return [
            Deliver(
                msg_id=msg_id(smsc.clock.now(), smsc.next_id()),
                is_report=False,
                fmt=UCS2,
                src_term=national,
                dest_term=record.sender,
                content=content,
                tlvs=b""
                if total == 1
                else _tlv(_TP_UDHI, u8(1)) + _tlv(_PK_TOTAL, u8(total)) + _tlv(_PK_NUMBER, u8(seq)),
            )
            for seq, content in enumerate(contents, start=1)
        ]


SMGP: Final = _Spec()
"""The SMGP protocol for :class:`sandbox.smsc.gateway.Smsc`."""
