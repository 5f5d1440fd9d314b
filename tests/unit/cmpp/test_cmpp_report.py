"""Status reports inside a report DELIVER: 60 bytes in CMPP 2.0, 71 in 3.0."""

from __future__ import annotations

import pytest

from carrier_adapters.cmpp import StatusReport, decode_report, encode_report, report_length
from carrier_adapters.pdu import PduError

Z = "00"

REPORT_20 = bytes.fromhex(
    "113c4142a5f3beef"  # Msg_Id
    "4d413a30303031"  # Stat "MA:0001" (a carrier code)
    "32353031303231353034"  # Submit_time "2501021504"
    "32353031303231353130"  # Done_time "2501021510"
    "3133383030313338303030"
    + Z * 10  # Dest_terminal_Id in 21 bytes
    + "ffffffff"  # SMSC_sequence 4294967295
)
REPORT_20_VALUE = StatusReport(
    msg_id=bytes.fromhex("113c4142a5f3beef"),
    stat="MA:0001",
    submit_time="2501021504",
    done_time="2501021510",
    dest_terminal_id="13800138000",
    smsc_sequence=0xFFFFFFFF,
)
REPORT_30 = bytes.fromhex(
    "113c4142a5f3beef"  # Msg_Id
    "554e44454c4956"  # Stat "UNDELIV"
    "32353031303231353034"  # Submit_time
    "32353031303231353130"  # Done_time
    "3133383030313338303030"
    + Z * 21  # Dest_terminal_Id in 32 bytes
    + "00000001"  # SMSC_sequence 1
)
REPORT_30_VALUE = StatusReport(
    msg_id=bytes.fromhex("113c4142a5f3beef"),
    stat="UNDELIV",
    submit_time="2501021504",
    done_time="2501021510",
    dest_terminal_id="13800138000",
    smsc_sequence=1,
)


def test_report_lengths_are_60_and_71() -> None:
    """The report body is 60 bytes in 2.0 and 71 in 3.0."""
    assert (report_length(0x20), report_length(0x30)) == (60, 71)
    assert (len(REPORT_20), len(REPORT_30)) == (60, 71)


@pytest.mark.parametrize(
    ("version", "data", "report"), [(0x20, REPORT_20, REPORT_20_VALUE), (0x30, REPORT_30, REPORT_30_VALUE)]
)
def test_report_encodes_and_decodes_the_hand_written_bytes(
    version: int, data: bytes, report: StatusReport
) -> None:
    """Each version's report body encodes to its bytes and decodes back; status words stay text."""
    assert encode_report(report, version) == data
    assert decode_report(data) == report


def test_only_delivrd_counts_as_delivered() -> None:
    """DELIVRD is the one success; UNDELIV and carrier codes are not."""
    delivered = StatusReport(
        msg_id=bytes(8), stat="DELIVRD", submit_time="", done_time="", dest_terminal_id=""
    )
    assert delivered.delivered
    assert not REPORT_30_VALUE.delivered
    assert not REPORT_20_VALUE.delivered


@pytest.mark.parametrize("size", [0, 59, 61, 70, 72])
def test_report_of_another_length_is_malformed(size: int) -> None:
    """Only 60- and 71-byte bodies are reports."""
    with pytest.raises(PduError):
        decode_report(bytes(size))


def test_report_with_a_non_ascii_stat_is_malformed() -> None:
    """Report text fields are ASCII whatever the DELIVER's Msg_Fmt."""
    with pytest.raises(PduError):
        decode_report(REPORT_30[:8] + b"\xe4" + REPORT_30[9:])


def test_encode_refuses_fields_too_long_for_the_version() -> None:
    """A 7-character Stat is the most; a 22-character terminal id does not fit 2.0's 21 bytes."""
    with pytest.raises(PduError):
        encode_report(
            StatusReport(msg_id=bytes(8), stat="DELIVRDX", submit_time="", done_time="", dest_terminal_id=""),
            0x30,
        )
    long_id = StatusReport(
        msg_id=bytes(8), stat="DELIVRD", submit_time="", done_time="", dest_terminal_id="8" * 22
    )
    with pytest.raises(PduError):
        encode_report(long_id, 0x20)
    assert len(encode_report(long_id, 0x30)) == 71
