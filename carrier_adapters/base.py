"""The adapter boundary: value objects and the capability protocol every operator implements.

Adapters take E.164 numbers and return E.164 numbers; national formats stay inside the adapter.
A "no" from the operator is a result (``VerifyResult.REJECT``); exceptions from
:mod:`carrier_adapters.errors` mean there is no usable answer.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

__all__ = [
    "Assurance",
    "AuthMethod",
    "CustomerRecord",
    "DeliveryReport",
    "DeliveryState",
    "LineInsight",
    "LoginOutcome",
    "MobileOriginated",
    "NetworkAuthenticator",
    "NetworkIdentity",
    "OneTapExchanger",
    "Operator",
    "OperatorConfig",
    "SmsCallbacks",
    "SmsChannel",
    "SmsSubmission",
    "SwapHistory",
    "VerifyOutcome",
    "VerifyResult",
]


class Assurance(enum.StrEnum):
    """How the operator authenticated the subscriber behind a token."""

    NETWORK = "network"
    SMS = "sms"


class VerifyResult(enum.StrEnum):
    """Outcome of a local number check."""

    PASS = "PASS"  # noqa: S105 - a verdict, not a password  # nosec B105
    REJECT = "REJECT"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True, slots=True)
class OperatorConfig:
    """Where an operator is and how this gateway is registered with it.

    ``timeout`` is the whole-call deadline in seconds, ``connect_timeout`` the connect phase.
    ``app_key`` is a shared secret and stays out of ``repr``.
    """

    operator: str
    base_url: str
    app_id: str
    app_key: str = field(repr=False)
    timeout: float = 3.0
    connect_timeout: float = 1.0


@dataclass(frozen=True, slots=True)
class LoginOutcome:
    """A token exchanged for the number of the phone that obtained it (always billed)."""

    operator: str
    phone_number: str
    assurance: Assurance
    provider_ref: str
    billed: bool = True


@dataclass(frozen=True, slots=True)
class VerifyOutcome:
    """A local number check: does the token's phone hold ``phone_number``."""

    operator: str
    result: VerifyResult
    billed: bool
    provider_ref: str


@runtime_checkable
class OneTapExchanger(Protocol):
    """One-tap login and local number check against one operator.

    Both calls spend a single-use token: they are never retried once the request may have reached
    the operator (only a refused connection is retried, once).
    """

    @property
    def operator(self) -> str:
        """Operator code: ``cmcc``, ``cucc`` or ``ctcc``."""
        ...

    @property
    def token_lifetime(self) -> int:
        """Seconds an SDK token of this operator stays valid."""
        ...

    def recognises(self, token: str) -> bool:
        """Whether ``token`` has this operator's token shape (a cheap local check)."""
        ...

    async def exchange_login(self, token: str) -> LoginOutcome:
        """Exchange a login token for the phone number.

        :raises TokenRejected, CarrierError:
        """
        ...

    async def verify_number(self, token: str, phone_number: str) -> VerifyOutcome:
        """Check whether the phone that obtained ``token`` holds ``phone_number`` (E.164).

        :raises TokenRejected, NumberNotServed, CarrierError:
        """
        ...

    async def ping(self) -> bool:
        """Whether the operator answers HTTP at all (readiness), within the connect timeout."""
        ...


class AuthMethod(enum.StrEnum):
    """How the operator's authorization endpoint identified the subscriber (becomes the ``amr``)."""

    NETWORK = "network"
    """Header enrichment or source IP on the operator's mobile data network: no user interaction."""
    SMS_OTP = "sms_otp"
    """The fallback off the mobile network: a one-time code sent by SMS and typed by the user."""


@dataclass(frozen=True, slots=True)
class SwapHistory:
    """When a line last changed SIM (or device), as far as the operator may disclose it.

    ``latest_change`` is the latest change or, when there was none, the line's first activation
    (first time seen in a device); it is ``None`` when that moment lies beyond the operator's
    retention window of ``window_days`` (then "no change within ``window_days``"). ``known`` is
    False when the operator has no data at all for the line (a device history of a number never
    seen in a device); ``latest_change`` is then ``None`` too. Datetimes are timezone-aware UTC.
    """

    operator: str
    latest_change: datetime | None
    window_days: int
    known: bool = True


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    """The operator's verified customer record of a line, by CAMARA KYC Match attribute name.

    Keys are the request attribute names of kyc-match 0.4 (``name``, ``givenName``, ``familyName``,
    ``birthdate`` as ``YYYY-MM-DD``, ``idDocument``, ``address``, ``postalCode``, ``country``, ...);
    an attribute the operator does not hold is absent. The record never leaves the gateway.
    """

    operator: str
    attributes: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class NetworkIdentity:
    """The subscriber an operator's authorization endpoint identified (from an authorization code)."""

    operator: str
    phone_number: str
    method: AuthMethod
    provider_ref: str


@runtime_checkable
class LineInsight(Protocol):
    """Line history and customer data one operator holds (CAMARA SIM Swap, Device Swap, KYC Match).

    Every call takes an E.164 number and raises :class:`~carrier_adapters.errors.NumberNotServed`
    when the operator does not know it, :class:`~carrier_adapters.errors.LineNotEligible` when the
    line is not served by these APIs, other :class:`~carrier_adapters.errors.CarrierError` when
    there is no usable answer. Reads: safe to retry.
    """

    @property
    def history_window_hours(self) -> int:
        """Hours of SIM and device history this operator keeps; a larger ``maxAge`` is out of range."""
        ...

    async def sim_history(self, phone_number: str) -> SwapHistory:
        """The latest SIM change (MSISDN to IMSI binding) of the line."""
        ...

    async def device_history(self, phone_number: str) -> SwapHistory:
        """The latest device change (MSISDN to IMEI binding) of the line."""
        ...

    async def customer_record(self, phone_number: str) -> CustomerRecord:
        """The verified customer record; ``NumberNotServed`` when no customer account is tied to it."""
        ...


@runtime_checkable
class NetworkAuthenticator(Protocol):
    """The operator's network-based authorization endpoint (OIDC-like, per its dialect)."""

    def authorization_url(self, *, redirect_uri: str, state: str, login_hint: str | None) -> str:
        """Where to send the device's browser; the operator comes back to ``redirect_uri`` with a code.

        ``login_hint`` is an E.164 number or None; the operator uses it only for its SMS-OTP fallback.
        """
        ...

    async def exchange_code(self, code: str, *, redirect_uri: str) -> NetworkIdentity:
        """Exchange the operator's single-use authorization code for the identified subscriber.

        Never retried once the request may have reached the operator.

        :raises TokenRejected: unknown, expired or reused code, or another ``redirect_uri``.
        :raises CarrierError: no usable answer.
        """
        ...


@runtime_checkable
class Operator(OneTapExchanger, LineInsight, NetworkAuthenticator, Protocol):
    """Everything the gateway asks of one operator for identity (see :class:`SmsChannel` for SMS)."""


class DeliveryState(enum.StrEnum):
    """The final state an operator's delivery report gives a submitted SMS."""

    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class SmsSubmission:
    """An SMS the operator accepted; ``provider_message_id`` is what its delivery reports name.

    Over a binary protocol a long message travels as several parts, each with its own id and
    report: ``parts`` holds them in order (``provider_message_id`` is the first); empty when the
    operator names the whole message with one id.
    """

    operator: str
    provider_message_id: str
    parts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """A delivery report (status report) the operator pushed back for one submitted SMS.

    ``reference`` is the gateway's own reference given at submission; ``status`` the operator's
    raw status word (``DELIVRD``, ``UNDELIV``, ``EXPIRED``, ...); ``at`` when the handset got it
    (or the operator gave up), timezone-aware UTC.
    """

    operator: str
    provider_message_id: str
    reference: str
    state: DeliveryState
    status: str
    at: datetime


@dataclass(frozen=True, slots=True)
class MobileOriginated:
    """A reply the subscriber sent (MO), e.g. ``TD`` to opt out; ``phone_number`` is E.164."""

    operator: str
    phone_number: str
    text: str
    reference: str | None
    at: datetime


@runtime_checkable
class SmsChannel(Protocol):
    """An operator's SMS submission."""

    async def submit_sms(self, phone_number: str, text: str, *, reference: str) -> SmsSubmission:
        """Submit ``text`` to ``phone_number`` (E.164); ``reference`` is the gateway's message id.

        An HTTP-dialect operator deduplicates by ``reference`` (a resubmission answers the first
        submission); a binary-protocol operator cannot, so a submission retried after its answer
        was lost may reach the handset twice, with the same text and link.

        :raises NumberNotServed: the operator does not serve the number.
        :raises CarrierError: no usable answer (retry later with the same reference).
        """
        ...


@runtime_checkable
class SmsCallbacks(Protocol):
    """An operator that pushes delivery reports and replies back by HTTP callbacks (the HTTP dialects).

    Binary-protocol operators deliver them on their sessions instead (:mod:`carrier_adapters.smsc`).
    """

    def parse_callback(
        self, body: bytes, headers: Mapping[str, str]
    ) -> list[DeliveryReport | MobileOriginated]:
        """Authenticate (the operator's signature) and decode one callback the operator POSTed.

        :raises CarrierRejected: the signature does not verify or the timestamp is stale.
        :raises CarrierProtocolError: the body is not this operator's callback format.
        """
        ...
