"""SMGP 3.0 PDUs to bytes and back.

Header (12 bytes, big-endian): ``PacketLength`` (uint32, header included), ``RequestID``
(uint32), ``SequenceID`` (uint32). A response carries its request's ``SequenceID``.
"""

from __future__ import annotations

from collections.abc import Callable

from carrier_adapters.pdu import FrameBuffer, PduError, PduReader, PduWriter
from carrier_adapters.smgp.pdus import (
    ActiveTest,
    ActiveTestResp,
    Command,
    Deliver,
    DeliverResp,
    Exit,
    ExitResp,
    Login,
    LoginResp,
    Pdu,
    Submit,
    SubmitResp,
)
from carrier_adapters.smgp.tlv import decode_options, encode_options

__all__ = ["HEADER_LENGTH", "MAX_DEST_TERM_IDS", "MAX_PDU_LENGTH", "Codec"]

HEADER_LENGTH = 12
MAX_PDU_LENGTH = 4096
MAX_DEST_TERM_IDS = 100

_MSG_ID = 10
_AUTHENTICATOR = 16
_TERM_ID = 21
_RESERVE = 8


class Codec:
    """Encodes and decodes whole SMGP 3.0 PDUs; ``decode`` raises only :class:`PduError`."""

    __slots__ = ()

    def frames(self) -> FrameBuffer:
        """A buffer that cuts a received byte stream into whole PDUs."""
        return FrameBuffer(min_length=HEADER_LENGTH, max_length=MAX_PDU_LENGTH)

    def encode(self, pdu: Pdu, sequence: int) -> bytes:
        """The PDU with its header; a field that does not fit its size raises :class:`PduError`."""
        body = PduWriter()
        command = _write_body(pdu, body)
        length = HEADER_LENGTH + len(body)
        if length > MAX_PDU_LENGTH:
            raise PduError(f"PDU of {length} bytes exceeds {MAX_PDU_LENGTH}")
        return PduWriter().u32(length).u32(command).u32(sequence).getvalue() + body.getvalue()

    def decode(self, frame: bytes) -> tuple[int, Pdu]:
        """``(SequenceID, pdu)`` of one whole PDU, header included."""
        reader = PduReader(frame)
        length = reader.u32()
        request_id = reader.u32()
        sequence = reader.u32()
        if length != len(frame):
            raise PduError(f"PacketLength {length} but {len(frame)} bytes")
        decoder = _DECODERS.get(request_id)
        if decoder is None:
            raise PduError(f"unknown RequestID 0x{request_id:08x}")
        pdu = decoder(reader)
        reader.end()
        return sequence, pdu


def _write_login(pdu: Login, w: PduWriter) -> None:
    w.text(pdu.client_id, 8)
    _exact(w, pdu.authenticator_client, _AUTHENTICATOR, "AuthenticatorClient")
    w.u8(pdu.login_mode).u32(pdu.timestamp).u8(pdu.client_version)


def _read_login(r: PduReader) -> Login:
    return Login(
        client_id=r.text(8),
        authenticator_client=r.raw(_AUTHENTICATOR),
        login_mode=r.u8(),
        timestamp=r.u32(),
        client_version=r.u8(),
    )


def _write_login_resp(pdu: LoginResp, w: PduWriter) -> None:
    w.u32(pdu.status)
    _exact(w, pdu.authenticator_server, _AUTHENTICATOR, "AuthenticatorServer")
    w.u8(pdu.server_version)


def _read_login_resp(r: PduReader) -> LoginResp:
    return LoginResp(status=r.u32(), authenticator_server=r.raw(_AUTHENTICATOR), server_version=r.u8())


def _write_submit(pdu: Submit, w: PduWriter) -> None:
    w.u8(pdu.msg_type).u8(pdu.need_report).u8(pdu.priority)
    w.text(pdu.service_id, 10).text(pdu.fee_type, 2).text(pdu.fee_code, 6).text(pdu.fixed_fee, 6)
    w.u8(pdu.msg_format).text(pdu.valid_time, 17).text(pdu.at_time, 17)
    w.text(pdu.src_term_id, _TERM_ID).text(pdu.charge_term_id, _TERM_ID)
    if not 1 <= len(pdu.dest_term_ids) <= MAX_DEST_TERM_IDS:
        raise PduError(f"DestTermIDCount {len(pdu.dest_term_ids)} outside 1..{MAX_DEST_TERM_IDS}")
    w.u8(len(pdu.dest_term_ids))
    for term_id in pdu.dest_term_ids:
        w.text(term_id, _TERM_ID)
    w.u8(len(pdu.msg_content)).raw(pdu.msg_content).fixed(pdu.reserve, _RESERVE)
    encode_options(pdu.options, w)


def _read_submit(r: PduReader) -> Submit:
    msg_type, need_report, priority = r.u8(), r.u8(), r.u8()
    service_id, fee_type, fee_code, fixed_fee = r.text(10), r.text(2), r.text(6), r.text(6)
    msg_format, valid_time, at_time = r.u8(), r.text(17), r.text(17)
    src_term_id, charge_term_id = r.text(_TERM_ID), r.text(_TERM_ID)
    count = r.u8()
    if not 1 <= count <= MAX_DEST_TERM_IDS:
        raise PduError(f"DestTermIDCount {count} outside 1..{MAX_DEST_TERM_IDS}")
    dest_term_ids = tuple(r.text(_TERM_ID) for _ in range(count))
    msg_content = r.raw(r.u8())
    return Submit(
        msg_type=msg_type,
        need_report=need_report,
        priority=priority,
        service_id=service_id,
        fee_type=fee_type,
        fee_code=fee_code,
        fixed_fee=fixed_fee,
        msg_format=msg_format,
        valid_time=valid_time,
        at_time=at_time,
        src_term_id=src_term_id,
        charge_term_id=charge_term_id,
        dest_term_ids=dest_term_ids,
        msg_content=msg_content,
        reserve=r.fixed(_RESERVE),
        options=decode_options(r),
    )


def _write_submit_resp(pdu: SubmitResp, w: PduWriter) -> None:
    _exact(w, pdu.msg_id, _MSG_ID, "MsgID")
    w.u32(pdu.status)


def _read_submit_resp(r: PduReader) -> SubmitResp:
    return SubmitResp(msg_id=r.raw(_MSG_ID), status=r.u32())


def _write_deliver(pdu: Deliver, w: PduWriter) -> None:
    _exact(w, pdu.msg_id, _MSG_ID, "MsgID")
    w.u8(pdu.is_report).u8(pdu.msg_format).text(pdu.recv_time, 14)
    w.text(pdu.src_term_id, _TERM_ID).text(pdu.dest_term_id, _TERM_ID)
    w.u8(len(pdu.msg_content)).raw(pdu.msg_content).fixed(pdu.reserve, _RESERVE)
    encode_options(pdu.options, w)


def _read_deliver(r: PduReader) -> Deliver:
    msg_id, is_report, msg_format, recv_time = r.raw(_MSG_ID), r.u8(), r.u8(), r.text(14)
    src_term_id, dest_term_id = r.text(_TERM_ID), r.text(_TERM_ID)
    msg_content = r.raw(r.u8())
    return Deliver(
        msg_id=msg_id,
        is_report=is_report,
        msg_format=msg_format,
        recv_time=recv_time,
        src_term_id=src_term_id,
        dest_term_id=dest_term_id,
        msg_content=msg_content,
        reserve=r.fixed(_RESERVE),
        options=decode_options(r),
    )


def _write_deliver_resp(pdu: DeliverResp, w: PduWriter) -> None:
    _exact(w, pdu.msg_id, _MSG_ID, "MsgID")
    w.u32(pdu.status)


def _read_deliver_resp(r: PduReader) -> DeliverResp:
    return DeliverResp(msg_id=r.raw(_MSG_ID), status=r.u32())


def _exact(w: PduWriter, data: bytes, size: int, name: str) -> None:
    if len(data) != size:
        raise PduError(f"{name} must be {size} bytes, not {len(data)}")
    w.raw(data)


def _write_body(pdu: Pdu, w: PduWriter) -> Command:
    match pdu:
        case Login():
            _write_login(pdu, w)
            return Command.LOGIN
        case LoginResp():
            _write_login_resp(pdu, w)
            return Command.LOGIN_RESP
        case Submit():
            _write_submit(pdu, w)
            return Command.SUBMIT
        case SubmitResp():
            _write_submit_resp(pdu, w)
            return Command.SUBMIT_RESP
        case Deliver():
            _write_deliver(pdu, w)
            return Command.DELIVER
        case DeliverResp():
            _write_deliver_resp(pdu, w)
            return Command.DELIVER_RESP
        case ActiveTest():
            return Command.ACTIVE_TEST
        case ActiveTestResp():
            return Command.ACTIVE_TEST_RESP
        case Exit():
            return Command.EXIT
        case ExitResp():
            return Command.EXIT_RESP


_DECODERS: dict[int, Callable[[PduReader], Pdu]] = {
    Command.LOGIN: _read_login,
    Command.LOGIN_RESP: _read_login_resp,
    Command.SUBMIT: _read_submit,
    Command.SUBMIT_RESP: _read_submit_resp,
    Command.DELIVER: _read_deliver,
    Command.DELIVER_RESP: _read_deliver_resp,
    Command.ACTIVE_TEST: lambda r: ActiveTest(),
    Command.ACTIVE_TEST_RESP: lambda r: ActiveTestResp(),
    Command.EXIT: lambda r: Exit(),
    Command.EXIT_RESP: lambda r: ExitResp(),
}
