"""A tenant's client of one handset vendor's card-SMS platform: template registration and review,
support query, send with parameters, and the authentication and decoding of receipts
(docs/operator-dialects.md, "Card SMS").

Failures are the adapters' error tree: a refusal of our request (authentication, parameters, an
unknown or unapproved template) is ``CarrierRejected`` with the vendor's code (``2002``: not
approved); a number that cannot show this vendor's cards ``LineNotEligible`` (code ``3001``: the
sender falls back to the text SMS); a platform that is down ``CarrierUnavailable``. Sends are
deduplicated by ``biz_id`` at the platform.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Final

from pydantic import AwareDatetime

from carrier_adapters._http import checked_base_url
from carrier_adapters._signed import (
    call,
    lowercase,
    signed_query,
    unexpected_status,
    utc_now,
    verify_callback,
)
from carrier_adapters._wire import WireModel, decode_body, decode_value
from carrier_adapters.cards.types import (
    CardAccountConfig,
    CardReceipt,
    CardReceiptEvent,
    CardSubmission,
    CardTemplateSpec,
    ReviewState,
    TemplateReview,
)
from carrier_adapters.errors import (
    CarrierError,
    CarrierProtocolError,
    CarrierRejected,
    CarrierUnavailable,
    LineNotEligible,
)
from carrier_adapters.numbers import to_e164, to_national
from carrier_adapters.transport import Transport

__all__ = ["CardClient", "callback_app_id"]

_FAILURES: Final[Mapping[str, tuple[type[CarrierError], str]]] = MappingProxyType(
    {
        "1001": (CarrierRejected, "authentication failed"),
        "1002": (CarrierRejected, "timestamp outside the window"),
        "1004": (CarrierRejected, "bad parameters"),
        "2001": (CarrierRejected, "template unknown"),
        "2002": (CarrierRejected, "template not approved"),
        "2003": (CarrierRejected, "template parameters missing"),
        "3001": (LineNotEligible, "the number cannot show this vendor's cards"),
        "9999": (CarrierUnavailable, "system error"),
    }
)


class _Envelope(WireModel):
    code: str
    message: str = ""
    data: object = None


class _Registered(WireModel):
    templateId: str
    state: str


class _Review(WireModel):
    templateId: str
    state: str
    reason: str | None = None


class _Support(WireModel):
    mobile: str
    support: bool


class _SupportData(WireModel):
    results: list[_Support]


class _Sent(WireModel):
    cardMsgId: str


class _Receipt(WireModel):
    event: str
    appId: str
    cardMsgId: str
    bizId: str
    mobile: str
    at: AwareDatetime
    button: int | None = None


def callback_app_id(body: bytes) -> str | None:
    """The ``appId`` a receipt names (to pick the account whose client verifies it), None if unreadable."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    app_id = document.get("appId") if isinstance(document, dict) else None
    return app_id if isinstance(app_id, str) else None


class CardClient:
    """One account at one vendor's card platform.

    :raises ValueError: at construction, on a malformed ``config.base_url``.
    """

    def __init__(
        self, config: CardAccountConfig, transport: Transport, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self._config = config
        self._base = checked_base_url(config.base_url)
        self._transport = transport
        self._clock = clock or utc_now
        self._label = f"card-{config.vendor}"

    @property
    def vendor(self) -> str:
        """The vendor whose platform this is."""
        return self._config.vendor

    async def _post(self, endpoint: str, payload: object) -> object:
        path = f"/v1/{endpoint}"
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        extra = {"appId": self._config.app_id}

        def url() -> str:
            query = signed_query(
                self._config.app_key, path, body, self._clock(), sign_name="sign", extra=extra
            )
            return f"{self._base}{path}?{query}"

        status, content = await call(
            self._transport,
            self._label,
            url,
            body,
            timeout=self._config.timeout,
            connect_timeout=self._config.connect_timeout,
        )
        if status != 200:
            raise unexpected_status(self._label, status)
        envelope = decode_body(self._label, _Envelope, content)
        if envelope.code == "0":
            return envelope.data
        failure = _FAILURES.get(envelope.code)
        if failure is None:
            raise CarrierProtocolError(
                self._label, f"{self._label} answered unknown code", code=envelope.code
            )
        error_class, meaning = failure
        raise error_class(self._label, f"{self._label}: {meaning}", code=envelope.code)

    async def register_template(self, spec: CardTemplateSpec) -> TemplateReview:
        """Submit ``spec`` for review; the vendor's template id (state ``pending``).

        :raises CarrierRejected: the vendor refused it (code ``1004``: a field breaks its limits).
        """
        payload: dict[str, object] = {
            "name": spec.name,
            "title": spec.title,
            "description": spec.description,
            "buttons": [
                {"text": button.text, "actionType": button.action_type, "action": button.action}
                for button in spec.buttons
            ],
        }
        if spec.media_url is not None:
            payload["media"] = {"url": spec.media_url}
        data = decode_value(self._label, _Registered, await self._post("templates", payload))
        return TemplateReview(self.vendor, data.templateId, self._state(data.state))

    async def template_review(self, template_id: str) -> TemplateReview:
        """The review state of ``template_id``.

        :raises CarrierRejected: unknown template (code ``2001``).
        """
        data = decode_value(
            self._label, _Review, await self._post("templates/query", {"templateId": template_id})
        )
        return TemplateReview(self.vendor, data.templateId, self._state(data.state), data.reason)

    async def supports(self, phone_numbers: Sequence[str]) -> dict[str, bool]:
        """Which of ``phone_numbers`` (E.164, 1-100 Chinese mobile numbers) can show this vendor's cards.

        :raises ValueError: a number is not a Chinese mobile number, or there are none or over 100.
        """
        if not 1 <= len(phone_numbers) <= 100:
            raise ValueError("ask about 1-100 numbers at a time")
        nationals = [self._national(number) for number in phone_numbers]
        data = decode_value(self._label, _SupportData, await self._post("support", {"mobiles": nationals}))
        answers = {result.mobile: result.support for result in data.results}
        return {
            number: answers.get(national, False)
            for number, national in zip(phone_numbers, nationals, strict=True)
        }

    async def send(
        self, template_id: str, *, to: str, params: Mapping[str, str], biz_id: str
    ) -> CardSubmission:
        """Send the card of approved ``template_id`` to ``to`` (E.164) with ``params`` under our ``biz_id``.

        :raises LineNotEligible: the number cannot show this vendor's cards (code ``3001``).
        :raises CarrierRejected: template unknown (``2001``), not approved (``2002``), parameters missing
            (``2003``), or the request refused.
        """
        payload = {
            "templateId": template_id,
            "mobile": self._national(to),
            "params": dict(params),
            "bizId": biz_id,
        }
        data = decode_value(self._label, _Sent, await self._post("send", payload))
        return CardSubmission(self.vendor, data.cardMsgId, biz_id)

    def parse_callback(self, body: bytes, headers: Mapping[str, str]) -> CardReceipt:
        """Authenticate and decode one receipt the vendor POSTed.

        :raises CarrierRejected: bad signature, stale timestamp, or another account's receipt.
        :raises CarrierProtocolError: the body is not a receipt.
        """
        names = lowercase(headers)
        verify_callback(self._label, self._config.app_key, body, names, prefix="card", now=self._clock())
        receipt = decode_body(self._label, _Receipt, body)
        if receipt.appId != self._config.app_id or names.get("x-card-app-id", receipt.appId) != receipt.appId:
            raise CarrierRejected(self._label, f"{self._label} receipt for another account")
        try:
            event = CardReceiptEvent(receipt.event)
        except ValueError:
            raise CarrierProtocolError(self._label, f"{self._label} sent an unknown receipt event") from None
        try:
            phone = to_e164(receipt.mobile)
        except ValueError:
            raise CarrierProtocolError(
                self._label, f"{self._label} receipt number is not a national number"
            ) from None
        return CardReceipt(
            self.vendor,
            receipt.appId,
            receipt.cardMsgId,
            receipt.bizId,
            phone,
            event,
            receipt.at.astimezone(UTC),
            receipt.button,
        )

    def _state(self, value: str) -> ReviewState:
        try:
            return ReviewState(value)
        except ValueError:
            raise CarrierProtocolError(self._label, f"{self._label} sent an unknown review state") from None

    def _national(self, phone_number: str) -> str:
        return to_national(phone_number)
