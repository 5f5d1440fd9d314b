"""Card SMS (智能短信 / 卡片短信): a tenant's client of the handset vendors' card platforms
(docs/operator-dialects.md, "Card SMS")."""

from __future__ import annotations

from carrier_adapters.cards.client import CardClient, callback_app_id
from carrier_adapters.cards.types import (
    VENDORS,
    CardAccountConfig,
    CardButton,
    CardReceipt,
    CardReceiptEvent,
    CardSubmission,
    CardTemplateSpec,
    ReviewState,
    TemplateReview,
    Vendor,
)

__all__ = [
    "VENDORS",
    "CardAccountConfig",
    "CardButton",
    "CardClient",
    "CardReceipt",
    "CardReceiptEvent",
    "CardSubmission",
    "CardTemplateSpec",
    "ReviewState",
    "TemplateReview",
    "Vendor",
    "callback_app_id",
]
