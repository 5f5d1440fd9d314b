"""CMPP 2.0 / 3.0 byte vectors spelled by hand from the protocol text, field by field."""

from __future__ import annotations

from carrier_adapters.cmpp import (
    ActiveTest,
    ActiveTestResp,
    Connect,
    ConnectResp,
    Deliver,
    DeliverResp,
    MsgFmt,
    Pdu,
    StatusReport,
    Submit,
    SubmitResp,
    Terminate,
    TerminateResp,
)

AUTH = bytes.fromhex("00112233445566778899aabbccddeeff")
MSG_ID = bytes.fromhex("113c4142a5f3beef")
Z = "00"  # one NUL byte


def h(*parts: str) -> bytes:
    return bytes.fromhex("".join(parts))


CONNECT = h(
    "000000270000000100000001",  # Total_Length 39, CONNECT, Sequence_Id 1
    "393031323334",  # Source_Addr "901234"
    "00112233445566778899aabbccddeeff",  # AuthenticatorSource
    "30",  # Version 3.0
    "0616b105",  # Timestamp 0102150405 as a decimal number
)
CONNECT_PDU = Connect(source_addr="901234", authenticator_source=AUTH, version=0x30, timestamp=102150405)

CONNECT_RESP_30 = h(
    "000000218000000100000001",  # Total_Length 33, CONNECT_RESP, Sequence_Id 1
    "00000000",  # Status 0 (4 bytes in 3.0)
    "00112233445566778899aabbccddeeff",  # AuthenticatorISMG
    "30",  # Version
)
CONNECT_RESP_20 = h(
    "0000001e8000000100000001",  # Total_Length 30, CONNECT_RESP, Sequence_Id 1
    "03",  # Status 3 (1 byte in 2.0)
    "00000000000000000000000000000000",  # AuthenticatorISMG empty on failure
    "20",  # Version
)

SUBMIT_30 = h(
    "000000c7000000040000002a",  # Total_Length 199, SUBMIT, Sequence_Id 42
    "0000000000000000",  # Msg_Id (the ISMG assigns it)
    "01010100",  # Pk_total 1, Pk_number 1, Registered_Delivery 1, Msg_level 0
    "564552494659" + Z * 4,  # Service_Id "VERIFY" in 10 bytes
    "02",  # Fee_UserType 2
    Z * 32,  # Fee_terminal_Id empty, 32 bytes
    "00",  # Fee_terminal_type
    "000008",  # TP_pId 0, TP_udhi 0, Msg_Fmt 8 (UCS2)
    "393031323334",  # Msg_src "901234"
    "3031",  # FeeType "01"
    "303030303030",  # FeeCode "000000"
    Z * 17,  # ValId_Time empty
    Z * 17,  # At_Time empty
    "3130363930303031" + Z * 13,  # Src_Id "10690001" in 21 bytes
    "01",  # DestUsr_tl 1
    "3133383030313338303030" + Z * 21,  # Dest_terminal_Id "13800138000" in 32 bytes
    "00",  # Dest_terminal_type
    "04",  # Msg_Length 4
    "9a8c8bc1",  # Msg_Content UCS-2 "验证"
    Z * 20,  # LinkID empty
)
SUBMIT_20 = h(
    "000000a3000000040000002a",  # Total_Length 163, SUBMIT, Sequence_Id 42
    "0000000000000000",  # Msg_Id
    "01010100",  # Pk_total, Pk_number, Registered_Delivery, Msg_level
    "564552494659" + Z * 4,  # Service_Id "VERIFY"
    "02",  # Fee_UserType 2
    Z * 21,  # Fee_terminal_Id empty, 21 bytes (no Fee_terminal_type in 2.0)
    "000008",  # TP_pId, TP_udhi, Msg_Fmt 8
    "393031323334",  # Msg_src "901234"
    "3031",  # FeeType "01"
    "303030303030",  # FeeCode "000000"
    Z * 17,  # ValId_Time
    Z * 17,  # At_Time
    "3130363930303031" + Z * 13,  # Src_Id "10690001"
    "01",  # DestUsr_tl 1
    "3133383030313338303030" + Z * 10,  # Dest_terminal_Id in 21 bytes (no Dest_terminal_type)
    "04",  # Msg_Length 4
    "9a8c8bc1",  # Msg_Content
    Z * 8,  # Reserve
)
SUBMIT_PDU = Submit(
    registered_delivery=1,
    service_id="VERIFY",
    fee_user_type=2,
    msg_fmt=MsgFmt.UCS2,
    msg_src="901234",
    fee_type="01",
    fee_code="000000",
    src_id="10690001",
    dest_terminal_ids=("13800138000",),
    content="验证".encode("utf-16-be"),
)

SUBMIT_30_PART = h(
    "000000ed0000000400000007",  # Total_Length 237, SUBMIT, Sequence_Id 7
    "0000000000000000",  # Msg_Id
    "02010001",  # Pk_total 2, Pk_number 1, Registered_Delivery 0, Msg_level 1
    Z * 10,  # Service_Id empty
    "00",  # Fee_UserType 0
    "3133383030313338303030" + Z * 21,  # Fee_terminal_Id "13800138000"
    "01",  # Fee_terminal_type 1 (pseudo-code number)
    "000108",  # TP_pId 0, TP_udhi 1, Msg_Fmt 8
    "393031323334",  # Msg_src
    "3031",  # FeeType
    "303030303030",  # FeeCode
    Z * 17,  # ValId_Time
    Z * 17,  # At_Time
    "3130363930303031" + Z * 13,  # Src_Id
    "02",  # DestUsr_tl 2
    "3133383030313338303030" + Z * 21,  # Dest_terminal_Id 1
    "3133393030313339303030" + Z * 21,  # Dest_terminal_Id 2 "13900139000"
    "01",  # Dest_terminal_type 1
    "0a",  # Msg_Length 10
    "050003ab02019a8c8bc1",  # UDH ref 0xAB part 1/2, then UCS-2 "验证"
    "4c494e4b3031" + Z * 14,  # LinkID "LINK01"
)
SUBMIT_PART_PDU = Submit(
    pk_total=2,
    msg_level=1,
    fee_terminal_id="13800138000",
    fee_terminal_type=1,
    tp_udhi=1,
    msg_fmt=MsgFmt.UCS2,
    msg_src="901234",
    fee_type="01",
    fee_code="000000",
    src_id="10690001",
    dest_terminal_ids=("13800138000", "13900139000"),
    dest_terminal_type=1,
    content=bytes.fromhex("050003ab02019a8c8bc1"),
    link_id="LINK01",
)

SUBMIT_RESP_30 = h(
    "00000018800000040000002a",  # Total_Length 24, SUBMIT_RESP, Sequence_Id 42
    "113c4142a5f3beef",  # Msg_Id
    "00000008",  # Result 8 (4 bytes in 3.0)
)
SUBMIT_RESP_20 = h(
    "00000015800000040000002a",  # Total_Length 21, SUBMIT_RESP, Sequence_Id 42
    "113c4142a5f3beef",  # Msg_Id
    "08",  # Result 8 (1 byte in 2.0)
)

DELIVER_MO_30 = h(
    "0000006f0000000500000003",  # Total_Length 111, DELIVER, Sequence_Id 3
    "113c4142a5f3beef",  # Msg_Id
    "3130363930303031" + Z * 13,  # Dest_Id "10690001" in 21 bytes
    Z * 10,  # Service_Id empty
    "000000",  # TP_pid, TP_udhi, Msg_Fmt 0 (ASCII)
    "3133383030313338303030" + Z * 21,  # Src_terminal_Id in 32 bytes
    "00",  # Src_terminal_type
    "00",  # Registered_Delivery 0: an MO message
    "025444",  # Msg_Length 2, Msg_Content "TD"
    Z * 20,  # LinkID
)
DELIVER_MO_20 = h(
    "000000570000000500000003",  # Total_Length 87, DELIVER, Sequence_Id 3
    "113c4142a5f3beef",  # Msg_Id
    "3130363930303031" + Z * 13,  # Dest_Id
    Z * 10,  # Service_Id
    "000000",  # TP_pid, TP_udhi, Msg_Fmt
    "3133383030313338303030" + Z * 10,  # Src_terminal_Id in 21 bytes (no Src_terminal_type)
    "00",  # Registered_Delivery 0
    "025444",  # Msg_Length 2, "TD"
    Z * 8,  # Reserve
)
DELIVER_MO_PDU = Deliver(msg_id=MSG_ID, dest_id="10690001", src_terminal_id="13800138000", content=b"TD")

REPORT_30 = h(
    "113c4142a5f3beef",  # Msg_Id of the submission
    "44454c49565244",  # Stat "DELIVRD"
    "32353031303231353034",  # Submit_time "2501021504"
    "32353031303231353035",  # Done_time "2501021505"
    "3133383030313338303030" + Z * 21,  # Dest_terminal_Id in 32 bytes
    "0000002a",  # SMSC_sequence 42
)
REPORT_PDU = StatusReport(
    msg_id=MSG_ID,
    stat="DELIVRD",
    submit_time="2501021504",
    done_time="2501021505",
    dest_terminal_id="13800138000",
    smsc_sequence=42,
)
DELIVER_REPORT_30 = h(
    "000000b40000000500000004",  # Total_Length 180, DELIVER, Sequence_Id 4
    "0000000000000001",  # Msg_Id of this DELIVER
    "3130363930303031" + Z * 13,  # Dest_Id
    Z * 10,  # Service_Id
    "000000",  # TP_pid, TP_udhi, Msg_Fmt 0
    "3133383030313338303030" + Z * 21,  # Src_terminal_Id
    "00",  # Src_terminal_type
    "01",  # Registered_Delivery 1: a status report
    "47",  # Msg_Length 71
    REPORT_30.hex(),  # Msg_Content: the report
    Z * 20,  # LinkID
)
DELIVER_REPORT_PDU = Deliver(
    msg_id=bytes.fromhex("0000000000000001"),
    dest_id="10690001",
    src_terminal_id="13800138000",
    registered_delivery=1,
    content=REPORT_30,
)

DELIVER_RESP_30 = h("000000188000000500000003", "113c4142a5f3beef", "00000000")  # 24 bytes, Result 0
DELIVER_RESP_20 = h("000000158000000500000003", "113c4142a5f3beef", "00")  # 21 bytes, Result 0

VECTORS: list[tuple[int, bytes, int, Pdu]] = [
    (0x30, CONNECT, 1, CONNECT_PDU),
    (0x20, CONNECT, 1, CONNECT_PDU),
    (0x30, CONNECT_RESP_30, 1, ConnectResp(status=0, authenticator_ismg=AUTH, version=0x30)),
    (0x20, CONNECT_RESP_20, 1, ConnectResp(status=3, authenticator_ismg=bytes(16), version=0x20)),
    (0x30, h("0000000c0000000200000005"), 5, Terminate()),  # 12 bytes, TERMINATE, seq 5
    (0x30, h("0000000c8000000200000005"), 5, TerminateResp()),  # 12 bytes, TERMINATE_RESP
    (0x30, h("0000000c00000008ffffffff"), 0xFFFFFFFF, ActiveTest()),  # ACTIVE_TEST, max seq
    (0x20, h("0000000d8000000800000009", "00"), 9, ActiveTestResp()),  # 13 bytes, Reserved 0
    (0x30, SUBMIT_30, 42, SUBMIT_PDU),
    (0x20, SUBMIT_20, 42, SUBMIT_PDU),
    (0x30, SUBMIT_30_PART, 7, SUBMIT_PART_PDU),
    (0x30, SUBMIT_RESP_30, 42, SubmitResp(msg_id=MSG_ID, result=8)),
    (0x20, SUBMIT_RESP_20, 42, SubmitResp(msg_id=MSG_ID, result=8)),
    (0x30, DELIVER_MO_30, 3, DELIVER_MO_PDU),
    (0x20, DELIVER_MO_20, 3, DELIVER_MO_PDU),
    (0x30, DELIVER_REPORT_30, 4, DELIVER_REPORT_PDU),
    (0x30, DELIVER_RESP_30, 3, DeliverResp(msg_id=MSG_ID, result=0)),
    (0x20, DELIVER_RESP_20, 3, DeliverResp(msg_id=MSG_ID, result=0)),
]
IDS = [f"{type(pdu).__name__}-{version:#x}-{i}" for i, (version, _, _, pdu) in enumerate(VECTORS)]
