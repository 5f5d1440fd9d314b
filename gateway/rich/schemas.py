"""Wire models of the rich-channel API: chatbots, card accounts, card templates, callback receipts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from carrier_adapters.cards import CardButton, CardTemplateSpec
from gateway.wire import described_pattern

__all__ = [
    "CallbackReceived",
    "CardAccountOut",
    "CardAccountPut",
    "CardButtonBody",
    "CardTemplateCreate",
    "CardTemplateCreated",
    "CardTemplateOut",
    "ChatbotOut",
    "ChatbotPut",
]

_ACCOUNT_ID = described_pattern(r"^[A-Za-z0-9._-]{1,64}$", "1-64 of A-Z a-z 0-9 . _ -")
_SECRET = described_pattern(r"^[!-~]{32}$", "32 printable ASCII characters, no space")
_PARAM = described_pattern(r"^[A-Za-z0-9_]{1,32}$", "1-32 of A-Z a-z 0-9 _")
_TEXT = r"^[^\x00-\x1f\x7f]+$"
Vendor = Literal["huawei", "honor", "xiaomi", "oppo", "vivo"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChatbotPut(_Strict):
    """``PUT /push/v1/channels/5g/{operator}``: the chatbot the operator registered for the tenant."""

    botId: str = Field(pattern=_ACCOUNT_ID)
    secret: str = Field(pattern=_SECRET, json_schema_extra={"writeOnly": True})
    enabled: bool = True


class CardAccountPut(_Strict):
    """``PUT /push/v1/channels/card/{vendor}``: the tenant's account at the vendor's card platform."""

    appId: str = Field(pattern=_ACCOUNT_ID)
    appKey: str = Field(pattern=_SECRET, json_schema_extra={"writeOnly": True})
    enabled: bool = True


class ChatbotOut(_Strict):
    """A chatbot as stored; the secret is never returned."""

    operator: str
    botId: str
    enabled: bool
    createdAt: str
    updatedAt: str


class CardAccountOut(_Strict):
    """A card account as stored; the key is never returned."""

    vendor: str
    appId: str
    enabled: bool
    createdAt: str
    updatedAt: str


class CardButtonBody(_Strict):
    """A button: ``OPEN_QUICK`` opens a ``hap://app/…`` quick-app link, ``OPEN_URL`` an ``http(s)`` one;
    ``action`` may be a placeholder such as ``${link}`` filled at send."""

    text: str = Field(min_length=1, max_length=16, pattern=_TEXT)
    actionType: Literal["OPEN_QUICK", "OPEN_URL"]
    action: str = Field(min_length=1, max_length=1000, pattern=r"^\S+$")


class CardTemplateCreate(_Strict):
    """``POST /push/v1/card-templates``: a card template for one vendor (the dialect's limits); texts
    and actions may hold ``${name}`` placeholders, each declared once in ``params``."""

    vendor: Vendor
    name: str = Field(min_length=1, max_length=64, pattern=_TEXT)
    title: str = Field(min_length=1, max_length=64, pattern=_TEXT)
    description: str = Field(min_length=1, max_length=500, pattern=_TEXT)
    mediaUrl: str | None = Field(default=None, max_length=1000, pattern=r"^https?://\S+$")
    buttons: list[CardButtonBody] = Field(min_length=1, max_length=2)
    params: list[Annotated[str, Field(pattern=_PARAM)]] = Field(default_factory=list, max_length=32)

    def to_spec(self) -> CardTemplateSpec:
        """The adapter's template spec."""
        return CardTemplateSpec(
            self.name,
            self.title,
            self.description,
            tuple(CardButton(b.text, b.actionType, b.action) for b in self.buttons),
            self.mediaUrl,
        )


class CardTemplateCreated(_Strict):
    """``201`` of a registration: the template's id and the review state the vendor answered."""

    id: str
    status: Literal["pending", "approved", "rejected"]


class CardTemplateOut(_Strict):
    """A card template with the vendor's id and its review state (``reason`` when rejected)."""

    id: str
    vendor: str
    name: str
    title: str
    description: str
    mediaUrl: str | None = None
    buttons: list[CardButtonBody]
    params: list[str]
    vendorTemplateId: str
    status: Literal["pending", "approved", "rejected"]
    reason: str | None = None
    createdAt: str
    checkedAt: str
    decidedAt: str | None = None


class CallbackReceived(_Strict):
    """``200`` of a platform callback: ``stored``, ``duplicate`` (a replay) or ``ignored``."""

    received: int
    outcome: Literal["stored", "duplicate", "ignored"]
