"""The international SMSC: SMPP 3.4 (``docs/operator-dialects.md``, "SMPP 3.4 (international routes
and aggregators)").

``bind_transceiver``, ``submit_sm`` (the doc's checks in order), ``enquire_link`` and ``unbind`` from
the ESME; ``deliver_sm`` (delivery receipts and MO texts) and ``enquire_link`` from the SMSC on bound
connections. Unserved and unknown commands get ``generic_nack`` ``ESME_RINVCMDID``. A destination is
the E.164 number of a sandbox phone (any country, any operator); one no phone holds is accepted and
receipted ``UNDELIV`` ``err:001``.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from sandbox.sms import ReportWish
from sandbox.smsc.gateway import Smsc
from sandbox.smsc.session import RESPONSE, Frame, Session
from sandbox.smsc.texts import UCS2, BadHeader, parse_udh, split_ucs2
from sandbox.smsc.wire import Reader, u8, u16, u32
from sandbox.state import SmsRecord

__all__ = ["SMPP", "SmppSession", "receipt_text"]

BIND_TRANSCEIVER: Final = 0x00000009
UNBIND: Final = 0x00000006
ENQUIRE_LINK: Final = 0x00000015
SUBMIT_SM: Final = 0x00000004
DELIVER_SM: Final = 0x00000005
GENERIC_NACK: Final = 0x80000000
_HEADER: Final = 16
_MAX: Final = 8192
_SYSTEM_ID: Final = b"SANDBOX\0"
_INTERFACE_VERSION: Final = 0x34
_MAX_CONNECTIONS: Final = 60

OK: Final = 0x00
RINVMSGLEN: Final = 0x01
RINVCMDLEN: Final = 0x02
RINVCMDID: Final = 0x03
RINVBNDSTS: Final = 0x04
RALYBND: Final = 0x05
RINVREGDLVFLG: Final = 0x07
RINVSRCADR: Final = 0x0A
RINVDSTADR: Final = 0x0B
RBINDFAIL: Final = 0x0D
RINVPASWD: Final = 0x0E
RINVSYSID: Final = 0x0F
RMSGQFUL: Final = 0x14
RINVSERTYP: Final = 0x15
RINVESMCLASS: Final = 0x43
RINVSRCTON: Final = 0x48
RINVDSTTON: Final = 0x50
RINVDSTNPI: Final = 0x51
RTHROTTLED: Final = 0x58
RINVSCHED: Final = 0x61
RINVEXPIRY: Final = 0x62
RINVOPTPARSTREAM: Final = 0xC0
RINVPARLEN: Final = 0xC2
RINVOPTPARAMVAL: Final = 0xC4
UNSUPPORTED_CODING: Final = 0x401

RECEIPTED_MESSAGE_ID: Final = 0x001E
MESSAGE_PAYLOAD: Final = 0x0424
MESSAGE_STATE: Final = 0x0427
_TLV_LENGTHS: Final = {
    0x020C: (2, 2),
    0x020E: (1, 1),
    0x020F: (1, 1),
    0x0210: (1, 1),
    0x0423: (3, 3),
    RECEIPTED_MESSAGE_ID: (1, 65),
    MESSAGE_STATE: (1, 1),
}
_STATES: Final = {"DELIVRD": 2, "UNDELIV": 5}
_TIME: Final = re.compile(r"[0-9]{15}[-+R]")
_ALPHANUMERIC: Final = re.compile(r"[A-Za-z0-9 ]{1,11}")
_DIGITS: Final = re.compile(r"[0-9]{1,15}")
_DESTINATION: Final = re.compile(r"[1-9][0-9]{6,14}")
_UDHI: Final = 0x40


class _Refused(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _cstring(body: Reader, size: int, status: int) -> str:
    """A C-Octet String of at most ``size`` bytes with its NUL; ``status`` when it is not."""
    data = body.peek(size)
    end = data.find(b"\0")
    if end < 0 or not data[:end].isascii():
        raise _Refused(status)
    body.raw(end + 1)
    return data[:end].decode("ascii")


def _u8(body: Reader) -> int:
    if body.remaining < 1:
        raise _Refused(RINVCMDLEN)
    return body.u8()


@dataclass(frozen=True, slots=True)
class _Submit:
    service_type: str
    source_ton: int
    source_npi: int
    source: str
    dest_ton: int
    dest_npi: int
    destination: str
    esm_class: int
    registered_delivery: int
    data_coding: int
    content: bytes


@dataclass(frozen=True, slots=True)
class DeliverSm:
    """A ``deliver_sm`` the SMSC owes the ESME: a receipt (``esm_class`` 0x04) or an MO text or part."""

    source: tuple[int, int, str]
    destination: tuple[int, int, str]
    esm_class: int
    data_coding: int
    content: bytes
    tlvs: bytes


def receipt_text(message_id: str, stat: str, submitted: datetime, done: datetime) -> bytes:
    """The doc's receipt text (dates in UTC, ``err`` 000 delivered else 001, nothing after ``text:``)."""
    delivered = stat == "DELIVRD"
    return (
        f"id:{message_id} sub:001 dlvrd:{'001' if delivered else '000'}"
        f" submit date:{submitted.astimezone(UTC):%y%m%d%H%M} done date:{done.astimezone(UTC):%y%m%d%H%M}"
        f" stat:{stat} err:{'000' if delivered else '001'} text:"
    ).encode("ascii")


def _tlv(tag: int, value: bytes) -> bytes:
    return u16(tag) + u16(len(value)) + value


def _pdu(command: int, status: int, sequence: int, body: bytes) -> bytes:
    return u32(_HEADER + len(body)) + u32(command) + u32(status) + u32(sequence) + body


def _status(frame: Frame) -> int:
    return int.from_bytes(frame.raw[8:12], "big")


def _sender_address(sender: str) -> tuple[int, int, str]:
    return (1, 1, sender) if sender.isdigit() else (5, 0, sender)


class SmppSession(Session):
    """A connection of the ESME to the SMSC."""

    protocol = "smpp"
    header_size = _HEADER
    max_length = _MAX

    def __init__(self, smsc: Smsc, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        super().__init__(smsc, reader, writer)
        self._id_prefix = secrets.token_hex(4).upper()

    def parse_header(self, raw: bytes) -> Frame:
        """The frame of a PDU (any ``command_id``: unknown ones are answered, not fatal)."""
        header = Reader(raw[4:_HEADER])
        command = header.u32()
        header.u32()
        return Frame(command, header.u32(), raw[_HEADER:], raw)

    def next_sequence(self) -> int:
        """The SMSC's next request sequence: 1, 2, ... wrapping after ``0x7FFFFFFF`` back to 1."""
        self._sequence = self._sequence % 0x7FFFFFFF + 1
        return self._sequence

    async def on_request(self, frame: Frame) -> None:
        """``enquire_link`` at any time; ``bind_transceiver``, ``submit_sm`` and ``unbind`` by the
        bind state; every other request ``generic_nack`` ``ESME_RINVCMDID``."""
        if frame.command == ENQUIRE_LINK:
            if self.smsc.faults.silent_heartbeats:
                self.discard(frame)
            else:
                self.answer(frame, _pdu(ENQUIRE_LINK | RESPONSE, OK, frame.sequence, b""))
        elif frame.command == BIND_TRANSCEIVER:
            self._bind(frame)
        elif frame.command == SUBMIT_SM:
            self._submit(frame)
        elif frame.command == UNBIND:
            if not self.logged_in:
                self.answer(frame, _pdu(UNBIND | RESPONSE, RINVBNDSTS, frame.sequence, b""))
                return
            await self.drained()
            self.answer(frame, _pdu(UNBIND | RESPONSE, OK, frame.sequence, b""))
            self.close()
        else:
            self.answer(frame, _pdu(GENERIC_NACK, RINVCMDID, frame.sequence, b""))

    def active_test(self, sequence: int) -> bytes:
        """The SMSC's ``enquire_link``."""
        return _pdu(ENQUIRE_LINK, OK, sequence, b"")

    def delivered(self, answer: Frame) -> bool:
        """A ``deliver_sm_resp`` with ``command_status`` 0."""
        return answer.command == DELIVER_SM | RESPONSE and _status(answer) == OK

    def encode_deliver(self, payload: object, sequence: int) -> bytes:
        """The ``deliver_sm`` of a :class:`DeliverSm`."""
        if not (isinstance(payload, DeliverSm)):
            raise RuntimeError("a payload of another protocol in this outbox")
        source_ton, source_npi, source = payload.source
        dest_ton, dest_npi, destination = payload.destination
        body = b"".join(
            (
                b"\0",
                u8(source_ton),
                u8(source_npi),
                source.encode("ascii") + b"\0",
                u8(dest_ton),
                u8(dest_npi),
                destination.encode("ascii") + b"\0",
                u8(payload.esm_class),
                u8(0),
                u8(0),
                b"\0",
                b"\0",
                u8(0),
                u8(0),
                u8(payload.data_coding),
                u8(0),
                u8(len(payload.content)),
                payload.content,
                payload.tlvs,
            )
        )
        return _pdu(DELIVER_SM, OK, sequence, body)

    def _bind(self, frame: Frame) -> None:
        account = self.smsc.account
        body = Reader(frame.body)
        try:
            if self.logged_in:
                raise _Refused(RALYBND)
            system_id = _cstring(body, 16, RINVSYSID)
            password = _cstring(body, 9, RINVPASWD)
            _cstring(body, 13, RINVCMDLEN)
            _u8(body), _u8(body), _u8(body)
            _cstring(body, 41, RINVCMDLEN)
            if system_id != account.login:
                raise _Refused(RINVSYSID)
            if password != account.secret:
                raise _Refused(RINVPASWD)
            bound = sum(1 for session in self.smsc.sessions if session.logged_in)
            if self.smsc.login_refused() or bound >= _MAX_CONNECTIONS:
                raise _Refused(RBINDFAIL)
        except _Refused as refused:
            self.answer(frame, _pdu(BIND_TRANSCEIVER | RESPONSE, refused.status, frame.sequence, b""))
            if refused.status != RALYBND:
                self.close()
            return
        answer = _SYSTEM_ID + _tlv(0x0210, u8(_INTERFACE_VERSION))
        self.answer(frame, _pdu(BIND_TRANSCEIVER | RESPONSE, OK, frame.sequence, answer))
        self.logged_in = self.receives = True
        self.smsc.logged_in(self)

    def _submit(self, frame: Frame) -> None:
        if not self.logged_in:
            self.answer(frame, _pdu(SUBMIT_SM | RESPONSE, RINVBNDSTS, frame.sequence, b""))
            return
        if self.hold_for_drop(frame):
            return
        try:
            submit = _parse_submit(frame.body)
            if self.unanswered > self.window:
                raise _Refused(RMSGQFUL)
            if self.smsc.throttled(self):
                raise _Refused(RTHROTTLED)
            _check(submit)
        except _Refused as refused:
            self.answer(frame, _pdu(SUBMIT_SM | RESPONSE, refused.status, frame.sequence, b""))
            return
        message_id = f"{self._id_prefix}{self.smsc.next_id() & 0xFFFFFFFF:08X}"
        self._accept(submit, message_id)
        body = message_id.encode("ascii") + b"\0"
        self.answer(
            frame, _pdu(SUBMIT_SM | RESPONSE, OK, frame.sequence, body), delay=self.smsc.answer_delay()
        )

    def _accept(self, submit: _Submit, message_id: str) -> None:
        smsc = self.smsc
        phone = "+" + submit.destination
        wish = {1: ReportWish.ALWAYS, 2: ReportWish.FAILURES}.get(
            submit.registered_delivery, ReportWish.NEVER
        )
        status, reported = smsc.center.outcome(smsc.operator, wish)
        if phone not in smsc.state.subscribers:
            status = "UNDELIV"
            reported = wish is not ReportWish.NEVER and smsc.faults.delivery_report != "none"
        if status == "DELIVRD":
            smsc.deliver(
                phone_number=phone,
                sender=submit.source,
                coding=submit.data_coding,
                content=submit.content,
                udhi=bool(submit.esm_class & _UDHI),
                message_id=message_id,
            )
        if not reported:
            return
        submitted = smsc.clock.now()
        text = receipt_text(message_id, status, submitted, submitted)
        tlvs = _tlv(RECEIPTED_MESSAGE_ID, message_id.encode("ascii") + b"\0") + _tlv(
            MESSAGE_STATE, u8(_STATES[status])
        )
        receipt = DeliverSm(
            source=(1, 1, submit.destination),
            destination=(submit.source_ton, submit.source_npi, submit.source),
            esm_class=0x04,
            data_coding=0,
            content=text,
            tlvs=tlvs,
        )
        smsc.report(lambda: receipt, self)


def _parse_submit(data: bytes) -> _Submit:
    body = Reader(data)
    service_type = _cstring(body, 6, RINVSERTYP)
    source_ton, source_npi = _u8(body), _u8(body)
    source = _cstring(body, 21, RINVSRCADR)
    dest_ton, dest_npi = _u8(body), _u8(body)
    destination = _cstring(body, 21, RINVDSTADR)
    esm_class, _, _ = _u8(body), _u8(body), _u8(body)
    schedule = _cstring(body, 17, RINVSCHED)
    validity = _cstring(body, 17, RINVEXPIRY)
    if schedule and _TIME.fullmatch(schedule) is None:
        raise _Refused(RINVSCHED)
    if validity and _TIME.fullmatch(validity) is None:
        raise _Refused(RINVEXPIRY)
    registered, _ = _u8(body), _u8(body)
    data_coding, _ = _u8(body), _u8(body)
    length = _u8(body)
    if length > body.remaining:
        raise _Refused(RINVMSGLEN)
    content = body.raw(length)
    tlvs = _parse_tlvs(body)
    if MESSAGE_PAYLOAD in tlvs:
        if content:
            raise _Refused(RINVMSGLEN)
        content = tlvs[MESSAGE_PAYLOAD]
    return _Submit(
        service_type,
        source_ton,
        source_npi,
        source,
        dest_ton,
        dest_npi,
        destination,
        esm_class,
        registered,
        data_coding,
        content,
    )


def _parse_tlvs(body: Reader) -> dict[int, bytes]:
    tlvs: dict[int, bytes] = {}
    while body.remaining:
        if body.remaining < 4:
            raise _Refused(RINVOPTPARSTREAM)
        tag, size = body.u16(), body.u16()
        if size > body.remaining:
            raise _Refused(RINVOPTPARSTREAM)
        value = body.raw(size)
        low, high = _TLV_LENGTHS.get(tag, (0, 0xFFFF))
        if tag in tlvs or not low <= size <= high:
            raise _Refused(RINVPARLEN)
        if tag == RECEIPTED_MESSAGE_ID and not value.isascii():
            raise _Refused(RINVOPTPARAMVAL)
        tlvs[tag] = value
    return tlvs


def _check(submit: _Submit) -> None:
    source = submit.source
    if submit.source_ton not in (0, 1, 5):
        raise _Refused(RINVSRCTON)
    pattern = _ALPHANUMERIC if submit.source_ton == 5 else _DIGITS
    if pattern.fullmatch(source) is None:
        raise _Refused(RINVSRCADR)
    if submit.dest_ton != 1:
        raise _Refused(RINVDSTTON)
    if submit.dest_npi != 1:
        raise _Refused(RINVDSTNPI)
    if _DESTINATION.fullmatch(submit.destination) is None:
        raise _Refused(RINVDSTADR)
    if submit.esm_class & ~(_UDHI | 0x03):
        raise _Refused(RINVESMCLASS)
    if submit.registered_delivery not in (0, 1, 2):
        raise _Refused(RINVREGDLVFLG)
    if submit.data_coding not in (1, UCS2):
        raise _Refused(UNSUPPORTED_CODING)
    content = submit.content
    too_long = len(content) > (160 if submit.data_coding == 1 else 140)
    odd = submit.data_coding == UCS2 and len(content) % 2 == 1
    if not content or too_long or odd or (submit.esm_class & _UDHI and not _has_udh(content)):
        raise _Refused(RINVMSGLEN)


def _has_udh(content: bytes) -> bool:
    try:
        part, _ = parse_udh(content)
    except BadHeader:
        return False
    return part is not None


@dataclass(frozen=True, slots=True)
class _Spec:
    name: str = "smpp"

    def session(self, smsc: Smsc, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Session:
        return SmppSession(smsc, reader, writer)

    def replies(self, smsc: Smsc, record: SmsRecord, text: str) -> list[object]:
        contents = split_ucs2(text, smsc.next_ref())
        esm_class = 0 if len(contents) == 1 else _UDHI
        return [
            DeliverSm(
                source=(1, 1, record.phone_number.lstrip("+")),
                destination=_sender_address(record.sender),
                esm_class=esm_class,
                data_coding=UCS2,
                content=content,
                tlvs=b"",
            )
            for content in contents
        ]


SMPP: Final = _Spec()
"""The SMPP protocol for :class:`sandbox.smsc.gateway.Smsc`."""
