"""SMPP 3.4 codec for international routes: a transceiver ESME's PDUs, receipts, status codes.

:class:`Codec` turns the PDU dataclasses of :mod:`~carrier_adapters.smpp.pdus` into whole PDUs
(header included) and back, and cuts a received stream into PDUs (``frames()``). Anything
malformed raises :class:`InvalidPdu`, a ``PduError`` naming the ``command_status`` to answer
with. Message content is bytes in the PDU's ``data_coding`` (8 UCS-2, 1 IA5/ASCII), a UDH
included when ``esm_class`` has UDHI (0x40); splitting text is not this package's job. No I/O,
no clock, no logging.
"""

from __future__ import annotations

from carrier_adapters.smpp.codec import (
    HEADER_LENGTH,
    MAX_PDU_LENGTH,
    MAX_SEQUENCE,
    Codec,
    Header,
    InvalidPdu,
    read_header,
)
from carrier_adapters.smpp.pdus import (
    DATA_CODING_DEFAULT,
    DATA_CODING_IA5,
    DATA_CODING_OCTETS,
    DATA_CODING_UCS2,
    ESM_CLASS_RECEIPT,
    ESM_CLASS_TYPE_MASK,
    ESM_CLASS_UDHI,
    INTERFACE_VERSION,
    REGISTERED_DELIVERY_FINAL,
    BindTransceiver,
    BindTransceiverResp,
    Command,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    MessageState,
    NetworkErrorCode,
    Npi,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    Tlv,
    Tlvs,
    Ton,
    Unbind,
    UnbindResp,
)
from carrier_adapters.smpp.receipts import (
    STAT_BY_STATE,
    DeliveryReceipt,
    format_receipt,
    parse_receipt,
    receipt_of,
    receipt_pdu,
)
from carrier_adapters.smpp.results import CommandStatus, classify, status_name

__all__ = [
    "DATA_CODING_DEFAULT",
    "DATA_CODING_IA5",
    "DATA_CODING_OCTETS",
    "DATA_CODING_UCS2",
    "ESM_CLASS_RECEIPT",
    "ESM_CLASS_TYPE_MASK",
    "ESM_CLASS_UDHI",
    "HEADER_LENGTH",
    "INTERFACE_VERSION",
    "MAX_PDU_LENGTH",
    "MAX_SEQUENCE",
    "REGISTERED_DELIVERY_FINAL",
    "STAT_BY_STATE",
    "BindTransceiver",
    "BindTransceiverResp",
    "Codec",
    "Command",
    "CommandStatus",
    "DeliverSm",
    "DeliverSmResp",
    "DeliveryReceipt",
    "EnquireLink",
    "EnquireLinkResp",
    "GenericNack",
    "Header",
    "InvalidPdu",
    "MessageState",
    "NetworkErrorCode",
    "Npi",
    "Pdu",
    "SubmitSm",
    "SubmitSmResp",
    "Tlv",
    "Tlvs",
    "Ton",
    "Unbind",
    "UnbindResp",
    "classify",
    "format_receipt",
    "parse_receipt",
    "read_header",
    "receipt_of",
    "receipt_pdu",
    "status_name",
]
