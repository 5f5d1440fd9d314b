"""The status report inside an SMGP DELIVER with IsReport 1."""

from __future__ import annotations

import pytest

from carrier_adapters.pdu import PduError
from carrier_adapters.smgp import REPORT_LENGTH, Codec, Deliver, Report, decode_report, encode_report

MSG_ID = bytes.fromhex("01234503011230000042")
REPORT = Report(
    msg_id=MSG_ID,
    stat="DELIVRD",
    submit_date="2503011230",
    done_date="2503011231",
    text=b"hello",
)
REPORT_BYTES = (
    b"id:" + bytes.fromhex("01234503011230000042")  # 3 + 10 binary bytes
    + b" sub:001"  # 8
    + b" dlvrd:001"  # 10
    + b" Submit date:2503011230"  # 23
    + b" done date:2503011231"  # 21
    + b" stat:DELIVRD"  # 13
    + b" err:000"  # 8
    + b" Text:" + b"hello" + b"\0" * 15  # 6 + 20
)  # fmt: skip


def test_encode_writes_the_fixed_122_byte_layout() -> None:
    """id, sub, dlvrd, dates, stat, err and a 20-byte NUL-padded Text, one space apart."""
    assert len(REPORT_BYTES) == REPORT_LENGTH == 122
    assert encode_report(REPORT) == REPORT_BYTES


def test_decode_reads_the_fixed_layout() -> None:
    """The 122-byte report decodes to its fields, Text without its padding."""
    assert decode_report(REPORT_BYTES) == REPORT
    assert REPORT.delivered


def test_decode_accepts_gateway_variants() -> None:
    """Lowercase labels, '_' for the space, a hex-digit id and a short Text are read too."""
    variant = (
        b"id:01234503011230000042 sub:001 dlvrd:000 submit_date:2503011230 done_date:2503020000"
        b" stat:UNDELIV err:006 text:"
    )
    report = decode_report(variant)
    assert report == Report(
        msg_id=MSG_ID,
        stat="UNDELIV",
        submit_date="2503011230",
        done_date="2503020000",
        err="006",
        dlvrd="000",
    )
    assert not report.delivered


def test_a_report_deliver_round_trips_through_the_codec() -> None:
    """A DELIVER carrying the report (MsgFormat 0) encodes to 89 + 122 bytes and back."""
    deliver = Deliver(
        msg_id=bytes.fromhex("00000103011231000001"),
        is_report=1,
        msg_format=0,
        recv_time="20250301123100",
        src_term_id="17300000001",
        dest_term_id="10690001",
        msg_content=REPORT_BYTES,
    )
    wire = Codec().encode(deliver, 5)
    assert wire[:4] == (211).to_bytes(4, "big")
    assert wire[80] == 122  # MsgLength after the header and 68 body bytes
    assert wire[81:203] == REPORT_BYTES
    sequence, decoded = Codec().decode(wire)
    assert (sequence, decoded) == (5, deliver)
    assert isinstance(decoded, Deliver)
    assert decode_report(decoded.msg_content) == REPORT


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"ID:",  # nothing after the id label
        REPORT_BYTES[:50],  # cut in the middle
        REPORT_BYTES.replace(b"stat:DELIVRD", b"stat:DELIV  ").replace(b" err:", b"err:"),
        REPORT_BYTES.replace(b"Submit date:2503011230", b"Submit date:25030112ab"),
        REPORT_BYTES.replace(b"stat:DELIVRD", b"stat:DELIVR\xff"),
        b"hello, this is an MO text",
    ],
)
def test_decode_refuses_what_is_not_a_report(content: bytes) -> None:
    """Anything but the report layout raises PduError."""
    with pytest.raises(PduError):
        decode_report(content)


@pytest.mark.parametrize(
    "changes",
    [
        {"msg_id": MSG_ID[:9]},
        {"stat": "DELIVERED"},
        {"err": "6"},
        {"submit_date": "25030112"},
        {"done_date": "250301123a"},
        {"text": b"x" * 21},
        {"sub": "0\n1"},
    ],
)
def test_encode_refuses_fields_of_the_wrong_size(changes: dict[str, object]) -> None:
    """Every report field has a fixed size; a wrong one raises PduError."""
    from dataclasses import replace

    with pytest.raises(PduError):
        encode_report(replace(REPORT, **changes))  # type: ignore[arg-type]
