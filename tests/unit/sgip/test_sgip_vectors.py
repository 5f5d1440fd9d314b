"""Every SGIP 1.2 PDU against bytes spelled out by hand from the protocol's tables, both ways."""

from __future__ import annotations

import pytest

from carrier_adapters.sgip import (
    Bind,
    BindResp,
    Codec,
    Deliver,
    DeliverResp,
    Pdu,
    Report,
    ReportResp,
    SgipSequence,
    Submit,
    SubmitResp,
    Unbind,
    UnbindResp,
)

SP_SEQUENCE = SgipSequence(3010012345, 1120203225, 7)
SP_SEQUENCE_HEX = "B36924B942C4F1D900000007"  # node 3010012345, 1120203225, counter 7
SMG_SEQUENCE = SgipSequence(101001, 1207093000, 42)
SMG_SEQUENCE_HEX = "00018A8947F2C7080000002A"  # node 101001, 1207093000, counter 42
RESERVE = "00" * 8  # Reserve(8), empty
USER_NUMBER = "38363133303132333435363738" + "00" * 8  # "8613012345678" in 21 bytes


def _bytes(*fields: str) -> bytes:
    return bytes.fromhex("".join(fields))


VECTORS: list[tuple[str, Pdu, SgipSequence, bytes]] = [
    (
        "bind",
        Bind(login_type=1, login_name="sp-login", login_password="s3cret"),
        SP_SEQUENCE,
        _bytes(
            "0000003D00000001",  # Message_Length 61, BIND
            SP_SEQUENCE_HEX,
            "01",  # Login_Type 1: SP to SMG
            "73702d6c6f67696e" + "00" * 8,  # Login_Name "sp-login" in 16 bytes
            "733363726574" + "00" * 10,  # Login_Password "s3cret" in 16 bytes
            RESERVE,
        ),
    ),
    (
        "bind from the SMG",
        Bind(login_type=2, login_name="smg-login", login_password="s3cret"),
        SMG_SEQUENCE,
        _bytes(
            "0000003D00000001",  # Message_Length 61, BIND
            SMG_SEQUENCE_HEX,
            "02",  # Login_Type 2: SMG to SP
            "736d672d6c6f67696e" + "00" * 7,  # Login_Name "smg-login" in 16 bytes
            "733363726574" + "00" * 10,  # Login_Password "s3cret"
            RESERVE,
        ),
    ),
    (
        "bind_resp",
        BindResp(result=1),
        SP_SEQUENCE,
        _bytes("0000001D80000001", SP_SEQUENCE_HEX, "01", RESERVE),  # 29, Result 1
    ),
    ("unbind", Unbind(), SP_SEQUENCE, _bytes("0000001400000002", SP_SEQUENCE_HEX)),
    ("unbind_resp", UnbindResp(), SP_SEQUENCE, _bytes("0000001480000002", SP_SEQUENCE_HEX)),
    (
        "submit",
        Submit(
            sp_number="1065500012",
            user_numbers=("8613012345678",),
            corp_id="12345",
            service_type="NOTICE",
            message_content="验证码".encode("utf-16-be"),
        ),
        SP_SEQUENCE,
        _bytes(
            "000000AA00000003",  # Message_Length 170 (20 + 123 + 21 + 6), SUBMIT
            SP_SEQUENCE_HEX,
            "31303635353030303132" + "00" * 11,  # SPNumber "1065500012" in 21 bytes
            "30" * 21,  # ChargeNumber: 21 zeros, the SP pays, no room for a NUL
            "01",  # UserCount 1
            USER_NUMBER,  # UserNumber
            "3132333435",  # CorpId "12345", all 5 bytes
            "4e4f54494345" + "00" * 4,  # ServiceType "NOTICE" in 10 bytes
            "01",  # FeeType 1: free
            "30" + "00" * 5,  # FeeValue "0" in 6 bytes
            "30" + "00" * 5,  # GivenValue "0" in 6 bytes
            "00",  # AgentFlag 0
            "02",  # MorelatetoMTFlag 2: not caused by an MO
            "00",  # Priority 0
            "00" * 16,  # ExpireTime empty: the SMSC's default
            "00" * 16,  # ScheduleTime empty: send now
            "01",  # ReportFlag 1: always report
            "00",  # TP_pid
            "00",  # TP_udhi
            "08",  # MessageCoding 8: UCS-2
            "00",  # MessageType 0: SMS
            "00000006",  # MessageLength 6
            "9a8c8bc17801",  # MessageContent "验证码" UTF-16BE
            RESERVE,
        ),
    ),
    (
        "submit of a long message's part to two phones",
        Submit(
            sp_number="1065500012",
            charge_number="",
            user_numbers=("8613012345678", "8613112345678"),
            corp_id="12345",
            service_type="NOTICE",
            fee_type=2,
            fee_value="10",
            agent_flag=1,
            morelateto_mt_flag=0,
            priority=9,
            expire_time="260101120000032+",
            report_flag=0,
            tp_udhi=1,
            message_content=bytes.fromhex("0500032a020100540044"),
            reserve=b"LINK",
        ),
        SP_SEQUENCE,
        _bytes(
            "000000C300000003",  # Message_Length 195 (20 + 123 + 42 + 10), SUBMIT
            SP_SEQUENCE_HEX,
            "31303635353030303132" + "00" * 11,  # SPNumber
            "00" * 21,  # ChargeNumber empty: each user pays
            "02",  # UserCount 2
            USER_NUMBER,  # UserNumber "8613012345678"
            "38363133313132333435363738" + "00" * 8,  # UserNumber "8613112345678"
            "3132333435",  # CorpId "12345"
            "4e4f54494345" + "00" * 4,  # ServiceType "NOTICE"
            "02",  # FeeType 2: per message
            "3130" + "00" * 4,  # FeeValue "10" (cents)
            "30" + "00" * 5,  # GivenValue "0"
            "01",  # AgentFlag 1
            "00",  # MorelatetoMTFlag 0
            "09",  # Priority 9
            "3236303130313132303030303033322b",  # ExpireTime "260101120000032+", all 16 bytes
            "00" * 16,  # ScheduleTime empty
            "00",  # ReportFlag 0: report failures only
            "00",  # TP_pid
            "01",  # TP_udhi 1: content starts with a UDH
            "08",  # MessageCoding 8
            "00",  # MessageType 0
            "0000000A",  # MessageLength 10
            "0500032a0201",  # UDH: concatenation, ref 0x2A, 2 parts, part 1
            "00540044",  # "TD" UTF-16BE
            "4c494e4b" + "00" * 4,  # Reserve "LINK" NUL-padded
        ),
    ),
    (
        "submit_resp",
        SubmitResp(result=0),
        SP_SEQUENCE,
        _bytes("0000001D80000003", SP_SEQUENCE_HEX, "00", RESERVE),  # 29, Result 0
    ),
    (
        "deliver",
        Deliver(
            user_number="8613012345678",
            sp_number="10655000121",
            message_content="TD".encode("utf-16-be"),
        ),
        SMG_SEQUENCE,
        _bytes(
            "0000005100000004",  # Message_Length 81, DELIVER
            SMG_SEQUENCE_HEX,
            USER_NUMBER,  # UserNumber: the phone that sent it
            "3130363535303030313231" + "00" * 10,  # SPNumber "10655000121" in 21 bytes
            "00",  # TP_pid
            "00",  # TP_udhi
            "08",  # MessageCoding 8
            "00000004",  # MessageLength 4
            "00540044",  # "TD"
            RESERVE,
        ),
    ),
    (
        "deliver_resp",
        DeliverResp(result=0),
        SMG_SEQUENCE,
        _bytes("0000001D80000004", SMG_SEQUENCE_HEX, "00", RESERVE),
    ),
    (
        "report",
        Report(
            submit_sequence_number=SP_SEQUENCE,
            user_number="8613012345678",
            state=2,
            error_code=25,
        ),
        SMG_SEQUENCE,
        _bytes(
            "0000004000000005",  # Message_Length 64, REPORT
            SMG_SEQUENCE_HEX,  # the REPORT's own sequence, made by the SMG
            SP_SEQUENCE_HEX,  # SubmitSequenceNumber: the SUBMIT's header sequence
            "00",  # ReportType 0: on a SUBMIT
            USER_NUMBER,  # UserNumber
            "02",  # State 2: failed
            "19",  # ErrorCode 25: the user cannot be reached
            RESERVE,
        ),
    ),
    (
        "report_resp",
        ReportResp(result=0),
        SMG_SEQUENCE,
        _bytes("0000001D80000005", SMG_SEQUENCE_HEX, "00", RESERVE),
    ),
]


@pytest.mark.parametrize(("pdu", "sequence", "wire"), [v[1:] for v in VECTORS], ids=[v[0] for v in VECTORS])
def test_encode_matches_the_hand_written_bytes(pdu: Pdu, sequence: SgipSequence, wire: bytes) -> None:
    """Encoding a PDU gives exactly the bytes the protocol tables prescribe."""
    assert Codec().encode(pdu, sequence) == wire


@pytest.mark.parametrize(("pdu", "sequence", "wire"), [v[1:] for v in VECTORS], ids=[v[0] for v in VECTORS])
def test_decode_of_the_hand_written_bytes_gives_the_pdu(
    pdu: Pdu, sequence: SgipSequence, wire: bytes
) -> None:
    """Decoding the prescribed bytes gives back the header's sequence and the PDU's fields."""
    assert Codec().decode(wire) == (sequence, pdu)


def test_a_report_names_the_submit_by_the_submit_header_sequence() -> None:
    """The 24-hex key of a SUBMIT's header sequence equals the one its REPORT carries."""
    codec = Codec()
    submit_wire = dict((v[0], v[3]) for v in VECTORS)["submit"]
    report_wire = dict((v[0], v[3]) for v in VECTORS)["report"]
    submit_sequence, _ = codec.decode(submit_wire)
    _, report = codec.decode(report_wire)
    assert isinstance(report, Report)
    assert report.submit_sequence_number.hex() == submit_sequence.hex() == SP_SEQUENCE_HEX


def test_a_bind_repr_leaves_the_password_out() -> None:
    """A logged BIND shows the login name but never the password."""
    text = repr(Bind(login_type=1, login_name="sp-login", login_password="s3cret"))
    assert "sp-login" in text
    assert "s3cret" not in text
