"""The MaaP client's value objects: what the gateway hands it and what it hands back (E.164 numbers,
aware UTC times), free of the GSMA wire shapes."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "ChatbotConfig",
    "MaapStatus",
    "MaapStatusEvent",
    "MaapSubmission",
    "RcsCapabilities",
    "RichCard",
    "Suggestion",
    "SuggestionResponse",
]


@dataclass(frozen=True, slots=True)
class ChatbotConfig:
    """A tenant's chatbot at one operator's MaaP platform.

    ``base_url`` is the platform root (the sandbox's ``http://host:port/cmcc/maap``); ``secret`` is the
    chatbot's signing secret and stays out of ``repr``. ``timeout`` bounds a whole call in seconds.
    """

    operator: str
    base_url: str
    bot_id: str
    secret: str = field(repr=False)
    timeout: float = 3.0
    connect_timeout: float = 1.0


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A button of a card: an ``openUrl`` action when ``url`` is set (an ``http(s)`` or ``hap://app/``
    link), else a suggested reply; ``postback`` comes back in the response event when tapped."""

    text: str
    postback: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class RichCard:
    """A GSMA general-purpose rich card: title, description, optional media, up to four suggestions."""

    title: str
    description: str
    suggestions: tuple[Suggestion, ...] = ()
    media_url: str | None = None
    media_content_type: str | None = None


@dataclass(frozen=True, slots=True)
class RcsCapabilities:
    """Whether ``phone_number`` (E.164) can get 5G messages, and the features the platform named."""

    operator: str
    phone_number: str
    features: tuple[str, ...]

    @property
    def capable(self) -> bool:
        """Whether the phone takes chatbot messages with rich cards."""
        return "chatbotCommunication" in self.features


@dataclass(frozen=True, slots=True)
class MaapSubmission:
    """A 5G message the platform accepted; ``msg_id`` (our reference) is what its events name."""

    operator: str
    bot_id: str
    msg_id: str


class MaapStatus(enum.StrEnum):
    """A 5G message's notified status (GSMA ``messageStatus``)."""

    SENT = "sent"
    DELIVERED = "delivered"
    DISPLAYED = "displayed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class MaapStatusEvent:
    """A status notification of the message ``msg_id`` to ``phone_number`` (E.164)."""

    operator: str
    bot_id: str
    msg_id: str
    phone_number: str
    status: MaapStatus
    at: datetime


@dataclass(frozen=True, slots=True)
class SuggestionResponse:
    """The user tapped a suggestion of ``in_reply_to`` (our ``msg_id``; None when the platform did not say):
    its text and postback data; ``response_id`` is the platform's id of the event."""

    operator: str
    bot_id: str
    phone_number: str
    response_id: str
    in_reply_to: str | None
    text: str
    postback: str
    at: datetime
