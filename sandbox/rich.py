"""What the 5G-message (MaaP) platforms and the card-SMS vendor platforms remember, and their signing.

``docs/operator-dialects.md``, "5G messages" and "Card SMS". Nothing here speaks HTTP: the
platforms (:mod:`sandbox.maap`, :mod:`sandbox.card_sms`) and the control API read and change these
objects, which :class:`~sandbox.state.SandboxState` holds as ``state.rich``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal

__all__ = [
    "VENDORS",
    "Button",
    "CardAccount",
    "CardDelivery",
    "CardRecord",
    "CardTemplate",
    "MaapDelivery",
    "MaapRecord",
    "ReviewState",
    "RichInboxes",
    "RichKind",
    "RichMessage",
    "RichState",
    "Vendor",
    "VendorFaults",
    "callback_headers",
    "request_signature",
]

Vendor = Literal["huawei", "honor", "xiaomi", "oppo", "vivo", "other"]
VENDORS: Final[tuple[Vendor, ...]] = ("huawei", "honor", "xiaomi", "oppo", "vivo")
"""The vendors with a card platform (``other`` has none)."""
RichKind = Literal["5g", "card"]
ReviewState = Literal["pending", "approved", "rejected"]
MaapDelivery = Literal["delivered", "failed", "none"]
CardDelivery = Literal["rendered", "failed", "none"]

_INBOX_SIZE: Final = 100
_MAX_PHONES: Final = 10_000
_MAX_REFERENCES: Final = 10_000
IDENTIFIER: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")
"""A chatbot id or a card account id."""


def request_signature(secret: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    """The lowercase hex HMAC-SHA256 of a signed MaaP or card-platform request."""
    message = f"{path}\n{timestamp}\n{nonce}\n{hashlib.sha256(body).hexdigest()}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def callback_signature(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    """The lowercase hex HMAC-SHA256 of a MaaP notification or a card receipt."""
    message = f"{timestamp}\n{nonce}\n{hashlib.sha256(body).hexdigest()}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def callback_headers(prefix: str, identity: str, secret: str, now: datetime, body: bytes) -> dict[str, str]:
    """The signed headers of a callback: ``X-{prefix}-{Bot-Id|App-Id}``, timestamp, nonce, signature."""
    timestamp = str(int(now.timestamp() * 1000))
    nonce = secrets.token_hex(16)
    signature = callback_signature(secret, timestamp, nonce, body)
    id_header = "Bot-Id" if prefix == "Maap" else "App-Id"
    sign_header = "Signature" if prefix == "Maap" else "Sign"
    return {
        "Content-Type": "application/json; charset=utf-8",
        f"X-{prefix}-{id_header}": identity,
        f"X-{prefix}-Timestamp": timestamp,
        f"X-{prefix}-Nonce": nonce,
        f"X-{prefix}-{sign_header}": signature,
    }


@dataclass(frozen=True, slots=True)
class Button:
    """A button of a card: its label, its link (None for a reply suggestion) and its postback data."""

    text: str
    url: str | None
    postback: str | None = None
    kind: Literal["action", "reply"] = "action"


@dataclass(slots=True)
class RichMessage:
    """A 5G message or a card as the phone shows it; ``seq`` orders it among the SMS."""

    id: str
    kind: RichKind
    phone_number: str
    sender: str
    title: str
    description: str
    media_url: str | None
    buttons: tuple[Button, ...]
    received_at: datetime
    seq: int
    source: str
    """The platform: ``cmcc``/``cucc``/``ctcc`` (5G) or the vendor (card)."""
    reference: str
    """The sender's reference: the MaaP ``msgId`` or the card's ``cardMsgId``."""
    displayed: bool = False


class RichInboxes:
    """Every phone's 5G messages and cards: the last 100 per phone, for at most 10 000 phones."""

    def __init__(self) -> None:
        self._inboxes: OrderedDict[str, deque[RichMessage]] = OrderedDict()

    def deliver(self, message: RichMessage) -> None:
        """Put ``message`` on its phone."""
        inbox = self._inboxes.pop(message.phone_number, None)
        if inbox is None:
            inbox = deque(maxlen=_INBOX_SIZE)
            while len(self._inboxes) >= _MAX_PHONES:
                self._inboxes.popitem(last=False)
        inbox.append(message)
        self._inboxes[message.phone_number] = inbox

    def messages(self, phone: str) -> list[RichMessage]:
        """``phone``'s rich messages, oldest first."""
        return list(self._inboxes.get(phone, ()))

    def get(self, phone: str, message_id: str) -> RichMessage | None:
        """The message ``message_id`` on ``phone``."""
        return next((m for m in self._inboxes.get(phone, ()) if m.id == message_id), None)

    def clear(self) -> None:
        """Empty every phone."""
        self._inboxes.clear()


@dataclass(frozen=True, slots=True)
class MaapRecord:
    """A 5G message a platform accepted; ``delivery`` is what the faults made of it."""

    operator: str
    bot_id: str
    msg_id: str
    phone_number: str
    delivery: MaapDelivery


@dataclass(slots=True)
class CardAccount:
    """A card-platform account, valid at every vendor."""

    app_id: str
    app_key: str


@dataclass(slots=True)
class CardTemplate:
    """A card template registered by ``app_id`` at ``vendor``; ``decided`` is a review by hand."""

    template_id: str
    vendor: Vendor
    app_id: str
    name: str
    title: str
    description: str
    media_url: str | None
    buttons: tuple[tuple[str, str, str], ...]
    """``(text, actionType, action)`` per button."""
    submitted_at: datetime
    state: ReviewState = "pending"
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class CardRecord:
    """A card a vendor platform accepted."""

    vendor: Vendor
    app_id: str
    card_msg_id: str
    biz_id: str
    phone_number: str
    delivery: CardDelivery


@dataclass(slots=True)
class VendorFaults:
    """Faults and review settings of one vendor's card platform."""

    down: bool = False
    latency_ms: int = 0
    delivery: CardDelivery = "rendered"
    review_outcome: ReviewState = "approved"
    review_delay_ms: int = 0


@dataclass(slots=True)
class RichState:
    """Chatbots, card accounts, templates, accepted messages, the phones' rich inboxes, vendor faults."""

    chatbots: dict[tuple[str, str], str] = field(default_factory=dict)
    """Registered chatbots' secrets by ``(operator, botId)`` (the operators' apps are chatbots too)."""
    accounts: dict[str, CardAccount] = field(default_factory=dict)
    templates: dict[str, CardTemplate] = field(default_factory=dict)
    maap_sent: OrderedDict[tuple[str, str, str], MaapRecord] = field(default_factory=OrderedDict)
    cards_sent: OrderedDict[tuple[str, str, str], CardRecord] = field(default_factory=OrderedDict)
    inboxes: RichInboxes = field(default_factory=RichInboxes)
    vendor_faults: dict[str, VendorFaults] = field(
        default_factory=lambda: {vendor: VendorFaults() for vendor in VENDORS}
    )
    template_counter: int = 0

    def remember_maap(self, record: MaapRecord) -> None:
        """Remember an accepted 5G message (the last 10 000)."""
        while len(self.maap_sent) >= _MAX_REFERENCES:
            self.maap_sent.popitem(last=False)
        self.maap_sent[(record.operator, record.bot_id, record.msg_id)] = record

    def remember_card(self, record: CardRecord) -> None:
        """Remember an accepted card (the last 10 000)."""
        while len(self.cards_sent) >= _MAX_REFERENCES:
            self.cards_sent.popitem(last=False)
        self.cards_sent[(record.vendor, record.app_id, record.biz_id)] = record

    def clear_faults(self) -> None:
        """Give every vendor platform no faults and the default review."""
        self.vendor_faults = {vendor: VendorFaults() for vendor in VENDORS}

    def clear(self) -> None:
        """Forget everything (registered chatbots, accounts, templates, messages) and clear faults."""
        self.chatbots.clear()
        self.accounts.clear()
        self.templates.clear()
        self.maap_sent.clear()
        self.cards_sent.clear()
        self.inboxes.clear()
        self.clear_faults()


def chatbot_secret(
    rich: RichState, apps: Mapping[str, tuple[str, str]], operator: str, bot_id: str
) -> str | None:
    """The secret of chatbot ``bot_id`` at ``operator``: a registered one, else the operator's app."""
    secret = rich.chatbots.get((operator, bot_id))
    if secret is not None:
        return secret
    app_id, app_key = apps[operator]
    return app_key if app_id == bot_id else None
