"""5G messages: a chatbot's client of the operators' MaaP platforms (GSMA RCS Universal Profile
``botmessage`` rich cards; docs/operator-dialects.md, "5G messages")."""

from __future__ import annotations

from carrier_adapters.maap.client import MaapClient, callback_bot_id
from carrier_adapters.maap.types import (
    ChatbotConfig,
    MaapStatus,
    MaapStatusEvent,
    MaapSubmission,
    RcsCapabilities,
    RichCard,
    Suggestion,
    SuggestionResponse,
)

__all__ = [
    "ChatbotConfig",
    "MaapClient",
    "MaapStatus",
    "MaapStatusEvent",
    "MaapSubmission",
    "RcsCapabilities",
    "RichCard",
    "Suggestion",
    "SuggestionResponse",
    "callback_bot_id",
]
