"""An in-memory :class:`~carrier_adapters.base.Operator` and
:class:`~carrier_adapters.base.SmsChannel` for unit tests of the gateway.

Tests mint tokens for a phone and a purpose, seed line history, customer records and ineligible
lines, and issue authorization codes, then exercise the gateway; the fake applies the common token
and code rules of ``docs/operator-dialects.md`` (single use, purpose, operator token shape,
redirect binding) and raises whatever failure a test queued. It records SMS submissions
(deduplicated by reference, as operators do) and produces signed callbacks in its own simple
format, which its :meth:`FakeExchanger.parse_callback` reads back.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Literal
from urllib.parse import parse_qs, urlencode, urlsplit

from carrier_adapters.base import (
    Assurance,
    AuthMethod,
    CustomerRecord,
    DeliveryReport,
    DeliveryState,
    LoginOutcome,
    MobileOriginated,
    NetworkIdentity,
    SmsSubmission,
    SwapHistory,
    VerifyOutcome,
    VerifyResult,
)
from carrier_adapters.errors import (
    CarrierError,
    CarrierProtocolError,
    CarrierRejected,
    LineNotEligible,
    NumberNotServed,
    TokenRejected,
)
from carrier_adapters.numbers import to_national
from carrier_adapters.registry import ADAPTER_CLASSES

__all__ = ["FAKE_SIGNATURE_HEADER", "FakeExchanger", "FakeSms", "Purpose"]

FAKE_SIGNATURE_HEADER = "x-fake-operator-signature"
"""The header of the fake's callbacks: lowercase hex HMAC-SHA256 of the body under the fake's key."""

Purpose = Literal["login", "verify", "h5"]

_MINTERS: MappingProxyType[str, Callable[[Purpose], str]] = MappingProxyType(
    {
        "cmcc": lambda purpose: ("H5HTTPS" if purpose == "h5" else "STsid") + secrets.token_hex(16),
        "cucc": lambda purpose: "CUAT" + secrets.token_urlsafe(30),
        "ctcc": lambda purpose: "CTA0" + secrets.token_hex(20),
    }
)


@dataclass(slots=True)
class _Grant:
    phone_number: str
    purpose: Purpose
    assurance: Assurance
    verify_result: VerifyResult | None
    used: bool = False


@dataclass(slots=True)
class _History:
    sim: datetime | None
    device: datetime | None
    device_known: bool
    window_days: int


@dataclass(slots=True)
class _Line:
    history: _History | None = None
    record: Mapping[str, str] | None = None
    eligible: bool = True


@dataclass(slots=True)
class _Code:
    phone_number: str
    method: AuthMethod
    redirect_uri: str | None
    used: bool = False


def _mainland(phone_number: str) -> bool:
    try:
        to_national(phone_number)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class FakeSms:
    """An SMS the fake accepted (once per reference)."""

    phone_number: str
    text: str
    reference: str
    provider_message_id: str


_FAKE_HOST = "{operator}.fake-operator.test"


class FakeExchanger:
    """In-memory operator ``operator`` (``cmcc``, ``cucc`` or ``ctcc``) with that operator's token shape.

    Tokens are single use. A login token is accepted by :meth:`exchange_login` only; ``verify`` and
    ``h5`` tokens by :meth:`verify_number` only. Unknown, reused and wrong-purpose tokens raise
    :class:`TokenRejected` with code ``"invalid"``, ``"replay"`` or ``"purpose"``.

    Line insight answers what :meth:`set_history`, :meth:`set_record` and :meth:`set_ineligible`
    seeded: a number never seeded raises :class:`NumberNotServed`, an ineligible one
    :class:`LineNotEligible`. Authorization codes come from :meth:`issue_code` or :meth:`approve`;
    unknown, reused and wrong-redirect codes raise :class:`TokenRejected` with code ``"invalid"``,
    ``"replay"`` or ``"redirect"``.

    SMS: :meth:`submit_sms` accepts a mainland number unless :meth:`set_not_served` named it
    (:class:`NumberNotServed`); a known reference answers its first message id and sends nothing.
    ``sms`` lists what was accepted. :meth:`report_callback` and :meth:`reply_callback` build the
    body and headers the fake operator would POST (:meth:`callback_headers` signs a hand-made
    body ``{"items": [...]}``); :meth:`parse_callback` authenticates them
    (:class:`CarrierRejected`) and decodes them (:class:`CarrierProtocolError`).

    Failures queued with :meth:`fail_next` are raised, in order, by the next operator calls (every
    async method but :meth:`ping`) before any other rule. ``calls`` records ``(method, token)`` for
    every exchange, ``(method, phone number)`` for every line-insight call,
    ``("exchange_code", code)`` for every code exchange and ``("submit_sms", reference)`` for
    every submission.
    """

    def __init__(self, operator: str = "cmcc", *, up: bool = True) -> None:
        self._adapter_class = ADAPTER_CLASSES[operator]
        self._grants: dict[str, _Grant] = {}
        self._lines: dict[str, _Line] = {}
        self._codes: dict[str, _Code] = {}
        self._failures: list[CarrierError] = []
        self._serial = 0
        self._sms_by_reference: dict[str, FakeSms] = {}
        self._not_served: set[str] = set()
        self._callback_key = secrets.token_bytes(32)
        self.up = up
        self.calls: list[tuple[str, str]] = []
        self.sms: list[FakeSms] = []

    def __repr__(self) -> str:
        return f"FakeExchanger(operator={self.operator!r})"

    @property
    def operator(self) -> str:
        """Operator code this fake stands in for."""
        return self._adapter_class.OPERATOR

    @property
    def token_lifetime(self) -> int:
        """The real operator's token lifetime, in seconds."""
        return self._adapter_class.TOKEN_LIFETIME

    def issue(
        self,
        phone_number: str,
        *,
        purpose: Purpose = "login",
        assurance: Assurance = Assurance.NETWORK,
        verify_result: VerifyResult | None = None,
    ) -> str:
        """Mint a token of this operator's shape for ``phone_number`` (E.164).

        ``verify_result`` forces a check's result (e.g. ``UNKNOWN``) instead of comparing numbers.
        """
        token = _MINTERS[self.operator](purpose)
        self._grants[token] = _Grant(phone_number, purpose, assurance, verify_result)
        return token

    @property
    def history_window_hours(self) -> int:
        """The real operator's history window, in hours."""
        return self._adapter_class.HISTORY_WINDOW_HOURS

    def set_history(
        self,
        phone_number: str,
        *,
        sim: datetime | None = None,
        device: datetime | None = None,
        window_days: int | None = None,
        device_known: bool = True,
    ) -> None:
        """Seed the line's latest SIM and device change (aware datetimes; None: none disclosed).

        ``window_days`` defaults to the real operator's window; ``device_known=False`` makes the
        device history "no data" (a line never seen in a device).

        :raises ValueError: on a naive datetime.
        """
        for moment in (sim, device):
            if moment is not None and moment.utcoffset() is None:
                raise ValueError("history datetimes must be timezone-aware")
        days = self.history_window_hours // 24 if window_days is None else window_days
        self._line(phone_number).history = _History(sim, device, device_known, days)

    def set_record(self, phone_number: str, attributes: Mapping[str, str]) -> None:
        """Seed the line's verified customer record (KYC Match attribute names)."""
        self._line(phone_number).record = MappingProxyType(dict(attributes))

    def set_ineligible(self, phone_number: str) -> None:
        """Make every line-insight call about ``phone_number`` raise :class:`LineNotEligible`."""
        self._line(phone_number).eligible = False

    def issue_code(
        self, phone_number: str, method: AuthMethod = AuthMethod.NETWORK, *, redirect_uri: str | None = None
    ) -> str:
        """An authorization code for ``phone_number``; bound to ``redirect_uri`` when one is given."""
        code = "fakecode-" + secrets.token_urlsafe(18)
        self._codes[code] = _Code(phone_number, method, redirect_uri)
        return code

    def approve(self, url: str, phone_number: str, method: AuthMethod = AuthMethod.NETWORK) -> str:
        """Where the operator sends the browser back after identifying ``phone_number`` at ``url``.

        ``url`` is one of :meth:`authorization_url`'s; the answer is its ``redirect_uri`` with a code
        bound to it and the ``state``.
        """
        query = {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}
        redirect_uri = query["redirect_uri"]
        code = self.issue_code(phone_number, method, redirect_uri=redirect_uri)
        separator = "&" if "?" in redirect_uri else "?"
        return redirect_uri + separator + urlencode({"code": code, "state": query["state"]})

    def fail_next(self, *errors: CarrierError) -> None:
        """Raise ``errors``, one per operator call, before applying any other rule."""
        self._failures.extend(errors)

    def recognises(self, token: str) -> bool:
        """Whether ``token`` has this operator's token shape."""
        return self._adapter_class.TOKEN_SHAPE.fullmatch(token) is not None

    async def exchange_login(self, token: str) -> LoginOutcome:
        """The number behind a login token.

        :raises TokenRejected, CarrierError:
        """
        grant = self._spend("exchange_login", token, frozenset({"login"}))
        return LoginOutcome(
            operator=self.operator,
            phone_number=grant.phone_number,
            assurance=grant.assurance,
            provider_ref=self._next_ref(),
        )

    async def verify_number(self, token: str, phone_number: str) -> VerifyOutcome:
        """Whether the token's phone holds ``phone_number``; billed unless the result is ``UNKNOWN``.

        :raises TokenRejected, CarrierError:
        """
        grant = self._spend("verify_number", token, frozenset({"verify", "h5"}))
        result = grant.verify_result or (
            VerifyResult.PASS if grant.phone_number == phone_number else VerifyResult.REJECT
        )
        return VerifyOutcome(
            operator=self.operator,
            result=result,
            billed=result is not VerifyResult.UNKNOWN,
            provider_ref=self._next_ref(),
        )

    async def ping(self) -> bool:
        """The ``up`` flag."""
        return self.up

    async def sim_history(self, phone_number: str) -> SwapHistory:
        """The seeded SIM change.

        :raises NumberNotServed, LineNotEligible, CarrierError:
        """
        history = self._history("sim_history", phone_number)
        return SwapHistory(self.operator, history.sim, history.window_days)

    async def device_history(self, phone_number: str) -> SwapHistory:
        """The seeded device change.

        :raises NumberNotServed, LineNotEligible, CarrierError:
        """
        history = self._history("device_history", phone_number)
        if not history.device_known:
            return SwapHistory(self.operator, None, history.window_days, known=False)
        return SwapHistory(self.operator, history.device, history.window_days)

    async def customer_record(self, phone_number: str) -> CustomerRecord:
        """The seeded customer record.

        :raises NumberNotServed, LineNotEligible, CarrierError:
        """
        line = self._insight("customer_record", phone_number)
        if line.record is None:
            raise NumberNotServed(self.operator, "no customer record for this line")
        return CustomerRecord(self.operator, line.record)

    def authorization_url(self, *, redirect_uri: str, state: str, login_hint: str | None) -> str:
        """A URL on a fake host carrying ``redirect_uri``, ``state`` and the hint (see :meth:`approve`)."""
        params = {"redirect_uri": redirect_uri, "state": state}
        if login_hint is not None:
            params["login_hint"] = login_hint
        return f"https://{_FAKE_HOST.format(operator=self.operator)}/authorize?{urlencode(params)}"

    async def exchange_code(self, code: str, *, redirect_uri: str) -> NetworkIdentity:
        """The subscriber behind a code; single use, and bound to its ``redirect_uri`` if it has one.

        :raises TokenRejected, CarrierError:
        """
        self.calls.append(("exchange_code", code))
        if self._failures:
            raise self._failures.pop(0)
        grant = self._codes.get(code)
        if grant is None:
            raise TokenRejected(self.operator, "unknown code", code="invalid")
        if grant.used:
            raise TokenRejected(self.operator, "code already used", code="replay")
        if grant.redirect_uri is not None and grant.redirect_uri != redirect_uri:
            raise TokenRejected(self.operator, "code issued for another redirect_uri", code="redirect")
        grant.used = True
        return NetworkIdentity(self.operator, grant.phone_number, grant.method, self._next_ref())

    def set_not_served(self, phone_number: str) -> None:
        """Make :meth:`submit_sms` to ``phone_number`` raise :class:`NumberNotServed`."""
        self._not_served.add(phone_number)

    async def submit_sms(self, phone_number: str, text: str, *, reference: str) -> SmsSubmission:
        """Accept ``text`` for ``phone_number`` once per ``reference``.

        :raises NumberNotServed, CarrierError:
        """
        self.calls.append(("submit_sms", reference))
        if self._failures:
            raise self._failures.pop(0)
        known = self._sms_by_reference.get(reference)
        if known is None:
            if phone_number in self._not_served or not _mainland(phone_number):
                raise NumberNotServed(self.operator, "not a subscriber of this operator")
            known = FakeSms(phone_number, text, reference, self._next_ref())
            self._sms_by_reference[reference] = known
            self.sms.append(known)
        return SmsSubmission(self.operator, known.provider_message_id)

    def report_callback(
        self, reference: str, *, status: str = "DELIVRD", at: datetime | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers of a delivery report on the SMS submitted under ``reference``.

        An unknown reference gets the message id ``"unknown"``.
        """
        known = self._sms_by_reference.get(reference)
        item = {
            "kind": "report",
            "messageId": known.provider_message_id if known is not None else "unknown",
            "reference": reference,
            "status": status,
            "at": (at or datetime.now(UTC)).isoformat(),
        }
        return self._signed(item)

    def reply_callback(
        self, phone_number: str, text: str, *, reference: str | None = None, at: datetime | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers of a reply (MO) from ``phone_number`` to the SMS ``reference``."""
        item = {
            "kind": "reply",
            "phoneNumber": phone_number,
            "text": text,
            "reference": reference,
            "at": (at or datetime.now(UTC)).isoformat(),
        }
        return self._signed(item)

    def parse_callback(
        self, body: bytes, headers: Mapping[str, str]
    ) -> list[DeliveryReport | MobileOriginated]:
        """Authenticate and decode a callback of :meth:`report_callback` or :meth:`reply_callback`.

        :raises CarrierRejected: the signature does not verify.
        :raises CarrierProtocolError: the body is not the fake's format.
        """
        given = {name.lower(): value for name, value in headers.items()}.get(FAKE_SIGNATURE_HEADER, "")
        if not hmac.compare_digest(given.encode(), self._sign(body).encode()):
            raise CarrierRejected(self.operator, "fake callback signature does not verify")
        try:
            items = json.loads(body)["items"]
            return [self._callback_item(item) for item in items]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CarrierProtocolError(self.operator, "not a fake operator callback") from exc

    def callback_headers(self, body: bytes) -> dict[str, str]:
        """The headers that make ``body`` a signed callback of this fake (for hand-made bodies)."""
        return {"Content-Type": "application/json", FAKE_SIGNATURE_HEADER: self._sign(body)}

    def _signed(self, item: Mapping[str, str | None]) -> tuple[bytes, dict[str, str]]:
        body = json.dumps({"items": [item]}).encode()
        return body, self.callback_headers(body)

    def _sign(self, body: bytes) -> str:
        return hmac.new(self._callback_key, body, hashlib.sha256).hexdigest()

    def _callback_item(self, item: Mapping[str, str]) -> DeliveryReport | MobileOriginated:
        at = datetime.fromisoformat(item["at"])
        if at.utcoffset() is None:
            raise ValueError("naive time")
        if item["kind"] == "report":
            status = item["status"]
            return DeliveryReport(
                operator=self.operator,
                provider_message_id=item["messageId"],
                reference=item["reference"],
                state=DeliveryState.DELIVERED if status == "DELIVRD" else DeliveryState.FAILED,
                status=status,
                at=at.astimezone(UTC),
            )
        if item["kind"] == "reply":
            return MobileOriginated(
                operator=self.operator,
                phone_number=item["phoneNumber"],
                text=item["text"],
                reference=item["reference"],
                at=at.astimezone(UTC),
            )
        raise ValueError("unknown callback kind")

    def _line(self, phone_number: str) -> _Line:
        return self._lines.setdefault(phone_number, _Line())

    def _insight(self, method: str, phone_number: str) -> _Line:
        self.calls.append((method, phone_number))
        if self._failures:
            raise self._failures.pop(0)
        line = self._lines.get(phone_number)
        if line is None:
            raise NumberNotServed(self.operator, "not a subscriber of this operator")
        if not line.eligible:
            raise LineNotEligible(self.operator, "line not eligible for this service")
        return line

    def _history(self, method: str, phone_number: str) -> _History:
        history = self._insight(method, phone_number).history
        if history is None:
            raise NumberNotServed(self.operator, "no history for this number")
        return history

    def _spend(self, method: str, token: str, purposes: frozenset[str]) -> _Grant:
        self.calls.append((method, token))
        if self._failures:
            raise self._failures.pop(0)
        grant = self._grants.get(token)
        if grant is None:
            raise TokenRejected(self.operator, "unknown token", code="invalid")
        if grant.used:
            raise TokenRejected(self.operator, "token already used", code="replay")
        if grant.purpose not in purposes:
            raise TokenRejected(self.operator, "token minted for another purpose", code="purpose")
        grant.used = True
        return grant

    def _next_ref(self) -> str:
        self._serial += 1
        return f"fake-{self.operator}-{self._serial}"
