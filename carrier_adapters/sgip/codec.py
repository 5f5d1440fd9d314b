"""SGIP 1.2 PDUs to bytes and back.

A PDU is a 20-byte header (``Message_Length`` counting the header, ``Command_ID``, the 12-byte
:class:`SgipSequence`) and the command's body. The protocol caps a PDU at 2 KiB. Decoding checks
the length field against the frame, the command id, every field's size and that nothing follows
the last field; any breach raises :class:`PduError`. Values within a well-formed layout (a
``UserCount`` of 0, an unknown ``MessageCoding``) decode: the receiver answers them with a Result.
Encoding refuses them where the protocol bounds them (``UserCount`` 1-100).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from carrier_adapters.pdu import FrameBuffer, PduError, PduReader, PduWriter
from carrier_adapters.sgip.pdus import (
    Bind,
    BindResp,
    Command,
    Deliver,
    DeliverResp,
    Pdu,
    Report,
    ReportResp,
    Submit,
    SubmitResp,
    Unbind,
    UnbindResp,
)
from carrier_adapters.sgip.sequence import SgipSequence

__all__ = ["HEADER_LENGTH", "MAX_PDU_LENGTH", "MAX_USER_COUNT", "Codec"]

HEADER_LENGTH: Final = 20
MAX_PDU_LENGTH: Final = 2048
"""The protocol's bound on a whole PDU, header included."""
MAX_USER_COUNT: Final = 100

_NUMBER = 21
_LOGIN = 16
_RESERVE = 8
_CORP_ID = 5
_SERVICE_TYPE = 10
_FEE = 6
_TIME = 16


class Codec:
    """Encodes and decodes SGIP 1.2 PDUs; stateless, so one instance serves every connection."""

    __slots__ = ()

    def encode(self, pdu: Pdu, sequence: SgipSequence) -> bytes:
        """The whole PDU, header included; a value that breaks its field raises :class:`PduError`."""
        command, body = _encode_body(pdu)
        length = HEADER_LENGTH + len(body)
        if length > MAX_PDU_LENGTH:
            raise PduError(f"a {length}-byte PDU exceeds {MAX_PDU_LENGTH} bytes")
        header = PduWriter().u32(length).u32(command).raw(sequence.to_bytes())
        return header.getvalue() + body

    def decode(self, frame: bytes) -> tuple[SgipSequence, Pdu]:
        """The sequence and the PDU of one whole frame (as :meth:`frames` cuts them)."""
        if len(frame) < HEADER_LENGTH:
            raise PduError(f"a {len(frame)}-byte frame is shorter than the SGIP header")
        reader = PduReader(frame)
        length = reader.u32()
        if length != len(frame):
            raise PduError(f"Message_Length {length} does not match the {len(frame)}-byte frame")
        if length > MAX_PDU_LENGTH:
            raise PduError(f"a {length}-byte PDU exceeds {MAX_PDU_LENGTH} bytes")
        command_id = reader.u32()
        decoder = _DECODERS.get(command_id)
        if decoder is None:
            raise PduError(f"unknown SGIP command id 0x{command_id:08x}")
        sequence = SgipSequence.from_bytes(reader.raw(12))
        pdu = decoder(reader)
        reader.end()
        return sequence, pdu

    def frames(self) -> FrameBuffer:
        """A buffer cutting one connection's byte stream into whole SGIP PDUs."""
        return FrameBuffer(min_length=HEADER_LENGTH, max_length=MAX_PDU_LENGTH)


def _encode_body(pdu: Pdu) -> tuple[Command, bytes]:
    writer = PduWriter()
    match pdu:
        case Bind():
            writer.u8(pdu.login_type).text(pdu.login_name, _LOGIN)
            writer.text(pdu.login_password, _LOGIN).fixed(pdu.reserve, _RESERVE)
            return Command.BIND, writer.getvalue()
        case Unbind():
            return Command.UNBIND, b""
        case UnbindResp():
            return Command.UNBIND_RESP, b""
        case Submit():
            _write_submit(writer, pdu)
            return Command.SUBMIT, writer.getvalue()
        case Deliver():
            writer.text(pdu.user_number, _NUMBER).text(pdu.sp_number, _NUMBER)
            writer.u8(pdu.tp_pid).u8(pdu.tp_udhi).u8(pdu.message_coding)
            writer.u32(len(pdu.message_content)).raw(pdu.message_content)
            writer.fixed(pdu.reserve, _RESERVE)
            return Command.DELIVER, writer.getvalue()
        case Report():
            writer.raw(pdu.submit_sequence_number.to_bytes()).u8(pdu.report_type)
            writer.text(pdu.user_number, _NUMBER).u8(pdu.state).u8(pdu.error_code)
            writer.fixed(pdu.reserve, _RESERVE)
            return Command.REPORT, writer.getvalue()
        case BindResp() | SubmitResp() | DeliverResp() | ReportResp():
            writer.u8(pdu.result).fixed(pdu.reserve, _RESERVE)
            return _RESPONSE_COMMANDS[type(pdu)], writer.getvalue()


def _write_submit(writer: PduWriter, pdu: Submit) -> None:
    count = len(pdu.user_numbers)
    if not 1 <= count <= MAX_USER_COUNT:
        raise PduError(f"UserCount {count} outside 1..{MAX_USER_COUNT}")
    writer.text(pdu.sp_number, _NUMBER).text(pdu.charge_number, _NUMBER).u8(count)
    for number in pdu.user_numbers:
        writer.text(number, _NUMBER)
    writer.text(pdu.corp_id, _CORP_ID).text(pdu.service_type, _SERVICE_TYPE)
    writer.u8(pdu.fee_type).text(pdu.fee_value, _FEE).text(pdu.given_value, _FEE)
    writer.u8(pdu.agent_flag).u8(pdu.morelateto_mt_flag).u8(pdu.priority)
    writer.text(pdu.expire_time, _TIME).text(pdu.schedule_time, _TIME)
    writer.u8(pdu.report_flag).u8(pdu.tp_pid).u8(pdu.tp_udhi)
    writer.u8(pdu.message_coding).u8(pdu.message_type)
    writer.u32(len(pdu.message_content)).raw(pdu.message_content)
    writer.fixed(pdu.reserve, _RESERVE)


def _read_bind(reader: PduReader) -> Bind:
    return Bind(
        login_type=reader.u8(),
        login_name=reader.text(_LOGIN),
        login_password=reader.text(_LOGIN),
        reserve=reader.fixed(_RESERVE),
    )


def _read_submit(reader: PduReader) -> Submit:
    sp_number = reader.text(_NUMBER)
    charge_number = reader.text(_NUMBER)
    user_numbers = tuple(reader.text(_NUMBER) for _ in range(reader.u8()))
    return Submit(
        sp_number=sp_number,
        charge_number=charge_number,
        user_numbers=user_numbers,
        corp_id=reader.text(_CORP_ID),
        service_type=reader.text(_SERVICE_TYPE),
        fee_type=reader.u8(),
        fee_value=reader.text(_FEE),
        given_value=reader.text(_FEE),
        agent_flag=reader.u8(),
        morelateto_mt_flag=reader.u8(),
        priority=reader.u8(),
        expire_time=reader.text(_TIME),
        schedule_time=reader.text(_TIME),
        report_flag=reader.u8(),
        tp_pid=reader.u8(),
        tp_udhi=reader.u8(),
        message_coding=reader.u8(),
        message_type=reader.u8(),
        message_content=reader.raw(reader.u32()),
        reserve=reader.fixed(_RESERVE),
    )


def _read_deliver(reader: PduReader) -> Deliver:
    return Deliver(
        user_number=reader.text(_NUMBER),
        sp_number=reader.text(_NUMBER),
        tp_pid=reader.u8(),
        tp_udhi=reader.u8(),
        message_coding=reader.u8(),
        message_content=reader.raw(reader.u32()),
        reserve=reader.fixed(_RESERVE),
    )


def _read_report(reader: PduReader) -> Report:
    return Report(
        submit_sequence_number=SgipSequence.from_bytes(reader.raw(12)),
        report_type=reader.u8(),
        user_number=reader.text(_NUMBER),
        state=reader.u8(),
        error_code=reader.u8(),
        reserve=reader.fixed(_RESERVE),
    )


_RESPONSE_COMMANDS: Final[dict[type[Pdu], Command]] = {
    BindResp: Command.BIND_RESP,
    SubmitResp: Command.SUBMIT_RESP,
    DeliverResp: Command.DELIVER_RESP,
    ReportResp: Command.REPORT_RESP,
}

_DECODERS: Final[dict[int, Callable[[PduReader], Pdu]]] = {
    Command.BIND: _read_bind,
    Command.BIND_RESP: lambda r: BindResp(result=r.u8(), reserve=r.fixed(_RESERVE)),
    Command.UNBIND: lambda _: Unbind(),
    Command.UNBIND_RESP: lambda _: UnbindResp(),
    Command.SUBMIT: _read_submit,
    Command.SUBMIT_RESP: lambda r: SubmitResp(result=r.u8(), reserve=r.fixed(_RESERVE)),
    Command.DELIVER: _read_deliver,
    Command.DELIVER_RESP: lambda r: DeliverResp(result=r.u8(), reserve=r.fixed(_RESERVE)),
    Command.REPORT: _read_report,
    Command.REPORT_RESP: lambda r: ReportResp(result=r.u8(), reserve=r.fixed(_RESERVE)),
}
