"""A chatbot's client of one operator's MaaP platform: capability lookup, rich-card send, and the
authentication and decoding of the platform's events (docs/operator-dialects.md, "5G messages").

Calls go through the adapters' :class:`~carrier_adapters.transport.Transport`; failures are the
adapters' error tree: a refusal of our request (signature, body) is ``CarrierRejected``, a contact
that is not the operator's subscriber ``NumberNotServed``, a phone without 5G messages
``LineNotEligible`` (the line exists, the capability is not served), a platform that is down
``CarrierUnavailable``. The send is deduplicated by ``msg_id`` at the platform, so a send that timed
out may be sent again under the same ``msg_id``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Final, NoReturn

from carrier_adapters._http import checked_base_url
from carrier_adapters._signed import (
    call,
    lowercase,
    signed_query,
    unexpected_status,
    utc_now,
    verify_callback,
)
from carrier_adapters._wire import decode_body
from carrier_adapters.errors import (
    CarrierError,
    CarrierProtocolError,
    CarrierRejected,
    CarrierUnavailable,
    LineNotEligible,
    NumberNotServed,
)
from carrier_adapters.maap import wire
from carrier_adapters.maap.types import (
    ChatbotConfig,
    MaapStatus,
    MaapStatusEvent,
    MaapSubmission,
    RcsCapabilities,
    RichCard,
    SuggestionResponse,
)
from carrier_adapters.transport import Transport

__all__ = ["MaapClient", "callback_bot_id"]

_REFUSALS: Final[Mapping[tuple[int, str], tuple[type[CarrierError], str]]] = MappingProxyType(
    {
        (400, "INVALID_REQUEST"): (CarrierRejected, "request refused as malformed"),
        (401, "UNAUTHORIZED"): (CarrierRejected, "chatbot authentication failed"),
        (404, "UNKNOWN_USER"): (NumberNotServed, "not a subscriber of this operator"),
        (403, "NOT_RCS_USER"): (LineNotEligible, "the phone has no 5G messages"),
        (503, "SERVICE_UNAVAILABLE"): (CarrierUnavailable, "MaaP platform unavailable"),
    }
)


def callback_bot_id(body: bytes) -> str | None:
    """The ``botId`` an event names (to pick the chatbot whose client verifies it), None if unreadable."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    bot_id = document.get("botId") if isinstance(document, dict) else None
    return bot_id if isinstance(bot_id, str) else None


class MaapClient:
    """One chatbot at one operator's MaaP platform.

    ``clock`` (aware) stamps the signed requests and judges events' timestamps; default the system clock.

    :raises ValueError: at construction, on a malformed ``config.base_url``.
    """

    def __init__(
        self, config: ChatbotConfig, transport: Transport, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self._config = config
        self._base = checked_base_url(config.base_url)
        self._transport = transport
        self._clock = clock or utc_now
        self._label = f"{config.operator}-maap"

    @property
    def operator(self) -> str:
        """The operator whose platform this is."""
        return self._config.operator

    @property
    def bot_id(self) -> str:
        """The chatbot's id."""
        return self._config.bot_id

    async def _post(self, endpoint: str, payload: object, expected: int) -> bytes:
        path = f"/bot/v1/{self._config.bot_id}/{endpoint}"
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()

        def url() -> str:
            query = signed_query(self._config.secret, path, body, self._clock(), sign_name="signature")
            return f"{self._base}{path}?{query}"

        status, content = await call(
            self._transport,
            self._label,
            url,
            body,
            timeout=self._config.timeout,
            connect_timeout=self._config.connect_timeout,
        )
        if status == expected:
            return content
        self._refused(status, content)

    def _refused(self, status: int, content: bytes) -> NoReturn:
        try:
            answer = wire.ErrorAnswer.model_validate_json(content)
        except ValueError:
            raise unexpected_status(self._label, status) from None
        error_class, meaning = _REFUSALS.get((status, answer.error.code), (None, ""))
        if error_class is None:
            raise CarrierProtocolError(
                self._label, f"{self._label} answered HTTP {status} {answer.error.code}"
            )
        raise error_class(self._label, f"{self._label}: {meaning}", code=answer.error.code)

    async def capabilities(self, phone_number: str) -> RcsCapabilities:
        """The 5G-message capabilities of ``phone_number`` (E.164); ``capable`` False when it has none.

        :raises NumberNotServed: not this operator's subscriber.
        :raises CarrierError: any other failure.
        """
        content = await self._post("contactCapabilities", {"userContact": f"tel:{phone_number}"}, 200)
        answer = decode_body(self._label, wire.CapabilitiesAnswer, content)
        return RcsCapabilities(self.operator, phone_number, tuple(answer.capabilities))

    async def send(self, message: RichCard | str, *, to: str, msg_id: str) -> MaapSubmission:
        """Send a rich card (or a text) to ``to`` (E.164) under our reference ``msg_id``
        (1-64 of ``[A-Za-z0-9._:-]``); a ``msg_id`` the platform knows is accepted again, not resent.

        :raises LineNotEligible: the phone has no 5G messages.
        :raises NumberNotServed: not this operator's subscriber.
        :raises CarrierError: any other failure.
        """
        content = await self._post("messages", wire.send_body(message, to=to, msg_id=msg_id), 202)
        answer = decode_body(self._label, wire.SendAnswer, content)
        if answer.RCSMessage.msgId != msg_id:
            raise CarrierProtocolError(self._label, f"{self._label} accepted another msgId")
        return MaapSubmission(self.operator, self.bot_id, msg_id)

    def parse_callback(
        self, body: bytes, headers: Mapping[str, str]
    ) -> MaapStatusEvent | SuggestionResponse | None:
        """Authenticate and decode one event the platform POSTed; None for an event kind this client
        does not know (``isTyping``, ...), which the caller acknowledges and ignores.

        :raises CarrierRejected: the signature does not verify, the timestamp is stale, or the event is
            another chatbot's.
        :raises CarrierProtocolError: the body is not a MaaP event.
        """
        names = lowercase(headers)
        verify_callback(self._label, self._config.secret, body, names, prefix="maap", now=self._clock())
        event = decode_body(self._label, wire.Event, body)
        if event.botId != self.bot_id or names.get("x-maap-bot-id", event.botId) != self.bot_id:
            raise CarrierRejected(self._label, f"{self._label} event for another chatbot")
        contact = event.messageContact.userContact
        if not contact.startswith("tel:+"):
            raise CarrierProtocolError(self._label, f"{self._label} event contact is not a tel: URI")
        phone = contact[4:]
        message = event.RCSMessage
        at = message.timestamp.astimezone(UTC)
        if event.event == "messageStatus":
            try:
                status = MaapStatus(message.status or "")
            except ValueError:
                raise CarrierProtocolError(self._label, f"{self._label} sent an unknown status") from None
            return MaapStatusEvent(self.operator, self.bot_id, message.msgId, phone, status, at)
        if event.event == "response":
            chosen = None
            if message.suggestedResponse is not None:
                chosen = message.suggestedResponse.response.action or message.suggestedResponse.response.reply
            if chosen is None:
                raise CarrierProtocolError(self._label, f"{self._label} response without a suggestion")
            return SuggestionResponse(
                self.operator,
                self.bot_id,
                phone,
                message.msgId,
                message.inReplyToMsgId,
                chosen.displayText,
                chosen.postback.data,
                at,
            )
        return None
