"""Delivery receipt text parsing and building, and receipts read from deliver_sm with TLVs."""

from __future__ import annotations

import pytest

from carrier_adapters.pdu import PduError
from carrier_adapters.smpp import (
    DATA_CODING_UCS2,
    ESM_CLASS_RECEIPT,
    Codec,
    DeliverSm,
    DeliveryReceipt,
    MessageState,
    NetworkErrorCode,
    Tlvs,
    format_receipt,
    parse_receipt,
    receipt_of,
    receipt_pdu,
)

_TEXT = (
    "id:a1b2c3 sub:001 dlvrd:001 submit date:2401151230 done date:2401151231"
    " stat:DELIVRD err:000 text:Hi there id:zz"
)


_NO_TLVS = Tlvs()


def _deliver(text: bytes, tlvs: Tlvs = _NO_TLVS, esm_class: int = ESM_CLASS_RECEIPT) -> DeliverSm:
    return DeliverSm(
        source_addr="1", destination_addr="2", short_message=text, esm_class=esm_class, tlvs=tlvs
    )


def test_parse_reads_every_field_and_keeps_text_last() -> None:
    """Every appendix-B field is read; ``text:`` runs to the end even if it holds ``id:``."""
    assert parse_receipt(_TEXT) == DeliveryReceipt(
        message_id="a1b2c3",
        stat="DELIVRD",
        err="000",
        sub="001",
        dlvrd="001",
        submit_date="2401151230",
        done_date="2401151231",
        text="Hi there id:zz",
    )


def test_parse_tolerates_case_missing_text_and_missing_counters() -> None:
    """Keys in any case, ``stat`` in lower case and no ``text:``/``sub:``/``dlvrd:`` still parse."""
    receipt = parse_receipt("ID:77 Submit Date:2401151230 Done Date:2401151231 Stat:undeliv Err:012")
    assert receipt == DeliveryReceipt(
        message_id="77",
        stat="UNDELIV",
        err="012",
        sub="",
        dlvrd="",
        submit_date="2401151230",
        done_date="2401151231",
        text="",
    )
    assert receipt.state is MessageState.UNDELIVERABLE


@pytest.mark.parametrize("text", ["sub:001 stat:DELIVRD", "id:1 sub:001 err:000", "", "hello"])
def test_parse_needs_an_id_and_a_stat(text: str) -> None:
    """Text without ``id:`` or without ``stat:`` is not a receipt."""
    with pytest.raises(PduError):
        parse_receipt(text)


def test_format_writes_the_appendix_b_layout() -> None:
    """The built text follows ``id sub dlvrd submit date done date stat err text`` exactly."""
    receipt = DeliveryReceipt(
        message_id="a1b2c3",
        stat="EXPIRED",
        err="000",
        sub="001",
        dlvrd="000",
        submit_date="2401151230",
        done_date="2401161230",
        text="Your code",
    )
    assert format_receipt(receipt) == (
        "id:a1b2c3 sub:001 dlvrd:000 submit date:2401151230 done date:2401161230"
        " stat:EXPIRED err:000 text:Your code"
    )
    assert parse_receipt(format_receipt(receipt)) == receipt


def test_receipt_of_prefers_the_tlvs_to_the_text() -> None:
    """receipted_message_id and message_state override the text's id and stat."""
    tlvs = Tlvs(
        receipted_message_id="0x1F",
        message_state=MessageState.UNDELIVERABLE,
        network_error_code=NetworkErrorCode(3, 0x22),
    )
    receipt = receipt_of(_deliver(_TEXT.encode(), tlvs))
    assert (receipt.message_id, receipt.stat, receipt.err) == ("0x1F", "UNDELIV", "000")
    assert receipt.network_error_code == NetworkErrorCode(3, 0x22)
    assert receipt.done_date == "2401151231"


def test_receipt_of_reads_tlvs_alone_and_text_alone() -> None:
    """An empty text with both TLVs is a receipt; so is the text without TLVs."""
    only_tlvs = receipt_of(_deliver(b"", Tlvs(receipted_message_id="m1", message_state=MessageState.EXPIRED)))
    assert (only_tlvs.message_id, only_tlvs.stat) == ("m1", "EXPIRED")
    assert receipt_of(_deliver(_TEXT.encode())).message_id == "a1b2c3"


def test_receipt_of_reads_message_payload_and_ucs2_text() -> None:
    """The text may come in message_payload, and in UCS-2 when data_coding is 8."""
    pdu = DeliverSm(
        source_addr="1",
        destination_addr="2",
        short_message=b"",
        esm_class=ESM_CLASS_RECEIPT,
        data_coding=DATA_CODING_UCS2,
        tlvs=Tlvs(message_payload=_TEXT.encode("utf-16-be")),
    )
    assert receipt_of(pdu).message_id == "a1b2c3"


def test_receipt_of_refuses_mo_and_empty_receipts() -> None:
    """A deliver_sm that is not a receipt, or a receipt with no id or state, raises PduError."""
    with pytest.raises(PduError):
        receipt_of(_deliver(_TEXT.encode(), esm_class=0))
    with pytest.raises(PduError):
        receipt_of(_deliver(b"thanks", Tlvs(receipted_message_id="m1")))


def test_receipt_pdu_carries_text_and_tlvs_through_the_codec() -> None:
    """The SMSC-side deliver_sm of a receipt encodes, decodes and reads back the same receipt."""
    receipt = DeliveryReceipt(
        message_id="a1b2c3",
        stat="DELIVRD",
        dlvrd="001",
        submit_date="2401151230",
        done_date="2401151231",
    )
    pdu = receipt_pdu(receipt, source_addr="15550199", destination_addr="Bank")
    assert pdu.tlvs.message_state == MessageState.DELIVERED
    codec = Codec()
    _, decoded = codec.decode(codec.encode(pdu, 9))
    assert isinstance(decoded, DeliverSm)
    assert receipt_of(decoded) == receipt


def test_an_smsc_specific_stat_has_no_message_state() -> None:
    """A stat word outside the eight standard ones is kept and sends no message_state TLV."""
    receipt = DeliveryReceipt(message_id="m", stat="MA:0001")
    assert receipt.state is None
    assert receipt_pdu(receipt, "1", "2").tlvs.message_state is None
