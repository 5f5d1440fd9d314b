"""Every SMPP PDU both ways against byte vectors spelled out by hand from the SMPP 3.4 text."""

from __future__ import annotations

import pytest

from carrier_adapters.smpp import (
    ESM_CLASS_RECEIPT,
    BindTransceiver,
    BindTransceiverResp,
    Codec,
    CommandStatus,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    MessageState,
    NetworkErrorCode,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    Tlv,
    Tlvs,
    Unbind,
    UnbindResp,
)

_RECEIPT_TEXT = (
    b"id:a1b2c3 sub:001 dlvrd:001 submit date:2401151230 done date:2401151231 stat:DELIVRD err:000 text:Hi"
)

VECTORS: list[tuple[str, int, Pdu, str]] = [
    (
        "bind_transceiver",
        1,
        BindTransceiver(system_id="gw01", password="secret1", addr_ton=1, addr_npi=1),
        "00000022 00000009 00000000 00000001"  # length 34, bind_transceiver, status 0, seq 1
        "6777303100"  # system_id "gw01" NUL
        "7365637265743100"  # password "secret1" NUL
        "00"  # system_type "" NUL
        "34"  # interface_version 3.4
        "01"  # addr_ton international
        "01"  # addr_npi ISDN
        "00",  # address_range "" NUL
    ),
    (
        "bind_transceiver_resp ok with sc_interface_version",
        1,
        BindTransceiverResp(command_status=0, system_id="SMSC", sc_interface_version=0x34),
        "0000001a 80000009 00000000 00000001"  # length 26, bind_transceiver_resp, ok, seq 1
        "534d534300"  # system_id "SMSC" NUL
        "0210 0001 34",  # TLV sc_interface_version, length 1, 0x34
    ),
    (
        "bind_transceiver_resp refused without body",
        1,
        BindTransceiverResp(command_status=CommandStatus.ESME_RINVPASWD),
        "00000010 80000009 0000000e 00000001",  # length 16, bind resp, ESME_RINVPASWD, seq 1
    ),
    (
        "unbind",
        7,
        Unbind(),
        "00000010 00000006 00000000 00000007",  # length 16, unbind, status 0, seq 7
    ),
    (
        "unbind_resp",
        7,
        UnbindResp(),
        "00000010 80000006 00000000 00000007",  # length 16, unbind_resp, ok, seq 7
    ),
    (
        "enquire_link",
        2,
        EnquireLink(),
        "00000010 00000015 00000000 00000002",  # length 16, enquire_link, status 0, seq 2
    ),
    (
        "enquire_link_resp",
        2,
        EnquireLinkResp(),
        "00000010 80000015 00000000 00000002",  # length 16, enquire_link_resp, ok, seq 2
    ),
    (
        "generic_nack",
        5,
        GenericNack(command_status=CommandStatus.ESME_RINVCMDID),
        "00000010 80000000 00000003 00000005",  # length 16, generic_nack, ESME_RINVCMDID, seq 5
    ),
    (
        "submit_sm UCS-2 part with UDH",
        3,
        SubmitSm(
            source_addr="Bank",
            destination_addr="447700900123",
            short_message=bytes.fromhex("0500032a020100480069"),
            source_addr_ton=5,
            source_addr_npi=0,
            esm_class=0x40,
        ),
        "0000003b 00000004 00000000 00000003"  # length 59, submit_sm, status 0, seq 3
        "00"  # service_type "" NUL
        "05 00 42616e6b00"  # source ton alphanumeric, npi unknown, "Bank" NUL
        "01 01 34343737303039303031323300"  # dest ton 1, npi 1, "447700900123" NUL
        "40"  # esm_class UDHI
        "00"  # protocol_id
        "00"  # priority_flag
        "00"  # schedule_delivery_time "" NUL
        "00"  # validity_period "" NUL
        "01"  # registered_delivery: final receipt
        "00"  # replace_if_present_flag
        "08"  # data_coding UCS-2
        "00"  # sm_default_msg_id
        "0a"  # sm_length 10
        "0500032a0201"  # UDH: IEI 00 length 3, ref 0x2a, 2 parts, part 1
        "00480069",  # "Hi" in UCS-2
    ),
    (
        "submit_sm IA5 with SAR TLVs and an unknown TLV",
        0x7FFFFFFF,
        SubmitSm(
            source_addr="15550100",
            destination_addr="15550199",
            short_message=b"Hello",
            service_type="CMT",
            source_addr_ton=1,
            source_addr_npi=1,
            priority_flag=1,
            validity_period="000001000000000R",
            data_coding=1,
            tlvs=Tlvs(
                sar_msg_ref_num=0x1234,
                sar_total_segments=2,
                sar_segment_seqnum=1,
                other=(Tlv(0x1403, b"abc"),),
            ),
        ),
        "00000060 00000004 00000000 7fffffff"  # length 96, submit_sm, status 0, seq 2^31-1
        "434d5400"  # service_type "CMT" NUL
        "01 01 313535353031303000"  # source ton 1, npi 1, "15550100" NUL
        "01 01 313535353031393900"  # dest ton 1, npi 1, "15550199" NUL
        "00"  # esm_class
        "00"  # protocol_id
        "01"  # priority_flag 1
        "00"  # schedule_delivery_time "" NUL
        "3030303030313030303030303030305200"  # validity_period relative 1 day, NUL
        "01"  # registered_delivery
        "00"  # replace_if_present_flag
        "01"  # data_coding IA5
        "00"  # sm_default_msg_id
        "05 48656c6c6f"  # sm_length 5, "Hello"
        "020c 0002 1234"  # sar_msg_ref_num 0x1234
        "020e 0001 02"  # sar_total_segments 2
        "020f 0001 01"  # sar_segment_seqnum 1
        "1403 0003 616263",  # unknown tag 0x1403 kept raw
    ),
    (
        "submit_sm_resp ok",
        3,
        SubmitSmResp(command_status=0, message_id="a1b2c3"),
        "00000017 80000004 00000000 00000003"  # length 23, submit_sm_resp, ok, seq 3
        "61316232633300",  # message_id "a1b2c3" NUL
    ),
    (
        "submit_sm_resp throttled without body",
        3,
        SubmitSmResp(command_status=CommandStatus.ESME_RTHROTTLED),
        "00000010 80000004 00000058 00000003",  # length 16, submit_sm_resp, THROTTLED, seq 3
    ),
    (
        "deliver_sm receipt with TLVs",
        11,
        DeliverSm(
            source_addr="15550199",
            destination_addr="Bank",
            short_message=_RECEIPT_TEXT,
            dest_addr_ton=5,
            esm_class=ESM_CLASS_RECEIPT,
            tlvs=Tlvs(
                receipted_message_id="a1b2c3",
                network_error_code=NetworkErrorCode(3, 0),
                message_state=MessageState.DELIVERED,
            ),
        ),
        "000000a8 00000005 00000000 0000000b"  # length 168, deliver_sm, status 0, seq 11
        "00"  # service_type "" NUL
        "01 01 313535353031393900"  # source ton 1, npi 1, "15550199" NUL
        "05 00 42616e6b00"  # dest ton 5, npi 0, "Bank" NUL
        "04"  # esm_class: SMSC delivery receipt
        "00"  # protocol_id
        "00"  # priority_flag
        "00"  # schedule_delivery_time NUL
        "00"  # validity_period NUL
        "00"  # registered_delivery
        "00"  # replace_if_present_flag
        "00"  # data_coding SMSC default
        "00"  # sm_default_msg_id
        "64"
        + _RECEIPT_TEXT.hex()  # sm_length 100, the receipt text
        + "001e 0007 61316232633300"  # receipted_message_id "a1b2c3" NUL
        "0423 0003 03 0000"  # network_error_code GSM, 0
        "0427 0001 02",  # message_state DELIVERED
    ),
    (
        "deliver_sm MO in message_payload",
        12,
        DeliverSm(
            source_addr="15550199",
            destination_addr="1000",
            short_message=b"",
            data_coding=8,
            tlvs=Tlvs(message_payload=bytes.fromhex("90008ba2")),
        ),
        "00000035 00000005 00000000 0000000c"  # length 53, deliver_sm, status 0, seq 12
        "00"  # service_type "" NUL
        "01 01 313535353031393900"  # source ton 1, npi 1, "15550199" NUL
        "00 00 3130303000"  # dest ton 0, npi 0, "1000" NUL
        "00 00 00"  # esm_class, protocol_id, priority_flag
        "00 00"  # schedule_delivery_time, validity_period empty
        "00 00"  # registered_delivery, replace_if_present_flag
        "08"  # data_coding UCS-2
        "00"  # sm_default_msg_id
        "00"  # sm_length 0: the text is in message_payload
        "0424 0004 90008ba2",  # message_payload "退订" in UCS-2
    ),
    (
        "deliver_sm_resp",
        11,
        DeliverSmResp(),
        "00000011 80000005 00000000 0000000b"  # length 17, deliver_sm_resp, ok, seq 11
        "00",  # message_id unused: NUL
    ),
]


def _bytes(spelled: str) -> bytes:
    return bytes.fromhex(spelled.replace(" ", ""))


@pytest.mark.parametrize(
    ("sequence", "pdu", "spelled"), [v[1:] for v in VECTORS], ids=[v[0] for v in VECTORS]
)
def test_encode_writes_the_hand_spelled_bytes(sequence: int, pdu: Pdu, spelled: str) -> None:
    """Each PDU encodes to exactly the bytes the specification's layout gives."""
    assert Codec().encode(pdu, sequence).hex() == _bytes(spelled).hex()


@pytest.mark.parametrize(
    ("sequence", "pdu", "spelled"), [v[1:] for v in VECTORS], ids=[v[0] for v in VECTORS]
)
def test_decode_reads_the_hand_spelled_bytes(sequence: int, pdu: Pdu, spelled: str) -> None:
    """Each hand-spelled PDU decodes to its sequence and dataclass."""
    assert Codec().decode(_bytes(spelled)) == (sequence, pdu)


def test_resp_pdus_tolerate_the_variants_smscs_send() -> None:
    """An error resp with an empty message_id body and a body-less deliver_sm_resp still decode."""
    codec = Codec()
    throttled_with_nul = _bytes("00000011 80000004 00000058 00000003 00")
    assert codec.decode(throttled_with_nul) == (
        3,
        SubmitSmResp(command_status=CommandStatus.ESME_RTHROTTLED),
    )
    bodyless = _bytes("00000010 80000005 00000000 0000000b")
    assert codec.decode(bodyless) == (11, DeliverSmResp())


def test_receipted_message_id_without_nul_is_read() -> None:
    """A receipted_message_id TLV sent without its terminating NUL reads the same id."""
    frame = _bytes(
        "0000002d 00000005 00000000 00000001"  # length 45, deliver_sm, seq 1
        "00 0000 3100 0000 3200"  # service_type, source 0/0 "1", dest 0/0 "2"
        "04 00 00 00 00 00 00 00 00 00"  # esm_class receipt, ..., sm_length 0
        "001e 0006 613162326333",  # receipted_message_id "a1b2c3" without NUL
    )
    _, pdu = Codec().decode(frame)
    assert isinstance(pdu, DeliverSm)
    assert pdu.tlvs.receipted_message_id == "a1b2c3"


def test_a_request_status_field_is_ignored() -> None:
    """A request sent with a non-zero command_status still decodes (the field is unused)."""
    assert Codec().decode(_bytes("00000010 00000015 00000001 00000009")) == (9, EnquireLink())


def test_udhi_and_receipt_flags_read_esm_class() -> None:
    """``udhi`` reads bit 6 and ``is_receipt`` the message-type bits of esm_class."""
    part = SubmitSm(source_addr="a", destination_addr="b", short_message=b"", esm_class=0x43)
    assert part.udhi
    receipt = DeliverSm(source_addr="a", destination_addr="b", short_message=b"", esm_class=0x44)
    assert receipt.is_receipt and receipt.udhi
    assert not DeliverSm(source_addr="a", destination_addr="b", short_message=b"").is_receipt
