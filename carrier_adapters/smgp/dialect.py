"""SMGP 3.0 as a :class:`carrier_adapters.smsc.Dialect`: the SP side of one SMGW connection.

Built from the operator's URL (``smgp://<client_id>:<secret>@host:port?src_id=10690001&...``); the
protocol's options are ``src_id`` (required: the SP's access number, the ``SrcTermID`` of every
SUBMIT) and ``service_id`` (``ServiceID``, default empty).

- Login: ``LOGIN`` in mode 2 (send and receive on one connection) with ``AuthenticatorClient``;
  a refusal is a ``CarrierRejected`` (our configuration: 21 authentication, 22 version, ...) or a
  ``CarrierUnavailable`` (1 busy, 2 too many connections, 74, 75: the gateway's side), with the
  status as ``code``; a ``Status`` 0 answer must carry the right ``AuthenticatorServer``.
- Each part is one ``SUBMIT`` (``MsgType`` 6, ``NeedReport`` 1, ``MsgFormat`` 0 or 8, one
  destination as its national number); a part of a long message also carries the TLVs
  ``TP_udhi`` 1, ``PkTotal`` and ``PkNumber``.
- A part's provider id is its ``MsgID`` as 20 lowercase hex characters; reports name it.
- A ``DELIVER`` with ``IsReport`` 1 is a status report (``DELIVRD`` delivered, any other ``stat``
  failed, the word kept), else an MO text: each part of a long MO text is passed on as its own
  :class:`~carrier_adapters.base.MobileOriginated` (its header removed; the gateway joins them).
  A ``DELIVER`` that cannot be read is answered ``Status`` 10 and yields nothing.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from carrier_adapters.base import DeliveryState, MobileOriginated
from carrier_adapters.errors import CarrierProtocolError, CarrierRejected, CarrierUnavailable, NumberNotServed
from carrier_adapters.inbound_sms import BEIJING, beijing_time, mo_text, subscriber_e164
from carrier_adapters.numbers import to_national
from carrier_adapters.pdu import FrameBuffer, PduError
from carrier_adapters.pdu.results import SubmitOutcome
from carrier_adapters.segments import Encoding
from carrier_adapters.smgp.auth import authenticator_client, authenticator_server, login_timestamp
from carrier_adapters.smgp.codec import Codec
from carrier_adapters.smgp.msgid import msg_id_hex
from carrier_adapters.smgp.pdus import (
    ActiveTest,
    ActiveTestResp,
    Deliver,
    DeliverResp,
    Exit,
    ExitResp,
    Login,
    LoginMode,
    LoginResp,
    MsgFormat,
    Pdu,
    Submit,
    SubmitResp,
)
from carrier_adapters.smgp.report import decode_report
from carrier_adapters.smgp.results import Status, classify
from carrier_adapters.smgp.tlv import Options
from carrier_adapters.smsc.dialect import Inbound, OutboundPart, PartReport, PduKind, SubmitAnswer
from carrier_adapters.smsc.url import SmscUrl

__all__ = ["SmgpDialect", "SmgpSettings", "dialect_factory"]

_OPTIONS = frozenset({"src_id", "service_id"})
_FEE_FREE = "00"
_CHECK_ONLY = datetime(2000, 1, 1, tzinfo=BEIJING)


@dataclass(frozen=True, slots=True)
class SmgpSettings:
    """One SP account at one SMGW (see the module docstring for each value)."""

    client_id: str
    secret: str = field(repr=False)
    src_id: str
    service_id: str = ""
    operator: str = "ctcc"

    def __post_init__(self) -> None:
        if not (self.client_id.isascii() and 1 <= len(self.client_id) <= 8):
            raise ValueError("the smgp login (the ClientID) is 1 to 8 ASCII characters")
        if not (self.src_id.isascii() and self.src_id.isdigit() and len(self.src_id) <= 21):
            raise ValueError("the smgp option src_id is the SP's access number: at most 21 digits")
        if not (self.service_id.isascii() and len(self.service_id) <= 10):
            raise ValueError("the smgp option service_id is at most 10 ASCII characters")

    @classmethod
    def from_url(cls, url: SmscUrl, *, operator: str = "ctcc") -> SmgpSettings:
        """The settings of an ``smgp://`` URL; :class:`ValueError` names a wrong or unknown option."""
        if url.protocol != "smgp":
            raise ValueError(f"an SMGP dialect needs an smgp:// URL, not {url.protocol}://")
        for name in url.options:
            if name not in _OPTIONS:
                raise ValueError(f"the smgp URL has an unknown option {name!r}")
        if not url.options.get("src_id"):
            raise ValueError("the smgp URL needs the option src_id (the SP's access number)")
        return cls(
            client_id=url.login,
            secret=url.secret,
            src_id=url.options["src_id"],
            service_id=url.options.get("service_id", ""),
            operator=operator,
        )


def dialect_factory(url: SmscUrl, *, operator: str = "ctcc") -> Callable[[], SmgpDialect]:
    """A maker of one :class:`SmgpDialect` per connection; the URL is checked now."""
    return functools.partial(SmgpDialect, SmgpSettings.from_url(url, operator=operator))


def _sequences(start: int) -> Iterator[int]:
    return (number & 0xFFFFFFFF for number in itertools.count(start))


class SmgpDialect:
    """The client side of one SMGP connection (see the module docstring)."""

    protocol = "smgp"
    stable_sequences = False

    def __init__(self, settings: SmgpSettings, *, first_sequence: int = 1) -> None:
        self._settings = settings
        self._codec = Codec()
        self._sequence = _sequences(first_sequence)
        self.operator = settings.operator

    def frames(self) -> FrameBuffer:
        return self._codec.frames()

    def encode(self, pdu: Pdu, sequence: int) -> bytes:
        return self._codec.encode(pdu, sequence)

    def decode(self, frame: bytes) -> tuple[int, Pdu]:
        return self._codec.decode(frame)

    def next_sequence(self) -> int:
        return next(self._sequence)

    def login(self, now: datetime) -> Login:
        settings = self._settings
        timestamp = login_timestamp(now)
        return Login(
            client_id=settings.client_id,
            authenticator_client=authenticator_client(settings.client_id, settings.secret, timestamp),
            login_mode=LoginMode.TRANSMIT,
            timestamp=timestamp,
        )

    def check_login(self, request: Pdu, response: Pdu) -> None:
        if not isinstance(request, Login):
            raise TypeError("check_login takes the LOGIN that login() made")
        if not isinstance(response, LoginResp):
            raise CarrierProtocolError(self.operator, "the SMGW answered LOGIN with another command")
        status = response.status
        if status != Status.OK:
            try:
                reason = Status(status).name.lower().replace("_", " ")
            except ValueError:
                reason = "undefined status"
            message = f"the SMGW refused the login (status {status}: {reason})"
            if classify(status) in (SubmitOutcome.THROTTLED, SubmitOutcome.UNAVAILABLE):
                raise CarrierUnavailable(self.operator, message, code=str(status))
            raise CarrierRejected(self.operator, message, code=str(status))
        expected = authenticator_server(status, request.authenticator_client, self._settings.secret)
        if response.authenticator_server != expected:
            raise CarrierRejected(self.operator, "the SMGW did not prove it knows the secret")

    def heartbeat(self) -> ActiveTest:
        return ActiveTest()

    def logout(self) -> Exit:
        return Exit()

    def submit(self, part: OutboundPart) -> Submit:
        try:
            destination = to_national(part.phone_number)
        except ValueError:
            raise NumberNotServed(self.operator, "SMGP reaches mainland China mobile numbers only") from None
        options = Options(tp_udhi=1, pk_total=part.total, pk_number=part.number) if part.udhi else Options()
        return Submit(
            need_report=1,
            priority=0,
            service_id=self._settings.service_id,
            fee_type=_FEE_FREE,
            fee_code="",
            fixed_fee="",
            msg_format=MsgFormat.UCS2 if part.encoding is Encoding.UCS2 else MsgFormat.ASCII,
            valid_time="",
            at_time="",
            src_term_id=self._settings.src_id,
            charge_term_id="",
            dest_term_ids=(destination,),
            msg_content=part.content,
            options=options,
        )

    def answer(self, response: Pdu, sequence: int) -> SubmitAnswer:
        if not isinstance(response, SubmitResp):
            raise CarrierProtocolError(self.operator, "the SMGW answered SUBMIT with another command")
        outcome = classify(response.status)
        provider_id = msg_id_hex(response.msg_id) if outcome is SubmitOutcome.ACCEPTED else ""
        return SubmitAnswer(outcome, provider_id, response.status)

    def kind(self, pdu: Pdu) -> PduKind:
        match pdu:
            case LoginResp() | SubmitResp() | ExitResp() | ActiveTestResp() | DeliverResp():
                return PduKind.RESPONSE
            case ActiveTest():
                return PduKind.HEARTBEAT
            case Deliver():
                return PduKind.INBOUND
            case Exit():
                return PduKind.LOGOUT
            case _:
                return PduKind.OTHER

    def inbound(self, pdu: Pdu, now: datetime) -> list[Inbound]:
        if not isinstance(pdu, Deliver):
            return []
        return self._read(pdu, now) or []

    def reply(self, pdu: Pdu) -> Pdu | None:
        match pdu:
            case Deliver():
                readable = self._read(pdu, _CHECK_ONLY) is not None
                status = Status.OK if readable else Status.MESSAGE_STRUCTURE_ERROR
                return DeliverResp(msg_id=pdu.msg_id, status=status)
            case ActiveTest():
                return ActiveTestResp()
            case Exit():
                return ExitResp()
            case _:
                return None

    def _read(self, deliver: Deliver, at: datetime) -> list[Inbound] | None:
        """What ``deliver`` carries (``at`` when it holds no time); ``None`` when it cannot be read."""
        if deliver.is_report == 1:
            try:
                report = decode_report(deliver.msg_content)
            except PduError:
                return None
            state = DeliveryState.DELIVERED if report.delivered else DeliveryState.FAILED
            done = beijing_time(report.done_date, "%y%m%d%H%M") or at
            return [PartReport(self.operator, msg_id_hex(report.msg_id), state, report.stat, done)]
        udhi = deliver.options.tp_udhi == 1
        text = mo_text(deliver.msg_content, deliver.msg_format, udhi=udhi)
        if text is None:
            return None
        number = subscriber_e164(deliver.src_term_id)
        if number is None:
            return []
        received = beijing_time(deliver.recv_time, "%Y%m%d%H%M%S") or at
        return [MobileOriginated(self.operator, number, text, msg_id_hex(deliver.msg_id), received)]
