"""The card-SMS client's value objects (E.164 numbers, aware UTC times), free of the vendors' wire shapes."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

__all__ = [
    "VENDORS",
    "CardAccountConfig",
    "CardButton",
    "CardReceipt",
    "CardReceiptEvent",
    "CardSubmission",
    "CardTemplateSpec",
    "ReviewState",
    "TemplateReview",
    "Vendor",
]

Vendor = Literal["huawei", "honor", "xiaomi", "oppo", "vivo"]
VENDORS: tuple[Vendor, ...] = ("huawei", "honor", "xiaomi", "oppo", "vivo")
"""The handset vendors with a card platform; phones of other makers have no card support."""


@dataclass(frozen=True, slots=True)
class CardAccountConfig:
    """A tenant's account at one vendor's card platform.

    ``base_url`` is the platform root (the sandbox's ``http://host:port/cards/huawei``); ``app_key`` is
    the signing secret and stays out of ``repr``.
    """

    vendor: Vendor
    base_url: str
    app_id: str
    app_key: str = field(repr=False)
    timeout: float = 3.0
    connect_timeout: float = 1.0


@dataclass(frozen=True, slots=True)
class CardButton:
    """A template button: ``OPEN_QUICK`` takes a ``hap://app/…`` link, ``OPEN_URL`` an ``http(s)`` one;
    either may be a placeholder such as ``${link}`` filled at send."""

    text: str
    action_type: Literal["OPEN_QUICK", "OPEN_URL"]
    action: str


@dataclass(frozen=True, slots=True)
class CardTemplateSpec:
    """A card template to register; texts may hold ``${name}`` placeholders."""

    name: str
    title: str
    description: str
    buttons: tuple[CardButton, ...]
    media_url: str | None = None


class ReviewState(enum.StrEnum):
    """A template's review at the vendor."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class TemplateReview:
    """A template's id at the vendor and its review state (``reason`` when rejected)."""

    vendor: str
    template_id: str
    state: ReviewState
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class CardSubmission:
    """A card the vendor accepted; ``card_msg_id`` and our ``biz_id`` are what its receipts name."""

    vendor: str
    card_msg_id: str
    biz_id: str


class CardReceiptEvent(enum.StrEnum):
    """What a receipt says: rendered on the phone, could not be rendered, or a button was tapped."""

    RENDERED = "RENDERED"
    FAILED = "FAILED"
    CLICKED = "CLICKED"


@dataclass(frozen=True, slots=True)
class CardReceipt:
    """A receipt of the card ``card_msg_id`` sent to ``phone_number`` (E.164); ``button`` for ``CLICKED``."""

    vendor: str
    app_id: str
    card_msg_id: str
    biz_id: str
    phone_number: str
    event: CardReceiptEvent
    at: datetime
    button: int | None = None
