"""Encoding and decoding whole SMPP 3.4 PDUs, header included.

A PDU that breaks the protocol raises :class:`InvalidPdu` (a ``PduError``) carrying the
``command_status`` the receiver answers with (``generic_nack`` for a header it cannot use, the
command's ``*_resp`` otherwise) and the header when it could be read, so the session can answer
with the offending PDU's ``sequence_number``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from carrier_adapters.pdu import FrameBuffer, PduError, PduReader, PduWriter
from carrier_adapters.smpp.pdus import (
    BindTransceiver,
    BindTransceiverResp,
    Command,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    NetworkErrorCode,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    Tlv,
    Tlvs,
    Unbind,
    UnbindResp,
)
from carrier_adapters.smpp.results import CommandStatus

__all__ = [
    "HEADER_LENGTH",
    "MAX_PDU_LENGTH",
    "MAX_SEQUENCE",
    "Codec",
    "Header",
    "InvalidPdu",
    "read_header",
]

HEADER_LENGTH = 16
MAX_PDU_LENGTH = 8192
"""Longest PDU accepted: a 64 KiB message_payload is legal but no route of ours needs one."""
MAX_SEQUENCE = 0x7FFFFFFF

TAG_RECEIPTED_MESSAGE_ID = 0x001E
TAG_SAR_MSG_REF_NUM = 0x020C
TAG_SAR_TOTAL_SEGMENTS = 0x020E
TAG_SAR_SEGMENT_SEQNUM = 0x020F
TAG_SC_INTERFACE_VERSION = 0x0210
TAG_NETWORK_ERROR_CODE = 0x0423
TAG_MESSAGE_PAYLOAD = 0x0424
TAG_MESSAGE_STATE = 0x0427
_NAMED_TAGS = frozenset(
    {
        TAG_RECEIPTED_MESSAGE_ID,
        TAG_SAR_MSG_REF_NUM,
        TAG_SAR_TOTAL_SEGMENTS,
        TAG_SAR_SEGMENT_SEQNUM,
        TAG_NETWORK_ERROR_CODE,
        TAG_MESSAGE_PAYLOAD,
        TAG_MESSAGE_STATE,
    }
)

SYSTEM_ID_SIZE = 16
PASSWORD_SIZE = 9
SYSTEM_TYPE_SIZE = 13
ADDRESS_RANGE_SIZE = 41
SERVICE_TYPE_SIZE = 6
ADDRESS_SIZE = 21
TIME_SIZE = 17
MESSAGE_ID_SIZE = 65
MAX_SHORT_MESSAGE = 254

_HEADER = struct.Struct(">IIII")
_S = CommandStatus


@dataclass(frozen=True, slots=True)
class Header:
    """The four header fields, as read."""

    command_length: int
    command_id: int
    command_status: int
    sequence_number: int


class InvalidPdu(PduError):
    """A malformed PDU; ``status`` is the answer it deserves, ``header`` its header if readable."""

    def __init__(self, message: str, status: int, header: Header | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.header = header


def read_header(frame: bytes) -> Header:
    """The header of ``frame``; :class:`InvalidPdu` if it is shorter than a header."""
    if len(frame) < HEADER_LENGTH:
        raise InvalidPdu(f"{len(frame)} bytes are shorter than a header", _S.ESME_RINVCMDLEN)
    return Header(*_HEADER.unpack_from(frame))


class Codec:
    """SMPP 3.4 PDUs to bytes and back; sequences are ``int`` 1..0x7FFFFFFF (0 for a nack)."""

    __slots__ = ()

    def frames(self) -> FrameBuffer:
        """A buffer cutting a received stream into whole PDUs."""
        return FrameBuffer(min_length=HEADER_LENGTH, max_length=MAX_PDU_LENGTH)

    def encode(self, pdu: Pdu, sequence: int) -> bytes:
        """The whole PDU; a field that does not fit its size or rules raises ``PduError``."""
        lowest = 0 if isinstance(pdu, GenericNack) else 1
        if not lowest <= sequence <= MAX_SEQUENCE:
            raise PduError(f"sequence {sequence} outside {lowest}..{MAX_SEQUENCE}")
        command, status, body = _encode_body(pdu)
        length = HEADER_LENGTH + len(body)
        if length > MAX_PDU_LENGTH:
            raise PduError(f"PDU of {length} bytes exceeds {MAX_PDU_LENGTH}")
        return _HEADER.pack(length, command, status, sequence) + body

    def decode(self, frame: bytes) -> tuple[int, Pdu]:
        """``(sequence_number, pdu)`` of one whole PDU; :class:`InvalidPdu` if malformed.

        A request's ``command_status`` is ignored (the protocol sets it to 0).
        """
        header = read_header(frame)
        if header.command_length != len(frame):
            raise InvalidPdu(
                f"command_length {header.command_length} but {len(frame)} bytes",
                _S.ESME_RINVCMDLEN,
                header,
            )
        decoder = _DECODERS.get(header.command_id)
        if decoder is None:
            raise InvalidPdu(f"unknown command_id 0x{header.command_id:08X}", _S.ESME_RINVCMDID, header)
        reader = PduReader(frame, HEADER_LENGTH)
        try:
            pdu = decoder(reader, header.command_status)
            reader.end()
        except InvalidPdu as error:
            error.header = header
            raise
        except PduError as error:
            raise InvalidPdu(str(error), _S.ESME_RINVCMDLEN, header) from None
        return header.sequence_number, pdu


def _encode_body(pdu: Pdu) -> tuple[int, int, bytes]:
    w = PduWriter()
    match pdu:
        case BindTransceiver():
            w.cstring(pdu.system_id, SYSTEM_ID_SIZE).cstring(pdu.password, PASSWORD_SIZE)
            w.cstring(pdu.system_type, SYSTEM_TYPE_SIZE)
            w.u8(pdu.interface_version).u8(pdu.addr_ton).u8(pdu.addr_npi)
            w.cstring(pdu.address_range, ADDRESS_RANGE_SIZE)
            return Command.BIND_TRANSCEIVER, 0, w.getvalue()
        case BindTransceiverResp():
            if pdu.command_status == 0 or pdu.system_id or pdu.sc_interface_version is not None:
                w.cstring(pdu.system_id, SYSTEM_ID_SIZE)
                if pdu.sc_interface_version is not None:
                    w.u16(TAG_SC_INTERFACE_VERSION).u16(1).u8(pdu.sc_interface_version)
            return Command.BIND_TRANSCEIVER_RESP, _status(pdu.command_status), w.getvalue()
        case Unbind():
            return Command.UNBIND, 0, b""
        case UnbindResp():
            return Command.UNBIND_RESP, _status(pdu.command_status), b""
        case EnquireLink():
            return Command.ENQUIRE_LINK, 0, b""
        case EnquireLinkResp():
            return Command.ENQUIRE_LINK_RESP, _status(pdu.command_status), b""
        case GenericNack():
            return Command.GENERIC_NACK, _status(pdu.command_status), b""
        case SubmitSm() | DeliverSm():
            _write_message(w, pdu)
            command = Command.SUBMIT_SM if isinstance(pdu, SubmitSm) else Command.DELIVER_SM
            return command, 0, w.getvalue()
        case SubmitSmResp():
            if pdu.command_status == 0 or pdu.message_id:
                w.cstring(pdu.message_id, MESSAGE_ID_SIZE)
            return Command.SUBMIT_SM_RESP, _status(pdu.command_status), w.getvalue()
        case DeliverSmResp():
            w.cstring(pdu.message_id, MESSAGE_ID_SIZE)
            return Command.DELIVER_SM_RESP, _status(pdu.command_status), w.getvalue()


def _status(value: int) -> int:
    if not 0 <= value <= 0xFFFFFFFF:
        raise PduError(f"command_status {value} does not fit four bytes")
    return value


def _write_message(w: PduWriter, pdu: SubmitSm | DeliverSm) -> None:
    if len(pdu.short_message) > MAX_SHORT_MESSAGE:
        raise PduError(f"short_message of {len(pdu.short_message)} octets exceeds 254")
    if pdu.short_message and pdu.tlvs.message_payload is not None:
        raise PduError("short_message and message_payload are exclusive")
    _check_time(pdu.schedule_delivery_time, "schedule_delivery_time", _S.ESME_RINVSCHED)
    _check_time(pdu.validity_period, "validity_period", _S.ESME_RINVEXPIRY)
    w.cstring(pdu.service_type, SERVICE_TYPE_SIZE)
    w.u8(pdu.source_addr_ton).u8(pdu.source_addr_npi).cstring(pdu.source_addr, ADDRESS_SIZE)
    w.u8(pdu.dest_addr_ton).u8(pdu.dest_addr_npi).cstring(pdu.destination_addr, ADDRESS_SIZE)
    w.u8(pdu.esm_class).u8(pdu.protocol_id).u8(pdu.priority_flag)
    w.cstring(pdu.schedule_delivery_time, TIME_SIZE).cstring(pdu.validity_period, TIME_SIZE)
    w.u8(pdu.registered_delivery).u8(pdu.replace_if_present_flag)
    w.u8(pdu.data_coding).u8(pdu.sm_default_msg_id)
    w.u8(len(pdu.short_message)).raw(pdu.short_message)
    _write_tlvs(w, pdu.tlvs)


def _tlv(w: PduWriter, tag: int, value: bytes) -> None:
    w.u16(tag).u16(len(value)).raw(value)


def _write_tlvs(w: PduWriter, tlvs: Tlvs) -> None:
    if tlvs.receipted_message_id is not None:
        _tlv(w, TAG_RECEIPTED_MESSAGE_ID, _c_octets(tlvs.receipted_message_id))
    if tlvs.sar_msg_ref_num is not None:
        _tlv(w, TAG_SAR_MSG_REF_NUM, PduWriter().u16(tlvs.sar_msg_ref_num).getvalue())
    if tlvs.sar_total_segments is not None:
        _tlv(w, TAG_SAR_TOTAL_SEGMENTS, PduWriter().u8(tlvs.sar_total_segments).getvalue())
    if tlvs.sar_segment_seqnum is not None:
        _tlv(w, TAG_SAR_SEGMENT_SEQNUM, PduWriter().u8(tlvs.sar_segment_seqnum).getvalue())
    if tlvs.network_error_code is not None:
        code = tlvs.network_error_code
        value = PduWriter().u8(code.network_type).u16(code.error_code).getvalue()
        _tlv(w, TAG_NETWORK_ERROR_CODE, value)
    if tlvs.message_payload is not None:
        if len(tlvs.message_payload) > 0xFFFF:
            raise PduError("message_payload exceeds 65535 octets")
        _tlv(w, TAG_MESSAGE_PAYLOAD, tlvs.message_payload)
    if tlvs.message_state is not None:
        _tlv(w, TAG_MESSAGE_STATE, PduWriter().u8(tlvs.message_state).getvalue())
    for tlv in tlvs.other:
        if tlv.tag in _NAMED_TAGS:
            raise PduError(f"TLV 0x{tlv.tag:04X} has a named field; put it there")
        if not 0 <= tlv.tag <= 0xFFFF or len(tlv.value) > 0xFFFF:
            raise PduError(f"TLV 0x{tlv.tag:04X} does not fit its tag or length")
        _tlv(w, tlv.tag, tlv.value)


def _c_octets(value: str) -> bytes:
    return PduWriter().cstring(value, MESSAGE_ID_SIZE).getvalue()


def _check_time(value: str, name: str, status: int) -> None:
    """SMPP absolute / relative time: empty or ``YYMMDDhhmmsstnnp`` (p one of ``+ - R``)."""
    if value and not (
        len(value) == 16 and value[:15].isascii() and value[:15].isdigit() and value[15] in "+-R"
    ):
        raise InvalidPdu(f"{name} is neither empty nor YYMMDDhhmmsstnnp", status)


def _field(r: PduReader, size: int, name: str, status: int) -> str:
    """A C-Octet String; a body that ends before it is a length error, else the field's."""
    if r.remaining == 0:
        raise InvalidPdu(f"PDU ends before {name}", _S.ESME_RINVCMDLEN)
    try:
        return r.cstring(size)
    except PduError as error:
        raise InvalidPdu(f"{name}: {error}", status) from None


def _empty(cls: Callable[[], Pdu]) -> Callable[[PduReader, int], Pdu]:
    return lambda _reader, _status: cls()


def _empty_resp(cls: Callable[[int], Pdu]) -> Callable[[PduReader, int], Pdu]:
    return lambda _reader, status: cls(status)


def _decode_bind(r: PduReader, _status: int) -> Pdu:
    system_id = _field(r, SYSTEM_ID_SIZE, "system_id", _S.ESME_RINVSYSID)
    password = _field(r, PASSWORD_SIZE, "password", _S.ESME_RINVPASWD)
    system_type = _field(r, SYSTEM_TYPE_SIZE, "system_type", _S.ESME_RINVSYSTYP)
    interface_version, addr_ton, addr_npi = r.u8(), r.u8(), r.u8()
    address_range = _field(r, ADDRESS_RANGE_SIZE, "address_range", _S.ESME_RBINDFAIL)
    return BindTransceiver(
        system_id, password, system_type, interface_version, addr_ton, addr_npi, address_range
    )


def _decode_bind_resp(r: PduReader, status: int) -> Pdu:
    if status != 0 and r.remaining == 0:
        return BindTransceiverResp(status)
    system_id = _field(r, SYSTEM_ID_SIZE, "system_id", _S.ESME_RINVSYSID)
    version: int | None = None
    for tag, value in _read_tlv_stream(r):
        if tag == TAG_SC_INTERFACE_VERSION:
            if len(value) != 1:
                raise InvalidPdu("sc_interface_version is not one octet", _S.ESME_RINVPARLEN)
            version = value[0]
    return BindTransceiverResp(status, system_id, version)


def _decode_submit_resp(r: PduReader, status: int) -> Pdu:
    if status != 0 and r.remaining == 0:
        return SubmitSmResp(status)
    message_id = _field(r, MESSAGE_ID_SIZE, "message_id", _S.ESME_RINVMSGID)
    return SubmitSmResp(status, message_id)


def _decode_deliver_resp(r: PduReader, status: int) -> Pdu:
    if r.remaining == 0:
        return DeliverSmResp(status)
    message_id = _field(r, MESSAGE_ID_SIZE, "message_id", _S.ESME_RINVMSGID)
    return DeliverSmResp(status, message_id)


def _decode_message(r: PduReader, cls: type[SubmitSm] | type[DeliverSm]) -> Pdu:
    service_type = _field(r, SERVICE_TYPE_SIZE, "service_type", _S.ESME_RINVSERTYP)
    source_ton, source_npi = r.u8(), r.u8()
    source = _field(r, ADDRESS_SIZE, "source_addr", _S.ESME_RINVSRCADR)
    dest_ton, dest_npi = r.u8(), r.u8()
    destination = _field(r, ADDRESS_SIZE, "destination_addr", _S.ESME_RINVDSTADR)
    esm_class, protocol_id, priority_flag = r.u8(), r.u8(), r.u8()
    schedule = _field(r, TIME_SIZE, "schedule_delivery_time", _S.ESME_RINVSCHED)
    _check_time(schedule, "schedule_delivery_time", _S.ESME_RINVSCHED)
    validity = _field(r, TIME_SIZE, "validity_period", _S.ESME_RINVEXPIRY)
    _check_time(validity, "validity_period", _S.ESME_RINVEXPIRY)
    registered_delivery, replace_if_present = r.u8(), r.u8()
    data_coding, default_msg_id, sm_length = r.u8(), r.u8(), r.u8()
    if sm_length > MAX_SHORT_MESSAGE or sm_length > r.remaining:
        raise InvalidPdu(f"sm_length {sm_length} does not fit the PDU", _S.ESME_RINVMSGLEN)
    short_message = r.raw(sm_length)
    tlvs = _decode_tlvs(r)
    if short_message and tlvs.message_payload is not None:
        raise InvalidPdu("short_message and message_payload are exclusive", _S.ESME_RINVMSGLEN)
    return cls(
        source_addr=source,
        destination_addr=destination,
        short_message=short_message,
        service_type=service_type,
        source_addr_ton=source_ton,
        source_addr_npi=source_npi,
        dest_addr_ton=dest_ton,
        dest_addr_npi=dest_npi,
        esm_class=esm_class,
        protocol_id=protocol_id,
        priority_flag=priority_flag,
        schedule_delivery_time=schedule,
        validity_period=validity,
        registered_delivery=registered_delivery,
        replace_if_present_flag=replace_if_present,
        data_coding=data_coding,
        sm_default_msg_id=default_msg_id,
        tlvs=tlvs,
    )


def _read_tlv_stream(r: PduReader) -> list[tuple[int, bytes]]:
    tlvs: list[tuple[int, bytes]] = []
    while r.remaining:
        if r.remaining < 4:
            raise InvalidPdu("a TLV header is cut short", _S.ESME_RINVOPTPARSTREAM)
        tag, length = r.u16(), r.u16()
        if length > r.remaining:
            raise InvalidPdu(f"TLV 0x{tag:04X} overruns the PDU", _S.ESME_RINVOPTPARSTREAM)
        tlvs.append((tag, r.raw(length)))
    return tlvs


_TLV_SIZES = {
    TAG_SAR_MSG_REF_NUM: 2,
    TAG_SAR_TOTAL_SEGMENTS: 1,
    TAG_SAR_SEGMENT_SEQNUM: 1,
    TAG_NETWORK_ERROR_CODE: 3,
    TAG_MESSAGE_STATE: 1,
}


def _decode_tlvs(r: PduReader) -> Tlvs:
    named: dict[int, bytes] = {}
    other: list[Tlv] = []
    for tag, value in _read_tlv_stream(r):
        if tag not in _NAMED_TAGS:
            other.append(Tlv(tag, value))
            continue
        if tag in named:
            raise InvalidPdu(f"TLV 0x{tag:04X} appears twice", _S.ESME_RINVOPTPARSTREAM)
        size = _TLV_SIZES.get(tag)
        if size is not None and len(value) != size:
            raise InvalidPdu(f"TLV 0x{tag:04X} is not {size} octets", _S.ESME_RINVPARLEN)
        named[tag] = value
    network = named.get(TAG_NETWORK_ERROR_CODE)
    return Tlvs(
        receipted_message_id=_receipted_id(named.get(TAG_RECEIPTED_MESSAGE_ID)),
        sar_msg_ref_num=_uint(named.get(TAG_SAR_MSG_REF_NUM)),
        sar_total_segments=_uint(named.get(TAG_SAR_TOTAL_SEGMENTS)),
        sar_segment_seqnum=_uint(named.get(TAG_SAR_SEGMENT_SEQNUM)),
        network_error_code=(
            None if network is None else NetworkErrorCode(network[0], int.from_bytes(network[1:], "big"))
        ),
        message_payload=named.get(TAG_MESSAGE_PAYLOAD),
        message_state=_uint(named.get(TAG_MESSAGE_STATE)),
        other=tuple(other),
    )


def _uint(value: bytes | None) -> int | None:
    return None if value is None else int.from_bytes(value, "big")


def _receipted_id(value: bytes | None) -> str | None:
    """The C-Octet String value, read with or without its NUL (SMSCs differ)."""
    if value is None:
        return None
    text = value[:-1] if value.endswith(b"\0") else value
    if len(value) > MESSAGE_ID_SIZE or b"\0" in text or not text.isascii():
        raise InvalidPdu("receipted_message_id is not an ASCII C-string", _S.ESME_RINVOPTPARAMVAL)
    return text.decode("ascii")


_DECODERS: dict[int, Callable[[PduReader, int], Pdu]] = {
    Command.BIND_TRANSCEIVER: _decode_bind,
    Command.BIND_TRANSCEIVER_RESP: _decode_bind_resp,
    Command.UNBIND: _empty(Unbind),
    Command.UNBIND_RESP: _empty_resp(UnbindResp),
    Command.ENQUIRE_LINK: _empty(EnquireLink),
    Command.ENQUIRE_LINK_RESP: _empty_resp(EnquireLinkResp),
    Command.GENERIC_NACK: _empty_resp(GenericNack),
    Command.SUBMIT_SM: lambda r, _status: _decode_message(r, SubmitSm),
    Command.SUBMIT_SM_RESP: _decode_submit_resp,
    Command.DELIVER_SM: lambda r, _status: _decode_message(r, DeliverSm),
    Command.DELIVER_SM_RESP: _decode_deliver_resp,
}
