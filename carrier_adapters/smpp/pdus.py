"""SMPP 3.4 PDUs of a transceiver session: bind, unbind, enquire_link, submit_sm, deliver_sm.

Field names are the specification's. Addresses, ids and times are ASCII ``str`` (C-Octet
Strings without their NUL); ``short_message`` and ``message_payload`` are the raw octets in the
PDU's ``data_coding`` (a UDH included when ``esm_class`` has UDHI). Response dataclasses carry the
header's ``command_status``; requests are always sent with status 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

__all__ = [
    "DATA_CODING_DEFAULT",
    "DATA_CODING_IA5",
    "DATA_CODING_OCTETS",
    "DATA_CODING_UCS2",
    "ESM_CLASS_RECEIPT",
    "ESM_CLASS_TYPE_MASK",
    "ESM_CLASS_UDHI",
    "INTERFACE_VERSION",
    "REGISTERED_DELIVERY_FINAL",
    "BindTransceiver",
    "BindTransceiverResp",
    "Command",
    "DeliverSm",
    "DeliverSmResp",
    "EnquireLink",
    "EnquireLinkResp",
    "GenericNack",
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
]

INTERFACE_VERSION = 0x34
"""``interface_version`` of SMPP 3.4."""

DATA_CODING_DEFAULT = 0x00
"""The SMSC's default alphabet (SMSC-specific; the gateway never sends it)."""
DATA_CODING_IA5 = 0x01
"""IA5 / ASCII, one octet per character: the gateway's coding for GSM-7-class texts."""
DATA_CODING_OCTETS = 0x04
"""8-bit binary octets."""
DATA_CODING_UCS2 = 0x08
"""UCS-2 big-endian, two octets per character."""

ESM_CLASS_UDHI = 0x40
"""``esm_class`` bit 6: ``short_message`` starts with a User Data Header."""
ESM_CLASS_TYPE_MASK = 0x3C
"""``esm_class`` bits 2-5: the message type."""
ESM_CLASS_RECEIPT = 0x04
"""Message type of a deliver_sm that carries an SMSC delivery receipt."""

REGISTERED_DELIVERY_FINAL = 0x01
"""``registered_delivery``: a receipt on the final outcome, success or failure."""


class Command(IntEnum):
    """``command_id`` values; a response is its request's id with bit 31 set."""

    GENERIC_NACK = 0x80000000
    BIND_TRANSCEIVER = 0x00000009
    BIND_TRANSCEIVER_RESP = 0x80000009
    UNBIND = 0x00000006
    UNBIND_RESP = 0x80000006
    SUBMIT_SM = 0x00000004
    SUBMIT_SM_RESP = 0x80000004
    DELIVER_SM = 0x00000005
    DELIVER_SM_RESP = 0x80000005
    ENQUIRE_LINK = 0x00000015
    ENQUIRE_LINK_RESP = 0x80000015


class Ton(IntEnum):
    """Type of number of an address."""

    UNKNOWN = 0
    INTERNATIONAL = 1
    NATIONAL = 2
    NETWORK_SPECIFIC = 3
    SUBSCRIBER = 4
    ALPHANUMERIC = 5
    ABBREVIATED = 6


class Npi(IntEnum):
    """Numbering plan of an address."""

    UNKNOWN = 0
    ISDN = 1
    DATA = 3
    TELEX = 4
    LAND_MOBILE = 6
    NATIONAL = 8
    PRIVATE = 9
    ERMES = 10
    INTERNET = 14
    WAP = 18


class MessageState(IntEnum):
    """``message_state`` TLV values (and the receipt ``stat:`` word of each, see receipts)."""

    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8


@dataclass(frozen=True, slots=True)
class NetworkErrorCode:
    """The ``network_error_code`` TLV: network type (1 ANSI-136, 2 IS-95, 3 GSM…) and its code."""

    network_type: int
    error_code: int


@dataclass(frozen=True, slots=True)
class Tlv:
    """An optional parameter this codec does not interpret, kept as its tag and raw value."""

    tag: int
    value: bytes


@dataclass(frozen=True, slots=True)
class Tlvs:
    """Optional parameters of submit_sm / deliver_sm; ``None`` means absent.

    Encoded in ascending tag order of the named ones, then ``other`` in its order.
    ``message_payload`` replaces ``short_message`` (which must then be empty).
    """

    receipted_message_id: str | None = None
    sar_msg_ref_num: int | None = None
    sar_total_segments: int | None = None
    sar_segment_seqnum: int | None = None
    network_error_code: NetworkErrorCode | None = None
    message_payload: bytes | None = None
    message_state: int | None = None
    other: tuple[Tlv, ...] = ()


@dataclass(frozen=True, slots=True)
class BindTransceiver:
    """Opens a session that both submits and receives deliver_sm."""

    system_id: str
    password: str
    system_type: str = ""
    interface_version: int = INTERFACE_VERSION
    addr_ton: int = Ton.UNKNOWN
    addr_npi: int = Npi.UNKNOWN
    address_range: str = ""


@dataclass(frozen=True, slots=True)
class BindTransceiverResp:
    """Answer to a bind; the body is absent when ``command_status`` is not 0.

    ``sc_interface_version`` is the SMSC's optional TLV 0x0210.
    """

    command_status: int
    system_id: str = ""
    sc_interface_version: int | None = None


@dataclass(frozen=True, slots=True)
class Unbind:
    """Asks the peer to close the session."""


@dataclass(frozen=True, slots=True)
class UnbindResp:
    """Answer to unbind."""

    command_status: int = 0


@dataclass(frozen=True, slots=True)
class EnquireLink:
    """Heartbeat request; either side may send it."""


@dataclass(frozen=True, slots=True)
class EnquireLinkResp:
    """Heartbeat answer."""

    command_status: int = 0


@dataclass(frozen=True, slots=True)
class GenericNack:
    """Answer to a PDU that could not be read (unknown command id, bad length)."""

    command_status: int


@dataclass(frozen=True, slots=True)
class SubmitSm:
    """A mobile-terminated short message from the ESME to the SMSC."""

    source_addr: str
    destination_addr: str
    short_message: bytes
    service_type: str = ""
    source_addr_ton: int = Ton.UNKNOWN
    source_addr_npi: int = Npi.UNKNOWN
    dest_addr_ton: int = Ton.INTERNATIONAL
    dest_addr_npi: int = Npi.ISDN
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = REGISTERED_DELIVERY_FINAL
    replace_if_present_flag: int = 0
    data_coding: int = DATA_CODING_UCS2
    sm_default_msg_id: int = 0
    tlvs: Tlvs = field(default_factory=Tlvs)

    @property
    def udhi(self) -> bool:
        """``short_message`` starts with a User Data Header."""
        return bool(self.esm_class & ESM_CLASS_UDHI)


@dataclass(frozen=True, slots=True)
class SubmitSmResp:
    """Answer to submit_sm: the SMSC's ``message_id``, empty (body absent) on an error status."""

    command_status: int
    message_id: str = ""


@dataclass(frozen=True, slots=True)
class DeliverSm:
    """A mobile-originated message or (``esm_class`` type 0x04) a delivery receipt.

    Same body layout as submit_sm; the SMSC sends schedule_delivery_time, validity_period,
    registered_delivery, replace_if_present_flag and sm_default_msg_id empty / 0.
    """

    source_addr: str
    destination_addr: str
    short_message: bytes
    service_type: str = ""
    source_addr_ton: int = Ton.INTERNATIONAL
    source_addr_npi: int = Npi.ISDN
    dest_addr_ton: int = Ton.UNKNOWN
    dest_addr_npi: int = Npi.UNKNOWN
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = DATA_CODING_DEFAULT
    sm_default_msg_id: int = 0
    tlvs: Tlvs = field(default_factory=Tlvs)

    @property
    def udhi(self) -> bool:
        """``short_message`` starts with a User Data Header."""
        return bool(self.esm_class & ESM_CLASS_UDHI)

    @property
    def is_receipt(self) -> bool:
        """The message type bits say SMSC delivery receipt."""
        return self.esm_class & ESM_CLASS_TYPE_MASK == ESM_CLASS_RECEIPT


@dataclass(frozen=True, slots=True)
class DeliverSmResp:
    """Answer to deliver_sm; ``message_id`` is unused and sent empty (one NUL byte)."""

    command_status: int = 0
    message_id: str = ""


Pdu = (
    BindTransceiver
    | BindTransceiverResp
    | Unbind
    | UnbindResp
    | EnquireLink
    | EnquireLinkResp
    | GenericNack
    | SubmitSm
    | SubmitSmResp
    | DeliverSm
    | DeliverSmResp
)
