"""The MaaP dialect's JSON shapes (GSMA RCC.07 ``botmessage``; docs/operator-dialects.md, "5G messages")."""

from __future__ import annotations

from pydantic import AwareDatetime

from carrier_adapters._wire import WireModel
from carrier_adapters.maap.types import RichCard

__all__ = ["CapabilitiesAnswer", "ErrorAnswer", "Event", "SendAnswer", "send_body"]


class ErrorBody(WireModel):
    """``{"code", "message"}`` of a refusal."""

    code: str
    message: str = ""


class ErrorAnswer(WireModel):
    """A refusal: ``{"error": {...}}``."""

    error: ErrorBody


class CapabilitiesAnswer(WireModel):
    """``contactCapabilities`` answer."""

    userContact: str
    capabilities: list[str]


class _Accepted(WireModel):
    msgId: str
    status: str = "pending"


class SendAnswer(WireModel):
    """``messages`` answer (202)."""

    RCSMessage: _Accepted


class _Postback(WireModel):
    data: str = ""


class _Chosen(WireModel):
    displayText: str = ""
    postback: _Postback = _Postback()


class _Response(WireModel):
    action: _Chosen | None = None
    reply: _Chosen | None = None


class _SuggestedResponse(WireModel):
    response: _Response


class _EventMessage(WireModel):
    msgId: str
    status: str | None = None
    timestamp: AwareDatetime
    inReplyToMsgId: str | None = None
    suggestedResponse: _SuggestedResponse | None = None


class _Contact(WireModel):
    userContact: str


class Event(WireModel):
    """A notification POSTed to the chatbot's callback."""

    event: str
    botId: str
    messageContact: _Contact
    RCSMessage: _EventMessage


def send_body(card: RichCard | str, *, to: str, msg_id: str) -> dict[str, object]:
    """The ``messages`` request: a rich card (or a text) to ``to`` (E.164) under ``msg_id``."""
    message: dict[str, object] = {"msgId": msg_id}
    if isinstance(card, str):
        message["textMessage"] = card
    else:
        content: dict[str, object] = {"title": card.title, "description": card.description}
        if card.media_url is not None:
            media: dict[str, object] = {"mediaUrl": card.media_url, "height": "MEDIUM_HEIGHT"}
            if card.media_content_type is not None:
                media["mediaContentType"] = card.media_content_type
            content["media"] = media
        suggestions: list[dict[str, object]] = []
        for suggestion in card.suggestions:
            chosen: dict[str, object] = {
                "displayText": suggestion.text,
                "postback": {"data": suggestion.postback},
            }
            if suggestion.url is None:
                suggestions.append({"reply": chosen})
            else:
                suggestions.append({"action": {**chosen, "urlAction": {"openUrl": {"url": suggestion.url}}}})
        content["suggestions"] = suggestions
        message["richcardMessage"] = {
            "message": {"generalPurposeCard": {"layout": {"cardOrientation": "VERTICAL"}, "content": content}}
        }
    return {"messageContact": {"userContact": f"tel:{to}"}, "RCSMessage": message}
