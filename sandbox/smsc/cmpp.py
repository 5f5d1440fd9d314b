"""China Mobile's ISMG: CMPP 2.0 / 3.0 (``docs/operator-dialects.md``, "China Mobile: CMPP 2.0 / 3.0").

``CONNECT`` (checks 1, 4, 2, 3 in order), ``SUBMIT`` (checks 1, 8, 11, 10, 6, 13), ``ACTIVE_TEST``
and ``TERMINATE`` from the SP; ``DELIVER`` (status reports and MO replies) from the ISMG, each
answered by ``DELIVER_RESP``. A session speaks the version its ``CONNECT`` named.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Final

from sandbox.numbers import from_national, to_national
from sandbox.operators._wire import BEIJING
from sandbox.sms import ReportWish
from sandbox.smsc.gateway import Smsc
from sandbox.smsc.session import RESPONSE, Frame, Session
from sandbox.smsc.texts import UCS2, split_ucs2
from sandbox.smsc.wire import Malformed, Reader, octets, u8, u32
from sandbox.state import SmsRecord

__all__ = ["CMPP", "CmppSession", "authenticator_ismg", "authenticator_source", "msg_id"]

CONNECT: Final = 0x00000001
TERMINATE: Final = 0x00000002
SUBMIT: Final = 0x00000004
DELIVER: Final = 0x00000005
ACTIVE_TEST: Final = 0x00000008
_COMMANDS: Final = frozenset({CONNECT, TERMINATE, SUBMIT, DELIVER, ACTIVE_TEST})
V20: Final = 0x20
V30: Final = 0x30
_HEADER: Final = 12
_MAX: Final = 4096
_ISMG_CODE: Final = 0x2A5F2
_FORMATS: Final = frozenset({0, 4, 8, 15})
_SRC_ID: Final = 21
_NATIONAL: Final = re.compile(r"(?:86)?(1[0-9]{10})")


def authenticator_source(sp_id: str, secret: str, timestamp: int) -> bytes:
    """``MD5(Source_Addr + 9 NULs + secret + MMDDHHMMSS)``, the timestamp as 10 digits."""
    material = sp_id.encode("ascii") + bytes(9) + secret.encode("ascii") + f"{timestamp:010d}".encode("ascii")
    return hashlib.md5(material, usedforsecurity=False).digest()


def authenticator_ismg(status: int, source: bytes, secret: str, version: int) -> bytes:
    """``MD5(Status + AuthenticatorSource + secret)``, ``Status`` in its wire bytes of ``version``."""
    material = _result(status, version) + source + secret.encode("ascii")
    return hashlib.md5(material, usedforsecurity=False).digest()


def msg_id(now: datetime, sequence: int) -> bytes:
    """A fresh 8-byte ``Msg_Id``: Beijing time, the sandbox ISMG code, a 16-bit sequence."""
    local = now.astimezone(BEIJING)
    value = (
        local.month << 60
        | local.day << 55
        | local.hour << 50
        | local.minute << 44
        | local.second << 38
        | _ISMG_CODE << 16
        | sequence & 0xFFFF
    )
    return value.to_bytes(8, "big")


def _result(value: int, version: int) -> bytes:
    return u8(value) if version == V20 else u32(value)


def _terminal(version: int) -> int:
    return 21 if version == V20 else 32


def _minutes(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%y%m%d%H%M")


@dataclass(frozen=True, slots=True)
class _Submit:
    registered_delivery: int
    service_id: str
    udhi: int
    fmt: int
    msg_src: str
    src_id: str
    destinations: tuple[str, ...]
    content: bytes


@dataclass(frozen=True, slots=True)
class Report:
    """A status report on the submit ``submit_id`` to ``terminal``."""

    submit_id: bytes
    stat: str
    submit_time: str
    done_time: str
    terminal: str
    smsc_sequence: int


@dataclass(frozen=True, slots=True)
class Deliver:
    """A ``DELIVER`` the ISMG owes the SP: a report (``report`` set) or an MO part."""

    msg_id: bytes
    dest_id: str
    service_id: str
    src_terminal: str
    udhi: int
    fmt: int
    content: bytes
    report: Report | None


class CmppSession(Session):
    """A connection of the SP to the ISMG."""

    protocol = "cmpp"
    header_size = _HEADER
    max_length = _MAX

    def __init__(self, smsc: Smsc, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        super().__init__(smsc, reader, writer)
        self.version = V30

    def parse_header(self, raw: bytes) -> Frame:
        """The frame of a PDU; an unknown ``Command_Id`` is :class:`Malformed`."""
        header = Reader(raw[4:_HEADER])
        command, sequence = header.u32(), header.u32()
        if command & ~RESPONSE not in _COMMANDS:
            raise Malformed(f"unknown Command_Id {command:#010x}")
        return Frame(command, sequence, raw[_HEADER:], raw)

    async def on_request(self, frame: Frame) -> None:
        """Login first; then submits, heartbeats and the end of the session."""
        if not self.logged_in:
            if frame.command != CONNECT:
                self.close()
                return
            self._connect(frame)
        elif frame.command == SUBMIT:
            self._submit(frame)
        elif frame.command == ACTIVE_TEST:
            if self.smsc.faults.silent_heartbeats:
                self.discard(frame)
            else:
                self.answer(frame, self._pdu(ACTIVE_TEST | RESPONSE, frame.sequence, u8(0)))
        elif frame.command == TERMINATE:
            await self.drained()
            self.answer(frame, self._pdu(TERMINATE | RESPONSE, frame.sequence, b""))
            self.close()
        else:
            self.close()

    def active_test(self, sequence: int) -> bytes:
        """The ISMG's ``ACTIVE_TEST``."""
        return self._pdu(ACTIVE_TEST, sequence, b"")

    def delivered(self, answer: Frame) -> bool:
        """A ``DELIVER_RESP`` with ``Result`` 0."""
        if answer.command != DELIVER | RESPONSE:
            return False
        body = Reader(answer.body)
        try:
            body.raw(8)
            result = body.u8() if self.version == V20 else body.u32()
        except Malformed:
            return False
        return result == 0

    def encode_deliver(self, payload: object, sequence: int) -> bytes:
        """The ``DELIVER`` of a :class:`Deliver` in this session's version."""
        if not (isinstance(payload, Deliver)):
            raise RuntimeError("a payload of another protocol in this outbox")
        terminal = _terminal(self.version)
        content = payload.content if payload.report is None else self._report_content(payload.report)
        body = b"".join(
            (
                payload.msg_id,
                octets(payload.dest_id, 21),
                octets(payload.service_id, 10),
                u8(0),
                u8(payload.udhi),
                u8(payload.fmt),
                octets(payload.src_terminal, terminal),
                b"" if self.version == V20 else u8(0),
                u8(0 if payload.report is None else 1),
                u8(len(content)),
                content,
                bytes(8 if self.version == V20 else 20),
            )
        )
        return self._pdu(DELIVER, sequence, body)

    def _report_content(self, report: Report) -> bytes:
        return b"".join(
            (
                report.submit_id,
                octets(report.stat, 7),
                octets(report.submit_time, 10),
                octets(report.done_time, 10),
                octets(report.terminal, _terminal(self.version)),
                u32(report.smsc_sequence),
            )
        )

    def _pdu(self, command: int, sequence: int, body: bytes) -> bytes:
        return u32(_HEADER + len(body)) + u32(command) + u32(sequence) + body

    def _connect(self, frame: Frame) -> None:
        account = self.smsc.account
        body = frame.body
        version = body[22] if len(body) == 27 else V30
        status = 0
        source = b""
        if len(body) != 27:
            status = 1
        elif version not in (V20, V30):
            status, version = 4, V30
        else:
            source = body[6:22]
            timestamp = int.from_bytes(body[23:27], "big")
            if body[:6].rstrip(b"\0") != account.login.encode("ascii"):
                status = 2
            elif self.smsc.login_refused() or source != authenticator_source(
                account.login, account.secret, timestamp
            ):
                status = 3
        self.version = version
        authenticator = authenticator_ismg(0, source, account.secret, version) if status == 0 else bytes(16)
        self.answer(
            frame,
            self._pdu(
                CONNECT | RESPONSE, frame.sequence, _result(status, version) + authenticator + u8(version)
            ),
        )
        if status:
            self.close()
            return
        self.logged_in = self.receives = True
        self.smsc.logged_in(self)

    def _submit(self, frame: Frame) -> None:
        if self.hold_for_drop(frame):
            return
        submit, result = self._parse_submit(frame.body)
        if submit is not None:
            result = self._check(submit)
        message_id = bytes(8)
        if submit is not None and result == 0:
            message_id = msg_id(self.smsc.clock.now(), self.smsc.next_id())
            self._accept(submit, message_id)
        delay = self.smsc.answer_delay() if result == 0 else 0.0
        self.answer(
            frame,
            self._pdu(SUBMIT | RESPONSE, frame.sequence, message_id + _result(result, self.version)),
            delay=delay,
        )

    def _parse_submit(self, data: bytes) -> tuple[_Submit | None, int]:
        terminal = _terminal(self.version)
        body = Reader(data)
        try:
            body.raw(8)
            body.u8(), body.u8()
            registered = body.u8()
            body.u8()
            service_id = body.text(10)
            body.u8()
            body.text(terminal)
            if self.version == V30:
                body.u8()
            body.u8()
            udhi, fmt = body.u8(), body.u8()
            msg_src = body.text(6)
            body.text(2), body.text(6), body.text(17), body.text(17)
            src_id = body.text(_SRC_ID)
            count = body.u8()
            if not 1 <= count <= 100:
                return None, 1
            destinations = tuple(body.text(terminal) for _ in range(count))
            if self.version == V30:
                body.u8()
            content = body.raw(body.u8())
            if self.version == V20:
                body.raw(8)
            else:
                body.text(20)
            body.end()
        except Malformed:
            return None, 1
        if fmt not in _FORMATS:
            return None, 1
        return _Submit(registered, service_id, udhi, fmt, msg_src, src_id, destinations, content), 0

    def _check(self, submit: _Submit) -> int:
        account = self.smsc.account
        if self.smsc.throttled(self):
            return 8
        if submit.msg_src != account.login:
            return 11
        if not submit.src_id.startswith(account.access_number) or not submit.src_id.isdigit():
            return 10
        if len(submit.content) > (160 if submit.fmt == 0 else 140):
            return 6
        for destination in submit.destinations:
            match = _NATIONAL.fullmatch(destination)
            subscriber = None if match is None else self.smsc.state.subscribers.get("+86" + match.group(1))
            if subscriber is None or subscriber.operator != self.smsc.operator:
                return 13
        return 0

    def _accept(self, submit: _Submit, message_id: bytes) -> None:
        smsc = self.smsc
        submitted = _minutes(smsc.clock.now())
        wish = ReportWish.ALWAYS if submit.registered_delivery == 1 else ReportWish.NEVER
        for destination in submit.destinations:
            national = _NATIONAL.fullmatch(destination)
            if not (national is not None):
                raise RuntimeError("a destination the submit checks accepted does not parse")
            status, reported = smsc.center.outcome(smsc.operator, wish)
            if status == "DELIVRD":
                smsc.deliver(
                    phone_number=from_national(national.group(1)),
                    sender=submit.src_id,
                    coding=submit.fmt,
                    content=submit.content,
                    udhi=submit.udhi == 1,
                    message_id=message_id.hex().upper(),
                )
            if reported:
                done = _minutes(smsc.clock.now())
                report = Report(message_id, status, submitted, done, destination, smsc.next_id())
                smsc.report(partial(self._report_deliver, submit, report), self)

    def _report_deliver(self, submit: _Submit, report: Report) -> Deliver:
        return Deliver(
            msg_id=msg_id(self.smsc.clock.now(), self.smsc.next_id()),
            dest_id=submit.src_id,
            service_id=submit.service_id,
            src_terminal=report.terminal,
            udhi=0,
            fmt=0,
            content=b"",
            report=report,
        )


@dataclass(frozen=True, slots=True)
class _Spec:
    name: str = "cmpp"

    def session(self, smsc: Smsc, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Session:
        return CmppSession(smsc, reader, writer)

    def replies(self, smsc: Smsc, record: SmsRecord, text: str) -> list[object]:
        national = to_national(record.phone_number) or record.phone_number.lstrip("+")
        contents = split_ucs2(text, smsc.next_ref())
        return [
            Deliver(
                msg_id=msg_id(smsc.clock.now(), smsc.next_id()),
                dest_id=record.sender,
                service_id="",
                src_terminal=national,
                udhi=0 if len(contents) == 1 else 1,
                fmt=UCS2,
                content=content,
                report=None,
            )
            for content in contents
        ]


CMPP: Final = _Spec()
"""The CMPP protocol for :class:`sandbox.smsc.gateway.Smsc`."""
