"""The three operators' MaaP chatbot platforms (5G messages) under ``/{operator}/maap``.

``docs/operator-dialects.md``, "5G messages: the operators' MaaP chatbot platforms": HMAC-signed
query per chatbot, the capability lookup and the GSMA ``botmessage`` send. The work after the
checks is :class:`~sandbox.rich_center.RichCenter`'s.
"""

from __future__ import annotations

import re
from typing import Annotated, Final, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sandbox.clock import Clock
from sandbox.config import OPERATORS, Operator
from sandbox.numbers import is_e164
from sandbox.operators._wire import same_text, within_window
from sandbox.rich import IDENTIFIER, Button, request_signature
from sandbox.rich_center import MaapSend, RichCenter
from sandbox.state import SandboxState

__all__ = ["RCS_CAPABILITIES", "MaapPlatform", "parse_card"]

RCS_CAPABILITIES: Final = ("chatbotCommunication", "richcardStandalone", "actionOpenUrl")
_NONCE: Final = re.compile(r"[0-9a-fA-F]{16,32}")
_URL: Final = re.compile(r"(?:https?://[^\s]+|hap://app/[^\s]+)")
_MEDIA_URL: Final = re.compile(r"https?://[^\s]+")


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _Postback(_Wire):
    data: Annotated[str, Field(min_length=1, max_length=2048)]


class _OpenUrl(_Wire):
    url: Annotated[str, Field(max_length=2048, pattern=_URL.pattern)]


class _UrlAction(_Wire):
    openUrl: _OpenUrl


class _Action(_Wire):
    displayText: Annotated[str, Field(min_length=1, max_length=25)]
    postback: _Postback
    urlAction: _UrlAction


class _Reply(_Wire):
    displayText: Annotated[str, Field(min_length=1, max_length=25)]
    postback: _Postback


class _Suggestion(_Wire):
    action: _Action | None = None
    reply: _Reply | None = None

    @model_validator(mode="after")
    def _one(self) -> _Suggestion:
        if (self.action is None) == (self.reply is None):
            raise ValueError("a suggestion is exactly one of action and reply")
        return self


class _Media(_Wire):
    mediaUrl: Annotated[str, Field(max_length=2048, pattern=_MEDIA_URL.pattern)]
    mediaContentType: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    height: Literal["SHORT_HEIGHT", "MEDIUM_HEIGHT", "TALL_HEIGHT"] | None = None


class _Content(_Wire):
    title: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=2000)] = ""
    media: _Media | None = None
    suggestions: Annotated[list[_Suggestion], Field(max_length=4)] = []


class _Layout(_Wire):
    cardOrientation: Literal["VERTICAL", "HORIZONTAL"] | None = None
    imageAlignment: Literal["LEFT", "RIGHT"] | None = None


class _Card(_Wire):
    layout: _Layout | None = None
    content: _Content


class _CardMessage(_Wire):
    generalPurposeCard: _Card


class _Richcard(_Wire):
    message: _CardMessage


class _RcsMessage(_Wire):
    msgId: Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
    richcardMessage: _Richcard | None = None
    textMessage: Annotated[str, Field(min_length=1, max_length=2000)] | None = None

    @model_validator(mode="after")
    def _one(self) -> _RcsMessage:
        if (self.richcardMessage is None) == (self.textMessage is None):
            raise ValueError("exactly one of richcardMessage and textMessage")
        return self


class _Contact(_Wire):
    userContact: Annotated[str, Field(pattern=r"^tel:\+[1-9][0-9]{4,14}$")]


class _SendBody(_Wire):
    messageContact: _Contact
    RCSMessage: _RcsMessage


def parse_card(message: _RcsMessage) -> tuple[str, str, str | None, tuple[Button, ...]]:
    """Title, description, media URL and buttons of a send's message (a text message: no title)."""
    if message.richcardMessage is None:
        return "", message.textMessage or "", None, ()
    content = message.richcardMessage.message.generalPurposeCard.content
    buttons: list[Button] = []
    for suggestion in content.suggestions:
        if suggestion.action is not None:
            action = suggestion.action
            buttons.append(
                Button(action.displayText, action.urlAction.openUrl.url, action.postback.data, "action")
            )
        elif suggestion.reply is not None:
            buttons.append(
                Button(suggestion.reply.displayText, None, suggestion.reply.postback.data, "reply")
            )
    media = content.media.mediaUrl if content.media is not None else None
    return content.title, content.description, media, tuple(buttons)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


class MaapPlatform:
    """One operator's MaaP platform: routes under ``/{operator}/maap/bot/v1/{botId}``."""

    def __init__(self, operator: Operator, *, state: SandboxState, center: RichCenter, clock: Clock) -> None:
        self._operator = operator
        self._state = state
        self._center = center
        self._clock = clock
        self._root = f"/{operator}/maap"

    def routes(self) -> list[web.RouteDef]:
        """The platform's two endpoints."""
        return [
            web.post(f"{self._root}/bot/v1/{{botId}}/contactCapabilities", self.capabilities),
            web.post(f"{self._root}/bot/v1/{{botId}}/messages", self.send),
        ]

    async def _authenticate(self, request: web.Request) -> tuple[str, bytes] | web.Response:
        """The chatbot id and the raw body, or the refusal."""
        if self._state.faults[self._operator].maap_down:
            return _error(503, "SERVICE_UNAVAILABLE", "The MaaP platform is unavailable.")
        body = await request.read()
        bot_id = request.match_info["botId"]
        query = request.query
        timestamp, nonce, signature = (query.get(name, "") for name in ("timestamp", "nonce", "signature"))
        secret = self._center.bot_secret(self._operator, bot_id) if IDENTIFIER.fullmatch(bot_id) else None
        if secret is None or _NONCE.fullmatch(nonce) is None:
            return _error(401, "UNAUTHORIZED", "Unknown chatbot or missing signature parameters.")
        path = request.path[len(self._root) :]
        expected = request_signature(secret, path, timestamp, nonce, body)
        if not same_text(signature, expected):
            return _error(401, "UNAUTHORIZED", "The signature does not verify.")
        if not within_window(timestamp, self._clock.now()):
            return _error(401, "UNAUTHORIZED", "The timestamp is outside the window.")
        return bot_id, body

    def _subscriber_status(self, e164: str) -> Literal["capable", "incapable", "unknown"]:
        subscriber = self._state.subscribers.get(e164)
        if subscriber is None or subscriber.operator != self._operator:
            return "unknown"
        return "capable" if subscriber.rcs else "incapable"

    async def capabilities(self, request: web.Request) -> web.Response:
        """``contactCapabilities``: the contact's 5G-message capabilities (``[]``: none)."""
        authenticated = await self._authenticate(request)
        if isinstance(authenticated, web.Response):
            return authenticated
        try:
            contact = _Contact.model_validate_json(authenticated[1])
        except ValidationError:
            return _error(400, "INVALID_REQUEST", 'The body is not {"userContact": "tel:+…"}.')
        status = self._subscriber_status(contact.userContact[4:])
        if status == "unknown":
            return _error(404, "UNKNOWN_USER", "The contact is not a subscriber of this operator.")
        capabilities = list(RCS_CAPABILITIES) if status == "capable" else []
        return web.json_response({"userContact": contact.userContact, "capabilities": capabilities})

    async def send(self, request: web.Request) -> web.Response:
        """``messages``: accept a ``botmessage`` (202), deduplicated by ``msgId``."""
        authenticated = await self._authenticate(request)
        if isinstance(authenticated, web.Response):
            return authenticated
        bot_id, raw = authenticated
        try:
            body = _SendBody.model_validate_json(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
                for error in exc.errors(include_url=False, include_input=False)[:3]
            )
            return _error(400, "INVALID_REQUEST", f"The body is not a botmessage send ({problems}).")
        phone = body.messageContact.userContact[4:]
        status = self._subscriber_status(phone) if is_e164(phone) else "unknown"
        if status == "unknown":
            return _error(404, "UNKNOWN_USER", "The contact is not a subscriber of this operator.")
        if status == "incapable":
            return _error(403, "NOT_RCS_USER", "The contact's phone has no 5G messages.")
        title, description, media, buttons = parse_card(body.RCSMessage)
        self._center.maap_send(
            MaapSend(
                operator=self._operator,
                bot_id=bot_id,
                msg_id=body.RCSMessage.msgId,
                phone_number=phone,
                title=title,
                description=description,
                media_url=media,
                buttons=buttons,
            )
        )
        return web.json_response(
            {"RCSMessage": {"msgId": body.RCSMessage.msgId, "status": "pending"}}, status=202
        )


def maap_platforms(*, state: SandboxState, center: RichCenter, clock: Clock) -> list[MaapPlatform]:
    """The three operators' platforms."""
    return [MaapPlatform(operator, state=state, center=center, clock=clock) for operator in OPERATORS]
