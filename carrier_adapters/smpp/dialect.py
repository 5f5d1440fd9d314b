"""SMPP 3.4 for the session layer: the gateway as a transceiver ESME of an international SMSC.

:class:`SmppDialect` binds with ``bind_transceiver`` (``system_id`` and ``password`` from the
URL's login and secret, ``system_type`` option), keeps the link with ``enquire_link``, leaves with
``unbind``, and sends one ``submit_sm`` per part: ``source_addr`` the sender (TON 5 / NPI 0 when
it holds a letter, else 1/1), ``destination_addr`` the E.164 digits (TON 1, NPI 1),
``data_coding`` 1 (IA5) or 8 (UCS-2), ``esm_class`` 0x40 when the part starts with its UDH, a
final receipt requested. A part's operator id is ``submit_sm_resp``'s ``message_id``.

A ``deliver_sm`` receipt becomes a :class:`~carrier_adapters.smsc.PartReport` named by its
``message_id`` (TLVs preferred over the text): ``DELIVRD`` delivered, ``ENROUTE`` not final, any
other word failed, with ``err`` kept (``UNDELIV:001``). Any other ``deliver_sm`` is a
:class:`~carrier_adapters.base.MobileOriginated` (a part of a long reply arrives as its own reply,
its header removed). Each is answered status 0 once stored, an unreadable receipt too.

A PDU that does not parse but whose header could be read is not the end of the connection: it
decodes as :class:`Unreadable`, answered with ``generic_nack`` (or ``deliver_sm_resp``) carrying
the status the codec names; a ``generic_nack`` or unreadable answer to our request reads as its
``command_status``. URL options: ``source_addr`` (required), ``system_type``, ``service_type``;
any other is a :class:`ValueError` naming it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from carrier_adapters.base import DeliveryState, MobileOriginated
from carrier_adapters.errors import CarrierProtocolError, CarrierRejected, CarrierUnavailable, NumberNotServed
from carrier_adapters.pdu import FrameBuffer, PduError
from carrier_adapters.pdu.results import SubmitOutcome
from carrier_adapters.segments import Encoding, read_part
from carrier_adapters.smpp.codec import MAX_SEQUENCE, Codec, Header, InvalidPdu
from carrier_adapters.smpp.pdus import (
    DATA_CODING_IA5,
    DATA_CODING_UCS2,
    ESM_CLASS_UDHI,
    BindTransceiver,
    BindTransceiverResp,
    Command,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Npi,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    Ton,
    Unbind,
    UnbindResp,
)
from carrier_adapters.smpp.receipts import receipt_of
from carrier_adapters.smpp.results import CommandStatus, classify, status_name
from carrier_adapters.smsc.dialect import Inbound, OutboundPart, PartReport, PduKind, SubmitAnswer
from carrier_adapters.smsc.url import SmscUrl

__all__ = ["SmppDialect", "SmppOptions", "Unreadable", "dialect_factory"]

log = structlog.get_logger(__name__)

_CODEC = Codec()
_RESPONSE_BIT = 0x80000000
_OPTIONS = frozenset({"source_addr", "system_type", "service_type"})
_RESPONSES = (BindTransceiverResp, SubmitSmResp, UnbindResp, EnquireLinkResp, GenericNack, DeliverSmResp)
_SUCCESS, _NOT_FINAL = "DELIVRD", "ENROUTE"
_ALPHANUMERIC = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_SENDER_CHARACTERS = _ALPHANUMERIC | frozenset("0123456789 ")


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A PDU whose header was read but whose body breaks the protocol; ``status`` is the answer due."""

    header: Header
    status: int

    @property
    def is_response(self) -> bool:
        """Whether it answers one of our requests (bit 31 of ``command_id``)."""
        return bool(self.header.command_id & _RESPONSE_BIT)


SmppPdu = Pdu | Unreadable


@dataclass(frozen=True, slots=True)
class SmppOptions:
    """The ESME account's SMPP settings, read from its URL (see the module docstring)."""

    system_id: str
    password: str = field(repr=False)
    source_addr: str
    system_type: str = ""
    service_type: str = ""

    @classmethod
    def from_url(cls, url: SmscUrl) -> SmppOptions:
        """The options of an ``smpp://`` URL; :class:`ValueError` names what is wrong, never the secret."""
        if url.protocol != "smpp":
            raise ValueError(f"an SMPP dialect needs an smpp:// URL, not {url.protocol}://")
        options = dict(url.options)
        unknown = sorted(set(options) - _OPTIONS)
        if unknown:
            raise ValueError(f"the smpp URL has an unknown option {unknown[0]!r}")
        if not url.login.isascii() or not 0 < len(url.login) <= 15:
            raise ValueError("the smpp URL's system_id must be 1 to 15 ASCII characters")
        if not url.secret.isascii() or len(url.secret) > 8:
            raise ValueError("the smpp URL's password must be at most 8 ASCII characters")
        source = options.get("source_addr", "")
        if not source:
            raise ValueError("the smpp URL needs the option 'source_addr'")
        if _is_alphanumeric(source):
            if len(source) > 11 or not set(source) <= _SENDER_CHARACTERS:
                raise ValueError("the smpp URL's source_addr must be up to 11 letters, digits or spaces")
        elif not (source.isascii() and source.isdigit()) or len(source) > 15:
            raise ValueError("the smpp URL's source_addr must be up to 15 digits")
        system_type = options.get("system_type", "")
        service_type = options.get("service_type", "")
        if not system_type.isascii() or len(system_type) > 12:
            raise ValueError("the smpp URL's system_type must be at most 12 ASCII characters")
        if not service_type.isascii() or len(service_type) > 5:
            raise ValueError("the smpp URL's service_type must be at most 5 ASCII characters")
        return cls(url.login, url.secret, source, system_type, service_type)


def _is_alphanumeric(sender: str) -> bool:
    return bool(set(sender) & _ALPHANUMERIC)


class SmppDialect:
    """One transceiver connection's PDUs (see the module docstring); sequences from 1, wrapping."""

    protocol = "smpp"
    stable_sequences = False

    def __init__(self, options: SmppOptions, *, operator: str = "intl") -> None:
        self.options = options
        self.operator = operator
        self._next = 1
        alphanumeric = _is_alphanumeric(options.source_addr)
        self._source_ton = Ton.ALPHANUMERIC if alphanumeric else Ton.INTERNATIONAL
        self._source_npi = Npi.UNKNOWN if alphanumeric else Npi.ISDN

    def frames(self) -> FrameBuffer:
        """A frame buffer of SMPP PDUs (16-byte header, at most 8192 bytes)."""
        return _CODEC.frames()

    def encode(self, pdu: SmppPdu, sequence: int) -> bytes:
        """The whole PDU on the wire."""
        if isinstance(pdu, Unreadable):
            raise PduError("an unreadable PDU is never sent")
        return _CODEC.encode(pdu, sequence)

    def decode(self, frame: bytes) -> tuple[int, SmppPdu]:
        """A whole PDU, or :class:`Unreadable` when only its header could be read."""
        try:
            return _CODEC.decode(frame)
        except InvalidPdu as error:
            if error.header is None:
                raise
            return error.header.sequence_number, Unreadable(error.header, error.status)

    def next_sequence(self) -> int:
        """1, 2, 3, ... wrapping after ``0x7FFFFFFF`` back to 1."""
        sequence = self._next
        self._next = 1 if sequence >= MAX_SEQUENCE else sequence + 1
        return sequence

    def login(self, now: datetime) -> SmppPdu:
        """``bind_transceiver`` with the URL's ``system_id``, password and ``system_type``."""
        return BindTransceiver(self.options.system_id, self.options.password, self.options.system_type)

    def check_login(self, request: SmppPdu, response: SmppPdu) -> None:
        """Accept status 0; a refusal is a carrier error naming the status (never the password)."""
        status = _status(response)
        if status is None or (status == 0 and not isinstance(response, BindTransceiverResp)):
            raise CarrierProtocolError(self.operator, "the SMSC answered the bind with another command")
        if status == CommandStatus.ESME_ROK:
            return
        name = status_name(status)
        if classify(status) is SubmitOutcome.REJECTED:
            raise CarrierRejected(self.operator, f"the SMSC refused the bind ({name})", code=name)
        raise CarrierUnavailable(self.operator, f"the SMSC cannot bind now ({name})", code=name)

    def heartbeat(self) -> SmppPdu | None:
        """``enquire_link``."""
        return EnquireLink()

    def logout(self) -> SmppPdu:
        """``unbind``."""
        return Unbind()

    def submit(self, part: OutboundPart) -> SmppPdu:
        """One ``submit_sm`` of ``part`` with a final receipt requested."""
        destination = part.phone_number.removeprefix("+")
        if not (destination.isascii() and destination.isdigit()) or not 7 <= len(destination) <= 15:
            raise NumberNotServed(self.operator, "the SMSC reaches E.164 numbers only")
        return SubmitSm(
            source_addr=self.options.source_addr,
            destination_addr=destination,
            short_message=part.content,
            service_type=self.options.service_type,
            source_addr_ton=self._source_ton,
            source_addr_npi=self._source_npi,
            dest_addr_ton=Ton.INTERNATIONAL,
            dest_addr_npi=Npi.ISDN,
            esm_class=ESM_CLASS_UDHI if part.udhi else 0,
            data_coding=DATA_CODING_IA5 if part.encoding is Encoding.GSM7 else DATA_CODING_UCS2,
        )

    def answer(self, response: SmppPdu, sequence: int) -> SubmitAnswer:
        """``submit_sm_resp``'s status and ``message_id``; a ``generic_nack``'s status.

        An answer that could not be read, or a nack with status 0, is ``UNAVAILABLE``: the SMSC
        may have taken the part, but its id is lost.
        """
        if isinstance(response, SubmitSmResp):
            status = response.command_status
            return SubmitAnswer(classify(status), response.message_id, status)
        if isinstance(response, GenericNack):
            status = response.command_status
            outcome = classify(status) if status else SubmitOutcome.UNAVAILABLE
        elif isinstance(response, Unreadable) and response.is_response:
            status, outcome = response.header.command_status, SubmitOutcome.UNAVAILABLE
        else:
            raise CarrierProtocolError(self.operator, "the SMSC answered submit_sm with another command")
        return SubmitAnswer(outcome, "", status)

    def kind(self, pdu: SmppPdu) -> PduKind:
        """Answers are responses; ``enquire_link`` a heartbeat; ``deliver_sm`` inbound; ``unbind`` goodbye."""
        if isinstance(pdu, Unreadable):
            return PduKind.RESPONSE if pdu.is_response else PduKind.OTHER
        if isinstance(pdu, _RESPONSES):
            return PduKind.RESPONSE
        if isinstance(pdu, EnquireLink):
            return PduKind.HEARTBEAT
        if isinstance(pdu, DeliverSm):
            return PduKind.INBOUND
        if isinstance(pdu, Unbind):
            return PduKind.LOGOUT
        return PduKind.OTHER

    def inbound(self, pdu: SmppPdu, now: datetime) -> list[Inbound]:
        """The receipt or reply a ``deliver_sm`` carries; an unreadable one yields nothing."""
        if not isinstance(pdu, DeliverSm):
            return []
        if pdu.is_receipt:
            try:
                receipt = receipt_of(pdu)
            except PduError:
                log.warning("smpp_receipt_unreadable", operator=self.operator)
                return []
            if receipt.stat == _SUCCESS:
                state: DeliveryState | None = DeliveryState.DELIVERED
            else:
                state = None if receipt.stat == _NOT_FINAL else DeliveryState.FAILED
            status = receipt.stat if receipt.err in ("", "000") else f"{receipt.stat}:{receipt.err}"
            return [PartReport(self.operator, receipt.message_id, state, status, now)]
        sender = pdu.source_addr.removeprefix("+")
        if not (sender.isascii() and sender.isdigit()) or not 7 <= len(sender) <= 15:
            log.warning("smpp_deliver_unreadable_number", operator=self.operator)
            return []
        payload = pdu.tlvs.message_payload
        content = payload if payload is not None and not pdu.short_message else pdu.short_message
        return [MobileOriginated(self.operator, "+" + sender, _text(content, pdu), None, now)]

    def reply(self, pdu: SmppPdu) -> SmppPdu | None:
        """Status 0 to ``enquire_link``, ``deliver_sm`` and ``unbind``; a nack to what we do not serve."""
        match pdu:
            case Unreadable():
                if pdu.is_response:
                    return None
                if pdu.header.command_id == Command.DELIVER_SM:
                    return DeliverSmResp(pdu.status)
                return GenericNack(pdu.status)
            case EnquireLink():
                return EnquireLinkResp()
            case DeliverSm():
                return DeliverSmResp()
            case Unbind():
                return UnbindResp()
            case BindTransceiver() | SubmitSm():
                return GenericNack(CommandStatus.ESME_RINVCMDID)
        return None


def _status(pdu: SmppPdu) -> int | None:
    """The ``command_status`` of an answer, ``None`` for a request."""
    if isinstance(pdu, Unreadable):
        return pdu.header.command_status if pdu.is_response else None
    if isinstance(pdu, _RESPONSES):
        return pdu.command_status
    return None


def _text(content: bytes, pdu: DeliverSm) -> str:
    """A received text in its ``data_coding`` (8 UCS-2, else one octet per character), UDH removed."""
    if pdu.udhi:
        with contextlib.suppress(ValueError):
            content = read_part(content, udhi=True)[1]
    if pdu.data_coding == DATA_CODING_UCS2:
        return content.decode("utf-16-be", errors="replace")
    return content.decode("latin-1")


def dialect_factory(url: SmscUrl, *, operator: str = "intl") -> Callable[[], SmppDialect]:
    """Dialects for the channel's connections to the SMSC (one per connection)."""
    options = SmppOptions.from_url(url)
    return lambda: SmppDialect(options, operator=operator)
