"""China Unicom's SMG: SGIP 1.2 (``docs/operator-dialects.md``, "China Unicom: SGIP 1.2").

On the SMG's port: ``BIND`` (``Login_Type`` 1), ``SUBMIT`` (the doc's checks in order, a repeated
sequence answered without acting twice) and ``UNBIND`` from the SP; a connection without a command for
60 s is closed. ``REPORT`` and MO ``DELIVER`` go the other way, on connections the SMG opens to the SP's
listener (:mod:`sandbox.smsc.sgip_dialer`). A command's sequence is its 12 header bytes read as one
96-bit integer (node id, ``MMDDhhmmss``, counter).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from sandbox.clock import Clock
from sandbox.numbers import to_national
from sandbox.operators._wire import BEIJING
from sandbox.sms import ReportWish
from sandbox.smsc.gateway import Smsc
from sandbox.smsc.session import RESPONSE, Frame, Session
from sandbox.smsc.texts import UCS2, BadHeader, parse_udh, split_ucs2
from sandbox.smsc.wire import Malformed, Reader, octets, u8, u32
from sandbox.state import SmsRecord

__all__ = [
    "BIND",
    "DELIVER",
    "HEADER",
    "MAX_LENGTH",
    "REPORT",
    "SUBMIT",
    "UNBIND",
    "Deliver",
    "Report",
    "Sgip",
    "SgipSession",
    "encode_payload",
    "pdu",
    "result_of",
]

BIND: Final = 0x00000001
UNBIND: Final = 0x00000002
SUBMIT: Final = 0x00000003
DELIVER: Final = 0x00000004
REPORT: Final = 0x00000005
_COMMANDS: Final = frozenset({BIND, UNBIND, SUBMIT, DELIVER, REPORT})
HEADER: Final = 20
MAX_LENGTH: Final = 2048
NODE_ID: Final = 101001
_BIND_BODY: Final = 41
_SUBMIT_FIXED: Final = 123
_TEXT: Final = 21
_MAX_CONNECTIONS: Final = 60
_REMEMBERED: Final = 10_000
_IDLE_CLOSE: Final = 60.0
_FORMATS: Final = frozenset({0, 8, 15})
_USER: Final = re.compile(r"86(1[0-9]{10})")
_CORP_ID: Final = re.compile(r"[0-9]{5}")
_UNDELIV_CODE: Final = 25


def pdu(command: int, sequence: int, body: bytes) -> bytes:
    """A whole PDU: length, ``Command_ID``, the 12-byte sequence, ``body``."""
    return u32(HEADER + len(body)) + u32(command) + sequence.to_bytes(12, "big") + body


def response(command: int, sequence: int, result: int) -> bytes:
    """The 29-byte answer to ``command`` with ``Result``."""
    return pdu(command | RESPONSE, sequence, u8(result) + bytes(8))


def result_of(frame: Frame) -> int | None:
    """The ``Result`` of a 29-byte response, None for another layout."""
    return frame.body[0] if len(frame.body) == 9 else None


def parse_frame(raw: bytes) -> Frame:
    """The frame of a whole PDU; :class:`Malformed` for an unknown ``Command_ID``."""
    header = Reader(raw[4:HEADER])
    command = header.u32()
    if command & ~RESPONSE not in _COMMANDS:
        raise Malformed(f"unknown Command_ID {command:#010x}")
    return Frame(command, int.from_bytes(raw[8:HEADER], "big"), raw[HEADER:], raw)


@dataclass(frozen=True, slots=True)
class Report:
    """A ``REPORT`` on the ``SUBMIT`` whose sequence was ``submit_sequence`` to ``user_number``."""

    submit_sequence: int
    user_number: str
    state: int
    error_code: int


@dataclass(frozen=True, slots=True)
class Deliver:
    """An MO ``DELIVER`` (a text or a part of one) from ``user_number`` to ``sp_number``."""

    user_number: str
    sp_number: str
    udhi: int
    coding: int
    content: bytes


def encode_payload(payload: object, sequence: int) -> bytes:
    """The ``REPORT`` or ``DELIVER`` PDU of a :class:`Report` or :class:`Deliver`."""
    if isinstance(payload, Report):
        body = b"".join(
            (
                payload.submit_sequence.to_bytes(12, "big"),
                u8(0),
                octets(payload.user_number, _TEXT),
                u8(payload.state),
                u8(payload.error_code),
                bytes(8),
            )
        )
        return pdu(REPORT, sequence, body)
    if not (isinstance(payload, Deliver)):
        raise RuntimeError("an SGIP delivery is a report or an MO")
    body = b"".join(
        (
            octets(payload.user_number, _TEXT),
            octets(payload.sp_number, _TEXT),
            u8(0),
            u8(payload.udhi),
            u8(payload.coding),
            u32(len(payload.content)),
            payload.content,
            bytes(8),
        )
    )
    return pdu(DELIVER, sequence, body)


@dataclass(frozen=True, slots=True)
class _Submit:
    sp_number: str
    charge_number: str
    users: tuple[str, ...]
    corp_id: str
    service_type: str
    report_flag: int
    udhi: int
    coding: int
    content: bytes


class SgipSession(Session):
    """A connection of the SP to the SMG (``Login_Type`` 1)."""

    protocol = "sgip"
    header_size = HEADER
    max_length = MAX_LENGTH
    window = 32

    def __init__(
        self, smsc: Smsc, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sgip: Sgip
    ) -> None:
        super().__init__(smsc, reader, writer)
        self._sgip = sgip

    def parse_header(self, raw: bytes) -> Frame:
        """The frame of a PDU; an unknown ``Command_ID`` is :class:`Malformed`."""
        return parse_frame(raw)

    async def serve(
        self, *, heartbeat_after: float | None, heartbeat_wait: float, heartbeat_misses: int
    ) -> None:
        """As :meth:`Session.serve`, closing the connection once no command arrived for 60 s."""
        idle = self._loop.create_task(self._close_when_idle())
        try:
            await super().serve(
                heartbeat_after=None, heartbeat_wait=heartbeat_wait, heartbeat_misses=heartbeat_misses
            )
        finally:
            idle.cancel()

    async def on_request(self, frame: Frame) -> None:
        """``BIND`` first; then ``SUBMIT`` and ``UNBIND``; anything else closes the connection."""
        if frame.command == BIND:
            self._bind(frame)
        elif not self.logged_in:
            self.close()
        elif frame.command == SUBMIT:
            self._submit(frame)
        elif frame.command == UNBIND and not frame.body:
            await self.drained()
            self.answer(frame, pdu(UNBIND | RESPONSE, frame.sequence, b""))
            self.close()
        else:
            self.close()

    def encode_deliver(self, payload: object, sequence: int) -> bytes:
        """Never used: the SMG sends nothing on the SP's connections."""
        return encode_payload(payload, sequence)

    def delivered(self, answer: Frame) -> bool:
        """Never used (see :meth:`encode_deliver`)."""
        return result_of(answer) == 0

    async def _close_when_idle(self) -> None:
        while self.is_open:
            quiet = self._loop.time() - self._last_heard
            if quiet >= _IDLE_CLOSE:
                self.close()
                return
            await asyncio.sleep(_IDLE_CLOSE - quiet)

    def _bind(self, frame: Frame) -> None:
        if len(frame.body) != _BIND_BODY:
            self.close()
            return
        if self.logged_in:
            self.answer(frame, response(BIND, frame.sequence, 2))
            return
        account = self.smsc.account
        body = Reader(frame.body)
        try:
            login_type, name, password = body.u8(), body.text(16), body.text(16)
        except Malformed:
            login_type, name, password = 1, "", ""
        if login_type != 1:
            result = 4
        elif name != account.login or password != account.secret or self.smsc.login_refused():
            result = 1
        elif sum(1 for session in self.smsc.sessions if session.logged_in) >= _MAX_CONNECTIONS:
            result = 3
        else:
            result = 0
        self.answer(frame, response(BIND, frame.sequence, result))
        if result:
            self.close()
            return
        self.logged_in = True
        self.smsc.logged_in(self)

    def _submit(self, frame: Frame) -> None:
        if self.hold_for_drop(frame):
            return
        known = self._sgip.accepted.get(frame.sequence)
        if known is not None:
            self.answer(frame, response(SUBMIT, frame.sequence, 0 if known == frame.body else 9))
            return
        submit = _parse_submit(frame.body)
        if submit is None:
            self.close()
            return
        result = 11 if self.smsc.throttled(self) else self._check(submit)
        if result == 0:
            self._sgip.remember(frame.sequence, frame.body)
            self._accept(frame.sequence, submit)
        delay = self.smsc.answer_delay() if result == 0 else 0.0
        self.answer(frame, response(SUBMIT, frame.sequence, result), delay=delay)

    def _check(self, submit: _Submit) -> int:
        account = self.smsc.account
        corp_ok = (
            submit.corp_id == account.corp_id
            if account.corp_id is not None
            else _CORP_ID.fullmatch(submit.corp_id) is not None
        )
        well_formed = (
            submit.sp_number.startswith(account.access_number)
            and submit.sp_number.isdigit()
            and corp_ok
            and submit.service_type != ""
            and 1 <= len(submit.users) <= 100
            and submit.report_flag <= 2
            and submit.coding in _FORMATS
            and (not submit.udhi or _concatenated(submit.content))
        )
        if not well_formed:
            return 5
        charge_ok = submit.charge_number in ("", "0" * 21) or _USER.fullmatch(submit.charge_number)
        if not charge_ok:
            return 6
        for user in submit.users:
            match = _USER.fullmatch(user)
            subscriber = None if match is None else self.smsc.state.subscribers.get("+86" + match.group(1))
            if subscriber is None or subscriber.operator != self.smsc.operator:
                return 6
        if not 0 < len(submit.content) <= (160 if submit.coding == 0 else 140):
            return 8
        return 0

    def _accept(self, sequence: int, submit: _Submit) -> None:
        smsc = self.smsc
        wish = {0: ReportWish.FAILURES, 1: ReportWish.ALWAYS}.get(submit.report_flag, ReportWish.NEVER)
        for user in submit.users:
            match = _USER.fullmatch(user)
            if not (match is not None):
                raise RuntimeError("a destination the submit checks accepted does not parse")
            status, reported = smsc.center.outcome(smsc.operator, wish)
            if status == "DELIVRD":
                smsc.deliver(
                    phone_number="+86" + match.group(1),
                    sender=submit.sp_number,
                    coding=submit.coding,
                    content=submit.content,
                    udhi=submit.udhi == 1,
                    message_id=f"{sequence:024X}",
                )
            if reported:
                delivered = status == "DELIVRD"
                report = Report(sequence, user, 0 if delivered else 2, 0 if delivered else _UNDELIV_CODE)
                smsc.report(_constant(report), self)


def _constant(value: object) -> Callable[[], object]:
    return lambda: value


def _concatenated(content: bytes) -> bool:
    if content[:3] != b"\x05\x00\x03":
        return False
    with contextlib.suppress(BadHeader):
        part, _ = parse_udh(content)
        return part is not None
    return False


def _parse_submit(data: bytes) -> _Submit | None:
    body = Reader(data)
    try:
        sp_number, charge_number = body.text(_TEXT), body.text(_TEXT)
        count = body.u8()
        users = tuple(body.text(_TEXT) for _ in range(count))
        corp_id, service_type = body.text(5), body.text(10)
        body.raw(1 + 6 + 6 + 1 + 1 + 1)
        body.text(16), body.text(16)
        report_flag = body.u8()
        body.u8()
        udhi, coding = body.u8(), body.u8()
        body.u8()
        content = body.raw(body.u32())
        body.raw(8)
        body.end()
    except Malformed:
        return None
    return _Submit(sp_number, charge_number, users, corp_id, service_type, report_flag, udhi, coding, content)


@dataclass(eq=False)
class Sgip:
    """The SGIP protocol of one SMG: its sequence counter and the sequences of the last 10 000
    ``SUBMIT``s it accepted (with their bodies)."""

    clock: Clock
    name: str = "sgip"
    accepted: OrderedDict[int, bytes] = field(default_factory=OrderedDict)
    _counter: int = 0

    def session(self, smsc: Smsc, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Session:
        """A connection of the SP to the SMG's port."""
        return SgipSession(smsc, reader, writer, self)

    def next_sequence(self) -> int:
        """The SMG's next command sequence: node 101001, Beijing ``MMDDhhmmss``, the counter."""
        self._counter = (self._counter + 1) & 0xFFFFFFFF
        stamp = int(self.clock.now().astimezone(BEIJING).strftime("%m%d%H%M%S"))
        return NODE_ID << 64 | stamp << 32 | self._counter

    def remember(self, sequence: int, body: bytes) -> None:
        """Note an accepted ``SUBMIT``; the oldest is forgotten past 10 000."""
        self.accepted[sequence] = body
        while len(self.accepted) > _REMEMBERED:
            self.accepted.popitem(last=False)

    def replies(self, smsc: Smsc, record: SmsRecord, text: str) -> list[object]:
        """The MO ``DELIVER``s of a reply with ``text`` from ``record``'s phone to its sender."""
        national = to_national(record.phone_number) or record.phone_number.lstrip("+")
        contents = split_ucs2(text, smsc.next_ref())
        udhi = 0 if len(contents) == 1 else 1
        return [Deliver("86" + national, record.sender, udhi, UCS2, content) for content in contents]
