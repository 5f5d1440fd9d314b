"""SGIP 1.2 for the session layer: the SP's connections to the SMG, and the SMG's to our listener.

:class:`SgipDialect` speaks on connections we open (``Login_Type`` 1): ``BIND`` with the URL's
login and password, one ``SUBMIT`` per part (``ReportFlag`` 1, ``UserNumber`` ``86`` + the
national number, ``SPNumber``/``CorpId``/``ServiceType`` from the URL), ``UNBIND`` to leave. SGIP
has no heartbeat: :meth:`SgipDialect.heartbeat` is ``None``, so the session unbinds a connection
idle for ``idle`` seconds (URL option, default 30, below the SMG's 60) and the channel binds again.
A part's operator id is its ``SUBMIT``'s sequence as 24 uppercase hex, which ``REPORT`` names.

:class:`SgipListeningDialect` serves the SMG's connections to our listener (``Login_Type`` 2,
the same login and password): ``REPORT`` becomes a :class:`~carrier_adapters.smsc.PartReport`
(``State`` 0 delivered ``DELIVRD``, 2 failed ``UNDELIV:<ErrorCode>``, anything else not final),
``DELIVER`` a :class:`~carrier_adapters.base.MobileOriginated` (a part of a long reply arrives as
its own reply, its header removed; a number or text that cannot be read yields nothing); each is
answered ``Result`` 0 once stored.

Sequences are ``node_id``, Beijing ``MMDDhhmmss`` and a counter that a factory shares between
the connections it makes and starts at a random value, so a restarted gateway does not repeat
the sequences of its previous run. URL options: ``node_id``, ``corp_id``, ``sp_number``,
``service_type`` (required), ``listen`` (``host:port`` of our listener) and ``idle``; any other
option is a :class:`ValueError` naming it.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import structlog

from carrier_adapters.base import DeliveryState, MobileOriginated
from carrier_adapters.errors import CarrierProtocolError, CarrierRejected, CarrierUnavailable, NumberNotServed
from carrier_adapters.inbound_sms import mo_text, subscriber_e164
from carrier_adapters.numbers import to_national
from carrier_adapters.pdu import FrameBuffer
from carrier_adapters.pdu.results import SubmitOutcome
from carrier_adapters.segments import Encoding
from carrier_adapters.sgip.codec import Codec
from carrier_adapters.sgip.pdus import (
    Bind,
    BindResp,
    Deliver,
    DeliverResp,
    LoginType,
    MessageCoding,
    Pdu,
    Report,
    ReportFlag,
    ReportResp,
    ReportState,
    Submit,
    SubmitResp,
    Unbind,
    UnbindResp,
)
from carrier_adapters.sgip.results import Result, classify
from carrier_adapters.sgip.sequence import SgipSequence
from carrier_adapters.sgip.user_numbers import to_user_number
from carrier_adapters.smsc.channel import ChannelSettings
from carrier_adapters.smsc.dialect import Inbound, OutboundPart, PartReport, PduKind, SubmitAnswer
from carrier_adapters.smsc.url import SmscUrl

__all__ = [
    "SequenceCounter",
    "SgipDialect",
    "SgipListeningDialect",
    "SgipOptions",
    "channel_settings",
    "dialect_factory",
    "listening_dialect_factory",
]

log = structlog.get_logger(__name__)

_CODEC = Codec()
_U32 = 1 << 32
_OPTIONS = frozenset({"node_id", "corp_id", "sp_number", "service_type", "listen", "idle"})
_RESPONSES = (BindResp, SubmitResp, DeliverResp, ReportResp, UnbindResp)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SgipOptions:
    """The SP account's SGIP settings, read from its URL (see the module docstring)."""

    login: str
    password: str = field(repr=False)
    node_id: int
    corp_id: str
    sp_number: str
    service_type: str
    listen: tuple[str, int] | None = None
    idle: float = 30.0

    @classmethod
    def from_url(cls, url: SmscUrl) -> SgipOptions:
        """The options of an ``sgip://`` URL; :class:`ValueError` names what is wrong, never the secret."""
        if url.protocol != "sgip":
            raise ValueError(f"an SGIP dialect needs an sgip:// URL, not {url.protocol}://")
        options = dict(url.options)
        unknown = sorted(set(options) - _OPTIONS)
        if unknown:
            raise ValueError(f"the sgip URL has an unknown option {unknown[0]!r}")
        missing = sorted(name for name in _OPTIONS - {"listen", "idle"} if not options.get(name))
        if missing:
            raise ValueError(f"the sgip URL needs the option {missing[0]!r}")
        _check_text(url.login, 16, "login")
        if not url.secret.isascii() or len(url.secret) > 16:
            raise ValueError("the sgip URL's password must be at most 16 ASCII characters")
        node_id = options["node_id"]
        if not (node_id.isascii() and node_id.isdigit()) or int(node_id) >= _U32:
            raise ValueError("the sgip URL's node_id must be a number below 2^32")
        corp_id = _check_digits(options["corp_id"], 5, "corp_id")
        sp_number = _check_digits(options["sp_number"], 21, "sp_number")
        service_type = _check_text(options["service_type"], 10, "service_type")
        idle = 30.0
        if "idle" in options:
            try:
                idle = float(options["idle"])
            except ValueError:
                idle = 0.0
            if not 0 < idle < 60:
                raise ValueError("the sgip URL's idle must be seconds between 0 and 60")
        listen = _host_port(options["listen"]) if "listen" in options else None
        return cls(url.login, url.secret, int(node_id), corp_id, sp_number, service_type, listen, idle)


def _check_text(value: str, size: int, name: str) -> str:
    if not value.isascii() or not value.isprintable() or not 0 < len(value) <= size:
        raise ValueError(f"the sgip URL's {name} must be 1 to {size} ASCII characters")
    return value


def _check_digits(value: str, size: int, name: str) -> str:
    if not (value.isascii() and value.isdigit()) or len(value) > size:
        raise ValueError(f"the sgip URL's {name} must be 1 to {size} digits")
    return value


def _host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not host or not (port.isascii() and port.isdigit()) or int(port) > 65535:
        raise ValueError("the sgip URL's listen must be host:port")
    return host, int(port)


class SequenceCounter:
    """The counter part of one node's sequences: starts at a random value and wraps at 2^32."""

    def __init__(self, start: int | None = None) -> None:
        self._next = secrets.randbelow(_U32) if start is None else start % _U32

    def take(self) -> int:
        """The next counter value."""
        value = self._next
        self._next = (value + 1) % _U32
        return value


class SgipDialect:
    """The SP's side of a connection it opened to the SMG (see the module docstring)."""

    protocol = "sgip"
    stable_sequences = True

    def __init__(
        self,
        options: SgipOptions,
        *,
        operator: str = "cucc",
        counter: SequenceCounter | None = None,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.options = options
        self.operator = operator
        self._counter = counter or SequenceCounter()
        self._now = now

    def frames(self) -> FrameBuffer:
        """A frame buffer of SGIP PDUs (20-byte header, at most 2048 bytes)."""
        return _CODEC.frames()

    def encode(self, pdu: Pdu, sequence: SgipSequence) -> bytes:
        """The whole PDU on the wire."""
        return _CODEC.encode(pdu, sequence)

    def decode(self, frame: bytes) -> tuple[SgipSequence, Pdu]:
        """A whole PDU; :class:`~carrier_adapters.pdu.PduError` if malformed (the session closes)."""
        return _CODEC.decode(frame)

    def next_sequence(self) -> SgipSequence:
        """Our node id, the Beijing time now and the shared counter's next value."""
        return SgipSequence.at(self.options.node_id, self._now(), self._counter.take())

    def login(self, now: datetime) -> Pdu:
        """``BIND`` with ``Login_Type`` 1 and the account's login and password."""
        return Bind(
            login_type=LoginType.SP_TO_SMG,
            login_name=self.options.login,
            login_password=self.options.password,
        )

    def check_login(self, request: Pdu, response: Pdu) -> None:
        """Accept ``BIND_RESP`` ``Result`` 0; a refusal is a carrier error with its code."""
        if not isinstance(response, BindResp):
            raise CarrierProtocolError(self.operator, "the SMG answered BIND with another command")
        if response.result == Result.OK:
            return
        code = str(response.result)
        if classify(response.result) is SubmitOutcome.UNAVAILABLE:
            raise CarrierUnavailable(self.operator, "the SMG cannot take the login now", code=code)
        raise CarrierRejected(self.operator, "the SMG refused the login", code=code)

    def heartbeat(self) -> Pdu | None:
        """SGIP has no keep-alive: idle connections are unbound instead."""
        return None

    def logout(self) -> Pdu:
        """``UNBIND``."""
        return Unbind()

    def submit(self, part: OutboundPart) -> Pdu:
        """One ``SUBMIT`` of ``part`` asking for a report; a number outside +86 mobiles is not served."""
        try:
            user_number = to_user_number(to_national(part.phone_number))
        except ValueError:
            raise NumberNotServed(self.operator, "SGIP reaches only mainland China mobile numbers") from None
        options = self.options
        return Submit(
            sp_number=options.sp_number,
            user_numbers=(user_number,),
            corp_id=options.corp_id,
            service_type=options.service_type,
            report_flag=ReportFlag.ALWAYS,
            tp_udhi=1 if part.udhi else 0,
            message_coding=MessageCoding.ASCII if part.encoding is Encoding.GSM7 else MessageCoding.UCS2,
            message_content=part.content,
        )

    def answer(self, response: Pdu, sequence: SgipSequence) -> SubmitAnswer:
        """``SUBMIT_RESP``'s ``Result``; the part's id is its ``SUBMIT``'s sequence in hex."""
        if not isinstance(response, SubmitResp):
            raise CarrierProtocolError(self.operator, "the SMG answered SUBMIT with another command")
        return SubmitAnswer(classify(response.result), sequence.hex(), response.result)

    def kind(self, pdu: Pdu) -> PduKind:
        """Answers are responses; ``DELIVER``/``REPORT`` inbound; ``UNBIND`` the peer's goodbye."""
        if isinstance(pdu, _RESPONSES):
            return PduKind.RESPONSE
        if isinstance(pdu, Deliver | Report):
            return PduKind.INBOUND
        if isinstance(pdu, Unbind):
            return PduKind.LOGOUT
        return PduKind.OTHER

    def inbound(self, pdu: Pdu, now: datetime) -> list[Inbound]:
        """The report or reply ``pdu`` carries; an unreadable phone number yields nothing."""
        if isinstance(pdu, Report):
            return [self._report(pdu, now)]
        if isinstance(pdu, Deliver):
            number = subscriber_e164(pdu.user_number)
            text = mo_text(pdu.message_content, pdu.message_coding, udhi=bool(pdu.tp_udhi))
            if number is None or text is None:
                log.warning("sgip_deliver_unreadable", operator=self.operator)
                return []
            return [MobileOriginated(self.operator, number, text, None, now)]
        return []

    def _report(self, report: Report, now: datetime) -> PartReport:
        provider_id = report.submit_sequence_number.hex()
        if report.state == ReportState.DELIVERED:
            return PartReport(self.operator, provider_id, DeliveryState.DELIVERED, "DELIVRD", now)
        if report.state == ReportState.FAILED:
            status = f"UNDELIV:{report.error_code}"
            return PartReport(self.operator, provider_id, DeliveryState.FAILED, status, now)
        return PartReport(self.operator, provider_id, None, f"STATE:{report.state}", now)

    def reply(self, pdu: Pdu) -> Pdu | None:
        """``Result`` 0 to ``DELIVER``/``REPORT``, ``UNBIND_RESP``, 2 to a repeated ``BIND``."""
        match pdu:
            case Deliver():
                return DeliverResp(result=Result.OK)
            case Report():
                return ReportResp(result=Result.OK)
            case Unbind():
                return UnbindResp()
            case Bind():
                return BindResp(result=Result.REPEATED_LOGIN)
            case Submit():
                return SubmitResp(result=Result.COMMAND_ID)
        return None


class SgipListeningDialect(SgipDialect):
    """Our listener's side of a connection the SMG opened to deliver reports and replies."""

    def accept_login(self, pdu: Pdu) -> tuple[Pdu | None, bool]:
        """``Result`` 0 to a ``Login_Type`` 2 ``BIND`` with the account's credentials, else 4 or 1;
        no answer to a first PDU that is not a ``BIND`` (the connection is closed)."""
        if not isinstance(pdu, Bind):
            return None, False
        if pdu.login_type != LoginType.SMG_TO_SP:
            return BindResp(result=Result.WRONG_LOGIN_TYPE), False
        name_ok = hmac.compare_digest(pdu.login_name.encode(), self.options.login.encode())
        password_ok = hmac.compare_digest(pdu.login_password.encode(), self.options.password.encode())
        if not (name_ok and password_ok):
            return BindResp(result=Result.ILLEGAL_LOGIN), False
        return BindResp(result=Result.OK), True


def dialect_factory(
    url: SmscUrl,
    *,
    operator: str = "cucc",
    counter: SequenceCounter | None = None,
    now: Callable[[], datetime] = _utc_now,
) -> Callable[[], SgipDialect]:
    """Dialects for the channel's connections to the SMG, sharing one sequence counter."""
    options = SgipOptions.from_url(url)
    shared = counter or SequenceCounter()
    return lambda: SgipDialect(options, operator=operator, counter=shared, now=now)


def listening_dialect_factory(
    url: SmscUrl,
    *,
    operator: str = "cucc",
    counter: SequenceCounter | None = None,
    now: Callable[[], datetime] = _utc_now,
) -> Callable[[], SgipListeningDialect]:
    """Dialects for the SMG's connections to our listener (at ``SgipOptions.listen``)."""
    options = SgipOptions.from_url(url)
    shared = counter or SequenceCounter()
    return lambda: SgipListeningDialect(options, operator=operator, counter=shared, now=now)


def channel_settings(url: SmscUrl) -> ChannelSettings:
    """The URL's channel settings with SGIP's idle close (``idle``) in place of heartbeats."""
    options = SgipOptions.from_url(url)
    return replace(url.channel, session=replace(url.channel.session, idle_close=options.idle))
