"""CMPP 2.0 / 3.0 as a :class:`carrier_adapters.smsc.Dialect`: the SP side of one ISMG connection.

Built from the operator's URL (``cmpp://<sp_id>:<secret>@host:port?src_id=106900001&...``); the
protocol's options are ``version`` (``2.0`` or ``3.0``, default 3.0), ``src_id`` (required: the
SP's access number, optionally with extension digits, the ``Src_Id`` of every SUBMIT),
``service_id`` (``Service_Id``, default empty) and ``msg_src`` (``Msg_src``, default the SP id).

- Login: ``CONNECT`` with ``AuthenticatorSource``; a refusal is a ``CarrierRejected`` (status 1-4:
  our configuration) or ``CarrierUnavailable`` (5 and above: the ISMG's own error), with the
  status as ``code``; a ``Status`` 0 answer must carry the right ``AuthenticatorISMG`` and the
  version asked for.
- Each part is one ``SUBMIT`` with a report requested, ``Pk_total``/``Pk_number``, ``TP_udhi``,
  ``Msg_Fmt`` 0 (ASCII) or 8 (UCS-2), one destination as its national number.
- A part's provider id is its ``Msg_Id`` as 16 uppercase hex characters; reports name it.
- A ``DELIVER`` carries a status report (``DELIVRD`` delivered, any other ``Stat`` failed, the
  word kept) or an MO text: each part of a long MO text is passed on as its own
  :class:`~carrier_adapters.base.MobileOriginated` (its header removed; the gateway joins them).
  A ``DELIVER`` that cannot be read is answered ``Result`` 1 and yields nothing.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from carrier_adapters.base import DeliveryState, MobileOriginated
from carrier_adapters.cmpp.auth import authenticator_ismg, authenticator_source, connect_timestamp
from carrier_adapters.cmpp.codec import Codec
from carrier_adapters.cmpp.msgid import MsgId
from carrier_adapters.cmpp.pdus import (
    ActiveTest,
    ActiveTestResp,
    Connect,
    ConnectResp,
    Deliver,
    DeliverResp,
    MsgFmt,
    Pdu,
    Submit,
    SubmitResp,
    Terminate,
    TerminateResp,
)
from carrier_adapters.cmpp.report import decode_report
from carrier_adapters.cmpp.results import ConnectStatus, classify, classify_connect
from carrier_adapters.cmpp.version import Version
from carrier_adapters.errors import CarrierProtocolError, CarrierRejected, CarrierUnavailable, NumberNotServed
from carrier_adapters.inbound_sms import BEIJING, beijing_time, mo_text, subscriber_e164
from carrier_adapters.numbers import to_national
from carrier_adapters.pdu import FrameBuffer, PduError
from carrier_adapters.pdu.results import SubmitOutcome
from carrier_adapters.segments import Encoding
from carrier_adapters.smsc.dialect import Inbound, OutboundPart, PartReport, PduKind, SubmitAnswer
from carrier_adapters.smsc.url import SmscUrl

__all__ = ["CmppDialect", "CmppSettings", "dialect_factory"]

_VERSIONS = {"2.0": Version.V2_0, "3.0": Version.V3_0}
_OPTIONS = frozenset({"version", "src_id", "service_id", "msg_src"})
_RESULT_READ = 0
_RESULT_BAD_STRUCTURE = 1
_FEE_FREE = "01"
_CHECK_ONLY = datetime(2000, 1, 1, tzinfo=BEIJING)


@dataclass(frozen=True, slots=True)
class CmppSettings:
    """One SP account at one ISMG (see the module docstring for each value)."""

    sp_id: str
    secret: str = field(repr=False)
    src_id: str
    version: Version = Version.V3_0
    service_id: str = ""
    msg_src: str = ""
    operator: str = "cmcc"

    def __post_init__(self) -> None:
        if not (self.sp_id.isascii() and 1 <= len(self.sp_id) <= 6):
            raise ValueError("the cmpp login (the SP id) is 1 to 6 ASCII characters")
        if not (self.src_id.isascii() and self.src_id.isdigit() and len(self.src_id) <= 21):
            raise ValueError("the cmpp option src_id is the SP's access number: at most 21 digits")
        if not (self.service_id.isascii() and len(self.service_id) <= 10):
            raise ValueError("the cmpp option service_id is at most 10 ASCII characters")
        if not (self.msg_src.isascii() and len(self.msg_src) <= 6):
            raise ValueError("the cmpp option msg_src is at most 6 ASCII characters")

    @classmethod
    def from_url(cls, url: SmscUrl, *, operator: str = "cmcc") -> CmppSettings:
        """The settings of a ``cmpp://`` URL; :class:`ValueError` names a wrong or unknown option."""
        if url.protocol != "cmpp":
            raise ValueError(f"a CMPP dialect needs a cmpp:// URL, not {url.protocol}://")
        options: Mapping[str, str] = url.options
        for name in options:
            if name not in _OPTIONS:
                raise ValueError(f"the cmpp URL has an unknown option {name!r}")
        version = _VERSIONS.get(options.get("version", "3.0"))
        if version is None:
            raise ValueError("the cmpp option version is 2.0 or 3.0")
        if not options.get("src_id"):
            raise ValueError("the cmpp URL needs the option src_id (the SP's access number)")
        return cls(
            sp_id=url.login,
            secret=url.secret,
            src_id=options["src_id"],
            version=version,
            service_id=options.get("service_id", ""),
            msg_src=options.get("msg_src", ""),
            operator=operator,
        )


def dialect_factory(url: SmscUrl, *, operator: str = "cmcc") -> Callable[[], CmppDialect]:
    """A maker of one :class:`CmppDialect` per connection; the URL is checked now."""
    return functools.partial(CmppDialect, CmppSettings.from_url(url, operator=operator))


def _sequences(start: int) -> Iterator[int]:
    return (number & 0xFFFFFFFF for number in itertools.count(start))


class CmppDialect:
    """The client side of one CMPP connection (see the module docstring)."""

    protocol = "cmpp"
    stable_sequences = False

    def __init__(self, settings: CmppSettings, *, first_sequence: int = 1) -> None:
        self._settings = settings
        self._codec = Codec(settings.version)
        self._sequence = _sequences(first_sequence)
        self.operator = settings.operator

    @property
    def version(self) -> Version:
        """The CMPP version this connection speaks."""
        return self._settings.version

    def frames(self) -> FrameBuffer:
        return self._codec.frames()

    def encode(self, pdu: Pdu, sequence: int) -> bytes:
        return self._codec.encode(pdu, sequence)

    def decode(self, frame: bytes) -> tuple[int, Pdu]:
        return self._codec.decode(frame)

    def next_sequence(self) -> int:
        return next(self._sequence)

    def login(self, now: datetime) -> Connect:
        stamp = connect_timestamp(now.astimezone(BEIJING))
        settings = self._settings
        return Connect(
            source_addr=settings.sp_id,
            authenticator_source=authenticator_source(settings.sp_id, settings.secret, stamp.text),
            version=settings.version,
            timestamp=stamp.value,
        )

    def check_login(self, request: Pdu, response: Pdu) -> None:
        if not isinstance(request, Connect):
            raise TypeError("check_login takes the CONNECT that login() made")
        if not isinstance(response, ConnectResp):
            raise CarrierProtocolError(self.operator, "the ISMG answered CONNECT with another command")
        status = response.status
        if status != ConnectStatus.OK:
            try:
                reason = ConnectStatus(status).name.lower().replace("_", " ")
            except ValueError:
                reason = "other error"
            message = f"the ISMG refused the login (status {status}: {reason})"
            if classify_connect(status) is SubmitOutcome.REJECTED:
                raise CarrierRejected(self.operator, message, code=str(status))
            raise CarrierUnavailable(self.operator, message, code=str(status))
        expected = authenticator_ismg(
            status, request.authenticator_source, self._settings.secret, version=self.version
        )
        if response.authenticator_ismg != expected:
            raise CarrierRejected(self.operator, "the ISMG did not prove it knows the secret")
        if response.version != self.version:
            raise CarrierRejected(
                self.operator,
                f"the ISMG answered CMPP version 0x{response.version:02X} "
                f"to a login asking for 0x{self.version:02X}",
            )

    def heartbeat(self) -> ActiveTest:
        return ActiveTest()

    def logout(self) -> Terminate:
        return Terminate()

    def submit(self, part: OutboundPart) -> Submit:
        try:
            destination = to_national(part.phone_number)
        except ValueError:
            raise NumberNotServed(self.operator, "CMPP reaches mainland China mobile numbers only") from None
        settings = self._settings
        return Submit(
            pk_total=part.total,
            pk_number=part.number,
            registered_delivery=1,
            service_id=settings.service_id,
            fee_type=_FEE_FREE,
            tp_udhi=int(part.udhi),
            msg_fmt=MsgFmt.UCS2 if part.encoding is Encoding.UCS2 else MsgFmt.ASCII,
            msg_src=settings.msg_src or settings.sp_id,
            src_id=settings.src_id,
            dest_terminal_ids=(destination,),
            content=part.content,
        )

    def answer(self, response: Pdu, sequence: int) -> SubmitAnswer:
        if not isinstance(response, SubmitResp):
            raise CarrierProtocolError(self.operator, "the ISMG answered SUBMIT with another command")
        outcome = classify(response.result)
        provider_id = MsgId(response.msg_id).hex() if outcome is SubmitOutcome.ACCEPTED else ""
        return SubmitAnswer(outcome, provider_id, response.result)

    def kind(self, pdu: Pdu) -> PduKind:
        match pdu:
            case ConnectResp() | SubmitResp() | TerminateResp() | ActiveTestResp() | DeliverResp():
                return PduKind.RESPONSE
            case ActiveTest():
                return PduKind.HEARTBEAT
            case Deliver():
                return PduKind.INBOUND
            case Terminate():
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
                return DeliverResp(
                    msg_id=pdu.msg_id, result=_RESULT_READ if readable else _RESULT_BAD_STRUCTURE
                )
            case ActiveTest():
                return ActiveTestResp()
            case Terminate():
                return TerminateResp()
            case _:
                return None

    def _read(self, deliver: Deliver, at: datetime) -> list[Inbound] | None:
        """What ``deliver`` carries (``at`` when it holds no time); ``None`` when it cannot be read."""
        if deliver.registered_delivery == 1:
            try:
                report = decode_report(deliver.content)
            except PduError:
                return None
            state = DeliveryState.DELIVERED if report.delivered else DeliveryState.FAILED
            done = beijing_time(report.done_time, "%y%m%d%H%M") or at
            return [PartReport(self.operator, MsgId(report.msg_id).hex(), state, report.stat, done)]
        text = mo_text(deliver.content, deliver.msg_fmt, udhi=bool(deliver.tp_udhi))
        if text is None:
            return None
        number = subscriber_e164(deliver.src_terminal_id)
        if number is None:
            return []
        return [MobileOriginated(self.operator, number, text, MsgId(deliver.msg_id).hex(), at)]
