"""SmppDialect: URL options, the PDUs it sends and how it reads the SMSC's (no sockets)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from carrier_adapters.base import DeliveryState, MobileOriginated
from carrier_adapters.errors import CarrierProtocolError, CarrierRejected, CarrierUnavailable, NumberNotServed
from carrier_adapters.pdu.results import SubmitOutcome
from carrier_adapters.segments import Encoding
from carrier_adapters.smpp import (
    BindTransceiver,
    BindTransceiverResp,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    SubmitSm,
    SubmitSmResp,
    Tlvs,
    Unbind,
    UnbindResp,
)
from carrier_adapters.smpp.dialect import SmppDialect, SmppOptions, Unreadable, dialect_factory
from carrier_adapters.smsc import OutboundPart, PartReport, PduKind
from carrier_adapters.smsc.url import parse_smsc_url

NOW = datetime(2024, 1, 15, 12, 30, tzinfo=UTC)


def _dialect(query: str = "source_addr=Bank") -> SmppDialect:
    return dialect_factory(parse_smsc_url(f"smpp://gw01:secret1@smsc.example?{query}"))()


def _part(content: bytes, *, udhi: bool = False, encoding: Encoding = Encoding.UCS2) -> OutboundPart:
    return OutboundPart("+447700900123", content, encoding, udhi, 1, 1, "m-1")


def test_the_first_ucs2_part_matches_the_documented_submit_sm_bytes() -> None:
    """docs/operator-dialects.md's example: part 1 of 2 of "Hi" from Bank, ref 0x2a, sequence 3."""
    wire = bytes.fromhex(
        "0000003b 00000004 00000000 00000003"  # length 59, submit_sm, status 0, sequence 3
        "00"  # service_type ""
        "05 00 42616e6b00"  # source TON 5, NPI 0, "Bank"
        "01 01 34343737303039303031323300"  # destination TON 1, NPI 1, "447700900123"
        "40 00 00"  # esm_class UDHI, protocol_id, priority_flag
        "00 00"  # schedule_delivery_time "", validity_period ""
        "01 00 08 00"  # registered_delivery 1, replace 0, data_coding 8, sm_default_msg_id 0
        "0a 0500032a0201 00480069"  # sm_length 10, UDH ref 0x2a part 1 of 2, "Hi"
    )
    dialect = _dialect()
    pdu = dialect.submit(_part(bytes.fromhex("0500032a0201 00480069"), udhi=True))
    assert dialect.encode(pdu, 3) == wire


def test_an_ascii_text_goes_as_ia5_and_a_numeric_sender_as_international() -> None:
    """data_coding 1 for GSM-7-class texts; a digits-only sender is TON 1 / NPI 1; no UDHI."""
    pdu = _dialect("source_addr=4479460000").submit(_part(b"hi", encoding=Encoding.GSM7))
    assert isinstance(pdu, SubmitSm)
    assert (pdu.data_coding, pdu.esm_class, pdu.source_addr_ton, pdu.source_addr_npi) == (1, 0, 1, 1)


def test_a_number_that_is_not_e164_is_not_served() -> None:
    """destination_addr must be 7-15 digits after the +."""
    with pytest.raises(NumberNotServed):
        _dialect().submit(OutboundPart("+44abc", b"hi", Encoding.GSM7, False, 1, 1, "m"))


def test_bind_carries_the_urls_system_id_password_and_system_type() -> None:
    """bind_transceiver from the URL's login, secret and system_type option."""
    pdu = _dialect("source_addr=Bank&system_type=VMA").login(NOW)
    assert pdu == BindTransceiver("gw01", "secret1", "VMA")


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("source_addr=Bank&colour=red", "'colour'"),
        ("system_type=X", "'source_addr'"),
        ("source_addr=ThisIsTooLongForTon5", "11 letters"),
        ("source_addr=1234567890123456", "15 digits"),
    ],
)
def test_url_options_are_checked_by_name(query: str, named: str) -> None:
    """Unknown or missing options and malformed senders are ValueErrors naming the problem."""
    with pytest.raises(ValueError, match=named):
        SmppOptions.from_url(parse_smsc_url(f"smpp://gw01:secret1@smsc.example?{query}"))


def test_a_password_over_eight_characters_is_refused_without_showing_it() -> None:
    """SMPP's password field holds 8 characters; the error never repeats the secret."""
    with pytest.raises(ValueError) as refused:
        SmppOptions.from_url(parse_smsc_url("smpp://gw01:averylongsecret@smsc.example?source_addr=Bank"))
    assert "averylongsecret" not in str(refused.value)
    assert "averylongsecret" not in repr(SmppOptions("gw01", "averylongsecret", "Bank"))


def test_check_login_reads_the_bind_status() -> None:
    """0 binds; ESME_RINVPASWD is a rejection; ESME_RBINDFAIL the SMSC's unavailability."""
    dialect = _dialect()
    request = dialect.login(NOW)
    dialect.check_login(request, BindTransceiverResp(0, "SMSC"))
    with pytest.raises(CarrierRejected, match="ESME_RINVPASWD"):
        dialect.check_login(request, BindTransceiverResp(0x0E))
    with pytest.raises(CarrierUnavailable):
        dialect.check_login(request, GenericNack(0x0D))
    with pytest.raises(CarrierProtocolError):
        dialect.check_login(request, EnquireLinkResp())


def test_answers_read_status_and_message_id() -> None:
    """submit_sm_resp's message_id names the part; throttling and nacks keep their code."""
    dialect = _dialect()
    accepted = dialect.answer(SubmitSmResp(0, "A1B2C3"), 7)
    assert (accepted.outcome, accepted.provider_id, accepted.code) == (SubmitOutcome.ACCEPTED, "A1B2C3", 0)
    assert dialect.answer(SubmitSmResp(0x58), 8).outcome is SubmitOutcome.THROTTLED
    assert dialect.answer(GenericNack(0x0B), 9).outcome is SubmitOutcome.REJECTED
    with pytest.raises(CarrierProtocolError):
        dialect.answer(EnquireLinkResp(), 10)


def test_sequences_count_from_one_and_wrap_back_to_one() -> None:
    """1, 2, ... 0x7FFFFFFF, then 1 again."""
    dialect = _dialect()
    assert [dialect.next_sequence() for _ in range(3)] == [1, 2, 3]
    dialect._next = 0x7FFFFFFF
    assert [dialect.next_sequence(), dialect.next_sequence()] == [0x7FFFFFFF, 1]


def test_kinds_and_replies_of_the_smscs_pdus() -> None:
    """Heartbeats, deliveries and unbind are answered status 0; a submit_sm from the SMSC is nacked."""
    dialect = _dialect()
    deliver = DeliverSm("447700900123", "Bank", b"hi")
    assert [
        dialect.kind(p) for p in (SubmitSmResp(0, "x"), EnquireLink(), deliver, Unbind(), GenericNack(3))
    ] == [
        PduKind.RESPONSE,
        PduKind.HEARTBEAT,
        PduKind.INBOUND,
        PduKind.LOGOUT,
        PduKind.RESPONSE,
    ]
    assert dialect.reply(EnquireLink()) == EnquireLinkResp()
    assert dialect.reply(deliver) == DeliverSmResp()
    assert dialect.reply(Unbind()) == UnbindResp()
    assert dialect.reply(SubmitSm("a", "b", b"c")) == GenericNack(0x03)


def test_an_unreadable_deliver_sm_is_answered_with_the_codecs_status_not_a_closed_link() -> None:
    """A deliver_sm whose sm_length overruns it decodes as Unreadable and gets ESME_RINVMSGLEN."""
    frame = bytes.fromhex(
        "00000028 00000005 00000000 00000009"  # length 40, deliver_sm, sequence 9
        "00 01 01 3100 00 00 4200"  # service_type, source 1/1 "1", destination 0/0 "B"
        "00 00 00 00 00 00 00 00 00"  # esm, pid, priority, times, rd, replace, coding, default id
        "ff 0000000000"  # sm_length 255 with 5 bytes left
    )
    dialect = _dialect()
    sequence, pdu = dialect.decode(frame)
    assert sequence == 9 and isinstance(pdu, Unreadable)
    assert dialect.kind(pdu) is PduKind.OTHER
    assert dialect.reply(pdu) == DeliverSmResp(0x01)


def test_an_unknown_command_is_nacked_and_an_unreadable_answer_is_a_response() -> None:
    """data_sm gets generic_nack ESME_RINVCMDID; a malformed submit_sm_resp still ends its wait."""
    dialect = _dialect()
    _, unknown = dialect.decode(bytes.fromhex("00000010 00000103 00000000 00000004"))
    assert dialect.reply(unknown) == GenericNack(0x03)
    _, broken = dialect.decode(bytes.fromhex("00000013 80000004 00000000 00000005 414243"))
    assert dialect.kind(broken) is PduKind.RESPONSE and dialect.reply(broken) is None
    assert dialect.answer(broken, 5).outcome is SubmitOutcome.UNAVAILABLE


@pytest.mark.parametrize(
    ("stat", "err", "state", "status"),
    [
        ("DELIVRD", "000", DeliveryState.DELIVERED, "DELIVRD"),
        ("UNDELIV", "001", DeliveryState.FAILED, "UNDELIV:001"),
        ("EXPIRED", "000", DeliveryState.FAILED, "EXPIRED"),
        ("REJECTD", "017", DeliveryState.FAILED, "REJECTD:017"),
        ("ENROUTE", "000", None, "ENROUTE"),
    ],
)
def test_a_receipt_is_a_part_report(stat: str, err: str, state: DeliveryState | None, status: str) -> None:
    """Only DELIVRD delivers; ENROUTE is not final; other words fail with err kept."""
    text = (
        f"id:a1b2c3 sub:001 dlvrd:000 submit date:2401151230 done date:2401151231 stat:{stat} err:{err} text:"
    )
    receipt = DeliverSm("447700900123", "Bank", text.encode(), esm_class=0x04)
    assert _dialect().inbound(receipt, NOW) == [PartReport("intl", "a1b2c3", state, status, NOW)]


def test_the_receipted_message_id_tlv_wins_over_the_text() -> None:
    """SMSCs print id in another base; the TLV names the submit_sm_resp's message_id."""
    receipt = DeliverSm(
        "447700900123",
        "Bank",
        b"id:123 sub:001 dlvrd:001 submit date:2401151230 done date:2401151231 stat:DELIVRD err:000",
        esm_class=0x04,
        tlvs=Tlvs(receipted_message_id="7B", message_state=2),
    )
    [report] = _dialect().inbound(receipt, NOW)
    assert isinstance(report, PartReport) and (report.provider_id, report.state) == (
        "7B",
        DeliveryState.DELIVERED,
    )


def test_an_unreadable_receipt_yields_nothing_and_is_still_answered() -> None:
    """No id and no TLVs: nothing to store, answered status 0 so the SMSC stops resending."""
    dialect = _dialect()
    receipt = DeliverSm("447700900123", "Bank", b"garbage", esm_class=0x04)
    assert dialect.inbound(receipt, NOW) == []
    assert dialect.reply(receipt) == DeliverSmResp()


def test_an_mo_text_in_parts_is_read_without_its_header() -> None:
    """A UCS-2 part with UDHI arrives as a reply with its header removed; payload TLV read too."""
    dialect = _dialect()
    part = DeliverSm(
        "447700900123",
        "Bank",
        bytes.fromhex("050003070201") + "Hi".encode("utf-16-be"),
        esm_class=0x40,
        data_coding=8,
    )
    payload = DeliverSm("447700900123", "Bank", b"", tlvs=Tlvs(message_payload=b"STOP"), data_coding=1)
    assert dialect.inbound(part, NOW) == [MobileOriginated("intl", "+447700900123", "Hi", None, NOW)]
    assert dialect.inbound(payload, NOW) == [MobileOriginated("intl", "+447700900123", "STOP", None, NOW)]


def test_an_mo_from_an_alphanumeric_source_yields_nothing() -> None:
    """Only a phone number can reply; anything else is answered and dropped."""
    assert _dialect().inbound(DeliverSm("Operator", "Bank", b"hi"), NOW) == []
