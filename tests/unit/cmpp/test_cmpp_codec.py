"""CMPP 2.0 / 3.0 PDUs against byte vectors spelled by hand from the protocol text."""

from __future__ import annotations

import pytest

from carrier_adapters.cmpp import ActiveTestResp, Codec, ConnectResp, Deliver, MsgFmt, Pdu, Submit, Version
from tests.unit.cmpp.vectors import (
    AUTH,
    CONNECT_RESP_20,
    CONNECT_RESP_30,
    DELIVER_REPORT_30,
    IDS,
    REPORT_30,
    REPORT_PDU,
    SUBMIT_30,
    VECTORS,
    h,
)


@pytest.mark.parametrize(("version", "frame", "sequence", "pdu"), VECTORS, ids=IDS)
def test_encode_spells_the_protocol_bytes(version: int, frame: bytes, sequence: int, pdu: Pdu) -> None:
    """Each PDU encodes to the hand-written bytes of its version, header included."""
    assert Codec(version).encode(pdu, sequence) == frame


@pytest.mark.parametrize(("version", "frame", "sequence", "pdu"), VECTORS, ids=IDS)
def test_decode_reads_the_protocol_bytes(version: int, frame: bytes, sequence: int, pdu: Pdu) -> None:
    """The hand-written bytes decode to the sequence and the dataclass they spell."""
    assert Codec(version).decode(frame) == (sequence, pdu)


def test_msg_fmt_decodes_to_the_enum_and_keeps_unnamed_values() -> None:
    """A named Msg_Fmt reads back as its MsgFmt member; an unnamed one (3, SIM write) as its number."""
    _, pdu = Codec(0x30).decode(SUBMIT_30)
    assert isinstance(pdu, Submit)
    assert pdu.msg_fmt is MsgFmt.UCS2
    sim = SUBMIT_30[: 12 + 58] + b"\x03" + SUBMIT_30[12 + 59 :]  # Msg_Fmt at body offset 58
    _, pdu = Codec(0x30).decode(sim)
    assert isinstance(pdu, Submit)
    assert pdu.msg_fmt == 3


def test_report_deliver_content_decodes_as_a_status_report() -> None:
    """The content of a report DELIVER is the 71-byte 3.0 report body."""
    codec = Codec(0x30)
    _, pdu = codec.decode(DELIVER_REPORT_30)
    assert isinstance(pdu, Deliver)
    assert codec.decode_report(pdu.content) == REPORT_PDU
    assert codec.encode_report(REPORT_PDU) == REPORT_30


def test_connect_resp_of_either_version_reads_with_any_codec() -> None:
    """A 3.0 client reads a 2.0 ISMG's 30-byte CONNECT_RESP (and the reverse): the length decides."""
    assert Codec(0x30).decode(CONNECT_RESP_20)[1] == ConnectResp(
        status=3, authenticator_ismg=bytes(16), version=0x20
    )
    assert Codec(0x20).decode(CONNECT_RESP_30)[1] == ConnectResp(
        status=0, authenticator_ismg=AUTH, version=0x30
    )


def test_active_test_resp_without_reserved_byte_is_read() -> None:
    """A 12-byte ACTIVE_TEST_RESP (some ISMGs omit Reserved) reads as reserved 0."""
    assert Codec(0x30).decode(h("0000000c8000000800000009")) == (9, ActiveTestResp())


def test_codec_names_its_version_and_refuses_others() -> None:
    """Codec(0x20) and Codec(0x30) exist; any other version byte is a configuration error."""
    assert Codec(0x20).version is Version.V2_0
    assert Codec().version is Version.V3_0
    with pytest.raises(ValueError, match="0x21"):
        Codec(0x21)
