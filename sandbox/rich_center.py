"""What the 5G-message and card platforms do once a request is authenticated and well formed:
deduplicate, put the card on the phone, post notifications and receipts, and act on the phone's taps.

``docs/operator-dialects.md``, "5G messages", "Card SMS" and "The phone page: 5G messages and
cards". Notifications go through the sandbox's :class:`~sandbox.callbacks.CallbackPoster` to
``{callback_base_url}/operator-callbacks/{operator}/maap`` and ``…/cards/{vendor}``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from aiohttp import web

from sandbox.callbacks import Callback, CallbackPoster
from sandbox.clock import Clock
from sandbox.config import Operator
from sandbox.rich import (
    Button,
    CardAccount,
    CardRecord,
    CardTemplate,
    MaapRecord,
    RichMessage,
    Vendor,
    callback_headers,
    chatbot_secret,
)
from sandbox.schemas import rfc3339
from sandbox.state import SandboxState

__all__ = ["RICH", "CardSend", "MaapSend", "RichCenter"]


@dataclass(frozen=True, slots=True)
class MaapSend:
    """An authenticated, well-formed 5G message to ``phone_number`` (E.164)."""

    operator: Operator
    bot_id: str
    msg_id: str
    phone_number: str
    title: str
    description: str
    media_url: str | None
    buttons: tuple[Button, ...]


@dataclass(frozen=True, slots=True)
class CardSend:
    """An authenticated card send of an approved template with its parameters filled."""

    vendor: Vendor
    account: CardAccount
    template: CardTemplate
    biz_id: str
    phone_number: str
    title: str
    description: str
    buttons: tuple[Button, ...]


class RichCenter:
    """The 5G-message and card side of the sandbox, sharing its state, clock and callback poster."""

    def __init__(
        self,
        *,
        state: SandboxState,
        clock: Clock,
        poster: CallbackPoster,
        apps: Mapping[str, tuple[str, str]],
    ) -> None:
        self._state = state
        self._clock = clock
        self._poster = poster
        self._apps = apps

    def bot_secret(self, operator: str, bot_id: str) -> str | None:
        """The secret of chatbot ``bot_id`` at ``operator`` (None: unknown chatbot)."""
        return chatbot_secret(self._state.rich, self._apps, operator, bot_id)

    def maap_send(self, send: MaapSend) -> None:
        """Accept ``send`` (a known ``msgId`` does nothing); show it and notify as the faults say."""
        rich = self._state.rich
        if (send.operator, send.bot_id, send.msg_id) in rich.maap_sent:
            return
        delivery = self._state.faults[send.operator].maap_delivery
        record = MaapRecord(send.operator, send.bot_id, send.msg_id, send.phone_number, delivery)
        rich.remember_maap(record)
        if delivery != "failed":
            self._show(
                kind="5g",
                phone=send.phone_number,
                sender=send.bot_id,
                title=send.title,
                description=send.description,
                media_url=send.media_url,
                buttons=send.buttons,
                source=send.operator,
                reference=send.msg_id,
            )
        self._notify(record, "failed" if delivery == "failed" else "delivered")

    def card_send(self, send: CardSend) -> str:
        """Accept ``send``; its ``cardMsgId`` (a known ``bizId`` answers its first one and does nothing)."""
        rich = self._state.rich
        known = rich.cards_sent.get((send.vendor, send.account.app_id, send.biz_id))
        if known is not None:
            return known.card_msg_id
        delivery = rich.vendor_faults[send.vendor].delivery
        record = CardRecord(
            send.vendor, send.account.app_id, secrets.token_hex(16), send.biz_id, send.phone_number, delivery
        )
        rich.remember_card(record)
        if delivery != "failed":
            self._show(
                kind="card",
                phone=send.phone_number,
                sender=send.vendor,
                title=send.title,
                description=send.description,
                media_url=send.template.media_url,
                buttons=send.buttons,
                source=send.vendor,
                reference=record.card_msg_id,
            )
        self._receipt(record, "FAILED" if delivery == "failed" else "RENDERED")
        return record.card_msg_id

    def display(self, message: RichMessage) -> None:
        """The phone showed ``message``: a 5G message's ``displayed`` notification, once."""
        if message.displayed:
            return
        message.displayed = True
        if message.kind == "5g":
            record = self._state.rich.maap_sent.get((message.source, message.sender, message.reference))
            if record is not None:
                self._notify(record, "displayed", delay=0)

    def tap(self, message: RichMessage, index: int) -> str | None:
        """The user tapped button ``index`` (checked by the caller): the link it opens (None: none).

        A 5G tap posts the ``response`` event (and ``displayed`` first if not yet); a card tap the
        ``CLICKED`` receipt.
        """
        self.display(message)
        button = message.buttons[index]
        if message.kind == "5g":
            record = self._state.rich.maap_sent.get((message.source, message.sender, message.reference))
            if record is not None:
                self._respond(record, button)
        else:
            card = next(
                (c for c in self._state.rich.cards_sent.values() if c.card_msg_id == message.reference), None
            )
            if card is not None:
                self._receipt(card, "CLICKED", button=index, delay=0)
        return button.url

    def _show(
        self,
        *,
        kind: str,
        phone: str,
        sender: str,
        title: str,
        description: str,
        media_url: str | None,
        buttons: tuple[Button, ...],
        source: str,
        reference: str,
    ) -> None:
        self._state.rich.inboxes.deliver(
            RichMessage(
                id=secrets.token_hex(8),
                kind="5g" if kind == "5g" else "card",
                phone_number=phone,
                sender=sender,
                title=title,
                description=description,
                media_url=media_url,
                buttons=buttons,
                received_at=self._clock.now(),
                seq=self._state.inboxes.next_seq(),
                source=source,
                reference=reference,
            )
        )

    def _maap_callback(self, record: MaapRecord, event: dict[str, object]) -> Callback:
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        secret = self.bot_secret(record.operator, record.bot_id) or ""
        return Callback(body, callback_headers("Maap", record.bot_id, secret, self._clock.now(), body))

    def _notify(self, record: MaapRecord, status: str, *, delay: float | None = None) -> None:
        if record.delivery == "none":
            return

        def build() -> Callback:
            return self._maap_callback(
                record,
                {
                    "event": "messageStatus",
                    "botId": record.bot_id,
                    "messageContact": {"userContact": f"tel:{record.phone_number}"},
                    "RCSMessage": {
                        "msgId": record.msg_id,
                        "status": status,
                        "timestamp": rfc3339(self._clock.now()),
                    },
                },
            )

        self._poster.post(f"{record.operator}/maap", build, delay=delay)

    def _respond(self, record: MaapRecord, button: Button) -> None:
        reply_id = secrets.token_hex(16)

        def build() -> Callback:
            return self._maap_callback(
                record,
                {
                    "event": "response",
                    "botId": record.bot_id,
                    "messageContact": {"userContact": f"tel:{record.phone_number}"},
                    "RCSMessage": {
                        "msgId": reply_id,
                        "inReplyToMsgId": record.msg_id,
                        "timestamp": rfc3339(self._clock.now()),
                        "suggestedResponse": {
                            "response": {
                                button.kind: {
                                    "displayText": button.text,
                                    "postback": {"data": button.postback},
                                }
                            }
                        },
                    },
                },
            )

        self._poster.post(f"{record.operator}/maap", build, delay=0)

    def _receipt(
        self, record: CardRecord, event: str, *, button: int | None = None, delay: float | None = None
    ) -> None:
        if record.delivery == "none":
            return
        account = self._state.rich.accounts.get(record.app_id)
        if account is None:
            return

        def build() -> Callback:
            now = self._clock.now()
            payload: dict[str, object] = {
                "event": event,
                "appId": record.app_id,
                "cardMsgId": record.card_msg_id,
                "bizId": record.biz_id,
                "mobile": record.phone_number[3:],
                "at": rfc3339(now),
            }
            if button is not None:
                payload["button"] = button
            body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
            return Callback(body, callback_headers("Card", record.app_id, account.app_key, now, body))

        self._poster.post(f"cards/{record.vendor}", build, delay=delay)


RICH: Final = web.AppKey("sandbox_rich", RichCenter)
