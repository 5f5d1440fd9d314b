"""What the session layer asks of one binary SMS protocol (CMPP, SGIP, SMGP, SMPP).

A :class:`Dialect` turns the session's intentions (log in, keep alive, submit a part, answer the
peer) into that protocol's PDUs and reads the peer's PDUs back as :class:`PduKind` plus the
values the gateway needs (:class:`SubmitAnswer`, :class:`PartReport`,
:class:`~carrier_adapters.base.MobileOriginated`). It holds no socket and reads no clock: the
session passes the time in. One dialect object serves one connection (it numbers its requests).
"""

from __future__ import annotations

import enum
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from carrier_adapters.base import DeliveryState, MobileOriginated
from carrier_adapters.pdu import FrameBuffer
from carrier_adapters.pdu.results import SubmitOutcome
from carrier_adapters.segments import Encoding

__all__ = ["Dialect", "Inbound", "ListeningDialect", "OutboundPart", "PartReport", "PduKind", "SubmitAnswer"]

PduT = TypeVar("PduT")
SeqT = TypeVar("SeqT", bound=Hashable)


class PduKind(enum.Enum):
    """How the session treats a PDU it read.

    ``RESPONSE`` answers one of our requests (matched by sequence); ``HEARTBEAT``, ``INBOUND``
    (a report or an MO) and ``LOGOUT`` are the peer's requests, each answered with
    :meth:`Dialect.reply`; ``OTHER`` is a request the session does not serve (answered with
    :meth:`Dialect.reply` when the dialect has an answer, else ignored).
    """

    RESPONSE = "response"
    HEARTBEAT = "heartbeat"
    INBOUND = "inbound"
    LOGOUT = "logout"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class OutboundPart:
    """One wire part of a message: ``content`` already encoded, with its UDH when ``udhi``.

    ``phone_number`` is E.164 (the dialect writes the operator's form); ``total``/``number``
    are the part count and this part's 1-based position; ``reference`` is the gateway's message
    id (logs only; operators do not echo it).
    """

    phone_number: str
    content: bytes
    encoding: Encoding
    udhi: bool
    total: int
    number: int
    reference: str


@dataclass(frozen=True, slots=True)
class SubmitAnswer:
    """The operator's answer to one submitted part: its id for reports when accepted."""

    outcome: SubmitOutcome
    provider_id: str
    code: int


@dataclass(frozen=True, slots=True)
class PartReport:
    """A status report for one submitted part, named by the operator's id for it.

    ``state`` is ``None`` for an intermediate report (e.g. SGIP "waiting"), which ends nothing;
    ``status`` is the operator's word or code as received (``DELIVRD``, ``UNDELIV``, ``MA:0001``).
    """

    operator: str
    provider_id: str
    state: DeliveryState | None
    status: str
    at: datetime


Inbound = PartReport | MobileOriginated
"""What an INBOUND PDU carries to the gateway."""


class Dialect(Protocol[PduT, SeqT]):
    """One protocol's PDUs as the session layer uses them (see the module docstring)."""

    protocol: str
    """Short protocol name for logs and metrics (``cmpp``, ``sgip``, ``smgp``, ``smpp``)."""

    stable_sequences: bool
    """Whether sequences are unique across connections, so a submit lost with its connection goes
    again with the same one and the operator recognises the repeat (SGIP); else it takes the new
    connection's next sequence."""

    def frames(self) -> FrameBuffer:
        """A fresh frame buffer bounded by the protocol's header and maximum PDU length."""
        ...

    def encode(self, pdu: PduT, sequence: SeqT) -> bytes:
        """The whole PDU on the wire."""
        ...

    def decode(self, frame: bytes) -> tuple[SeqT, PduT]:
        """A whole PDU read from the wire; :class:`~carrier_adapters.pdu.PduError` if malformed."""
        ...

    def next_sequence(self) -> SeqT:
        """The sequence of our next request on this connection."""
        ...

    def login(self, now: datetime) -> PduT:
        """The login request (``now`` timezone-aware, for timestamps and authenticators)."""
        ...

    def check_login(self, request: PduT, response: PduT) -> None:
        """Accept the login answer or raise a carrier error naming the refusal (never the secret)."""
        ...

    def heartbeat(self) -> PduT | None:
        """A keep-alive request, or ``None`` when the protocol has none (SGIP)."""
        ...

    def logout(self) -> PduT:
        """The graceful goodbye request."""
        ...

    def submit(self, part: OutboundPart) -> PduT:
        """The submit request of one part (report requested)."""
        ...

    def answer(self, response: PduT, sequence: SeqT) -> SubmitAnswer:
        """Read the response to the submit sent with ``sequence`` (SGIP names the part by it)."""
        ...

    def kind(self, pdu: PduT) -> PduKind:
        """How the session treats ``pdu``."""
        ...

    def inbound(self, pdu: PduT, now: datetime) -> list[Inbound]:
        """The reports and replies an INBOUND PDU carries (``now`` for fields without a time)."""
        ...

    def reply(self, pdu: PduT) -> PduT | None:
        """Our answer to the peer's request ``pdu`` (sent with the request's sequence)."""
        ...


class ListeningDialect(Dialect[PduT, SeqT], Protocol):
    """A protocol whose operator also connects to us to deliver reports and replies (SGIP)."""

    def accept_login(self, pdu: PduT) -> tuple[PduT | None, bool]:
        """Our answer to the peer's login ``pdu`` (``None``: close without one, e.g. it is no
        login at all), and whether its credentials are accepted."""
        ...
