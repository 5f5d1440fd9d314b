"""Encoding and decoding whole CMPP PDUs (header included) for one protocol version.

Header: ``Total_Length`` (uint32, header included), ``Command_Id`` (uint32), ``Sequence_Id``
(uint32); a response carries its request's ``Sequence_Id``. Every field is big-endian;
``Octet String`` fields are ASCII, NUL-padded on the right. Anything that breaks the layout of
the codec's version raises :class:`~carrier_adapters.pdu.PduError`, with two tolerated
deviations a strict reading would refuse: a ``CONNECT_RESP`` is read in either version's
layout (told apart by its length, so a 3.0 client can read a 2.0 ISMG's refusal), and an
``ACTIVE_TEST_RESP`` without its ``Reserved`` byte is read as ``reserved=0``.
"""

from __future__ import annotations

from carrier_adapters.cmpp.pdus import (
    ActiveTest,
    ActiveTestResp,
    Command,
    Connect,
    ConnectResp,
    Deliver,
    DeliverResp,
    MsgFmt,
    Pdu,
    Submit,
    SubmitResp,
    Terminate,
    TerminateResp,
)
from carrier_adapters.cmpp.report import StatusReport, decode_report, encode_report
from carrier_adapters.cmpp.version import Layout, Version
from carrier_adapters.pdu import FrameBuffer, PduError, PduReader, PduWriter

__all__ = ["HEADER_LENGTH", "MAX_DESTINATIONS", "MAX_PDU_LENGTH", "Codec"]

HEADER_LENGTH = 12
MAX_PDU_LENGTH = 4096
"""Above the largest valid PDU (a 3.0 SUBMIT to 100 numbers with 255 content bytes: 3618)."""
MAX_DESTINATIONS = 100
"""``DestUsr_tl``: 1 to 100 destination numbers per SUBMIT."""

_CONNECT_RESP_BODIES = {1 + 16 + 1: 1, 4 + 16 + 1: 4}


class Codec:
    """CMPP PDUs of one version (``0x20`` for 2.0, ``0x30`` for 3.0)."""

    __slots__ = ("_layout",)

    def __init__(self, version: int = Version.V3_0) -> None:
        self._layout = Layout.of(version)

    @property
    def version(self) -> Version:
        """The version this codec speaks (and puts in ``CONNECT``'s ``Version``)."""
        return self._layout.version

    @property
    def layout(self) -> Layout:
        """The field sizes of this version."""
        return self._layout

    def frames(self) -> FrameBuffer:
        """A buffer cutting a received byte stream into whole PDUs for :meth:`decode`."""
        return FrameBuffer(min_length=HEADER_LENGTH, max_length=MAX_PDU_LENGTH)

    def encode(self, pdu: Pdu, sequence: int) -> bytes:
        """``pdu`` with its header, ``Sequence_Id`` = ``sequence``."""
        body = PduWriter()
        command = self._write_body(body, pdu)
        header = PduWriter().u32(HEADER_LENGTH + len(body)).u32(command).u32(sequence)
        return header.getvalue() + body.getvalue()

    def decode(self, frame: bytes) -> tuple[int, Pdu]:
        """The ``Sequence_Id`` and PDU of one whole frame (as :meth:`frames` yields them)."""
        reader = PduReader(frame)
        total, command_id, sequence = reader.u32(), reader.u32(), reader.u32()
        if total != len(frame):
            raise PduError(f"Total_Length {total} but the frame has {len(frame)} bytes")
        try:
            command = Command(command_id)
        except ValueError:
            raise PduError(f"unknown Command_Id 0x{command_id:08X}") from None
        pdu = self._read_body(reader, command)
        reader.end()
        return sequence, pdu

    def encode_report(self, report: StatusReport) -> bytes:
        """A status report body in this version's layout (the ``content`` of a report DELIVER)."""
        return encode_report(report, self._layout.version)

    @staticmethod
    def decode_report(content: bytes) -> StatusReport:
        """The status report in a DELIVER's ``content`` (either version's layout)."""
        return decode_report(content)

    def _write_body(self, w: PduWriter, pdu: Pdu) -> Command:
        layout = self._layout
        match pdu:
            case Connect():
                w.text(pdu.source_addr, 6).raw(_exact(pdu.authenticator_source, 16, "AuthenticatorSource"))
                w.u8(pdu.version).u32(pdu.timestamp)
                return Command.CONNECT
            case ConnectResp():
                layout.write_status(w, pdu.status)
                w.raw(_exact(pdu.authenticator_ismg, 16, "AuthenticatorISMG")).u8(pdu.version)
                return Command.CONNECT_RESP
            case Terminate():
                return Command.TERMINATE
            case TerminateResp():
                return Command.TERMINATE_RESP
            case ActiveTest():
                return Command.ACTIVE_TEST
            case ActiveTestResp():
                w.u8(pdu.reserved)
                return Command.ACTIVE_TEST_RESP
            case Submit():
                self._write_submit(w, pdu)
                return Command.SUBMIT
            case SubmitResp():
                w.raw(_exact(pdu.msg_id, 8, "Msg_Id"))
                layout.write_status(w, pdu.result)
                return Command.SUBMIT_RESP
            case Deliver():
                self._write_deliver(w, pdu)
                return Command.DELIVER
            case DeliverResp():
                w.raw(_exact(pdu.msg_id, 8, "Msg_Id"))
                layout.write_status(w, pdu.result)
                return Command.DELIVER_RESP

    def _read_body(self, r: PduReader, command: Command) -> Pdu:
        layout = self._layout
        match command:
            case Command.CONNECT:
                return Connect(
                    source_addr=r.text(6), authenticator_source=r.raw(16), version=r.u8(), timestamp=r.u32()
                )
            case Command.CONNECT_RESP:
                size = _CONNECT_RESP_BODIES.get(r.remaining)
                if size is None:
                    raise PduError(f"a CONNECT_RESP body is 18 or 21 bytes, not {r.remaining}")
                status = int.from_bytes(r.raw(size), "big")
                return ConnectResp(status=status, authenticator_ismg=r.raw(16), version=r.u8())
            case Command.TERMINATE:
                return Terminate()
            case Command.TERMINATE_RESP:
                return TerminateResp()
            case Command.ACTIVE_TEST:
                return ActiveTest()
            case Command.ACTIVE_TEST_RESP:
                return ActiveTestResp(reserved=r.u8() if r.remaining else 0)
            case Command.SUBMIT:
                return self._read_submit(r)
            case Command.SUBMIT_RESP:
                return SubmitResp(msg_id=r.raw(8), result=layout.read_status(r))
            case Command.DELIVER:
                return self._read_deliver(r)
            case Command.DELIVER_RESP:
                return DeliverResp(msg_id=r.raw(8), result=layout.read_status(r))

    def _write_submit(self, w: PduWriter, pdu: Submit) -> None:
        layout = self._layout
        count = len(pdu.dest_terminal_ids)
        if not 1 <= count <= MAX_DESTINATIONS:
            raise PduError(f"a SUBMIT names 1 to {MAX_DESTINATIONS} destinations, not {count}")
        w.raw(_exact(pdu.msg_id, 8, "Msg_Id"))
        w.u8(pdu.pk_total).u8(pdu.pk_number).u8(pdu.registered_delivery).u8(pdu.msg_level)
        w.text(pdu.service_id, 10).u8(pdu.fee_user_type).text(pdu.fee_terminal_id, layout.terminal_id_size)
        layout.write_terminal_type(w, pdu.fee_terminal_type, "Fee_terminal_type")
        w.u8(pdu.tp_pid).u8(pdu.tp_udhi).u8(pdu.msg_fmt)
        w.text(pdu.msg_src, 6).text(pdu.fee_type, 2).text(pdu.fee_code, 6)
        w.text(pdu.valid_time, 17).text(pdu.at_time, 17).text(pdu.src_id, 21)
        w.u8(count)
        for dest in pdu.dest_terminal_ids:
            w.text(dest, layout.terminal_id_size)
        layout.write_terminal_type(w, pdu.dest_terminal_type, "Dest_terminal_type")
        w.u8(len(pdu.content)).raw(pdu.content)
        layout.write_trailer(w, pdu.link_id)

    def _read_submit(self, r: PduReader) -> Submit:
        layout = self._layout
        msg_id, pk_total, pk_number, registered_delivery, msg_level = r.raw(8), r.u8(), r.u8(), r.u8(), r.u8()
        service_id, fee_user_type = r.text(10), r.u8()
        fee_terminal_id, fee_terminal_type = r.text(layout.terminal_id_size), layout.read_terminal_type(r)
        tp_pid, tp_udhi, msg_fmt = r.u8(), r.u8(), _msg_fmt(r.u8())
        msg_src, fee_type, fee_code = r.text(6), r.text(2), r.text(6)
        valid_time, at_time, src_id = r.text(17), r.text(17), r.text(21)
        count = r.u8()
        if not 1 <= count <= MAX_DESTINATIONS:
            raise PduError(f"DestUsr_tl {count} outside 1..{MAX_DESTINATIONS}")
        dests = tuple(r.text(layout.terminal_id_size) for _ in range(count))
        dest_terminal_type = layout.read_terminal_type(r)
        content = r.raw(r.u8())
        return Submit(
            msg_id=msg_id,
            pk_total=pk_total,
            pk_number=pk_number,
            registered_delivery=registered_delivery,
            msg_level=msg_level,
            service_id=service_id,
            fee_user_type=fee_user_type,
            fee_terminal_id=fee_terminal_id,
            fee_terminal_type=fee_terminal_type,
            tp_pid=tp_pid,
            tp_udhi=tp_udhi,
            msg_fmt=msg_fmt,
            msg_src=msg_src,
            fee_type=fee_type,
            fee_code=fee_code,
            valid_time=valid_time,
            at_time=at_time,
            src_id=src_id,
            dest_terminal_ids=dests,
            dest_terminal_type=dest_terminal_type,
            content=content,
            link_id=layout.read_trailer(r),
        )

    def _write_deliver(self, w: PduWriter, pdu: Deliver) -> None:
        layout = self._layout
        w.raw(_exact(pdu.msg_id, 8, "Msg_Id")).text(pdu.dest_id, 21).text(pdu.service_id, 10)
        w.u8(pdu.tp_pid).u8(pdu.tp_udhi).u8(pdu.msg_fmt).text(pdu.src_terminal_id, layout.terminal_id_size)
        layout.write_terminal_type(w, pdu.src_terminal_type, "Src_terminal_type")
        w.u8(pdu.registered_delivery).u8(len(pdu.content)).raw(pdu.content)
        layout.write_trailer(w, pdu.link_id)

    def _read_deliver(self, r: PduReader) -> Deliver:
        layout = self._layout
        msg_id, dest_id, service_id = r.raw(8), r.text(21), r.text(10)
        tp_pid, tp_udhi, msg_fmt = r.u8(), r.u8(), _msg_fmt(r.u8())
        src_terminal_id, src_terminal_type = r.text(layout.terminal_id_size), layout.read_terminal_type(r)
        registered_delivery = r.u8()
        content = r.raw(r.u8())
        return Deliver(
            msg_id=msg_id,
            dest_id=dest_id,
            service_id=service_id,
            tp_pid=tp_pid,
            tp_udhi=tp_udhi,
            msg_fmt=msg_fmt,
            src_terminal_id=src_terminal_id,
            src_terminal_type=src_terminal_type,
            registered_delivery=registered_delivery,
            content=content,
            link_id=layout.read_trailer(r),
        )


def _exact(data: bytes, size: int, name: str) -> bytes:
    if len(data) != size:
        raise PduError(f"{name} is {size} bytes, not {len(data)}")
    return data


def _msg_fmt(value: int) -> int:
    try:
        return MsgFmt(value)
    except ValueError:
        return value
