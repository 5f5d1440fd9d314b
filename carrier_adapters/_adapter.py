"""The request/answer skeleton every operator adapter shares (``aesthetics.md`` section 8.2).

An operator package (``cmcc``, ``cucc``, ``ctcc``) supplies only its dialect from
``docs/operator-dialects.md``: signing, wire models and result-code tables. Everything else lives
here once: configuration, the clock, token shapes, POSTing through :mod:`carrier_adapters._http`,
number-format conversion, result-code translation, ``ping``, and the public side of line history,
customer records and network authorization (the dialects answer with :class:`LineEvent`, a raw
record and :class:`CodeGrant`, and this class turns them into the :mod:`~carrier_adapters.base` values),
and the public side of SMS submission and callbacks (the callbacks' timestamp window, E.164
numbers and the report and reply value objects).
"""

from __future__ import annotations

import abc
import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import ClassVar
from urllib.parse import urlencode

from pydantic import BaseModel

from carrier_adapters import _http
from carrier_adapters.base import (
    Assurance,
    AuthMethod,
    CustomerRecord,
    DeliveryReport,
    DeliveryState,
    LoginOutcome,
    MobileOriginated,
    NetworkIdentity,
    OperatorConfig,
    SmsSubmission,
    SwapHistory,
    VerifyOutcome,
    VerifyResult,
)
from carrier_adapters.errors import (
    CarrierError,
    CarrierProtocolError,
    CarrierRejected,
    NumberNotServed,
    TokenRejected,
)
from carrier_adapters.numbers import to_e164, to_national
from carrier_adapters.transport import Transport

__all__ = [
    "CALLBACK_WINDOW",
    "Clock",
    "CodeGrant",
    "HistoryKind",
    "LineEvent",
    "OperatorAdapter",
    "ResultCodes",
    "SmsCallback",
    "lowercase_headers",
]

Clock = Callable[[], datetime]
ResultCodes = Mapping[str, tuple[type[CarrierError], str]]
"""Documented failure codes of one endpoint: raw code -> (error class, what the operator meant)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


_HOURS_PER_DAY = 24
_CODE_CHARACTERS = re.compile(r"[A-Za-z0-9._~-]{1,512}")
_SMS_REFERENCE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_SMS_MAX_TEXT = 700
_DELIVERED = "DELIVRD"
CALLBACK_WINDOW = timedelta(seconds=300)
"""How far an operator callback's timestamp may be from the adapter's clock."""

SmsCallback = list[DeliveryReport | MobileOriginated]


def lowercase_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """``headers`` with lowercase names (HTTP header names are case-insensitive)."""
    return {name.lower(): value for name, value in headers.items()}


def _utc_now() -> datetime:
    return datetime.now(UTC)


class HistoryKind(enum.Enum):
    """Which binding of the line a history query is about."""

    SIM = "sim"
    """MSISDN to IMSI (SIM Swap)."""
    DEVICE = "device"
    """MSISDN to IMEI (Device Swap)."""


@dataclass(frozen=True, slots=True)
class LineEvent:
    """A dialect's history answer: the disclosed event (aware UTC) or None, and the operator's window."""

    latest_change: datetime | None
    window_hours: int
    known: bool = True


@dataclass(frozen=True, slots=True)
class CodeGrant:
    """A dialect's code-exchange answer: the national number, the method and the operator's reference."""

    national: str
    method: AuthMethod
    provider_ref: str


class OperatorAdapter(abc.ABC):
    """Base of the HTTP adapters: a whole :class:`~carrier_adapters.base.Operator`.

    and :class:`~carrier_adapters.base.SmsChannel`.

    Subclasses implement their dialect: the two token exchanges, ``_query_history``,
    ``_query_customer``, ``_authorize_params``, ``_redeem_code``, ``_submit_sms`` and
    ``_decode_callback``. Every call goes through ``transport``. ``clock`` must return
    timezone-aware datetimes; it defaults to the system clock. ``sms_sender`` is the SP access
    number SMS are sent from (default ``SMS_SENDER``).

    :raises ValueError: if ``config.operator`` is not this adapter's operator, or
        ``config.base_url`` is not an http(s) URL without query.
    """

    OPERATOR: ClassVar[str]
    TOKEN_LIFETIME: ClassVar[int]
    TOKEN_SHAPE: ClassVar[re.Pattern[str]]
    HISTORY_WINDOW_HOURS: ClassVar[int]
    AUTHORIZE_PATH: ClassVar[str]
    SMS_SENDER: ClassVar[str]

    def __init__(
        self,
        config: OperatorConfig,
        transport: Transport,
        *,
        clock: Clock | None = None,
        sms_sender: str | None = None,
    ) -> None:
        if config.operator != self.OPERATOR:
            raise ValueError(f"{type(self).__name__} cannot serve operator {config.operator!r}")
        self._config = config
        self._transport = transport
        self._base_url = _http.checked_base_url(config.base_url)
        self._clock = clock or _utc_now
        self._sms_sender = sms_sender or self.SMS_SENDER

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._config.base_url!r})"

    @property
    def operator(self) -> str:
        """Operator code: ``cmcc``, ``cucc`` or ``ctcc``."""
        return self.OPERATOR

    @property
    def token_lifetime(self) -> int:
        """Seconds an SDK token of this operator stays valid."""
        return self.TOKEN_LIFETIME

    def recognises(self, token: str) -> bool:
        """Whether ``token`` has this operator's token shape."""
        return self.TOKEN_SHAPE.fullmatch(token) is not None

    async def ping(self) -> bool:
        """Whether the operator answers HTTP at all (any status) within the connect timeout."""
        return await _http.ping(self._transport, self._config)

    @property
    def history_window_hours(self) -> int:
        """Hours of SIM and device history this operator keeps; a larger ``maxAge`` is out of range."""
        return self.HISTORY_WINDOW_HOURS

    async def sim_history(self, phone_number: str) -> SwapHistory:
        """The latest SIM change (or activation) of the line of ``phone_number`` (E.164).

        :raises NumberNotServed, LineNotEligible, CarrierError:
        """
        return self._swap_history(await self._query_history(HistoryKind.SIM, self._national(phone_number)))

    async def device_history(self, phone_number: str) -> SwapHistory:
        """The latest device change (or first device) of the line of ``phone_number`` (E.164).

        :raises NumberNotServed, LineNotEligible, CarrierError:
        """
        return self._swap_history(await self._query_history(HistoryKind.DEVICE, self._national(phone_number)))

    async def customer_record(self, phone_number: str) -> CustomerRecord:
        """The operator's verified customer record of the line, by KYC Match attribute name.

        :raises NumberNotServed: unknown number, or no customer record for the line.
        :raises LineNotEligible, CarrierError:
        """
        attributes = await self._query_customer(self._national(phone_number))
        return CustomerRecord(operator=self.OPERATOR, attributes=MappingProxyType(attributes))

    def authorization_url(self, *, redirect_uri: str, state: str, login_hint: str | None) -> str:
        """The operator's authorize URL for the device's browser.

        ``login_hint`` (E.164) travels only if it is a mainland China mobile number.
        """
        hint: str | None = None
        if login_hint is not None:
            try:
                hint = to_national(login_hint)
            except ValueError:
                hint = None
        params = self._authorize_params(redirect_uri=redirect_uri, state=state, hint=hint)
        return f"{self._base_url}{self.AUTHORIZE_PATH}?{urlencode(params)}"

    async def exchange_code(self, code: str, *, redirect_uri: str) -> NetworkIdentity:
        """Exchange the operator's authorization code for the subscriber it identified (E.164).

        Never retried once the request may have reached the operator. A code that is empty or has
        characters no operator's codes have (it would travel inside signed parameters) is refused
        without a call.

        :raises TokenRejected: unknown, expired, reused or another app's code, or another ``redirect_uri``.
        :raises CarrierError: no usable answer.
        """
        if _CODE_CHARACTERS.fullmatch(code) is None:
            raise TokenRejected(self.OPERATOR, f"{self.OPERATOR}: malformed authorization code")
        grant = await self._redeem_code(code, redirect_uri)
        return NetworkIdentity(
            operator=self.OPERATOR,
            phone_number=self._e164(grant.national),
            method=grant.method,
            provider_ref=grant.provider_ref,
        )

    async def submit_sms(self, phone_number: str, text: str, *, reference: str) -> SmsSubmission:
        """Submit ``text`` to ``phone_number`` (E.164) under the gateway's ``reference``.

        The operator deduplicates by ``reference``: a resubmission answers the first message id and
        sends nothing. Only a refused connection is retried here. A reference that is not 1-64
        characters of ``[A-Za-z0-9._:-]``, or a text that is empty or over 700 characters, is
        refused without a call.

        :raises NumberNotServed: the operator does not serve the number.
        :raises CarrierRejected: a malformed submission, or the operator refused our request.
        :raises CarrierError: no usable answer (retry later with the same reference).
        """
        national = self._national(phone_number)
        if _SMS_REFERENCE.fullmatch(reference) is None or not 0 < len(text) <= _SMS_MAX_TEXT:
            raise CarrierRejected(self.OPERATOR, f"{self.OPERATOR}: malformed SMS submission")
        return SmsSubmission(self.OPERATOR, await self._submit_sms(national, text, reference))

    def parse_callback(self, body: bytes, headers: Mapping[str, str]) -> SmsCallback:
        """Authenticate and decode a delivery report or reply the operator POSTed.

        The signature is checked first, then the callback's timestamp (within ±300 s of the
        adapter's clock). Numbers come back E.164, times as aware UTC datetimes. A report of a
        state that is not final (an SGIP ``waiting``) is left out.

        :raises CarrierRejected: the signature does not verify, it names another app id, or the
            timestamp is outside the window.
        :raises CarrierProtocolError: the body is not this operator's callback format.
        """
        return self._decode_callback(body, lowercase_headers(headers))

    @abc.abstractmethod
    async def _submit_sms(self, national: str, text: str, reference: str) -> str:
        """The dialect's signed submission; the operator's message id."""

    @abc.abstractmethod
    def _decode_callback(self, body: bytes, headers: Mapping[str, str]) -> SmsCallback:
        """The dialect's callback authentication and decoding; ``headers`` have lowercase names."""

    @abc.abstractmethod
    async def exchange_login(self, token: str) -> LoginOutcome:
        """Exchange a login token for the phone number (E.164).

        :raises TokenRejected, CarrierError:
        """

    @abc.abstractmethod
    async def verify_number(self, token: str, phone_number: str) -> VerifyOutcome:
        """Check whether the phone that obtained ``token`` holds ``phone_number`` (E.164).

        :raises TokenRejected, NumberNotServed, CarrierError:
        """

    @abc.abstractmethod
    async def _query_history(self, kind: HistoryKind, national: str) -> LineEvent:
        """The dialect's history query for a national number."""

    @abc.abstractmethod
    async def _query_customer(self, national: str) -> dict[str, str]:
        """The dialect's customer-record query, translated to KYC Match names and formats."""

    @abc.abstractmethod
    def _authorize_params(self, *, redirect_uri: str, state: str, hint: str | None) -> dict[str, str]:
        """The dialect's authorize query parameters; ``hint`` is a national number."""

    @abc.abstractmethod
    async def _redeem_code(self, code: str, redirect_uri: str) -> CodeGrant:
        """The dialect's signed code exchange."""

    def _now(self) -> datetime:
        return self._clock()

    def _check_fresh(self, sent_at: datetime) -> None:
        """Refuse a callback stamped more than :data:`CALLBACK_WINDOW` away from the adapter's clock."""
        if abs(self._now() - sent_at) > CALLBACK_WINDOW:
            raise CarrierRejected(self.OPERATOR, f"{self.OPERATOR} callback timestamp outside the window")

    def _check_app(self, app_id: str) -> None:
        """Refuse a callback addressed to another application."""
        if app_id != self._config.app_id:
            raise CarrierRejected(self.OPERATOR, f"{self.OPERATOR} callback for another app id")

    def _bad_signature(self) -> CarrierRejected:
        return CarrierRejected(self.OPERATOR, f"{self.OPERATOR} callback signature does not verify")

    def _delivery_report(self, message_id: str, reference: str, status: str, at: datetime) -> DeliveryReport:
        """A report; ``DELIVRD`` is the only success."""
        return DeliveryReport(
            operator=self.OPERATOR,
            provider_message_id=message_id,
            reference=reference,
            state=DeliveryState.DELIVERED if status == _DELIVERED else DeliveryState.FAILED,
            status=status,
            at=at.astimezone(UTC),
        )

    def _mobile_originated(self, national: str, text: str, reference: str, at: datetime) -> MobileOriginated:
        """A reply from ``national``; an empty ``reference`` is none."""
        return MobileOriginated(
            operator=self.OPERATOR,
            phone_number=self._e164(national),
            text=text,
            reference=reference or None,
            at=at.astimezone(UTC),
        )

    def _epoch_datetime(self, millis: str) -> datetime:
        """The instant of a decimal epoch-milliseconds string.

        :raises CarrierProtocolError: if it is not one (or out of range).
        """
        if not millis.isascii() or not millis.isdigit() or len(millis) > 15:
            raise CarrierProtocolError(self.OPERATOR, f"{self.OPERATOR} sent a malformed timestamp")
        return _EPOCH + timedelta(milliseconds=int(millis))

    def _swap_history(self, event: LineEvent) -> SwapHistory:
        return SwapHistory(
            operator=self.OPERATOR,
            latest_change=event.latest_change,
            window_days=event.window_hours // _HOURS_PER_DAY,
            known=event.known,
        )

    def _epoch_millis(self) -> str:
        return str((self._now() - _EPOCH) // timedelta(milliseconds=1))

    async def _post_json(self, path: str, payload: BaseModel) -> bytes:
        body = _http.json_body(payload)
        return await _http.send(self._transport, self._config, self._base_url + path, body, _http.JSON)

    async def _post_form(self, path: str, payload: BaseModel) -> bytes:
        body = _http.form_body(payload)
        return await _http.send(self._transport, self._config, self._base_url + path, body, _http.FORM)

    def _national(self, phone_number: str) -> str:
        """The national form of an E.164 number to check; no other number can be ours."""
        try:
            return to_national(phone_number)
        except ValueError:
            raise NumberNotServed(
                self.OPERATOR, f"{self.OPERATOR} serves mainland China numbers only"
            ) from None

    def _e164(self, national: str) -> str:
        """The E.164 form of a number the operator returned."""
        try:
            return to_e164(national)
        except ValueError:
            raise CarrierProtocolError(
                self.OPERATOR, f"{self.OPERATOR} returned a malformed number"
            ) from None

    def _reference(self, value: str | None) -> str:
        """The operator's reference of a successful call, which must be present."""
        if not value:
            raise CarrierProtocolError(self.OPERATOR, f"{self.OPERATOR} answered without a reference")
        return value

    def _failure(self, code: str, codes: ResultCodes) -> CarrierError:
        """The error for a non-success result code; undocumented codes are protocol errors."""
        known = codes.get(code)
        if known is None:
            return CarrierProtocolError(
                self.OPERATOR, f"{self.OPERATOR} answered an undocumented code", code=code
            )
        error, meaning = known
        return error(self.OPERATOR, f"{self.OPERATOR}: {meaning}", code=code)

    def _login(self, national: str, assurance: Assurance, provider_ref: str) -> LoginOutcome:
        return LoginOutcome(
            operator=self.OPERATOR,
            phone_number=self._e164(national),
            assurance=assurance,
            provider_ref=provider_ref,
        )

    def _verdict(self, result: VerifyResult, provider_ref: str) -> VerifyOutcome:
        """A check outcome; billed whenever the operator gave a definite answer."""
        return VerifyOutcome(
            operator=self.OPERATOR,
            result=result,
            billed=result is not VerifyResult.UNKNOWN,
            provider_ref=provider_ref,
        )
